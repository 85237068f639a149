"""The app's state without Textual: what the message handlers update and the widgets read.

:class:`AppState` holds the runs of the last poll, their metric data and summaries, and the
user's view of them: the ``/`` filter, the sort, the selected and marked runs, runs with a kill
in flight, and the plot settings (metrics, EMA, log scale, x axis, window).  Everything here is
plain Python over ``RunInfo`` / ``RunData`` objects, so it is tested without Pilot
(``tests/test_app_state.py``); ``LabApp`` only turns key presses and poll results into calls
on it and redraws what it reports as changed.  Never import Textual here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from ..core.lineage import chain, tree_order
from ..core.metrics import RunFlags, with_silence
from ..core.runs import killable
from ..core.status import Status
from ..core.text import age
from . import model
from .model import PollResult, Summary, lineage_curve, lower_is_better, stats, summarize

SORTS = ("tree", "status", "age", "last", "experiment")
SMOOTHING_STEPS = (0.0, 0.6, 0.8, 0.9, 0.95, 0.99)
AXES = ("step", "epoch", "time")
WINDOWS = (0, 1000, 10000, 100000)  # last N steps; 0 = all
STATUS_ORDER = {Status.RUNNING: 0, Status.STARTING: 1, Status.PENDING: 2, Status.QUEUED: 3,
                Status.FAILED: 4, Status.LOST: 5, Status.STOPPED: 6, Status.KILLED: 7,
                Status.FINISHED: 8, Status.CANCELLED: 9}


@dataclass
class PlotSettings:
    metrics: list = field(default_factory=list)   # [] = the main metric of the selected run
    smoothing: float = 0.0                         # EMA weight, 0 = off
    log: bool = False
    axis: str = "step"                             # step | epoch | time
    window: int = 0                                # last N steps, 0 = all
    panels: bool = False                           # small multiples: one plot per metric

    def key(self) -> tuple:
        return (tuple(self.metrics), self.smoothing, self.log, self.axis, self.window, self.panels)

    def toggle_panels(self) -> None:
        self.panels = not self.panels

    def toggle_log(self) -> None:
        self.log = not self.log

    def smoothing_up(self) -> None:
        """EMA weight 0 → .6 → .8 → .9 → .95 → .99 → 0."""
        self.smoothing = SMOOTHING_STEPS[(self._smoothing_index() + 1) % len(SMOOTHING_STEPS)]

    def smoothing_down(self) -> None:
        self.smoothing = SMOOTHING_STEPS[max(0, self._smoothing_index() - 1)]

    def _smoothing_index(self) -> int:
        return min(range(len(SMOOTHING_STEPS)), key=lambda k: abs(SMOOTHING_STEPS[k] - self.smoothing))

    def next_axis(self) -> None:
        self.axis = AXES[(AXES.index(self.axis) + 1) % len(AXES)]

    def next_window(self) -> None:
        w = self.window
        self.window = WINDOWS[(WINDOWS.index(w) + 1) % len(WINDOWS)] if w in WINDOWS else 0


@dataclass
class Changes:
    """What one poll changed: the app redraws only these parts."""

    runs: set = field(default_factory=set)  # ids whose row (info, numbers or flags) changed
    listed: bool = False                     # the run list was re-read (journal changed)
    error: bool = False                      # the journal error line changed
    loading: bool = False                    # the loading state changed
    loaded: bool = False                     # the first full load just finished
    gpu: bool = False                        # the GPU panel has something new to show

    def __or__(self, other: "Changes") -> "Changes":
        """What two polls in a row changed (redrawn once)."""
        return Changes(self.runs | other.runs, self.listed or other.listed, self.error or other.error,
                       self.loading or other.loading, self.loaded or other.loaded, self.gpu or other.gpu)


@dataclass
class KillPlan:
    """Which of the target runs a kill would signal, which are skipped, which are mid-kill."""

    alive: list      # RunInfo: running (or queued / pending: cancelled), no kill from this app in flight
    busy: list       # ids with a kill in flight
    skipped: list    # ids not running (+ busy ones)


def status_of(info: Any) -> Status | None:
    return Status.parse(info.status)


def started_ts(info: Any) -> float | None:
    """The run's start as a Unix time, or None (missing or hand-edited to something else)."""
    s = info.started
    return s.timestamp() if isinstance(s, dt.datetime) else None


def ended_ts(info: Any) -> float | None:
    e = info.ended
    return e.timestamp() if isinstance(e, dt.datetime) else None


def tree_branches(items: list[tuple[int, Any]]) -> list[str]:
    """The tree prefix of each ``(depth, info)`` row in tree order: ``├ `` for a child with a
    later sibling, ``└ `` for the last one, ``│ `` where an ancestor's siblings continue below."""
    n = len(items)
    last = [True] * n
    for i, (d, _r) in enumerate(items):
        for j in range(i + 1, n):
            dj = items[j][0]
            if dj < d:
                break
            if dj == d:
                last[i] = False
                break
    out: list[str] = []
    open_at: dict[int, bool] = {}  # depth -> the latest row at that depth has a later sibling
    for i, (d, _r) in enumerate(items):
        open_at[d] = not last[i]
        if d == 0:
            out.append("")
            continue
        out.append("".join("│ " if open_at.get(k) else "  " for k in range(1, d))
                   + ("└ " if last[i] else "├ "))
    return out


def matches(info: Any, text: str) -> bool:
    """The ``/`` filter: every whitespace-separated token must match.  ``key=value`` matches a
    param whose value equals (or starts with, or is numerically equal to) ``value``; any other
    token is a substring of the id, experiment, status, a tag or a param value."""
    f = text.strip().lower()
    if not f:
        return True
    for tok in f.split():
        if "=" in tok:
            k, _, v = tok.partition("=")
            pv = info.params.get(k)
            if pv is None:
                return False
            if str(pv).lower() == v or str(pv).lower().startswith(v):
                continue
            try:
                if float(pv) != float(v):
                    return False
            except (TypeError, ValueError):
                return False
            continue
        hay = [info.id, info.experiment or "", str(info.status), *info.tags,
               *(str(v) for v in info.params.values())]
        if not any(tok in h.lower() for h in hay):
            return False
    return True


class AppState:
    """The app's data and view state; changed only by the app's message handlers."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        # what the polls brought
        self.infos: dict[str, Any] = {}          # run id -> RunInfo
        self.run_list: list = []                  # RunInfo, journal order
        self.store: dict[str, model.RunData] = {}
        self.summaries: dict[str, Summary] = {}
        self.log_mtimes: dict[str, float | None] = {}
        self.gpu_snapshot = None
        self.journal_error: str | None = None
        self.polls = 0
        self.loading = True
        # the user's view
        self.marked: list[str] = []
        self.selected: str | None = None
        self.select_pending: str | None = None   # a run an action created: selected once listed
        self.filter_text = ""
        self.sort_key = "tree"
        self.plot = PlotSettings()
        self.killing: set[str] = set()           # runs with a kill from this app in flight
        self._values: dict[tuple[str, str], tuple[int, tuple]] = {}  # (run, metric) -> (version, (last, best))

    # ------------------------------------------------------------------ polls
    def apply(self, res: PollResult) -> Changes:
        """Fold one poll into the state; say what changed."""
        ch = Changes()
        self.polls += 1
        if res.error != self.journal_error:
            self.journal_error = res.error
            ch.error = True
        if res.runs is not None:
            self.run_list = res.runs
            self.infos = {r.id: r for r in res.runs}
            self.marked = [m for m in self.marked if m in self.infos]  # a run gone from the journal
            # A kill is in flight only while the run lives: once the poll sees it ended, the
            # run is no longer "stopping" and a second `k` is not "already killing", even if
            # the kill's worker has not reported yet (it reports later; discarding is idempotent).
            self.killing = {k for k in self.killing if k in self.infos and self.infos[k].alive}
            ch.listed = True
            ch.runs.update(self.infos)
        for rd in res.updates:
            self.store[rd.run_id] = rd
            self.summaries[rd.run_id] = rd.summary or Summary()
            ch.runs.add(rd.run_id)
        for rid, digests in res.thinned.items():  # runs no longer shown: digests (same row numbers)
            if rid in self.store:
                self.store[rid] = replace(self.store[rid], series=digests, thin=True)
        if res.runs is not None:  # params (totals) may have changed: re-derive from held series
            for rid, rd in self.store.items():
                info = self.infos.get(rid)
                if info is not None and rd not in res.updates:
                    s = summarize(rd.series, info.params, x_axis=rd.x_axis, goals=rd.goals)
                    s.nan, s.cliff = self.summaries[rid].nan, self.summaries[rid].cliff
                    self.summaries[rid] = s
        for rid, x in res.cliffs.items():
            rd = self.store.get(rid)
            if rd is None:
                continue
            fl = replace(rd.flags, cliff_at=x)
            if fl != rd.flags:
                rd.flags = fl
                ch.runs.add(rid)
            if rid in self.summaries:
                self.summaries[rid].cliff = x
        self.log_mtimes.update(res.log_mtimes)
        # loading, too, while a shown run's whole series are being read back (released before)
        was_loading, self.loading = self.loading, res.backlog or any(map(self.needs_data, self.plotted_ids()))
        ch.loading = was_loading != self.loading
        ch.loaded = was_loading and not self.loading
        if res.gpu is not None and res.gpu is not self.gpu_snapshot:
            self.gpu_snapshot = res.gpu
            ch.gpu = True
        elif self.gpu_snapshot is None and res.gpu is None and self.polls == 1:
            ch.gpu = True  # draw the panel's empty state once
        return ch

    # ------------------------------------------------------------------ rows
    def flags(self, rid: str) -> list[str]:
        rd = self.store.get(rid)
        fl = rd.flags if rd is not None else RunFlags()
        info = self.infos.get(rid)
        return with_silence(fl, self.log_mtimes.get(rid), info is not None and info.alive,
                            self.clock()).short()

    def ordered(self) -> list[tuple[int, Any]]:
        """``[(depth, RunInfo)]`` in the current sort (depth > 0 only in tree order)."""
        items = tree_order(self.run_list)
        if self.sort_key == "tree":
            return items
        items = [(0, r) for _d, r in items]
        if self.sort_key == "status":
            items.sort(key=lambda dr: STATUS_ORDER.get(status_of(dr[1]), 9))
        elif self.sort_key == "age":
            items.sort(key=lambda dr: -(started_ts(dr[1]) or 0))
        elif self.sort_key == "last":
            def last(dr):
                s = self.summaries.get(dr[1].id)
                return (s is None or s.last is None, s.last if s and s.last is not None else 0)
            items.sort(key=last)
        elif self.sort_key == "experiment":
            items.sort(key=lambda dr: dr[1].experiment or "")
        return items

    def table_metric(self) -> str | None:
        """The metric the table's last/best columns show for every run: the plotted one once
        the user chose it (``m``, ``M``); None = each run's own main metric."""
        return self.plot.metrics[0] if self.plot.metrics else None

    def metric_values(self, rid: str, metric: str) -> tuple[float | None, float | None]:
        """(last, best) of one run's own ``metric`` (cached per data version)."""
        rd = self.store.get(rid)
        if rd is None or metric not in rd.series:
            return None, None
        hit = self._values.get((rid, metric))
        if hit is not None and hit[0] == rd.version:
            return hit[1]
        ser = rd.series[metric]
        last, lo, hi = stats(ser.y[:len(ser)])
        val = (last, lo if lower_is_better(metric) else hi)
        self._values[(rid, metric)] = (rd.version, val)
        return val

    def rows(self) -> list[dict]:
        """The runs table's rows: sorted, filtered, with everything a row shows."""
        now = self.clock()
        out = []
        items = self.ordered()
        branches = tree_branches(items) if self.sort_key == "tree" else [""] * len(items)
        chosen = self.table_metric()
        for (depth, r), branch in zip(items, branches):
            if not matches(r, self.filter_text):
                continue
            started, ended = started_ts(r), ended_ts(r)
            s = self.summaries.get(r.id) or Summary()
            metric = chosen or s.metric
            last, best = (s.last, s.best) if metric == s.metric else self.metric_values(r.id, metric)
            end = now if r.alive or ended is None else ended
            out.append({
                "info": r, "depth": depth, "branch": branch,
                "summary": s, "metric": metric, "last": last, "best": best,
                "flags": self.flags(r.id),
                "age": age(now - started) if started else "",
                "duration": age(end - started) if started and (r.alive or ended) and end >= started else "",
                "loading": self.loading and r.id not in self.store,
                "stopping": r.alive and r.id in self.killing,
            })
        return out

    @staticmethod
    def rows_metric(rows: list[dict]) -> str | None:
        """The one metric the rows' last/best show (for the headers), or None when they differ."""
        names = {r["metric"] for r in rows if r["metric"]}
        return names.pop() if len(names) == 1 else None

    def status_counts(self) -> dict[Status | None, int]:
        counts: dict[Status | None, int] = {}
        for r in self.run_list:
            st = status_of(r)
            counts[st] = counts.get(st, 0) + 1
        return counts

    def still_running(self) -> int:
        return sum(1 for r in self.run_list if r.alive)

    def next_sort(self) -> None:
        self.sort_key = SORTS[(SORTS.index(self.sort_key) + 1) % len(SORTS)]

    # ------------------------------------------------------------------ selection and marks
    def reselect(self, order: list[str]) -> str | None:
        """The run to select among the rows ``order`` (ids, top to bottom) after they changed:
        a run an action just created once it is listed, else the selected run while it is
        listed, else the first row (None when there are no rows)."""
        if self.select_pending in order:
            self.selected, self.select_pending = self.select_pending, None
        elif self.selected not in order:
            self.selected = order[0] if order else None
        return self.selected

    def select(self, rid: str | None) -> bool:
        """The cursor moved to ``rid``; True when the selection changed."""
        if rid == self.selected:
            return False
        self.selected = rid
        return True

    def toggle_mark(self) -> str | None:
        """Mark or unmark the selected run; the run toggled (None: nothing selected)."""
        rid = self.selected
        if not rid:
            return None
        if rid in self.marked:
            self.marked.remove(rid)
        else:
            self.marked.append(rid)
        return rid

    def unmark_all(self) -> None:
        self.marked.clear()

    def priority(self) -> tuple[str, ...]:
        """Runs whose metrics the next poll reads first: the marked ones and the selected one."""
        return tuple(dict.fromkeys([*self.marked, *([self.selected] if self.selected else [])]))

    def targets(self, use_marked: bool) -> list:
        """RunInfos an action applies to: the marked runs (when ``use_marked`` and any are
        marked), else the selected run."""
        ids = list(self.marked) if use_marked and self.marked else ([self.selected] if self.selected else [])
        return [self.infos[i] for i in ids if i in self.infos]

    def compare_ids(self) -> list[str]:
        return list(self.marked) or ([self.selected] if self.selected else [])

    def report_ids(self) -> list[str]:
        """The runs a report covers: the marked ones, else every run the (filtered) table shows."""
        return list(self.marked) or [r["info"].id for r in self.rows()]

    def needs_data(self, rid: str | None) -> bool:
        """Whether a run about to be shown lacks its whole series (never read, or released)."""
        return bool(rid) and rid in self.infos and any(
            c not in self.store or self.store[c].thin for c in chain(self.infos, rid))

    def selected_info(self) -> Any:
        return self.infos.get(self.selected or "")

    def kill_plan(self, targets: list) -> KillPlan:
        busy = [i.id for i in targets if i.id in self.killing]
        alive = [i for i in targets if killable(i) and i.id not in self.killing]  # queued/pending too
        skipped = [i.id for i in targets if not killable(i)] + busy
        return KillPlan(alive, busy, skipped)

    # ------------------------------------------------------------------ plot
    def plotted_ids(self) -> list[str]:
        """The marked runs (in marking order), then the selected run if it is not marked."""
        ids = list(self.marked)
        if self.selected and self.selected not in ids:
            ids.append(self.selected)
        return ids

    def available_metrics(self) -> list[str]:
        seen: dict[str, None] = {}
        for rid in self.plotted_ids():
            rd = self.store.get(rid)
            if rd:
                for m in rd.series:
                    if m != "epoch":
                        seen.setdefault(m)
        return list(seen)

    def current_metrics(self) -> list[str]:
        if self.plot.metrics:
            return list(self.plot.metrics)
        s = self.summaries.get(self.selected or "")
        if s and s.metric:
            return [s.metric]
        m = model.main_metric(self.available_metrics())
        return [m] if m else []

    def set_metrics(self, metrics: list[str]) -> None:
        self.plot.metrics = list(metrics)

    def next_metric(self) -> bool:
        """Plot the next available metric; False when there is none."""
        avail = self.available_metrics()
        if not avail:
            return False
        cur = self.current_metrics()
        i = avail.index(cur[0]) + 1 if cur and cur[0] in avail else 0
        self.set_metrics([avail[i % len(avail)]])
        return True

    def curves(self, ids: list[str] | None = None) -> tuple[list[tuple], PlotSettings, tuple, str]:
        """What the plot shows: ``[(label, xs, ys, resume_xs, run, metric)]``, the settings it is drawn with,
        a key that changes exactly when the data does, and the message shown without curves.
        ``ids``: the runs to draw (default: the plotted ones; the compare view: the compared ones)."""
        metrics = self.current_metrics()
        st = self.plot
        curves: list[tuple] = []
        key = []
        for rid in self.plotted_ids() if ids is None else ids:
            if rid not in self.infos:
                continue
            if any(self.store[c].thin for c in chain(self.infos, rid) if c in self.store):
                continue  # released while not shown: its series are being read back (needs_data)
            key.append((rid, tuple((c, self.store[c].version, self.infos[c].resume_step)
                                   for c in chain(self.infos, rid) if c in self.store)))
            for m in metrics:
                xs, ys, marks = lineage_curve(self.store, self.infos, rid, m, st.axis)
                if not len(xs):
                    continue
                if st.axis == "time":  # minutes since the curve's first point
                    t0 = float(xs[0])
                    xs = (xs - t0) / 60.0
                    marks = [(x - t0) / 60.0 for x in marks]
                curves.append((rid if len(metrics) == 1 else f"{rid} {m}", xs, ys, marks, rid, m))
        shown = PlotSettings(metrics, st.smoothing, st.log, st.axis, st.window, st.panels)
        if curves:
            msg = ""
        elif self.loading or any(map(self.needs_data, self.plotted_ids() if ids is None else ids)):
            msg = "loading metrics…"  # a plotted run's series is not read yet (or read back)
        elif self.selected:
            msg = "no metrics yet for " + self.selected
        else:
            msg = "no runs"
        return curves, shown, tuple(key), msg
