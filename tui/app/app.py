"""The labtui Textual app: runs table, live metric plot, GPU panel; detail/compare/help screens.

State lives in ``app.state`` (:class:`~tui.app.state.AppState`, Textual-free) and is changed
only by message handlers; workers (threads) only read files through the core and post
:class:`Polled`.  The data poll re-arms itself with
``set_timer`` after each poll finishes, so a slow poll never overlaps the next one.
Dialogs (new run, kill, resume, note, tags) are ModalScreens in ``tui/app/screens/``;
every action has a binding with an id (see ``BINDINGS`` and ``docs/app.md``).
"""

from __future__ import annotations

import gc
import os
import shlex
import time
from pathlib import Path
from typing import Any, Callable

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.events import Key
from textual.message import Message
from textual.widgets import DataTable, Static
from textual.worker import get_current_worker

from ..core import config, gpus, procs
from ..core import runs as runs_mod
from ..core.checkpoints import run_checkpoints
from ..core.errors import UserError
from ..core.journal import Journal
from ..core.notify import notify_mode, osc_notification
from ..core.report.folder import write_dated_report
from ..core.rundir import RunDir
from ..core.status import Status
from ..core.text import inert
from .bindings import binding_classes
from .events import Announcer, Event
from .fmt import show_path, topbar_text
from . import firstframe
from .gcpace import GcPacer
from .layout import MIN_SIZE, WIDE, table_height
from .model import Poller, PollResult
from .state import AppState, Changes
from .widgets.gpu_panel import GpuPanel
from .widgets.keybar import KeyBar
from .widgets.keys import Input
from .widgets.plot import Curve, MetricPlot
from .widgets.runs_table import COLUMN_ALIASES, COLUMN_NAMES, RunsTable


def load_screens() -> None:
    """Import the screens and dialogs into this module, once.  Deferred from start-up (they
    cost ~85 ms of imports before the first paint): every action that opens one, the help,
    the keymap check and a worker after the first full load call this first."""
    global KillDialog, NewRunDialog, NoteDialog, ResumeDialog, TagsDialog, CompareScreen
    global DetailScreen, GpuScreen, HelpScreen, MetricsScreen, CancelQueuedDialog
    if "CancelQueuedDialog" in globals():  # bound last
        return
    # deferred imports: heavy (Rich tables, tomlkit, psutil...) and not needed to paint the table
    from .screens.actions import KillDialog, NewRunDialog, NoteDialog, ResumeDialog, TagsDialog
    from .screens.compare import CompareScreen
    from .screens.detail import DetailScreen
    from .screens.gpus import GpuScreen
    from .screens.help import HelpScreen
    from .screens.metrics import MetricsScreen
    from .screens.queue import CancelQueuedDialog


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


def _state_attr(name: str) -> property:
    """``app.<name>`` reads and writes ``app.state.<name>`` (for code that reads the app)."""
    return property(lambda self: getattr(self.state, name),
                    lambda self, v: setattr(self.state, name, v), doc=f"app.state.{name}")


class LabApp(App):
    CSS_PATH = "labtui.tcss"
    TITLE = "labtui"
    ENABLE_COMMAND_PALETTE = False
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (WIDE, "-wide")]

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
        Binding("p", "panels", "Panels", id="panels", show=False),
        Binding("g", "gpu_view", "GPU procs", id="gpu_view", show=False),
        Binding("s", "sort", "Sort", id="sort", show=False),
        Binding("u", "unmark", "Unmark all", id="unmark", show=False),
        # actions (dialogs in screens/actions.py; every one goes through tui.core.runs)
        Binding("n", "new_run", "New", id="new_run"),
        Binding("k", "kill", "Kill", id="kill"),
        Binding("r", "resume", "Resume", id="resume"),
        Binding("R", "resume_edit", "Resume+edit", id="resume_edit", show=False),
        Binding("a", "note", "Note", id="note"),
        Binding("t", "tags", "Tags", id="tags"),
        Binding("W", "report", "Report", id="report"),
        Binding("plus", "queue_up", "Queue sooner", key_display="+", id="queue_up", show=False),
        Binding("minus", "queue_down", "Queue later", key_display="-", id="queue_down", show=False),
        Binding("X", "queue_cancel", "Cancel queued", id="queue_cancel", show=False),
        Binding("escape", "clear_filter", "Clear filter", id="clear_filter", show=False),
    ]

    def __init__(self, journal_path: str | Path | Journal = "experiments.toml", clock: Callable[[], float] | None = None,
                 gpu_source: Any = None, poll_interval: float = 1.0, theme: str | None = None,
                 gpu_interval: float = 1.0, keymap: dict[str, str] | None = None,
                 notify: str = "off", columns: list[str] | None = None, first: Any = None, **kw):
        super().__init__(**kw)
        self.journal = journal_path if isinstance(journal_path, Journal) else Journal(journal_path)
        self.keymap = dict(keymap or {})  # binding id -> keys, from the user's config ([keys])
        self.columns = columns  # the runs table's columns from the user's config (None: the default)
        self.clock = clock or time.time
        self.poll_interval = poll_interval
        self._own_sampler = False
        self.sampler = self._make_sampler(gpu_source, gpu_interval)
        # ``first``: the CLI's first frame (firstframe.Handover): its Poller has done the first
        # polls, applied before the first paint (nothing is read twice)
        self._first_results: list[PollResult] = []
        if first is not None:
            self.poller = first.poller
            self.poller.sampler, self.poller.clock = self.sampler, self.clock
            self._first_results = list(first.results)
        else:
            self.poller = Poller(self.journal, self.sampler, clock=self.clock, list_first=True)
        if theme:
            self.theme = theme
        self.state = AppState(self.clock)  # owned by the message handlers below
        self._poll_running = False
        self._stopping = False
        self._table_at = 0.0
        self._repoll = False
        self._gc_frozen = False
        self.gc_pacer = GcPacer()  # full collections while the user is idle (after the freeze)
        self._plot_due = False  # a new selection's plot is waiting for the table's redraw
        self._topbar_text: Text | None = None  # what the top bar shows: redrawn only on change
        self.kill_grace = runs_mod.DEFAULT_GRACE  # seconds after SIGINT and after SIGTERM
        self.notify_mode = notify  # "osc": desktop notifications through the terminal too
        self.announcer = Announcer(self.clock)  # runs that end or get a flag: toast + bell

    infos = _state_attr("infos")
    run_list = _state_attr("run_list")
    store = _state_attr("store")
    summaries = _state_attr("summaries")
    gpu_snapshot = _state_attr("gpu_snapshot")
    polls = _state_attr("polls")
    loading = _state_attr("loading")
    marked = _state_attr("marked")
    selected = _state_attr("selected")
    filter_text = _state_attr("filter_text")
    sort_key = _state_attr("sort_key")
    plot_settings = _state_attr("plot")

    # ------------------------------------------------------------------ setup
    def _make_sampler(self, src, interval):
        """A GPU source gets a sampler thread of the app's own; anything else is a sampler
        (or a stand-in with ``latest()`` / ``history()``) that its owner runs."""
        if src is None:
            # NVML starts on the sampler's thread (never before the first paint); the Poller
            # hands the sampler the live runs
            src = gpus.make_source("auto", lazy=True, lab=procs.lab_id(self.journal.path))
        if not isinstance(src, gpus.GpuSource):
            return src
        self._own_sampler = True
        return gpus.Sampler(src, interval=interval)

    def compose(self) -> ComposeResult:
        yield Static(id="topbar")
        yield Static(id="too-small")
        with Vertical(id="main"):
            yield RunsTable(id="runs", columns=self.columns)
            with Horizontal(id="lower"):
                yield MetricPlot(id="plot")
                yield GpuPanel(id="gpus")
        yield Input(placeholder="filter: id, experiment, status, tag, key=value", id="filter")
        yield KeyBar()

    def on_mount(self) -> None:
        if self.keymap:
            self.set_keymap(self.keymap)
        if self._own_sampler:
            self.sampler.start()
        self.query_one("#filter", Input).display = False
        # focus now, not at Widget.focus()'s later callback: keys typed at the CLI's first frame
        # are queued already and would reach no widget (a Down lost, the Enter after it
        # opening the wrong run)
        self.screen.set_focus(self.query_one(RunsTable))
        self._update_topbar()
        if self._first_results:
            # the polls the first frame was painted from: the same rows and curve, drawn once
            self.apply(*self._first_results)
            self._first_results = []
            self.set_timer(0.05, self._start_poll)
        else:
            self._start_poll()

    def on_unmount(self) -> None:
        self._stopping = True
        self.gc_pacer.stop()
        if self._own_sampler:
            self.sampler.stop(timeout=1.0)

    # ------------------------------------------------------------------ polling
    def _start_poll(self) -> None:
        if self._poll_running or self._stopping:
            return
        self._poll_running = True
        self.poller.priority = self.state.priority()
        table = self._main_widget(RunsTable)
        self.poller.visible = table.visible_ids() if table is not None else ()
        self.run_worker(self._poll_thread, thread=True, group="poll", exit_on_error=False)

    def _poll_thread(self) -> None:
        try:
            res = self.poller.poll()
        except Exception as e:  # noqa: BLE001 - a bad file must not kill the poll loop
            res = PollResult(None, [], {}, None, f"poll failed: {type(e).__name__}: {e}")
        self.post_message(Polled(res))
        self.poller.warm()  # the first time: numpy's import overlaps the table's first paint

    def on_polled(self, msg: Polled) -> None:
        res = msg.result
        self._poll_running = False
        self.apply(res)
        self.gc_pacer.tick()
        if not self._stopping:
            again, self._repoll = self._repoll, False
            again = again or self.state.loading  # a shown run released meanwhile: read it back now
            self.set_timer(0.05 if res.backlog or again else self.poll_interval, self._start_poll)

    def apply(self, *results: PollResult) -> None:
        """Fold polls into the app state (in order) and redraw what changed, once."""
        ch = Changes()
        for res in results:
            before = self.state.infos
            ch = ch | self.state.apply(res)
            for ev in self.announcer.feed(before, self.state.infos, res):
                self.announce(ev)
        if ch.error:
            self._update_topbar()
        now = time.monotonic()
        if ch.runs or ch.listed or now - self._table_at > 10.0:
            self._table_at = now
            self.refresh_table()  # diff-based: only changed cells (ages, statuses...) redraw
        if ch.loaded and not self._gc_frozen:
            # Everything loaded so far (Textual, numpy, the runs' series) lives as long as the
            # app: move it out of the collector's sight, or each full collection walks it all
            # (~50 ms: a key press that meets one redraws late).
            self._gc_frozen = True
            self.run_worker(load_screens, thread=True, group="screens", exit_on_error=False)
            gc.collect()
            gc.freeze()
            self.gc_pacer.start()
        if ch.runs or ch.loading:
            self._update_topbar()
        if ch.runs & set(self.state.plotted_ids()) or ch.listed:
            self.refresh_plot()
        if ch.gpu:
            self.refresh_gpus()

    async def on_event(self, event) -> None:
        if isinstance(event, Key):
            self.gc_pacer.key()  # no full collection while the user types
        await super().on_event(event)

    # ------------------------------------------------------------------ redraws
    def _main_widget(self, selector):
        """A widget of the main screen, or None while the app is closing (a late poll or
        action result must never crash the exit)."""
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
        st = self.state
        rows = st.rows()
        before, pending = st.selected, st.select_pending
        if table.current_id is not None:
            # the cursor is the selection, even before its RowHighlighted event reached us
            # (keys typed ahead, at the first frame): a rebuild must keep it where it is
            st.select(table.current_id)
        keep = st.reselect([r["info"].id for r in rows])
        table.set_narrow(self.size.width < WIDE)
        n_before = len(table._order)
        table.sync(rows, set(st.marked), keep, st.rows_metric(rows))
        if len(table._order) != n_before:
            self.fit_layout()
        if keep is not None and keep == pending:
            table.move_to(keep)  # a run an action created: put the cursor on it
        st.select(table.current_id)  # the cursor is the selection
        if st.selected != before:
            self.poller.priority = st.priority()  # (the cursor's own highlight event then changes nothing)
            self.refresh_plot()
            if st.needs_data(st.selected):
                self._start_poll()  # load its whole curve now

    def refresh_plot(self) -> None:
        plot = self._main_widget(MetricPlot)
        if plot is None:
            return
        curves, shown, key, msg = self.state.curves()
        plot.set_curves([Curve(*c) for c in curves], shown, key, msg)

    def refresh_gpus(self) -> None:
        panel = self._main_widget(GpuPanel)
        if panel is None:
            return
        panel.show(self.state.gpu_snapshot, self.sampler.history, {r.id for r in self.state.run_list})

    def _update_topbar(self) -> None:
        t = topbar_text(self.state, self.journal.path)
        bar = self._main_widget("#topbar")
        if bar is not None and t != self._topbar_text:
            self._topbar_text = t
            bar.update(t)

    def on_resize(self, event) -> None:
        if self.state.run_list:
            self.refresh_table()
        self.call_after_refresh(self.fit_layout)  # #main's new height is known after the layout

    def fit_layout(self) -> None:
        """Space where the data is: the table takes the rows it needs (up to a share of the
        screen), the plot the rest but never fewer than PLOT_MIN rows; below MIN_SIZE a plain
        "too small" line instead of a broken screen."""
        if not self.screen_stack:
            return
        base = self.screen_stack[0]
        try:
            main, small = base.query_one("#main"), base.query_one("#too-small", Static)
            table = base.query_one(RunsTable)
        except NoMatches:
            return
        w, h = self.size
        too_small = w < MIN_SIZE[0] or h < MIN_SIZE[1]
        main.display = not too_small
        small.display = too_small
        if too_small:
            small.update(f"labtui needs a terminal of at least {MIN_SIZE[0]}×{MIN_SIZE[1]} "
                         f"(this one is {w}×{h}): make it larger, or press q to quit")
            return
        height = table_height(len(table._order), main.size.height or (h - 2), w)
        if table.styles.height is None or table.styles.height.value != height:
            table.styles.height = height

    # ------------------------------------------------------------------ events
    @on(DataTable.RowHighlighted, "#runs")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        rid = event.row_key.value if event.row_key is not None else None
        if rid != getattr(event.data_table, "current_id", rid):
            # A stale event: the cursor moved on before it was handled (the table's first row
            # is highlighted as rows arrive, then the cursor is put on a chosen run; held keys):
            # the cursor's own event follows, and no other run is selected, plotted or read meanwhile.
            return
        if self.state.select(rid):
            self.poller.priority = self.state.priority()  # the next poll reads the new selection first
            # The plot follows after the table's cursor has been drawn (a 100k-point curve takes
            # tens of ms to build): a key press redraws at once, and keys that arrive together
            # (a held key) build only the last selection's plot.  So does the read of a released
            # run's curve: its worker would hold the GIL while the cursor is drawn.
            if not self._plot_due:
                self._plot_due = True
                self.call_after_refresh(self._plot_selection)

    def _plot_selection(self) -> None:
        self._plot_due = False
        if self.state.needs_data(self.state.selected):
            self._start_poll()  # load its whole curve now
        self.refresh_plot()

    @on(DataTable.RowSelected, "#runs")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_detail()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.state.filter_text = event.value
        self.refresh_table()
        self._update_topbar()

    @on(Input.Submitted, "#filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        self.query_one(RunsTable).focus()
        if not self.state.filter_text:
            self.query_one("#filter", Input).display = False

    # ------------------------------------------------------------------ actions
    MAIN_ONLY = {"detail", "filter", "mark", "compare", "next_metric", "choose_metrics", "log_scale",
                 "smoothing", "smoothing_down", "axis", "window", "panels", "gpu_view", "sort", "unmark", "clear_filter",
                 "new_run", "kill", "resume", "resume_edit", "note", "tags", "report"}

    def check_action(self, action: str, parameters) -> bool | None:
        if action in self.MAIN_ONLY and len(self.screen_stack) > 1:
            return False  # main-screen actions are off (and hidden) on detail/compare/help
        return True

    def action_quit_app(self) -> None:
        self.exit(return_code=0)

    def action_help(self) -> None:
        load_screens()
        self.push_screen(HelpScreen(self, binding_classes(LabApp)))

    def action_detail(self) -> None:
        load_screens()
        if self.state.selected_info() is not None:
            self.push_screen(DetailScreen(self, self.state.selected))

    def action_compare(self) -> None:
        load_screens()
        ids = self.state.compare_ids()
        if ids:
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
            self.state.filter_text = ""
            self.refresh_table()
            self._update_topbar()
            self.query_one(RunsTable).focus()

    def action_mark(self) -> None:
        rid = self.state.toggle_mark()
        if rid is None:
            return
        self.refresh_table()
        self.refresh_plot()
        self._update_topbar()
        if self.state.needs_data(rid):
            self._start_poll()

    def action_unmark(self) -> None:
        self.state.unmark_all()
        self.refresh_table()
        self.refresh_plot()
        self._update_topbar()

    def action_sort(self) -> None:
        self.state.next_sort()
        self.refresh_table()
        self._update_topbar()

    def set_metrics(self, metrics: list[str]) -> None:
        self.state.set_metrics(metrics)
        self.refresh_plot()
        self.refresh_table()  # last/best follow the metric

    def action_next_metric(self) -> None:
        if self.state.next_metric():
            self.refresh_plot()
            self.refresh_table()

    def action_choose_metrics(self) -> None:
        load_screens()
        avail = self.state.available_metrics()
        if avail:
            self.push_screen(MetricsScreen(avail, self.state.current_metrics()),
                             lambda chosen: self.set_metrics(chosen) if chosen else None)

    def action_gpu_view(self) -> None:
        load_screens()
        self.push_screen(GpuScreen(self))

    def action_panels(self) -> None:
        """Small multiples: one plot per chosen metric (M chooses them) on/off."""
        self.state.plot.toggle_panels()
        if self.state.plot.panels and len(self.state.current_metrics()) < 2:
            self.say("small multiples on: choose two or more metrics with M", timeout=4)
        self.refresh_plot()

    def action_log_scale(self) -> None:
        self.state.plot.toggle_log()
        self.refresh_plot()

    def action_smoothing(self) -> None:
        self.state.plot.smoothing_up()
        self.refresh_plot()

    def action_smoothing_down(self) -> None:
        self.state.plot.smoothing_down()
        self.refresh_plot()

    def action_axis(self) -> None:
        self.state.plot.next_axis()
        self.refresh_plot()

    def action_window(self) -> None:
        self.state.plot.next_window()
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
                self.state.select_pending = job["select"](msg.result)
        self.request_poll()

    def say(self, msg: str, severity: str = "information", timeout: float = 5) -> None:
        """Report an action's outcome: one line, shown as data (never markup)."""
        self.notify(inert(str(msg)), severity=severity, timeout=timeout, markup=False)

    def announce(self, ev: Event) -> None:
        """A run ended or got a flag: a toast, the bell and, with ``notify = "osc"``, a desktop
        notification (OSC 9 / 777, its text cleaned by the core) through the terminal."""
        self.say(ev.text, severity=ev.severity, timeout=8)
        self.bell()
        if self.notify_mode == "osc" and not self.is_headless and self._driver is not None:
            self._driver.write(osc_notification("labtui", ev.text))

    def request_poll(self) -> None:
        """Poll now (or right after the poll in flight) so a journal change shows at once."""
        if self._poll_running:
            self._repoll = True
        else:
            self._start_poll()

    def action_kill(self) -> None:
        load_screens()
        targets = self.state.targets(use_marked=True)
        if not targets:
            self.say("no run selected", severity="warning")
            return
        plan = self.state.kill_plan(targets)
        if plan.busy and not plan.alive:
            self.say(f"already killing {', '.join(plan.busy)}", severity="warning")
            return
        if not plan.alive:
            if len(targets) == 1:
                msg = f"run {targets[0].id!r} is not running (status: {targets[0].status})"
            else:
                msg = f"none of the {len(targets)} marked runs is running"
            self.say(msg, severity="warning")
            return

        def chosen(res) -> None:
            if not res:
                return
            mode, reason = res
            for info in plan.alive:
                rid = info.id
                self.state.killing.add(rid)
                self.say(f"killing {rid} ({mode})…", timeout=3)
                self.run_core(
                    f"kill {rid}",
                    lambda rid=rid: self._kill_and_wait(rid, mode, reason),
                    ok=lambda st, rid=rid: f"killed {rid}" if st == Status.KILLED else f"{rid}: {st}",
                    on_done=lambda _st, rid=rid: self._kill_ended(rid),
                    on_error=lambda _msg, rid=rid: self._kill_ended(rid))
            self.refresh_table()  # their status reads "stopping" until the kill ends

        self.push_screen(KillDialog(self, plan.alive, plan.skipped), chosen)

    def _kill_ended(self, rid: str) -> None:
        self.state.killing.discard(rid)
        self.refresh_table()

    def _kill_and_wait(self, rid: str, mode: str, reason: str | None) -> str:
        """(Worker thread.) The kill runs in a detached core process, so quitting the app
        never abandons it half-way; this only waits for its outcome while the app lives.
        A queued run's kill is a cancel (the core's, as for ``labtui kill``)."""
        cancelled = runs_mod.cancel_queued(self.journal, rid, reason)
        if cancelled is not None:
            return cancelled
        proc = runs_mod.start_kill(self.journal, rid, grace=self.kill_grace, mode=mode, reason=reason)
        worker = get_current_worker()
        while proc.poll() is None:
            if worker.is_cancelled:  # the app is closing: the kill goes on without us
                return "stopping"
            time.sleep(0.05)
        return runs_mod.kill_outcome(self.journal, rid)

    def _resume(self, edit: bool) -> None:
        load_screens()
        info = self.state.selected_info()
        if info is None:
            self.say("no run selected", severity="warning")
            return
        try:
            data = self.journal.read()
        except UserError as e:
            self.say(str(e), severity="error", timeout=8)
            return
        cks = run_checkpoints(data, info)
        ckpt = next((c.path for c in cks if c.newest), None)
        if ckpt is None:
            self.say(f"run {info.id!r} has no complete checkpoint in "
                     f"{show_path(RunDir(info.run_dir).checkpoints_dir)}", severity="error", timeout=8)
            return
        self.push_screen(ResumeDialog(self, info, ckpt, edit=edit, checkpoints=cks,
                                      warning=runs_mod.resume_warning(data, info, ckpt)))

    def action_resume(self) -> None:
        self._resume(edit=False)

    def action_resume_edit(self) -> None:
        self._resume(edit=True)

    def action_note(self) -> None:
        load_screens()
        info = self.state.selected_info()
        if info is None:
            self.say("no run selected", severity="warning")
            return
        self.push_screen(NoteDialog(self, info))

    def action_tags(self) -> None:
        load_screens()
        targets = self.state.targets(use_marked=True)
        if not targets:
            self.say("no run selected", severity="warning")
            return
        self.push_screen(TagsDialog(self, targets))

    def action_report(self) -> None:
        """W: a lab report (core's report.md + pictures) of the marked runs, else of the
        filtered view, in a new dated folder; written on a worker, the toast says where."""
        ids = self.state.report_ids()
        if not ids:
            self.say("no runs to report", severity="warning")
            return
        self.say(f"writing a report of {len(ids)} run(s)…", timeout=3)
        self.run_core("report", lambda: write_dated_report(self.journal, ids, self.clock()),
                      ok=lambda res: f"report of {len(ids)} run(s): {show_path(res[0])}"
                                     + ("" if res[1] else " (no pictures: pip install 'labtui[report]')"))

    def _queued_selected(self):
        info = self.state.selected_info()
        if info is None or not info.extra.get("queue_position"):
            self.say("select a queued run" if info is None else f"run {info.id!r} is not queued "
                     f"(status: {info.status})", severity="warning")
            return None
        return info

    def _queue_move(self, delta: int) -> None:
        info = self._queued_selected()
        if info is not None:
            rid, to = info.id, max(1, info.extra["queue_position"] + delta)
            self.run_core(f"move {rid}", lambda: runs_mod.queue.move(self.journal, rid, to),
                          ok=lambda place: f"{rid}: queued #{place}")

    def action_queue_up(self) -> None:
        self._queue_move(-1)

    def action_queue_down(self) -> None:
        self._queue_move(+1)

    def action_queue_cancel(self) -> None:
        load_screens()
        info = self._queued_selected()
        if info is not None:
            self.push_screen(CancelQueuedDialog(self, info))

    def action_new_run(self) -> None:
        load_screens()
        try:
            exps = self.journal.read().get("experiments") or {}
        except UserError as e:
            self.say(str(e), severity="error", timeout=8)
            return
        exps = {k: v for k, v in exps.items() if isinstance(v, dict)}  # none: the form runs a command
        self.push_screen(NewRunDialog(self, exps, self.state.selected_info()))


def binding_ids() -> set[str]:
    """Every binding id of the app and its screens: what a user keymap may rebind."""
    load_screens()
    return {b.id for c in binding_classes(LabApp).values() for b in c.BINDINGS if isinstance(b, Binding) and b.id}


def binding_scopes() -> dict[str, list[tuple[str, str]]]:
    """Where bindings are active together, for the keymap clash check: the main screen, and
    each screen, dialog and widget with its own bindings ({scope: [(id, keys)]}, keys spelled as
    Textual normalises a keymap)."""
    load_screens()
    return {name: [(b.id, LabApp._normalize_keymap({b.id: b.key})[b.id])
                   for b in c.BINDINGS if isinstance(b, Binding) and b.id]
            for name, c in binding_classes(LabApp).items()}


def reopen_command(journal_path: str | Path, cwd: str | Path | None = None,
                   env: dict | None = None) -> str:
    """The exact command that reopens the app on this journal from the shell it ran in:
    plain ``labtui`` only when that picks the same file (./experiments.toml, no other
    $LABTUI_JOURNAL), else ``labtui --journal PATH``."""
    env = os.environ if env is None else env
    here = Path(cwd if cwd is not None else os.getcwd())
    target = (here / journal_path).resolve()
    default = (here / (env.get("LABTUI_JOURNAL") or "experiments.toml")).resolve()
    return "labtui" if target == default else f"labtui --journal {shlex.quote(str(target))}"


def first_frame_driver(first):
    """Textual's Linux driver for a screen the CLI's first frame (``firstframe``) holds: it
    does not switch to the alternate screen again (that switch clears it in some terminals: a
    blank screen until the app's first paint); it leaves it at the end as usual."""
    from textual.drivers.linux_driver import LinuxDriver

    class FirstFrameDriver(LinuxDriver):
        _keep_screen = False

        def start_application_mode(self):
            first.taken = True
            self._keep_screen = True
            super().start_application_mode()

        def write(self, data: str) -> None:
            if self._keep_screen and data == firstframe.ENTER_ALT:
                self._keep_screen = False
                return
            super().write(data)

    return FirstFrameDriver


def run_app(journal_path: str | Path | Journal, colors: str = "auto", select: str | None = None,
            first: Any = None) -> int:
    """Open the app (on run ``select`` once it is listed, when given); after it closes, say
    that runs keep going (the app never stops a run) and how to reopen it.  A ``Journal``
    (the CLI's, which checked it) is used as it is: its kept parse serves the first poll.
    ``first``: the CLI's first frame (``firstframe.Handover``), on screen now: the app takes
    over its screen and its polls; the terminal's modes are put back when the app ends."""
    if colors and colors != "auto":
        os.environ["TEXTUAL_COLOR_SYSTEM"] = {"16": "standard", "256": "256", "truecolor": "truecolor"}[colors]
    keymap = {}  # no [keys]: nothing to check, and the screens' imports wait until needed
    if "keys" in config.load_config():
        keymap = config.load_keymap(binding_ids())  # a bad config: one line, no app
        config.check_clashes(binding_scopes(), LabApp._normalize_keymap(keymap), written=keymap)  # the same
    notify = notify_mode(config.load_config(), config.config_path())  # likewise
    columns = config.load_columns(COLUMN_NAMES, COLUMN_ALIASES)  # the same
    app = LabApp(journal_path, keymap=keymap, notify=notify, columns=columns, first=first,
                 driver_class=first_frame_driver(first) if first is not None else None)
    app.state.select_pending = select
    try:
        app.run()
    finally:
        if first is not None:
            first.restore()
    n = app.state.still_running()
    stopping = sorted(app.state.killing)
    if stopping:
        print(f"labtui: still stopping {', '.join(stopping)} in the background "
              "(the kill goes on without the app)")
    again = reopen_command(app.journal.path)
    if n:
        print(f"labtui: {n} run(s) still running; reopen with `{again}`")
    else:
        print(f"labtui: no runs are running; reopen with `{again}`")
    return int(app.return_code or 0)
