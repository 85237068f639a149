"""Textual-free data side of the app: the poll (worker thread) and derived summaries.

``Poller.poll()`` runs on a worker thread, reads only (journal via ``runs.list_runs``,
metric files by byte offset, the GPU sampler's latest snapshot; it hands the sampler the
live runs it listed) and returns a
:class:`PollResult`; the app's message handler applies it to the state it owns.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable


from ..core import metrics as M
from ..core import runs as core_runs
from ..core.gpus import Sampler, live_runs
from ..core.journal import Journal, JournalError
from ..core.lineage import chain
from ..core.errors import UserError
from ..core.metrics import RunFlags, goal_of, lineage_curve, lower_is_better, main_metric  # noqa: F401 - app.py imports them from here
from ..core.metrics._numeric import numpy as _numpy
from ..core.rundir import RunDir
from ..core.text import inert, inert_lines

TOTAL_KEYS = ("total_steps", "max_steps", "steps", "num_steps", "iters", "max_iters", "iterations")
EPOCH_KEYS = ("epochs", "num_epochs", "max_epochs", "n_epochs")
TAIL_BYTES = 64 * 1024


@dataclass
class RunData:
    """What the app holds of one run's metrics (copies made by the worker)."""

    run_id: str
    series: dict                      # name -> tui.core.metrics.Series
    x_axis: str = "step"
    version: int = 0
    summary: "Summary | None" = None
    flags: RunFlags = RunFlags()      # silence is judged when drawn (tui.core.metrics.with_silence)
    log_mtime: float | None = None
    goals: dict = field(default_factory=dict)  # the experiment's metric goals (core goal_of)
    thin: bool = False                # series are digests (Series.digest): not drawn; the run is not shown


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
    thinned: dict = field(default_factory=dict)  # run id -> digests of its series (no longer shown)


ordered = core_runs.tree_order  # one tree order for the CLI and the app


class Poller:
    """One poll at a time (the app re-arms it after each finishes); owns the metric readers."""

    def __init__(self, journal: Journal, sampler=None, time_budget: float = 0.25,
                 clock: Callable[[], float] = time.time, list_first: bool = False):
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
        self.visible: tuple[str, ...] = ()   # rows on screen: read right after the priority runs
        self.listed_once = not list_first      # list_first: the first poll only lists (the app's table paints at once)
        self.cliff_due: dict[str, float] = {}  # run id -> when to (re)check its cliff flag
        self.cliff_every = 30.0                # live runs: at most every 30 s (it scans the series)
        self.cliff_known: dict[str, float | None] = {}  # ended runs: their cliff, checked once (read-backs reuse it)
        self.done: set[str] = set()            # ended runs read to their end after they ended
        self.thin: set[str] = set()            # ended runs not shown: series released (memory)

    def _runs(self) -> tuple[list | None, str | None]:
        try:
            st = os.stat(self.journal.path)
            jsig = (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            jsig = None
        if (jsig is not None and jsig == getattr(self, "_jsig", None) and self._last_runs is not None
                and not any(r.alive or r.status.waiting for r in self._last_runs)):
            return None, getattr(self, "_jerr", None)  # unchanged: so is its error (shown until fixed)
        self._jsig = jsig
        try:
            data = self.journal.read()
        except (JournalError, UserError) as e:
            self._jerr = inert(str(e))
            return None, self._jerr
        self._jerr = None
        self._data = data
        infos = core_runs.list_runs(self.journal, data=data)
        core_runs.reconcile(self.journal, data, infos)  # writes only when a status is not recorded yet
        places = core_runs.queue.positions(self.journal, infos)
        for r in infos:  # a queued run's place in the lab's queue ("queued #2")
            if r.id in places:
                r.extra["queue_position"] = places[r.id]
        sig = tuple(places.items()) + tuple((r.id, r.status, r.ended, r.exit_code, repr(r.notes), tuple(r.tags), r.verdict,
                     repr(r.params), repr(r.gpus), r.parent, r.resume_step) for r in infos)
        if sig == self._sig:
            return None, None
        self._sig = sig
        infos = [display_info(r) for r in infos]
        self._last_runs = infos
        return infos, None

    def poll(self) -> PollResult:
        t0 = time.perf_counter()
        infos, err = self._runs()
        if infos is not None and isinstance(self.sampler, Sampler):
            self.sampler.set_runs(live_runs(infos))  # the sampler reads no journal of its own
        known = self._last_runs or []
        gpu = self.sampler.latest() if self.sampler is not None else None
        if not self.listed_once and infos is not None:
            # The first poll reads the journal only: the table's rows paint at once, with a
            # placeholder in the metric cells; the metrics stream in from the next polls,
            # the selected run's first, then the rows on screen.
            self.listed_once = True
            return PollResult(infos, [], {}, gpu, err, bool(infos), time.perf_counter() - t0)
        updates: list[RunData] = []
        backlog = False
        # the shown runs (priority) and their lineage; released ones are read back for them
        shown = {c for rid in self.priority for c in chain(self._infos(known), rid)}
        prio = [r for r in known if r.id in self.priority]
        rest = [r for r in known if r.id not in self.priority]
        # runs never read come first (rows on screen before the others), then live ones
        visible = set(self.visible)
        rest.sort(key=lambda r: (r.id not in self.pending and r.id in self.readers, r.id not in visible,
                                 not r.alive))
        mtimes = {}
        cliffs = {}
        shown_first = False  # a plotted run read for the first time: post it now, the rest next poll
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
            if r.alive:
                self.done.discard(r.id)
                self.cliff_known.pop(r.id, None)
            elif (r.id in self.done and not fresh and r.id not in self.priority and rm.version
                  and not (r.id in self.thin and r.id in shown)):
                continue  # ended and read once since it ended: nothing new will come
            # a run seen ended for the first time is read to its end in this very poll (its
            # last lines reach the table with its end), whatever the time budget
            ending = not r.alive and r.id not in self.done and not fresh
            if ((shown_first or time.perf_counter() - t0 > self.time_budget) and r.id not in self.priority
                    and not ending):
                backlog = True
                continue
            try:
                changed = rm.poll()
            except (OSError, UserError):
                changed = False
            self.pending.discard(r.id)
            if not r.alive:
                self.done.add(r.id)
            if fresh and changed:
                try:
                    rm.save_cache()  # the next open starts from the core's cache, not a re-parse
                except OSError:
                    pass
            mt = _mtime(r.run_dir)
            mtimes[r.id] = mt
            if changed or fresh or r.id in self.thin:  # (thin here: shown, read back)
                # an ended run read back: the same series, so the same cliff (no second scan:
                # ~25 ms of a 100k-point run's read-back, while the user waits for its curve)
                same_cliff = r.id in self.thin and not r.alive and r.id in self.cliff_known
                self.thin.discard(r.id)  # a released run read back (or new data): whole again
                # (nothing shown yet: the app is opening, and the run it selects is read now)
                rd = (None if r.alive or r.id in shown or not shown
                      else self._release_one(r, rm, mt, cliffs))
                if rd is None:
                    rd = self.run_data(r, rm, mt)
                    if same_cliff:
                        cliffs[r.id] = self.cliff_known[r.id]
                    else:
                        self.cliff_due.setdefault(r.id, 0.0)
                updates.append(rd)
                shown_first |= fresh and r.id in self.priority
        # loss-cliff checks scan whole series: done after the numbers are shown, within budget
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
                    self.cliff_known[rid] = cliffs[rid]
        thinned = self._release(known, shown)
        return PollResult(infos, updates, mtimes, gpu, err, backlog, time.perf_counter() - t0, cliffs,
                          thinned)

    def _infos(self, known: list) -> dict:
        if getattr(self, "_by_id_of", None) is not known:
            self._by_id, self._by_id_of = {r.id: r for r in known}, known
        return self._by_id

    def _release(self, known: list, shown: set) -> dict:
        """Ended runs that are not shown (nor in a shown run's lineage), read to their end and
        cliff-checked: their readers drop their series (read back from the series cache when
        shown again); the app keeps digests that give the same row numbers.  Nothing while
        nothing is shown (``priority`` empty: the app is opening, or a caller that shows none)."""
        out = {}
        if not shown:
            return out
        for r in known:
            rid = r.id
            if (rid in shown or rid in self.thin or rid not in self.done or r.alive
                    or rid in self.pending or rid in self.cliff_due):
                continue
            rm = self.readers.get(rid)
            if rm is None:
                continue
            with rm.lock:
                digests = {k: s.digest() for k, s in rm.series.items()}
                if not digests or not rm.release():
                    continue
            self.thin.add(rid)
            out[rid] = digests
        return out

    def _release_one(self, info, rm, mtime, cliffs: dict) -> RunData | None:
        """An ended run read now that is not shown: its row numbers, flags and cliff from its
        series, then digests only (the reader releases its series; None: it cannot)."""
        with rm.lock:
            if not rm.series:
                return None  # nothing to release
            rm.save_cache()
            if not rm.releasable():
                return None
            rd = self.run_data(info, rm, mtime, thin=True)
            cliffs[info.id] = self.cliff_known[info.id] = _cliff(rm)
            rm.release()
        self.cliff_due.pop(info.id, None)
        self.thin.add(info.id)
        return rd

    def warm(self) -> None:
        """(Worker thread, after the listing was posted.) Import numpy, which the first metric
        read needs (0.1-0.3 s, much of it disk reads), while the UI thread paints the table."""
        _numpy()

    def run_data(self, info, rm, mtime, thin: bool = False) -> RunData:
        """What the app holds of a run: a copy of its series, or (``thin``) digests of them."""
        ser = rm.series if thin else rm.snapshot()
        goals = rm.patterns.goals
        summary = summarize(ser, info.params, x_axis=rm.x_axis, goals=goals)
        # the core's rules; the cliff comes later (_cliff, within the poll's budget)
        fl = M.evaluate(ser, status=info.status, alive=False, last_output=None,
                        traceback_text=rm.last_traceback if M.traceback_counts(info.status) else None,
                        cliff=False)
        summary.nan = fl.nan_at is not None
        if thin:
            ser = {k: s.digest() for k, s in ser.items()}
        return RunData(info.id, ser, rm.x_axis, rm.version, summary, fl, mtime, goals, thin)


def _cliff(rm) -> float | None:
    with rm.lock:
        return M.cliff_at(rm.series, rm.patterns.goals)


def _mtime(run_dir: Path) -> float | None:
    return RunDir(run_dir).last_output_mtime()


# --------------------------------------------------------------------------- summaries

@dataclass
class Summary:
    metric: str | None = None
    last: float | None = None
    best: float | None = None     # by the metric's goal (core goal_of); None when unknown
    best_step: float | None = None
    minimum: float | None = None
    step: float | None = None
    epoch: float | None = None
    rate: float | None = None     # units (extra["unit"]: steps or epochs) per second
    total: float | None = None    # total_steps, or epochs when the run logs epochs
    eta: float | None = None      # seconds
    nan: bool = False
    cliff: float | None = None    # step of a loss cliff
    extra: dict = field(default_factory=dict)


def stats(col) -> tuple[float | None, float | None, float | None]:
    """(last, min, max) of the finite values of a column."""
    if col is None or not len(col):
        return None, None, None
    import numpy as np  # deferred: ~70 ms at start-up, before the app can paint its table
    a = np.frombuffer(col, dtype=np.float64) if hasattr(col, "typecode") else np.asarray(col, float)
    fin = a[np.isfinite(a)]
    if not len(fin):
        return None, None, None
    return float(fin[-1]), float(fin.min()), float(fin.max())


def _positive(params: dict, keys) -> float | None:
    for k in keys:
        v = params.get(k)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0:
            return float(v)
    return None


def total_of(params: dict) -> tuple[float | None, str]:
    """(total, unit) a template's params promise: total steps, else epochs."""
    t = _positive(params, TOTAL_KEYS)
    if t is not None:
        return t, "step"
    t = _positive(params, EPOCH_KEYS)
    return (t, "epoch") if t is not None else (None, "step")


def _rate(x, wall, n: int) -> float | None:
    """Units per second over the last (up to) 50 points of parallel x/wall columns."""
    k = min(n, 50)
    if k < 2:
        return None
    w1, w0 = wall[n - 1], wall[n - k]
    if math.isfinite(w1) and math.isfinite(w0) and w1 > w0 and x[n - 1] > x[n - k]:
        return (x[n - 1] - x[n - k]) / (w1 - w0)
    return None


def summarize(series: dict, params: dict, preferred: str | None = None, *,
              x_axis: str = "step", goals: dict | None = None) -> Summary:
    """The row numbers of a run: main metric's last and best (by its goal), progress.

    Progress is steps over ``total_steps`` (when x is a step), else epochs over ``epochs``
    when the run logs epochs (an ``epoch`` series, or x itself is the epoch), never steps over
    an epoch count; the rate and ETA are in the same unit."""
    s = Summary()
    metric = main_metric([k for k in series if k != "epoch"] or list(series), preferred)
    if metric is None:
        return s
    main = series[metric]
    n = len(main)
    if not n:
        return s
    s.metric = metric
    s.step = main.x[n - 1]
    row = M.metric_stats({metric: main})[metric]
    s.last, s.minimum = row[0], row[2]
    s.best, s.best_step = M.best_of(row, goal_of(metric, goals))
    ep = series.get("epoch")
    en = len(ep) if ep is not None else 0
    if en:
        s.epoch = ep.y[en - 1]
    elif x_axis == "epoch":
        s.epoch = s.step
    steps, epochs = _positive(params, TOTAL_KEYS), _positive(params, EPOCH_KEYS)
    step_rate = _rate(main.x, main.wall, n) if x_axis == "step" else None
    if steps is not None and x_axis == "step":
        s.total, s.extra["unit"], s.rate = steps, "step", step_rate
        if s.rate:
            s.eta = max(0.0, (steps - s.step) / s.rate)
    elif epochs is not None and s.epoch is not None:
        s.total, s.extra["unit"] = epochs, "epoch"
        s.rate = _rate(ep.y, ep.wall, en) if en else _rate(main.x, main.wall, n)
        if s.rate:
            s.eta = max(0.0, (epochs - s.epoch) / s.rate)
    else:
        s.rate = step_rate
    return s


def _inert_value(v: Any) -> Any:
    if isinstance(v, str):
        return inert(v)
    if isinstance(v, dict):
        return {inert(str(k)): _inert_value(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_inert_value(x) for x in v]
    return v


def display_info(info):
    """A run as the app shows it: every string that came from the journal (a hand edit, a note,
    a tag, someone's command line) passed through the one sanitiser, so no escape sequence or
    bidi mark in it reaches the terminal.  The app holds only these copies."""
    changes = {}
    for name in ("id", "experiment", "command", "verdict", "resumed_from", "parent", "signal"):
        v = getattr(info, name)
        if isinstance(v, str) and inert(v) != v:
            changes[name] = inert(v)
    notes = [{"at": n.get("at"), "text": inert_lines(str(n.get("text", "")))} for n in info.notes]
    if notes != info.notes:
        changes["notes"] = notes
    tags = [inert(str(t)) for t in info.tags]
    if tags != list(info.tags):
        changes["tags"] = tags
    params = _inert_value(info.params)
    if params != info.params:
        changes["params"] = params
    extra = _inert_value(info.extra)  # cwd, init-from, git: from the journal too
    if extra != info.extra:
        changes["extra"] = extra
    slurm = _inert_value(info.slurm)  # a Slurm run's job: journal and squeue text
    if slurm != info.slurm:
        changes["slurm"] = slurm
    return dataclasses.replace(info, **changes) if changes else info
