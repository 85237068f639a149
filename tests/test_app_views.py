"""Pilot tests of the compare view's plot, the generated help, user columns, the metric chooser's
glyphs and the detail view's "code differs"."""

from __future__ import annotations

import io
import subprocess
import sys

from rich.console import Console
from textual.binding import Binding

from tests.snapshot_tests import conftest as fixtures
from tests.conftest import cli_env
from tests.test_app import SIZE, goto, sync
from tui.app.app import LabApp, binding_ids
from tui.app.bindings import binding_classes, key_text
from tui.app.screens.compare import CompareScreen
from tui.app.screens.help import HelpScreen
from tui.app.screens.metrics import MetricsScreen
from tui.core.journal import Journal

app_factory, lab, settle = fixtures.app_factory, fixtures.lab, fixtures.settle  # pytest fixtures + a helper


@sync
async def test_compare_view_overlays_the_compared_runs(app_factory):
    for size, side_by_side in ((SIZE, True), ((80, 24), False)):
        async with app_factory().run_test(size=size) as pilot:
            app = pilot.app
            await settle(pilot)
            for rid in ("lab1", "lab4", "lab7"):
                await goto(pilot, rid)
                await pilot.press("space")
            await pilot.press("m")  # the plot's settings carry over: the next metric
            metric = app.state.current_metrics()
            await pilot.press("c")
            await pilot.pause()
            assert isinstance(app.screen, CompareScreen)
            plot = app.screen.query_one("#compare-plot")
            assert [c.label for c in plot.curves] == ["lab1", "lab4", "lab7"]
            assert {c.metric for c in plot.curves} == set(metric)
            table = app.screen.query_one("#compare-table")
            if side_by_side:
                assert plot.region.x >= table.region.right and plot.region.y == table.region.y
            else:
                assert plot.region.y >= table.region.bottom and plot.size.height >= 10
            await pilot.press("tab", "left")  # the plot's cursor works here too
            assert plot.has_focus and plot.cursor is not None and "lab4" in plot.readout()
            await pilot.press("escape")  # hides the cursor...
            assert plot.cursor is None and isinstance(app.screen, CompareScreen)
            await pilot.press("escape")  # ...then goes back
            assert not isinstance(app.screen, CompareScreen)


def help_text(app, width: int = 100) -> str:
    con = Console(width=width, record=True, file=io.StringIO())
    for w in app.screen.query("Static"):
        con.print(w.content)
    return con.export_text()


@sync
async def test_help_lists_every_binding_of_the_app_and_its_screens(app_factory):
    app = app_factory(keymap={"report": "ctrl+w", "plot_cursor_left": "h"})
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = help_text(app)
        lines = text.splitlines()
        scopes = binding_classes(LabApp)
        # found from the classes: the plot's cursor keys, the GPU view and its kill dialog, dialogs
        assert {"main screen", "plot", "GPU process view", "GPU process kill dialog", "every dialog",
                "note dialog", "help"} <= set(scopes)
        ids = binding_ids()
        assert {"plot_cursor_left", "plot_cursor_right", "gpu_view", "gpu_view_kill", "gpu_kill_yes",
                "report", "dialog_cancel", "metrics_apply", "help_close"} <= ids
        for cls in scopes.values():
            for b in cls.BINDINGS:
                if not (isinstance(b, Binding) and b.id):
                    continue
                row = [ln for ln in lines if f" {b.id} " in f" {ln} "]
                assert row, f"{b.id} is not in the help"
                if b.id in app.keymap:
                    continue
                keys = b.key_display or key_text(app, b.key)
                assert any(ln.split(b.id)[0].strip() == keys for ln in row), (b.id, keys, row)
        # the keys in effect: the user's keymap wins
        assert [ln.split()[0] for ln in lines if " report " in ln] == ["ctrl+w"]
        assert [ln.split()[0] for ln in lines if " plot_cursor_left " in ln] == ["h"]
        assert "← [" not in text and "→ ]" in text  # right keeps both its default keys
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


@sync
async def test_user_columns_in_the_table(app_factory):
    chosen = ["id", "experiment", "status", "progress", "age", "last", "best", "tags"]
    for size in ((160, 48), (80, 24)):
        app = app_factory(columns=chosen)
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            table = app.query_one("#runs")
            if size[0] >= 120:
                assert table._cols == chosen
                assert [str(c.label) for c in table.columns.values()][:3] == ["run", "experiment", "status"]
            else:  # what the default hides when narrow goes first, from the right; the rest stay
                assert table._cols[:2] == ["id", "status"] and "tags" not in table._cols, table._cols
                assert {"progress", "age", "last"} <= set(table._cols)
                assert sum(c.width + 2 for c in table.columns.values()) <= size[0]


def screen_text(app) -> str:
    width, height = app.size
    con = Console(width=width, height=height, record=True, file=io.StringIO(), color_system=None)
    con.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return con.export_text()


@sync
async def test_metric_chooser_marks_checked_items_with_a_glyph(app_factory, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.no_color
        await pilot.press("M")
        await pilot.pause()
        assert isinstance(app.screen, MetricsScreen)
        text = screen_text(app)
        assert "[x] loss" in text and "[ ] lr" in text and "[ ] acc" in text, text
        await pilot.press("down", "space", "down", "space", "up", "space")  # lr on, acc on, lr off
        await pilot.pause()
        text = screen_text(app)
        assert "[x] loss" in text and "[ ] lr" in text and "[x] acc" in text, text
        await pilot.press("enter")
        await pilot.pause()
        assert app.state.current_metrics() == ["loss", "acc"]


@sync
async def test_detail_says_code_differs_from_the_parent(app_factory, lab):
    j = Journal(lab.journal)
    with j.edit_run("training_11", "git") as rec:
        rec["git"] = {"commit": "a1b2c3d4e5f6", "branch": "main", "dirty": False, "files": 0}
    with j.edit_run("training_11.1", "git") as rec:
        rec["git"] = {"commit": "0f9e8d7c6b5a", "branch": "fix", "dirty": True, "files": 3}
    with j.edit_run("training_11.2", "git") as rec:
        rec["git"] = {"commit": "0f9e8d7c6b5a", "branch": "fix", "dirty": False, "files": 0}
    app = app_factory()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        for rid, want in (("training_11.1", "code differs: commit a1b2c3d vs 0f9e8d7+dirty, 3 files changed "
                                            "(vs training_11)"),
                          ("training_11.2", "code differs: commit 0f9e8d7+dirty vs 0f9e8d7 (vs training_11.1)"),
                          ("training_11", None)):
            await goto(pilot, rid)
            await pilot.press("enter")
            await pilot.pause()
            text = " ".join(screen_text(app).split())
            if want:
                assert want in text, text
            else:
                assert "code differs" not in text and "a1b2c3d" in text
            await pilot.press("escape")
            await pilot.pause()
    # the same words as `labtui show` (one helper in core: gitinfo.run_code_differs)
    r = subprocess.run([sys.executable, "-m", "tui.cli", "--journal", str(lab.journal), "show", "training_11.1"],
                       capture_output=True, text=True, timeout=60, cwd=lab.root, env=cli_env())
    assert r.returncode == 0, r.stderr
    assert "code differs: commit a1b2c3d vs 0f9e8d7+dirty, 3 files changed (vs training_11)" in r.stdout, r.stdout


@sync
async def test_detail_shows_the_logged_config(app_factory, lab):
    """The config dumps a run's log starts with (read by core in the detail's worker), as `labtui
    show` prints them; a long one is cut with a pointer to `labtui show`; control characters inert."""
    log = lab.logs / "training_11" / "output.log"
    keys = ", ".join(f"k{i}={i}" for i in range(20))
    log.write_text(f"Namespace(lr=0.01, batch_size=8, data='./d\x1b[2J')\nNamespace({keys})\n"
                   + log.read_text(encoding="utf-8"), encoding="utf-8")
    app = app_factory()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await goto(pilot, "training_11")
        await pilot.press("enter")
        text = ""
        for _ in range(200):  # the worker's read: wait on the row, not on time
            await pilot.pause(0.05)
            text = " ".join(screen_text(app).split())
            if "config Namespace" in text:
                break
        # terminal escapes never reach the row (the reader drops them; inert() shows any other control)
        assert "config Namespace: lr=0.01, batch_size=8, data='./d' config" in text, text
        assert "config Namespace: k0=0, k1=1," in text and "k15=15, … (+4 more: labtui show)" in text, text


@sync
async def test_key_bar_shows_whole_keys_follows_the_screen_and_clicks(app_factory):
    from tui.app.widgets.keybar import KeyBar

    async with app_factory().run_test(size=(80, 24)) as pilot:
        app = pilot.app
        await settle(pilot)
        bar = app.screen.query_one(KeyBar)
        line = bar.render().plain
        assert line.startswith(" q Quit  ? Help  / Filter ")
        assert len(line) <= 80 and line.endswith(" ")  # whole keys only: never "m Metr"
        keys = [k for k, *_ in bar.items()]
        assert keys[:3] == ["q", "question_mark", "slash"] and "m" in keys
        await pilot.press("tab")  # the plot's focus brings its cursor keys first
        await pilot.pause()
        assert bar.render().plain.startswith(" ← ◀ Cursor  → Cursor ▶  q Quit ")
        await pilot.press("shift+tab")
        await pilot.pause()
        assert bar.render().plain.startswith(" q Quit ")
        # a click on "? Help" is that key
        x = bar.render().plain.index("? Help")
        await pilot.click(KeyBar, offset=(x + 1, 0))
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape", "enter")  # the detail screen: its own keys
        await pilot.pause()
        detail_bar = app.screen.query_one(KeyBar)
        assert detail_bar is not bar
        assert detail_bar.render().plain.startswith(" esc Back  f Follow  / Search ")
        assert "Filter" not in detail_bar.render().plain  # the main screen's keys are off there
