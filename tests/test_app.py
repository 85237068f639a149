"""Pilot tests of the app: selection, filter, marking, metric choice, live updates, literal text."""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import threading
import time

import pytest
from rich.console import Console
from textual.widgets import RichLog, SelectionList

from tests.snapshot_tests import conftest as fixtures
from tests.snapshot_tests.labdata import series
from tui.app.screens.compare import CompareScreen, compare_rows
from tui.app.screens.help import HelpScreen
from tui.app.widgets.gpu_panel import render_gpus
from tui.core import fsio
from tui.core.gpus import make_source

app_factory, lab, settle, sync = fixtures.app_factory, fixtures.lab, fixtures.settle, fixtures.sync  # pytest fixtures + helpers

SIZE = (160, 48)


async def goto(pilot, run_id):
    table = pilot.app.query_one("#runs")
    order = table._order
    delta = order.index(run_id) - order.index(table.current_id)
    for _ in range(abs(delta)):
        await pilot.press("down" if delta > 0 else "up")
    await pilot.pause()
    assert pilot.app.selected == run_id


@sync
async def test_selection_moves_plot(app_factory):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.selected == "training_8"
        assert [c.label for c in app.query_one("#plot").curves] == ["training_8"]
        await goto(pilot, "lab3")
        assert [c.label for c in app.query_one("#plot").curves] == ["lab3"]


@sync
async def test_resume_chain_is_a_tree_and_one_curve(app_factory):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        rows = {r["info"].id: r["depth"] for r in app.state.rows()}
        assert rows["training_11"] == 0 and rows["training_11.1"] == 1 and rows["training_11.2"] == 2
        await goto(pilot, "training_11.2")
        (curve,) = app.query_one("#plot").curves
        assert curve.xs[0] == 0 and curve.xs[-1] == 1640   # training_11's start .. training_11.2's end
        assert curve.marks == [800.0, 1200.0]


@sync
async def test_a_pending_selection_already_listed_moves_the_cursor(app_factory):
    """An action's new run may be listed by a poll before the action reports: the cursor
    still goes to it (and the plot follows) on the next table refresh."""
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.selected == "training_8"
        app.state.select_pending = "lab3"
        app.refresh_table()
        await pilot.pause()
        assert app.selected == "lab3" and app.query_one("#runs").current_id == "lab3"
        assert app.state.select_pending is None
        assert [c.label for c in app.query_one("#plot").curves] == ["lab3"]


@sync
async def test_the_app_opens_on_a_chosen_run(app_factory):
    """`labtui demo` opens the app on a run whose curve moves (run_app(select=...))."""
    app = app_factory()
    app.state.select_pending = "lab12"
    chosen = []  # every selection the app made, in order
    select = app.state.select
    app.state.select = lambda rid: chosen.append(rid) or select(rid)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.selected == "lab12" and app.query_one("#runs").current_id == "lab12"
        assert [c.label for c in app.query_one("#plot").curves] == ["lab12"]
        # never the first row on the way (its highlight event, stale once the cursor moved on,
        # once left training_8 selected when the test looked on a loaded box)
        assert set(chosen) == {"lab12"}, chosen


@sync
async def test_layout_gives_the_table_its_rows_and_the_plot_the_rest(app_factory):
    for size in ((160, 48), (100, 30), (80, 24)):
        app = app_factory()
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            await pilot.pause()
            table, plot = app.query_one("#runs"), app.query_one("#plot")
            rows = len(app.state.rows())
            assert plot.size.height >= 10, (size, plot.size.height)
            # the rows it needs (header + one a run), or all but the plot's share when they don't fit
            assert table.size.height == rows + 1 or plot.size.height <= 11, size
            assert not app.query_one("#too-small").display
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.query_one("#runs").size.height == len(app.state.rows()) + 1  # 18 runs fit at 160x48
        await pilot.resize_terminal(60, 20)
        await pilot.pause()
        await pilot.pause()
        small = app.query_one("#too-small")
        assert small.display and not app.query_one("#main").display
        assert "at least 80×24 (this one is 60×20)" in str(small.render())
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        await pilot.pause()
        assert app.query_one("#main").display and not small.display


@sync
async def test_statuses_and_flags(app_factory):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        st = {r.id: r.status for r in app.run_list}
        assert st["training_8"] == "finished" and st["training_11"] == "killed"
        assert st["training_11.1"] == "failed" and st["training_11.2"] == "running"
        assert st["sweep_3"] == "starting" and st["sweep_1"] == "lost"
        assert "NaN" in app.state.flags("lab7")
        assert "tb" in app.state.flags("training_11.1")
        assert app.state.flags("lab1") == []
        assert app.state.still_running() == 3  # training_11.2, sweep_3, lab12


@sync
async def test_filter(app_factory):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        for ch in "failed":
            await pilot.press(ch)
        await pilot.pause()
        assert [r["info"].id for r in app.state.rows()] == ["training_11.1", "lab7"]
        assert app.query_one("#runs").row_count == 2
        await pilot.press("enter")
        await pilot.press("escape")
        await pilot.pause()
        assert app.filter_text == "" and app.query_one("#runs").row_count == 18
        app.filter_text = "dropout=0.5"
        assert [r["info"].id for r in app.state.rows()] == ["lab10", "lab11", "lab12"]
        app.filter_text = "best"  # a tag
        assert [r["info"].id for r in app.state.rows()] == ["lab4"]
        app.filter_text = "training_11"
        assert len(app.state.rows()) == 3


@sync
async def test_mark_overlay_and_compare(app_factory):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for rid in ("lab1", "lab2", "lab3"):
            await goto(pilot, rid)
            await pilot.press("space")
        assert app.marked == ["lab1", "lab2", "lab3"]
        await settle(pilot, polls=app.polls + 1)
        assert [c.label for c in app.query_one("#plot").curves] == ["lab1", "lab2", "lab3"]
        await pilot.press("space")  # unmark lab3
        assert app.marked == ["lab1", "lab2"]
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, CompareScreen)
        rows = dict(compare_rows(app.state, ["lab1", "lab2"]))
        assert "lr" in rows and "dropout" not in rows and "steps" not in rows   # only params that differ
        assert "loss best" in rows and "loss best at" in rows and "loss last" in rows
        assert "loss min" not in rows  # best follows the goal (min for a loss): no duplicate row
        await pilot.press("escape")
        await pilot.press("u")
        assert app.marked == []


@sync
async def test_metric_choice_scale_smoothing_axis(app_factory):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.state.current_metrics() == ["loss"]
        assert set(app.state.available_metrics()) == {"loss", "lr", "acc"}
        await pilot.press("m")
        assert app.state.current_metrics() != ["loss"]
        first = app.state.current_metrics()
        await pilot.press("m")
        assert app.state.current_metrics() != first
        await pilot.press("M")
        await pilot.pause()
        sl = app.screen.query_one(SelectionList)
        sl.deselect_all()
        sl.select("loss")
        sl.select("acc")
        await pilot.press("enter")
        await pilot.pause()
        assert app.state.current_metrics() == ["loss", "acc"]
        assert [c.label for c in app.query_one("#plot").curves] == ["training_8 loss", "training_8 acc"]
        await pilot.press("y", "e", "x", "w")
        s = app.plot_settings
        assert s.log and s.smoothing == 0.6 and s.axis == "epoch" and s.window == 1000
        await pilot.press("E")
        assert app.plot_settings.smoothing == 0.0
        await pilot.press("x")
        assert app.plot_settings.axis == "time"
        await pilot.pause()


@sync
async def test_sort_cycles(app_factory):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("s")
        assert app.sort_key == "status"
        assert app.state.rows()[0]["info"].status == "running"


@sync
async def test_detail_shows_text_literally(app_factory):
    app = app_factory()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await goto(pilot, "training_11")
        await pilot.press("enter")

        def shown() -> str:
            logs = app.screen.query(RichLog)
            return "\n".join(line.text for line in logs.first().lines) if logs else ""

        deadline = time.monotonic() + 20
        while "is not markup" not in shown():  # the log arrives from a worker
            assert time.monotonic() < deadline, shown()
            await pilot.pause(0.05)
        text = shown()
        assert "[bold]x[/] is not markup" in text
        assert "^[]0;retitled^G" in text and "\x1b" not in text
        assert "epoch 1: 100%" in text and "10%" not in text  # \r redraw: the last one shows
        assert "[bold]x[/] not markup" in text_of(app.screen.query_one("#info").content)
        await pilot.press("escape")
        assert app.screen is app.screen_stack[0]


@sync
async def test_detail_log_has_the_focus_and_search_finds_lines(app_factory, lab):
    lines = [f"step {i} loss {1 / (i + 1):.3f}" if i % 50 == 7 else f"step {i} ok" for i in range(300)]
    (lab.logs / "lab3" / "output.log").write_text("".join(x + "\n" for x in lines), encoding="utf-8")
    app = app_factory()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await goto(pilot, "lab3")
        await pilot.press("enter")
        screen = app.screen
        log = screen.query_one(RichLog)
        deadline = time.monotonic() + 10
        while len(screen.texts) < 300 and time.monotonic() < deadline:
            await pilot.pause(0.05)
        assert app.focused is log  # scrolls at once, no Tab first
        title = lambda: text_of(screen.query_one("#detail-title").content)  # noqa: E731
        await pilot.press("home")
        await pilot.pause()
        await pilot.press("slash", *"LOSS", "enter")  # case-insensitive
        await pilot.pause()
        assert screen.matches == [7, 57, 107, 157, 207, 257] and screen.match_at == 0
        assert "/LOSS: 1 of 6 (line 8)" in title()
        assert not screen.follow and int(log.scroll_y) == 5  # the match, two lines of context above
        await pilot.press("n", "n")
        await pilot.pause()
        assert screen.match_at == 2 and int(log.scroll_y) == 105
        await pilot.press("N")
        await pilot.pause()
        assert screen.match_at == 1 and "2 of 6 (line 58)" in title()
        await pilot.press("N", "N")  # wraps around
        await pilot.pause()
        assert screen.match_at == 5
        await pilot.press("slash", "escape")  # esc closes the search box, not the screen
        await pilot.pause()
        assert app.screen is screen and not screen.query_one("#detail-search").display
        await pilot.press("slash")
        await pilot.press(*"nothing here", "enter")
        await pilot.pause()
        assert screen.matches == [] and "not found" in title()
        await pilot.press("slash", "ctrl+u", "enter")  # an empty search ends the search
        await pilot.pause()
        assert screen.query_text == "" and title().strip() == "run lab3"
        await pilot.press("n")
        await pilot.pause()
        assert app.screen is screen and screen.match_at is None


# Every open/scandir of a run folder from the UI thread (the event loop runs on the main
# thread; workers run on others) while a test records them.  Audit hooks cannot be removed:
# this one does nothing unless _UI_READS is set to (root, list).
_UI_READS: tuple[str, list] | None = None


def _audit(event: str, args: tuple) -> None:
    rec = _UI_READS
    if rec is None or event not in ("open", "os.scandir", "os.listdir"):
        return
    if threading.current_thread() is not threading.main_thread():
        return
    if args and isinstance(args[0], (str, bytes, os.PathLike)):
        path = os.path.abspath(os.fsdecode(os.fspath(args[0])))
        if path.startswith(rec[0]):
            rec[1].append((event, path))


sys.addaudithook(_audit)


@contextlib.contextmanager
def ui_thread_reads(root, into: list):
    """Appends to ``into`` each (event, path) under ``root`` opened on the UI thread meanwhile."""
    global _UI_READS
    _UI_READS = (os.path.abspath(root) + os.sep, into)
    try:
        yield into
    finally:
        _UI_READS = None


def text_of(renderable, width: int = 120) -> str:
    con = Console(width=width, record=True, file=io.StringIO())
    con.print(renderable)
    return con.export_text()


async def until(pilot, cond, timeout: float = 10.0, what: str = "") -> None:
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"timed out waiting for {what or cond}")
        await pilot.pause(0.05)


@sync
async def test_detail_checkpoints_come_from_a_worker(app_factory, lab):
    """The detail screen lists the run's complete checkpoints (latest marked) and follows new
    ones; the files are read by a worker through core's RunDir, never on the UI thread."""
    ck = lab.logs / "training_11.1" / "checkpoints"
    for name in ("step-1000", "step-1200", "step-1300.tmp"):
        (ck / name).mkdir(parents=True)
    (ck / "latest").write_text("step-1200\n")
    app = app_factory()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await goto(pilot, "training_11.1")
        reads: list = []

        def info() -> str:
            return text_of(app.screen.query_one("#info").content)

        with ui_thread_reads(lab.logs, reads):
            await pilot.press("enter")
            await until(pilot, lambda: "step-1000, step-1200  (latest: step-1200)" in info(),
                        what="checkpoints shown")
        assert "step-1300.tmp" not in info()
        (ck / "step-1400").mkdir()
        (ck / "latest").write_text("step-1400\n")
        with ui_thread_reads(lab.logs, reads):
            await until(pilot, lambda: "step-1000, step-1200, step-1400  (latest: step-1400)" in info(),
                        what="a new checkpoint shown")
            await pilot.press("escape")
        assert reads == []


@sync
async def test_new_run_and_status_change_within_2s(app_factory, lab):
    app = app_factory(poll_interval=0.5)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        # another terminal launches a run and a running run ends
        d = lab.logs / "late_1"
        d.mkdir()
        with open(d / "metrics.jsonl", "w") as f:
            for row in series(0, 100, 10):
                f.write(json.dumps(row) + "\n")
        fsio.write_json_atomic(d / "exit.json", {"code": 0, "signal": None,
                                                  "ended": "2026-05-13T09:59:00+08:00", "killed": False})
        with open(lab.journal, "a") as f:
            f.write('[runs.late_1]\nexperiment = "gan"\ncommand = "x"\nstatus = "running"\n'
                    'started = 2026-05-13T09:58:00+08:00\n')
        t0 = time.monotonic()
        while "late_1" not in app.infos and time.monotonic() - t0 < 5:
            await pilot.pause(0.05)
        assert time.monotonic() - t0 < 2.0
        assert app.infos["late_1"].status == "finished"
        assert "late_1" in app.query_one("#runs")._order


@sync
async def test_poll_never_overlaps(app_factory):
    app = app_factory(poll_interval=0.01)
    seen = []
    async with app.run_test(size=SIZE) as pilot:
        orig = app.poller.poll
        active = [0]

        def slow():
            active[0] += 1
            seen.append(active[0])
            time.sleep(0.05)
            try:
                return orig()
            finally:
                active[0] -= 1

        app.poller.poll = slow
        deadline = time.monotonic() + 60
        while len(seen) < 4:  # several polls, however slow the box (a fixed pause saw none)
            assert time.monotonic() < deadline, f"only {len(seen)} polls in 60 s"
            await pilot.pause(0.05)
    assert max(seen) == 1


@sync
async def test_idle_app_does_not_redraw(app_factory):
    app = app_factory(poll_interval=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, polls=3)
        plot = app.query_one("#plot")
        builds = plot.builds
        polls = app.polls
        deadline = time.monotonic() + 30
        while app.polls <= polls + 3:  # several polls, however slow the box
            assert time.monotonic() < deadline, "the app stopped polling"
            await pilot.pause(0.05)
        assert plot.builds == builds   # nothing changed: the plot was not rebuilt


@sync
async def test_quit_leaves_runs_running(app_factory, lab):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("q")
    assert app.return_code == 0
    assert all(p.poll() is None for p in lab.procs)  # the runs' processes are untouched


@sync
async def test_help_lists_every_binding_with_an_id(app_factory):
    app = app_factory()
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        assert all(b.id for b in app.BINDINGS)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


def test_colors_flag_sets_textual_env_before_import(monkeypatch):
    import argparse
    import sys

    import tui.cli.app as cmd_app

    seen = {}

    class FakeApp:
        @staticmethod
        def run_app(path, colors="auto", select=None, first=None):
            seen["env"] = os.environ.get("TEXTUAL_COLOR_SYSTEM")
            return 0

    monkeypatch.setitem(sys.modules, "tui.app.app", FakeApp)
    monkeypatch.delenv("TEXTUAL_COLOR_SYSTEM", raising=False)
    assert cmd_app.open_app(argparse.Namespace(colors="16")) == 0
    assert seen["env"] == "standard"



@pytest.mark.parametrize("kind", ["auto", "none"])
def test_no_gpu_panel_says_it_once_with_the_reason(kind):
    """The real no-GPU path of this machine (or the none source): the panel names the state
    once, then NVML's reason (not "no NVIDIA GPU  no NVIDIA GPU: ...")."""
    src = make_source(kind)
    snap = src.sample()
    if snap.ok:
        pytest.skip("this machine has an NVIDIA GPU")
    text = render_gpus(snap, None, 100).plain
    first = text.splitlines()[0]
    assert first.count("no NVIDIA GPU") == 1 and first.startswith("no NVIDIA GPU")
    if kind == "auto":  # NVML's own words: library missing, driver not loaded...
        assert len(first.strip()) > len("no NVIDIA GPU") + 5, first
