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

TOTAL_KEYS = ("total_steps", "max_steps", "steps", "num_steps", "iters", "max_iters", "iterations")
EPOCH_KEYS = ("epochs", "num_epochs", "max_epochs", "n_epochs")
SILENT_AFTER = 300.0  # seconds without output before a running run is flagged silent
TAIL_BYTES = 64 * 1024


@dataclass
class RunData:
    """What the app holds of one run's metrics (copies made by the worker)."""

    run_id: str
    series: dict                      # name -> tui.core.metrics.Series
    x_axis: str = "step"
    version: int = 0
    summary: "Summary | None" = None
    flags: tuple = ()
    log_mtime: float | None = None


@dataclass
class PollResult:
    runs: list | None                 # list[RunInfo] or None when the journal did not change
    updates: list[RunData]
    log_mtimes: dict                  # run id -> mtime of its newest output (silence flag)
    gpu: Any = None                   # GpuSnapshot | None
    error: str | None = None
    backlog: bool = False             # metric files not all read yet: poll again soon
    took: float = 0.0
    cliffs: dict = field(default_factory=dict)  # run id -> x of a loss cliff or None (checked later)


ordered = core_runs.tree_order  # one tree order for the CLI and the app


class Poller:
    """One poll at a time (the app re-arms it after each finishes); owns the metric readers."""

    def __init__(self, journal: Journal, sampler=None, time_budget: float = 0.25,
                 clock: Callable[[], float] = time.time):
        self.journal = journal
        self.sampler = sampler
        self.time_budget = time_budget
        self.clock = clock
        self.readers: dict[str, Any] = {}   # run id -> metrics.RunMetrics
        self.pending: set[str] = set()      # runs never read yet
        self._sig: tuple | None = None
        self._data: dict = {}
        self._last_runs: list | None = None
        self.priority: tuple[str, ...] = ()  # selected + marked runs: read first
        self.cliff_due: dict[str, float] = {}  # run id -> when to (re)check its cliff flag
        self.cliff_every = 30.0                # live runs: at most every 30 s (it scans the series)

    def _runs(self) -> tuple[list | None, str | None]:
        try:
            st = os.stat(self.journal.path)
            jsig = (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            jsig = None
        if (jsig is not None and jsig == getattr(self, "_jsig", None) and self._last_runs is not None
                and not any(r.alive for r in self._last_runs)):
            return None, None  # nothing live and the journal unchanged: statuses cannot change
        self._jsig = jsig
        try:
            data = self.journal.read()
        except (JournalError, UserError) as e:
            return None, str(e)
        self._data = data
        infos = core_runs.list_runs(self.journal, data=data)
        core_runs.reconcile(self.journal, data, infos)  # writes only when a status is not recorded yet
        sig = tuple((r.id, r.status, r.ended, r.exit_code, repr(r.notes), tuple(r.tags), r.verdict,
                     repr(r.params), repr(r.gpus), r.parent, r.resume_step) for r in infos)
        if sig == self._sig:
            return None, None
        self._sig = sig
        self._last_runs = infos
        return infos, None

    def poll(self) -> PollResult:
        from ..core import metrics as M

        t0 = time.perf_counter()
        infos, err = self._runs()
        known = self._last_runs or []
        updates: list[RunData] = []
        backlog = False
        prio = [r for r in known if r.id in self.priority]
        rest = [r for r in known if r.id not in self.priority]
        # runs never read come before live ones: a first paint needs every row's numbers
        rest.sort(key=lambda r: (r.id not in self.pending and r.id in self.readers, not r.alive))
        mtimes = {}
        for r in prio + rest:
            rm = self.readers.get(r.id)
            if rm is None:
                try:
                    pats = M.patterns_for_run(self._data, r.id)
                except UserError:
                    pats = None
                rm = self.readers[r.id] = M.RunMetrics(r.run_dir, pats)
                self.pending.add(r.id)
            fresh = r.id in self.pending
            if not fresh and not r.alive and r.id not in self.priority and rm.version:
                continue  # ended and fully read: nothing new will come
            if time.perf_counter() - t0 > self.time_budget and r.id not in self.priority:
                backlog = True
                continue
            try:
                changed = rm.poll()
            except (OSError, UserError):
                changed = False
            self.pending.discard(r.id)
            if fresh and changed:
                try:
                    rm.save_cache()  # the next open starts from the core's cache, not a re-parse
                except OSError:
                    pass
            mt = _mtime(r.run_dir)
            mtimes[r.id] = mt
            if changed or fresh:
                updates.append(self.run_data(r, rm, mt))
                self.cliff_due.setdefault(r.id, 0.0)
        # loss-cliff checks scan whole series: done after the numbers are shown, within budget
        cliffs = {}
        now = time.monotonic()
        if not backlog:
            for rid, due in sorted(self.cliff_due.items(), key=lambda kv: kv[1]):
                if due > now or time.perf_counter() - t0 > self.time_budget:
                    continue
                rm = self.readers.get(rid)
                info = next((r for r in known if r.id == rid), None)
                if rm is None or info is None:
                    self.cliff_due.pop(rid, None)
                    continue
                cliffs[rid] = _cliff(rm)
                if info.alive:
                    self.cliff_due[rid] = now + self.cliff_every
                else:
                    self.cliff_due.pop(rid, None)
        gpu = self.sampler.latest() if self.sampler is not None else None
        return PollResult(infos, updates, mtimes, gpu, err, backlog, time.perf_counter() - t0, cliffs)

    def run_data(self, info, rm, mtime) -> RunData:
        from ..core import metrics as M

        ser = rm.snapshot()
        summary = summarize(ser, info.params)
        fl: list[str] = []
        nan_at = None
        for s in ser.values():
            x = M._first_nonfinite(s) if hasattr(M, "_first_nonfinite") else None
            if x is not None and (nan_at is None or x < nan_at):
                nan_at = x
        if nan_at is not None:
            fl.append("NaN")
            summary.nan = True
        tb = None
        if not info.alive and info.status != "finished" or info.alive:
            tb = rm.last_traceback
        if tb:
            fl.append("tb")
        return RunData(info.id, ser, rm.x_axis, rm.version, summary, tuple(fl), mtime)


def _cliff(rm) -> float | None:
    from ..core import metrics as M

    with rm.lock:
        ser = rm.series
        name = main_metric(ser)
        if name is None or not lower_is_better(name):
            return None
        s = ser[name]
        i = M.find_cliff(s.y[:len(s)])
        return s.x[i] if i is not None else None


def _mtime(run_dir: Path) -> float | None:
    best = None
    for name in ("output.log", "metrics.jsonl"):
        try:
            m = os.stat(run_dir / name).st_mtime
        except OSError:
            continue
        best = m if best is None or m > best else best
    return best


# --------------------------------------------------------------------------- summaries

def lower_is_better(metric: str) -> bool:
    m = metric.lower()
    return not any(k in m for k in ("acc", "f1", "auc", "bleu", "score", "precision", "recall", "iou", "reward"))


def main_metric(metrics, preferred: str | None = None) -> str | None:
    from ..core.metrics import main_metric as mm

    metrics = list(metrics)
    if preferred and preferred in metrics:
        return preferred
    return mm(m for m in metrics if m not in ("epoch", "lr", "learning_rate")) or mm(metrics)


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


def stats(col) -> tuple[float | None, float | None, float | None]:
    """(last, min, max) of the finite values of a column."""
    import numpy as np

    if col is None or not len(col):
        return None, None, None
    a = np.frombuffer(col, dtype=np.float64) if hasattr(col, "typecode") else np.asarray(col, float)
    fin = a[np.isfinite(a)]
    if not len(fin):
        return None, None, None
    return float(fin[-1]), float(fin.min()), float(fin.max())


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


def summarize(series: dict, params: dict, preferred: str | None = None) -> Summary:
    s = Summary()
    metric = main_metric(series, preferred)
    if metric is None:
        return s
    main = series[metric]
    n = len(main)
    if not n:
        return s
    s.metric = metric
    s.step = main.x[n - 1]
    ep = series.get("epoch")
    if ep is not None and len(ep):
        s.epoch = ep.y[len(ep) - 1]
    last, lo, hi = stats(main.y[:n])
    s.last, s.minimum = last, lo
    s.best = lo if lower_is_better(metric) else hi
    k = min(n, 50)
    w = main.wall
    if k >= 2 and math.isfinite(w[n - 1]) and math.isfinite(w[n - k]) and w[n - 1] > w[n - k]:
        s.rate = (main.x[n - 1] - main.x[n - k]) / (w[n - 1] - w[n - k])
    total, unit = total_of(params)
    if total is not None:
        s.total = total
        s.extra["unit"] = unit
        if unit == "epoch" and s.epoch and s.rate and s.step:
            spe = s.step / s.epoch  # steps per epoch
            s.eta = max(0.0, (total * spe - s.step) / s.rate)
        elif unit == "step" and s.rate:
            s.eta = max(0.0, (total - s.step) / s.rate)
    return s


_CURVES: dict = {}      # (run id, metric, axis) -> (signature, held RunData, result)
_CURVES_MAX = 256


def lineage_curve(store: dict, infos: dict, run_id: str, metric: str, axis: str = "step"):
    """One curve for a resumed run (the rule of ``metrics.stitched``): each ancestor's points
    before its child's resume step, then the child's.  Returns (xs, ys, resume_xs) where x is
    the step, the epoch (interpolated from an ``epoch`` series) or the wall time.

    Memoised: while no run of the chain got new data (same ``RunData`` objects and versions,
    same resume steps) the same arrays are returned (callers must not modify them), so the
    plot's per-curve caches hold."""
    chain = []
    cur, seen = run_id, set()
    while cur in infos and cur not in seen:
        chain.append(cur)
        seen.add(cur)
        cur = infos[cur].parent
    chain.reverse()
    held = tuple(store.get(c) for c in chain)
    sig = tuple((c, id(rd), getattr(rd, "version", None), infos[c].resume_step)
                for c, rd in zip(chain, held))
    key = (run_id, metric, axis)
    hit = _CURVES.get(key)
    if hit is not None and hit[0] == sig:
        return hit[2]
    res = _lineage_curve(store, infos, chain, metric, axis)
    _CURVES.pop(key, None)
    _CURVES[key] = (sig, held, res)  # held: the ids in sig stay unique while cached
    while len(_CURVES) > _CURVES_MAX:
        _CURVES.pop(next(iter(_CURVES)))
    return res


def _lineage_curve(store: dict, infos: dict, chain: list, metric: str, axis: str):
    import numpy as np

    parts: list[tuple] = []  # (x, y, wall, epoch-or-None)
    marks: list[float] = []
    for i, rid in enumerate(chain):
        rd = store.get(rid)
        s = rd.series.get(metric) if rd is not None else None
        if s is None or not len(s):
            continue
        n = len(s)
        x = np.frombuffer(s.x, dtype=np.float64, count=n)
        y = np.frombuffer(s.y, dtype=np.float64, count=n)
        w = np.frombuffer(s.wall, dtype=np.float64, count=n)
        if i > 0:
            r = infos[rid].resume_step
            r = float(r) if isinstance(r, (int, float)) else float(x[0])
            if x[0] < r:
                x = x + (r - x[0])
            cut = []
            for px, py, pw, pe in parts:
                k = int(np.searchsorted(px, r, side="left"))
                cut.append((px[:k], py[:k], pw[:k], pe))
            parts = cut
            marks.append(r)
        ep = rd.series.get("epoch")
        parts.append((x, y, w, ep))
    if not parts:
        return [], [], []
    if axis == "step":
        xs = np.concatenate([p[0] for p in parts])
    elif axis == "time":
        xs = np.concatenate([p[2] for p in parts])
        if len(marks):
            marks = [float(np.interp(m, np.concatenate([p[0] for p in parts]), xs)) for m in marks]
    else:  # epoch: map steps onto the epoch series of each part
        segs = []
        for px, _py, _pw, ep in parts:
            if ep is not None and len(ep) >= 2:
                ex = np.frombuffer(ep.x, dtype=np.float64, count=len(ep))
                ey = np.frombuffer(ep.y, dtype=np.float64, count=len(ep))
                segs.append(np.interp(px, ex, ey))
            else:
                segs.append(np.full(len(px), np.nan))
        steps = np.concatenate([p[0] for p in parts])
        xs = np.concatenate(segs)
        if marks and np.isfinite(xs).any():
            ok = np.isfinite(xs)
            marks = [float(np.interp(m, steps[ok], xs[ok])) for m in marks]
    ys = np.concatenate([p[1] for p in parts])
    return xs, ys, marks


def downsample(xs, ys, width: int):
    """About two points per column (min/max buckets of ``tui.core.metrics.downsample``)."""
    import numpy as np
    from ..core.metrics import _downsample_np

    x = np.asarray(xs, dtype=float)
    y = np.asarray(ys, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.all():
        x, y = x[ok], y[ok]
    if len(x) <= max(2 * width, 5):
        return x.tolist(), y.tolist()
    dx, dy = _downsample_np(np.ascontiguousarray(x), np.ascontiguousarray(y), len(x), 2 * width)
    return dx.tolist(), dy.tolist()


def ema(ys, weight: float):
    """EMA of a curve (``tui.core.metrics.ema``) as a float array; the input itself when off."""
    import numpy as np
    from ..core.metrics import ema as _ema

    if weight <= 0:
        return ys
    return np.frombuffer(_ema(np.ascontiguousarray(ys, dtype=float), weight), dtype=np.float64)
