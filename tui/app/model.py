"""Textual-free data side of the app: the poll (worker thread) and derived summaries.

``Poller.poll()`` runs on a worker thread, reads only (journal via ``runs.list_runs``,
metric files by byte offset, the GPU sampler's latest snapshot) and returns a
:class:`PollResult`; the app's message handler applies it to the state it owns.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..core import runs as core_runs
from ..core.journal import Journal, JournalError
from ..core.errors import UserError
from .series import Chunk, RunSeries, SeriesReader

TOTAL_KEYS = ("total_steps", "max_steps", "steps", "num_steps", "iters", "max_iters", "iterations")
EPOCH_KEYS = ("epochs", "num_epochs", "max_epochs", "n_epochs")
SILENT_AFTER = 300.0  # seconds without output before a running run is flagged silent
TAIL_BYTES = 64 * 1024


@dataclass
class LogTail:
    size: int = -1
    mtime: float = 0.0
    traceback: bool = False


@dataclass
class PollResult:
    runs: list | None                 # list[RunInfo] or None when the journal did not change
    chunks: list[Chunk]
    log_stat: dict                    # run id -> (size, mtime, traceback)
    gpu: Any = None                   # GpuSnapshot | None
    error: str | None = None
    backlog: bool = False             # metric files not fully read yet: poll again soon
    took: float = 0.0


def ordered(infos: list) -> list[tuple[int, Any]]:
    """Runs in journal order, each resume chain under its parent: (depth, RunInfo)."""
    by_id = {r.id: r for r in infos}
    kids: dict[str, list] = {}
    roots = []
    for r in infos:
        if r.parent in by_id and r.parent != r.id:
            kids.setdefault(r.parent, []).append(r)
        else:
            roots.append(r)
    out: list[tuple[int, Any]] = []
    seen: set[str] = set()

    def walk(r, depth):
        if r.id in seen:
            return
        seen.add(r.id)
        out.append((depth, r))
        for k in kids.get(r.id, []):
            walk(k, depth + 1)

    for r in roots:
        walk(r, 0)
    for r in infos:  # cycles written by hand
        walk(r, 0)
    return out


class Poller:
    """One poll at a time (the app re-arms it after each finishes); owns readers' offsets."""

    def __init__(self, journal: Journal, sampler=None, budget_bytes: int = 8 << 20,
                 clock: Callable[[], float] = time.time):
        self.journal = journal
        self.sampler = sampler
        self.budget = budget_bytes
        self.clock = clock
        self.readers: dict[str, SeriesReader] = {}
        self.tails: dict[str, LogTail] = {}
        self._sig: tuple | None = None
        self._last_runs: list | None = None
        self.priority: tuple[str, ...] = ()  # selected + marked runs: read first, in full

    def _runs(self) -> tuple[list | None, str | None]:
        try:
            data = self.journal.read()
        except (JournalError, UserError) as e:
            return None, str(e)
        infos = core_runs.list_runs(self.journal, data=data, write_back=True)
        sig = tuple((r.id, r.status, r.ended, r.exit_code, len(r.notes), tuple(r.tags), r.verdict,
                     repr(r.params), repr(r.gpus), r.parent) for r in infos)
        if sig == self._sig:
            return None, None
        self._sig = sig
        self._last_runs = infos
        return infos, None

    def poll(self) -> PollResult:
        t0 = time.perf_counter()
        infos, err = self._runs()
        known = self._last_runs or []
        chunks: list[Chunk] = []
        budget = self.budget
        backlog = False
        order = [r for r in known if r.id in self.priority] + [r for r in known if r.id not in self.priority]
        for r in order:
            rd = self.readers.get(r.id)
            if rd is None:
                rd = self.readers[r.id] = SeriesReader(r.id, r.run_dir)
            if budget <= 0 and r.id not in self.priority:
                backlog = backlog or not rd.done
                continue
            before = rd.offset
            ch = rd.read_new(None if r.id in self.priority else budget)
            budget -= rd.offset - before if rd.offset >= before else 0
            if ch is not None:
                chunks.append(ch)
            if not rd.done:
                backlog = True
        log_stat = self._logs(known)
        gpu = self.sampler.latest() if self.sampler is not None else None
        return PollResult(infos, chunks, log_stat, gpu, err, backlog, time.perf_counter() - t0)

    def _logs(self, infos: list) -> dict:
        out = {}
        for r in infos:
            path = r.run_dir / "output.log"
            try:
                st = os.stat(path)
            except OSError:
                continue
            t = self.tails.get(r.id)
            if t is None:
                t = self.tails[r.id] = LogTail()
            if st.st_size != t.size:
                t.traceback = _tail_has_traceback(path, st.st_size)
                t.size, t.mtime = st.st_size, st.st_mtime
            out[r.id] = (t.size, t.mtime, t.traceback)
        return out


def _tail_has_traceback(path: Path, size: int) -> bool:
    try:
        with open(path, "rb") as f:
            f.seek(max(0, size - TAIL_BYTES))
            data = f.read(TAIL_BYTES)
    except OSError:
        return False
    return b"Traceback (most recent call last)" in data


# --------------------------------------------------------------------------- summaries

def lower_is_better(metric: str) -> bool:
    m = metric.lower()
    return not any(k in m for k in ("acc", "f1", "auc", "bleu", "score", "precision", "recall", "iou", "reward"))


def main_metric(metrics: list[str], preferred: str | None = None) -> str | None:
    if preferred and preferred in metrics:
        return preferred
    for name in ("loss", "val_loss", "train_loss"):
        if name in metrics:
            return name
    for m in metrics:
        if "loss" in m.lower():
            return m
    skip = {"lr", "learning_rate", "grad_norm"}
    rest = [m for m in metrics if m not in skip]
    return rest[0] if rest else (metrics[0] if metrics else None)


@dataclass
class Summary:
    metric: str | None = None
    last: float | None = None
    best: float | None = None
    minimum: float | None = None
    step: float | None = None
    epoch: float | None = None
    rate: float | None = None     # steps per second
    total: float | None = None
    eta: float | None = None      # seconds
    nan: bool = False
    cliff: float | None = None    # step of a loss cliff
    extra: dict = field(default_factory=dict)


def _finite(col, n=None):
    return [v for v in (col if n is None else col[-n:]) if v == v and math.isfinite(v)]


def stats(col) -> tuple[float | None, float | None, float | None]:
    """(last, min, max) of the finite values of a column."""
    last = None
    for v in reversed(col):
        if v == v and math.isfinite(v):
            last = v
            break
    if last is None:
        return None, None, None
    fin = [v for v in col if v == v and math.isfinite(v)]
    return last, min(fin), max(fin)


def find_cliff(steps, col, window: int = 20, factor: float = 3.0) -> float | None:
    """First step where the metric jumps far above its recent range (a 'loss cliff')."""
    n = len(col)
    if n < window + 2:
        return None
    import statistics

    for i in range(window, n):
        prev = [v for v in col[i - window:i] if v == v and math.isfinite(v)]
        v = col[i]
        if len(prev) < window // 2 or not (v == v and math.isfinite(v)):
            continue
        med = statistics.median(prev)
        spread = max(prev) - min(prev)
        if v - med > factor * max(spread, abs(med) * 0.5, 1e-12):
            return steps[i]
    return None


def total_of(params: dict) -> tuple[float | None, str]:
    for k in TOTAL_KEYS:
        v = params.get(k)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0:
            return float(v), "step"
    for k in EPOCH_KEYS:
        v = params.get(k)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0:
            return float(v), "epoch"
    return None, "step"


def summarize(series: RunSeries | None, params: dict, preferred: str | None = None,
              cliff_cache: dict | None = None) -> Summary:
    s = Summary()
    if series is None or series.n == 0:
        return s
    metric = main_metric(series.metrics(), preferred)
    s.metric = metric
    steps = series.axes["step"]
    s.step = steps[-1]
    ep = series.axes["epoch"]
    if ep and ep[-1] == ep[-1]:
        s.epoch = ep[-1]
    if metric is not None:
        col = series.values[metric]
        last, lo, hi = stats(col)
        s.last, s.minimum = last, lo
        s.best = lo if lower_is_better(metric) else hi
        key = (series.run_id, series.version, metric)
        if cliff_cache is not None and key in cliff_cache:
            s.cliff = cliff_cache[key]
        else:
            s.cliff = find_cliff(steps, col[-5000:]) if lower_is_better(metric) else None
            if cliff_cache is not None:
                cliff_cache[key] = s.cliff
    s.nan = bool(series.nonfinite)
    # rate from the wall-time axis over the last points
    t = series.axes["time"]
    k = min(len(t), 50)
    if k >= 2 and t[-1] == t[-1] and t[-k] == t[-k] and t[-1] > t[-k]:
        s.rate = (steps[-1] - steps[-k]) / (t[-1] - t[-k])
    total, unit = total_of(params)
    if total is not None:
        s.total = total
        if unit == "epoch" and s.epoch is not None and s.rate and s.step:
            spe = s.step / max(s.epoch, 1e-9)  # steps per epoch
            s.eta = max(0.0, (total * spe - s.step) / s.rate)
        elif unit == "step" and s.rate:
            s.eta = max(0.0, (total - s.step) / s.rate)
        s.extra["unit"] = unit
    return s


def lineage_curve(store: dict, infos: dict, run_id: str, metric: str, axis: str = "step"):
    """One curve for a resumed run: each ancestor's points up to the child's resume step.

    Returns (xs, ys, resume_xs)."""
    chain = []
    cur, seen = run_id, set()
    while cur in infos and cur not in seen:
        chain.append(cur)
        seen.add(cur)
        cur = infos[cur].parent
    chain.reverse()
    xs: list[float] = []
    ys: list[float] = []
    marks: list[float] = []
    for i, rid in enumerate(chain):
        ser = store.get(rid)
        if ser is None or metric not in ser.values:
            continue
        sx, sy = ser.xy(metric, axis)
        steps = ser.axes["step"]
        limit = None
        if i + 1 < len(chain):
            child = infos[chain[i + 1]]
            limit = child.resume_step
        if limit is None:
            xs.extend(sx)
            ys.extend(sy)
        else:
            for st, x, y in zip(steps, sx, sy):
                if st <= limit:
                    xs.append(x)
                    ys.append(y)
        if i > 0:
            r = infos[rid].resume_step
            if r is not None and axis == "step":
                marks.append(float(r))
            elif len(sx):
                marks.append(sx[0])
    return xs, ys, marks


def downsample(xs, ys, width: int) -> tuple[list, list]:
    """Min/max buckets: about two points per column, NaNs dropped."""
    import numpy as np

    x = np.asarray(xs, dtype=float)
    y = np.asarray(ys, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.all():
        x, y = x[ok], y[ok]
    n = len(x)
    if n <= 2 * width or width <= 0:
        return x.tolist(), y.tolist()
    buckets = np.linspace(0, n, width + 1).astype(int)
    out_x, out_y = [], []
    starts, ends = buckets[:-1], buckets[1:]
    mn = np.minimum.reduceat(y, starts)
    mx = np.maximum.reduceat(y, starts)
    amin = np.empty(width, dtype=int)
    amax = np.empty(width, dtype=int)
    for i, (a, b) in enumerate(zip(starts, ends)):
        seg = y[a:b]
        amin[i] = a + int(seg.argmin()) if b > a else a
        amax[i] = a + int(seg.argmax()) if b > a else a
    first = np.minimum(amin, amax)
    second = np.maximum(amin, amax)
    idx = np.stack([first, second], axis=1).ravel()
    return x[idx].tolist(), y[idx].tolist()


def ema(ys: list, weight: float) -> list:
    """TensorBoard-style exponential moving average (debiased), NaN-tolerant."""
    if weight <= 0:
        return list(ys)
    out = []
    last = 0.0
    num = 0
    for v in ys:
        if v != v:
            out.append(v)
            continue
        last = last * weight + (1 - weight) * v
        num += 1
        out.append(last / (1 - weight ** num))
    return out
