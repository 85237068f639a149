"""The labtui Textual app: runs table, live metric plot, GPU panel; detail/compare/help screens.

State lives on the app and is changed only by message handlers; workers (threads) only
read files through the core and post :class:`Polled`.  The data poll re-arms itself with
``set_timer`` after each poll finishes, so a slow poll never overlaps the next one.
Dialogs (new run, kill, resume, note, tags) are ModalScreens in ``tui/app/screens/``;
every action has a binding with an id (see ``BINDINGS`` and ``docs/app.md``).
"""

from __future__ import annotations

import gc
import math
import time
from pathlib import Path
from typing import Any, Callable

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Footer, Input, Static

from ..core import runs as runs_mod
from ..core.errors import UserError
from ..core.journal import Journal
from . import model
from .model import Poller, PollResult, Summary, lineage_curve, ordered, summarize
from ..core.text import age
from .fmt import show_path
from .widgets.gpu_panel import GpuPanel
from .widgets.plot import WINDOWS, Curve, MetricPlot, PlotSettings
from .widgets.runs_table import RunsTable

SORTS = ("tree", "status", "age", "last", "experiment")
SMOOTHING_STEPS = (0.0, 0.6, 0.8, 0.9, 0.95, 0.99)
AXES = ("step", "epoch", "time")
STATUS_ORDER = {"running": 0, "starting": 1, "failed": 2, "lost": 3, "killed": 4, "finished": 5}


class Polled(Message):
    """A poll finished (posted from the worker thread)."""

    def __init__(self, result: PollResult) -> None:
        super().__init__()
        self.result = result


class ActionDone(Message):
    """An action's core call finished (posted from its worker thread)."""

    def __init__(self, job: dict, result: Any = None, error: str | None = None) -> None:
        super().__init__()
        self.job = job
        self.result = result
        self.error = error


class LabApp(App):
    CSS_PATH = "labtui.tcss"
    TITLE = "labtui"
    ENABLE_COMMAND_PALETTE = False
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]

    BINDINGS = [
        Binding("q", "quit_app", "Quit", id="quit"),
        Binding("question_mark", "help", "Help", key_display="?", id="help"),
        Binding("enter", "detail", "Detail", id="detail", show=False),
        Binding("slash", "filter", "Filter", key_display="/", id="filter"),
        Binding("space", "mark", "Mark", id="mark"),
        Binding("c", "compare", "Compare", id="compare"),
        Binding("m", "next_metric", "Metric", id="next_metric"),
        Binding("M", "choose_metrics", "Metrics…", id="choose_metrics", show=False),
        Binding("y", "log_scale", "Log", id="log_scale"),
        Binding("e", "smoothing", "EMA", id="smoothing"),
        Binding("E", "smoothing_down", "EMA-", id="smoothing_down", show=False),
        Binding("x", "axis", "X axis", id="axis", show=False),
        Binding("w", "window", "Window", id="window", show=False),
        Binding("s", "sort", "Sort", id="sort", show=False),
        Binding("u", "unmark", "Unmark all", id="unmark", show=False),
        # actions (dialogs in screens/actions.py; every one goes through tui.core.runs)
        Binding("n", "new_run", "New", id="new_run"),
        Binding("k", "kill", "Kill", id="kill"),
        Binding("r", "resume", "Resume", id="resume"),
        Binding("R", "resume_edit", "Resume+edit", id="resume_edit", show=False),
        Binding("a", "note", "Note", id="note"),
        Binding("t", "tags", "Tags", id="tags"),
        Binding("escape", "clear_filter", "Clear filter", id="clear_filter", show=False),
    ]

    def __init__(self, journal_path: str | Path = "experiments.toml", clock: Callable[[], float] | None = None,
                 gpu_source: Any = None, poll_interval: float = 1.0, theme: str | None = None,
                 gpu_interval: float = 1.0, keymap: dict[str, str] | None = None, **kw):
        super().__init__(**kw)
        self.journal = Journal(journal_path)
        self.keymap = dict(keymap or {})  # binding id -> keys, from the user's config ([keys])
        self.clock = clock or time.time
        self.poll_interval = poll_interval
        self._own_sampler = False
        self.sampler = self._make_sampler(gpu_source, gpu_interval)
        self.poller = Poller(self.journal, self.sampler, clock=self.clock)
        if theme:
            self.theme = theme
        # state owned by message handlers
        self.infos: dict[str, Any] = {}
        self.run_list: list = []
        self.store: dict[str, model.RunData] = {}
        self.summaries: dict[str, Summary] = {}
        self.log_mtimes: dict[str, float | None] = {}
        self.gpu_snapshot = None
        self.marked: list[str] = []
        self.selected: str | None = None
        self.filter_text = ""
        self.sort_key = "tree"
        self.plot_settings = PlotSettings()
        self.journal_error: str | None = None
        self.polls = 0
        self.loading = True
        self._poll_running = False
        self._stopping = False
        self._table_at = 0.0
        self._repoll = False
        self._select_pending: str | None = None
        self._killing: set[str] = set()  # runs with a kill in flight
        self._gc_frozen = False
        self.kill_grace = runs_mod.DEFAULT_GRACE  # seconds after SIGINT and after SIGTERM

    # ------------------------------------------------------------------ setup
    def _make_sampler(self, src, interval):
        if src is None:
            from ..core import gpus, procs

            src = gpus.make_source("auto", lab=procs.lab_id(self.journal.path))  # the Poller hands it live runs
        if hasattr(src, "latest"):
            return src  # a Sampler (or a stand-in with latest()/history())
        from ..core.gpus import Sampler

        self._own_sampler = True
        return Sampler(src, interval=interval)

    def compose(self) -> ComposeResult:
        yield Static(id="topbar")
        with Vertical(id="main"):
            yield RunsTable(id="runs")
            with Horizontal(id="lower"):
                yield MetricPlot(id="plot")
                yield GpuPanel(id="gpus")
        yield Input(placeholder="filter: id, experiment, status, tag, key=value", id="filter")
        yield Footer()

    def on_mount(self) -> None:
        if self.keymap:
            self.set_keymap(self.keymap)
        if self._own_sampler:
            self.sampler.start()
        self.query_one("#filter", Input).display = False
        self.query_one(RunsTable).focus()
        self._update_topbar()
        self._start_poll()

    def on_unmount(self) -> None:
        self._stopping = True
        if self._own_sampler:
            self.sampler.stop(timeout=1.0)

    # ------------------------------------------------------------------ polling
    def _start_poll(self) -> None:
        if self._poll_running or self._stopping:
            return
        self._poll_running = True
        self.poller.priority = tuple(dict.fromkeys([*(self.marked), *([self.selected] if self.selected else [])]))
        self.run_worker(self._poll_thread, thread=True, group="poll", exit_on_error=False)

    def _poll_thread(self) -> None:
        try:
            res = self.poller.poll()
        except Exception as e:  # noqa: BLE001 - a bad file must not kill the poll loop
            res = PollResult(None, [], {}, None, f"poll failed: {type(e).__name__}: {e}")
        self.post_message(Polled(res))

    def on_polled(self, msg: Polled) -> None:
        res = msg.result
        self._poll_running = False
        self.polls += 1
        self.apply(res)
        self._select_new_run()
        if not self._stopping:
            again, self._repoll = self._repoll, False
            self.set_timer(0.05 if res.backlog or again else self.poll_interval, self._start_poll)

    def apply(self, res: PollResult) -> None:
        """Fold one poll into the app state and redraw what changed."""
        changed_runs: set[str] = set()
        if res.error != self.journal_error:
            self.journal_error = res.error
            self._update_topbar()
        if res.runs is not None:
            self.run_list = res.runs
            self.infos = {r.id: r for r in res.runs}
            changed_runs.update(self.infos)
        for rd in res.updates:
            self.store[rd.run_id] = rd
            self.summaries[rd.run_id] = rd.summary or Summary()
            changed_runs.add(rd.run_id)
        if res.runs is not None:  # params (totals) may have changed: re-derive from held series
            for rid, rd in self.store.items():
                info = self.infos.get(rid)
                if info is not None and rd not in res.updates:
                    s = summarize(rd.series, info.params)
                    s.nan, s.cliff = self.summaries[rid].nan, self.summaries[rid].cliff
                    self.summaries[rid] = s
        for rid, x in res.cliffs.items():
            rd = self.store.get(rid)
            if rd is None:
                continue
            fl = tuple(f for f in rd.flags if f != "cliff")
            if x is not None:
                fl = fl + ("cliff",)
            if fl != rd.flags:
                rd.flags = fl
                changed_runs.add(rid)
            if rid in self.summaries:
                self.summaries[rid].cliff = x
        self.log_mtimes.update(res.log_mtimes)
        was_loading = self.loading
        self.loading = res.backlog
        now = time.monotonic()
        if changed_runs or res.runs is not None or now - self._table_at > 10.0:
            self._table_at = now
            self.refresh_table()  # diff-based: only changed cells (ages, statuses...) redraw
        if was_loading and not self.loading and not self._gc_frozen:
            # Everything loaded so far (Textual, numpy, the runs' series) lives as long as the
            # app: move it out of the collector's sight, or each full collection walks it all
            # (~50 ms: a key press that meets one redraws late).
            self._gc_frozen = True
            gc.collect()
            gc.freeze()
        if changed_runs or was_loading != self.loading:
            self._update_topbar()
        if changed_runs & set(self._plotted_ids()) or res.runs is not None:
            self.refresh_plot()
        if res.gpu is not None and res.gpu is not self.gpu_snapshot:
            self.gpu_snapshot = res.gpu
            self.refresh_gpus()
        elif self.gpu_snapshot is None and res.gpu is None and self.polls == 1:
            self.refresh_gpus()

    # ------------------------------------------------------------------ derived rows
    def flags(self, rid: str) -> list[str]:
        rd = self.store.get(rid)
        out = list(rd.flags) if rd is not None else []
        info = self.infos.get(rid)
        mt = self.log_mtimes.get(rid)
        if info is not None and info.alive and mt is not None and self.clock() - mt > model.SILENT_AFTER:
            out.append("silent")
        return out

    def matches(self, info) -> bool:
        f = self.filter_text.strip().lower()
        if not f:
            return True
        for tok in f.split():
            if "=" in tok:
                k, _, v = tok.partition("=")
                pv = info.params.get(k)
                if pv is None or str(pv).lower() != v and not str(pv).lower().startswith(v):
                    try:
                        if pv is None or float(pv) != float(v):
                            return False
                    except (TypeError, ValueError):
                        return False
                continue
            hay = [info.id, info.experiment or "", info.status, *info.tags,
                   *(str(v) for v in info.params.values())]
            if not any(tok in h.lower() for h in hay):
                return False
        return True

    def rows(self) -> list[dict]:
        now = self.clock()
        items = ordered(self.run_list)
        if self.sort_key != "tree":
            items = [(0, r) for _d, r in items]
            if self.sort_key == "status":
                items.sort(key=lambda dr: STATUS_ORDER.get(dr[1].status, 9))
            elif self.sort_key == "age":
                items.sort(key=lambda dr: -(dr[1].started.timestamp() if dr[1].started else 0))
            elif self.sort_key == "last":
                def k(dr):
                    s = self.summaries.get(dr[1].id)
                    return (s is None or s.last is None, s.last if s and s.last is not None else 0)
                items.sort(key=k)
            elif self.sort_key == "experiment":
                items.sort(key=lambda dr: dr[1].experiment or "")
        out = []
        for depth, r in items:
            if not self.matches(r):
                continue
            started = r.started.timestamp() if hasattr(r.started, "timestamp") else None
            out.append({
                "info": r, "depth": depth,
                "summary": self.summaries.get(r.id) or Summary(),
                "flags": self.flags(r.id),
                "age": age(now - started) if started else "",
                "loading": self.loading and r.id not in self.store,
                "stopping": r.alive and r.id in self._killing,
            })
        return out

    # ------------------------------------------------------------------ redraws
    def _main_widget(self, selector):
        """A widget of the main screen, or None while the app is closing (a late poll or
        action result must never crash the exit)."""
        from textual.css.query import NoMatches

        if not self.screen_stack:
            return None
        try:
            return self.screen_stack[0].query_one(selector)
        except NoMatches:
            return None

    def refresh_table(self) -> None:
        table = self._main_widget(RunsTable)
        if table is None:
            return
        table.set_narrow(self.size.width < 120)
        table.sync(self.rows(), set(self.marked), self.selected)
        cur = table.current_id
        if cur != self.selected:
            self.selected = cur
            self.refresh_plot()

    def _plotted_ids(self) -> list[str]:
        ids = list(self.marked)
        if self.selected and self.selected not in ids:
            ids.insert(0, self.selected) if not ids else ids.append(self.selected)
        return ids

    def available_metrics(self) -> list[str]:
        seen: dict[str, None] = {}
        for rid in self._plotted_ids():
            rd = self.store.get(rid)
            if rd:
                for m in rd.series:
                    if m != "epoch":
                        seen.setdefault(m)
        return list(seen)

    def current_metrics(self) -> list[str]:
        if self.plot_settings.metrics:
            return list(self.plot_settings.metrics)
        s = self.summaries.get(self.selected or "")
        if s and s.metric:
            return [s.metric]
        avail = self.available_metrics()
        m = model.main_metric(avail)
        return [m] if m else []

    def refresh_plot(self) -> None:
        plot = self._main_widget(MetricPlot)
        if plot is None:
            return
        ids = self._plotted_ids()
        metrics = self.current_metrics()
        st = self.plot_settings
        curves: list[Curve] = []
        key = []
        for rid in ids:
            if rid not in self.infos:
                continue
            chain = model_chain(self.infos, rid)
            key.append((rid, tuple((c, self.store[c].version, self.infos[c].resume_step) for c in chain
                                   if c in self.store)))
            for m in metrics:
                xs, ys, marks = lineage_curve(self.store, self.infos, rid, m, st.axis)
                if not len(xs):
                    continue
                if st.axis == "time":
                    t0 = float(xs[0])
                    xs = (xs - t0) / 60.0
                    marks = [(x - t0) / 60.0 for x in marks]
                label = rid if len(metrics) == 1 else f"{rid} {m}"
                curves.append(Curve(label, xs, ys, marks))
        shown = PlotSettings(metrics, st.smoothing, st.log, st.axis, st.window)
        msg = "" if curves else ("loading metrics…" if self.loading else
                                 ("no metrics yet for " + (self.selected or "this run")) if self.selected else "no runs")
        plot.set_curves(curves, shown, tuple(key), msg)

    def refresh_gpus(self) -> None:
        panel = self._main_widget(GpuPanel)
        if panel is None:
            return
        hist = getattr(self.sampler, "history", None)
        panel.show(self.gpu_snapshot, hist, {r.id for r in self.run_list})

    def _update_topbar(self) -> None:
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(" labtui ", style="bold reverse")
        t.append(" ")
        t.append(show_path(self.journal.path), style="dim")
        counts: dict[str, int] = {}
        for r in self.run_list:
            counts[r.status] = counts.get(r.status, 0) + 1
        t.append(f"  {len(self.run_list)} runs")
        if counts.get("running"):
            t.append(f" · {counts['running']} running", style="green")
        if self.marked:
            t.append(f" · {len(self.marked)} marked", style="cyan")
        if self.filter_text:
            t.append(" · filter: ")
            t.append(self.filter_text, style="bold yellow")
        if self.sort_key != "tree":
            t.append(f" · sort: {self.sort_key}")
        if self.loading:
            t.append(" · loading…", style="dim")
        if self.journal_error:
            t.append("\n")
            t.append(self.journal_error, style="bold red")
        bar = self._main_widget("#topbar")
        if bar is None:
            return
        if getattr(bar, "_lab_text", None) != t:
            bar._lab_text = t
            bar.update(t)

    def on_resize(self, event) -> None:
        if self.run_list:
            self.refresh_table()

    # ------------------------------------------------------------------ events
    @on(DataTable.RowHighlighted, "#runs")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        rid = event.row_key.value if event.row_key is not None else None
        if rid != self.selected:
            self.selected = rid
            self.refresh_plot()
            if rid and rid in self.infos and rid not in self.store:
                self._start_poll()  # load its whole curve now

    @on(DataTable.RowSelected, "#runs")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_detail()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        self.refresh_table()
        self._update_topbar()

    @on(Input.Submitted, "#filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        self.query_one(RunsTable).focus()
        if not self.filter_text:
            self.query_one("#filter", Input).display = False

    # ------------------------------------------------------------------ actions
    MAIN_ONLY = {"detail", "filter", "mark", "compare", "next_metric", "choose_metrics", "log_scale",
                 "smoothing", "smoothing_down", "axis", "window", "sort", "unmark", "clear_filter",
                 "new_run", "kill", "resume", "resume_edit", "note", "tags"}

    def check_action(self, action: str, parameters) -> bool | None:
        if action in self.MAIN_ONLY and len(self.screen_stack) > 1:
            return False  # main-screen actions are off (and hidden) on detail/compare/help
        return True

    def action_quit_app(self) -> None:
        self.exit(return_code=0)

    def still_running(self) -> int:
        return sum(1 for r in self.run_list if r.alive)

    def action_help(self) -> None:
        from .screens.help import HelpScreen

        self.push_screen(HelpScreen(self))

    def action_detail(self) -> None:
        if self.selected and self.selected in self.infos:
            from .screens.detail import DetailScreen

            self.push_screen(DetailScreen(self, self.selected))

    def action_compare(self) -> None:
        ids = list(self.marked) or ([self.selected] if self.selected else [])
        if ids:
            from .screens.compare import CompareScreen

            self.push_screen(CompareScreen(self, ids))

    def action_filter(self) -> None:
        inp = self.query_one("#filter", Input)
        inp.display = True
        inp.focus()

    def action_clear_filter(self) -> None:
        inp = self.query_one("#filter", Input)
        if inp.value or inp.display:
            inp.value = ""
            inp.display = False
            self.filter_text = ""
            self.refresh_table()
            self._update_topbar()
            self.query_one(RunsTable).focus()

    def action_mark(self) -> None:
        rid = self.selected
        if not rid:
            return
        if rid in self.marked:
            self.marked.remove(rid)
        else:
            self.marked.append(rid)
        self.refresh_table()
        self.refresh_plot()
        self._update_topbar()
        if rid not in self.store:
            self._start_poll()

    def action_unmark(self) -> None:
        self.marked.clear()
        self.refresh_table()
        self.refresh_plot()
        self._update_topbar()

    def action_sort(self) -> None:
        self.sort_key = SORTS[(SORTS.index(self.sort_key) + 1) % len(SORTS)]
        self.refresh_table()
        self._update_topbar()

    def set_metrics(self, metrics: list[str]) -> None:
        self.plot_settings.metrics = list(metrics)
        self.refresh_plot()

    def action_next_metric(self) -> None:
        avail = self.available_metrics()
        if not avail:
            return
        cur = self.current_metrics()
        i = avail.index(cur[0]) + 1 if cur and cur[0] in avail else 0
        self.set_metrics([avail[i % len(avail)]])

    def action_choose_metrics(self) -> None:
        from .screens.metrics import MetricsScreen

        avail = self.available_metrics()
        if avail:
            self.push_screen(MetricsScreen(avail, self.current_metrics()),
                             lambda chosen: self.set_metrics(chosen) if chosen else None)

    def action_log_scale(self) -> None:
        self.plot_settings.log = not self.plot_settings.log
        self.refresh_plot()

    def action_smoothing(self) -> None:
        steps = SMOOTHING_STEPS
        cur = self.plot_settings.smoothing
        i = min(range(len(steps)), key=lambda k: abs(steps[k] - cur))
        self.plot_settings.smoothing = steps[(i + 1) % len(steps)]
        self.refresh_plot()

    def action_smoothing_down(self) -> None:
        steps = SMOOTHING_STEPS
        cur = self.plot_settings.smoothing
        i = min(range(len(steps)), key=lambda k: abs(steps[k] - cur))
        self.plot_settings.smoothing = steps[max(0, i - 1)]
        self.refresh_plot()

    def action_axis(self) -> None:
        self.plot_settings.axis = AXES[(AXES.index(self.plot_settings.axis) + 1) % len(AXES)]
        self.refresh_plot()

    def action_window(self) -> None:
        w = self.plot_settings.window
        self.plot_settings.window = WINDOWS[(WINDOWS.index(w) + 1) % len(WINDOWS)] if w in WINDOWS else 0
        self.refresh_plot()


    # ------------------------------------------------------------------ run actions (dialogs)
    # Dialogs live in screens/actions.py.  The UI never signals a process or writes a file:
    # every action is one tui.core.runs call, run here in a thread worker; the outcome comes
    # back as ActionDone, is reported (notify or inline in the dialog), and triggers a poll.
    def run_core(self, label: str, fn: Callable[[], Any], ok: Callable[[Any], str] | None = None,
                   on_done: Callable[[Any], None] | None = None,
                   on_error: Callable[[str], bool | None] | None = None,
                   select: Callable[[Any], str | None] | None = None) -> None:
        job = {"label": label, "ok": ok, "on_done": on_done, "on_error": on_error, "select": select}

        def work() -> None:
            try:
                self.post_message(ActionDone(job, result=fn()))
            except UserError as e:
                self.post_message(ActionDone(job, error=str(e).splitlines()[0] if str(e) else label + " failed"))
            except Exception as e:  # noqa: BLE001 - reported as one line, never crashes the app
                self.post_message(ActionDone(job, error=f"{label} failed: {type(e).__name__}: {e}"))

        self.run_worker(work, thread=True, group="action", exit_on_error=False)

    def on_action_done(self, msg: ActionDone) -> None:
        job = msg.job
        if msg.error is not None:
            shown = job["on_error"](msg.error) if job["on_error"] else False
            if not shown:
                self.say(msg.error, severity="error", timeout=8)
        else:
            if job["ok"]:
                self.say(job["ok"](msg.result))
            if job["on_done"]:
                job["on_done"](msg.result)
            if job["select"]:
                self._select_pending = job["select"](msg.result)
        self.request_poll()

    def say(self, msg: str, severity: str = "information", timeout: float = 5) -> None:
        """Report an action's outcome: one line, shown as data (never markup)."""
        self.notify(str(msg), severity=severity, timeout=timeout, markup=False)

    def request_poll(self) -> None:
        """Poll now (or right after the poll in flight) so a journal change shows at once."""
        if self._poll_running:
            self._repoll = True
        else:
            self._start_poll()

    def _select_new_run(self) -> None:
        rid = self._select_pending
        if not rid:
            return
        table = self._main_widget(RunsTable)
        if table is not None and rid in table._order:
            self._select_pending = None
            table.move_cursor(row=table._order.index(rid), animate=False)

    def _lab_targets(self, use_marked: bool) -> list:
        ids = list(self.marked) if use_marked and self.marked else ([self.selected] if self.selected else [])
        return [self.infos[i] for i in ids if i in self.infos]

    def action_kill(self) -> None:
        from .screens.actions import KillDialog

        targets = self._lab_targets(use_marked=True)
        if not targets:
            self.say("no run selected", severity="warning")
            return
        busy = [i.id for i in targets if i.id in self._killing]
        alive = [i for i in targets if i.alive and i.id not in self._killing]
        if busy and not alive:
            self.say(f"already killing {', '.join(busy)}", severity="warning")
            return
        if not alive:
            if len(targets) == 1:
                msg = f"run {targets[0].id!r} is not running (status: {targets[0].status})"
            else:
                msg = f"none of the {len(targets)} marked runs is running"
            self.say(msg, severity="warning")
            return
        skipped = [i.id for i in targets if not i.alive] + busy

        def chosen(res) -> None:
            if not res:
                return
            mode, reason = res
            for info in alive:
                rid = info.id
                self._killing.add(rid)
                self.say(f"killing {rid} ({mode})…", timeout=3)
                self.run_core(
                    f"kill {rid}",
                    lambda rid=rid: self._kill_and_wait(rid, mode, reason),
                    ok=lambda st, rid=rid: f"killed {rid}" if st == "killed" else f"{rid}: {st}",
                    on_done=lambda _st, rid=rid: self._kill_ended(rid),
                    on_error=lambda _msg, rid=rid: self._kill_ended(rid))
            self.refresh_table()  # their status reads "stopping" until the kill ends

        self.push_screen(KillDialog(self, alive, skipped), chosen)

    def _kill_ended(self, rid: str) -> None:
        self._killing.discard(rid)
        self.refresh_table()

    def _kill_and_wait(self, rid: str, mode: str, reason: str | None) -> str:
        """(Worker thread.) The kill runs in a detached core process, so quitting the app
        never abandons it half-way; this only waits for its outcome while the app lives."""
        from textual.worker import get_current_worker

        proc = runs_mod.start_kill(self.journal, rid, grace=self.kill_grace, mode=mode, reason=reason)
        worker = get_current_worker()
        while proc.poll() is None:
            if worker.is_cancelled:  # the app is closing: the kill goes on without us
                return "stopping"
            time.sleep(0.05)
        return runs_mod.kill_outcome(self.journal, rid)

    def _resume(self, edit: bool) -> None:
        from .screens.actions import ResumeDialog

        info = self.infos.get(self.selected or "")
        if info is None:
            self.say("no run selected", severity="warning")
            return
        ckpt = runs_mod.latest_checkpoint(info.run_dir)
        if ckpt is None:
            self.say(f"run {info.id!r} has no complete checkpoint in "
                     f"{show_path(info.run_dir / 'checkpoints')}", severity="error", timeout=8)
            return
        self.push_screen(ResumeDialog(self, info, ckpt, edit=edit))

    def action_resume(self) -> None:
        self._resume(edit=False)

    def action_resume_edit(self) -> None:
        self._resume(edit=True)

    def action_note(self) -> None:
        from .screens.actions import NoteDialog

        info = self.infos.get(self.selected or "")
        if info is None:
            self.say("no run selected", severity="warning")
            return
        self.push_screen(NoteDialog(self, info))

    def action_tags(self) -> None:
        from .screens.actions import TagsDialog

        targets = self._lab_targets(use_marked=True)
        if not targets:
            self.say("no run selected", severity="warning")
            return
        self.push_screen(TagsDialog(self, targets))

    def action_new_run(self) -> None:
        from .screens.actions import NewRunDialog

        try:
            exps = self.journal.read().get("experiments") or {}
        except UserError as e:
            self.say(str(e), severity="error", timeout=8)
            return
        exps = {k: v for k, v in exps.items() if isinstance(v, dict)}  # none: the form runs a command
        self.push_screen(NewRunDialog(self, exps, self.infos.get(self.selected or "")))


def model_chain(infos: dict, rid: str) -> list[str]:
    chain, seen, cur = [], set(), rid
    while cur in infos and cur not in seen:
        chain.append(cur)
        seen.add(cur)
        cur = infos[cur].parent
    return chain


def binding_ids() -> set[str]:
    """Every binding id of the app and its screens: what a user keymap may rebind."""
    from .screens import actions, compare, detail, help, metrics

    classes = [LabApp, detail.DetailScreen, compare.CompareScreen, help.HelpScreen,
               metrics.MetricsScreen, actions.ActionDialog, *_subclasses(actions.ActionDialog)]
    return {b.id for c in classes for b in c.BINDINGS if isinstance(b, Binding) and b.id}


def _subclasses(cls) -> list:
    return [s for c in cls.__subclasses__() for s in (c, *_subclasses(c))]


def run_app(journal_path: str | Path, colors: str = "auto") -> int:
    """Open the app; after it closes, say that runs keep going (the app never stops a run)."""
    import os

    if colors and colors != "auto":
        os.environ["TEXTUAL_COLOR_SYSTEM"] = {"16": "standard", "256": "256", "truecolor": "truecolor"}[colors]
    from ..core import config

    keymap = config.load_keymap(binding_ids())  # a bad config: one line, no app
    app = LabApp(journal_path, keymap=keymap)
    app.run()
    n = app.still_running()
    stopping = sorted(app._killing)
    if stopping:
        print(f"labtui: still stopping {', '.join(stopping)} in the background "
              "(the kill goes on without the app)")
    if n:
        print(f"labtui: {n} run(s) still running; reopen with `labtui`")
    else:
        print("labtui: no runs are running; reopen with `labtui`")
    return int(app.return_code or 0)
