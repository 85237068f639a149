"""SVG snapshots of the app (fixed clock, data, theme; no animation). Update: pytest --snapshot-update."""

from __future__ import annotations

from .conftest import settle


def _go(*keys):
    async def run_before(pilot):
        await settle(pilot)
        for k in keys:
            await pilot.press(k)
        await settle(pilot, polls=pilot.app.polls + 1)
    return run_before


def _select(run_id, *keys):
    async def run_before(pilot):
        await settle(pilot)
        app = pilot.app
        order = app.query_one("#runs")._order
        for _ in range(order.index(run_id)):
            await pilot.press("down")
        for k in keys:
            await pilot.press(k)
        await settle(pilot, polls=app.polls + 1)
    return run_before


def test_main_160x48(snap_compare, app_factory):
    assert snap_compare(app_factory("four"), terminal_size=(160, 48), run_before=_go())


def test_main_80x24(snap_compare, app_factory):
    assert snap_compare(app_factory("four"), terminal_size=(80, 24), run_before=_go())


def test_too_small_60x20(snap_compare, app_factory):
    # below 80x24: one clear line instead of a broken screen
    assert snap_compare(app_factory("none"), terminal_size=(60, 20), run_before=_go())


def test_resume_chain_selected(snap_compare, app_factory):
    # training_11.2 drawn as one curve from training_11's first step, resume points marked
    assert snap_compare(app_factory("none"), terminal_size=(160, 48), run_before=_select("training_11.2"))


def test_overlay_three_runs(snap_compare, app_factory):
    async def run_before(pilot):
        await settle(pilot)
        app = pilot.app
        order = app.query_one("#runs")._order
        pos = 0
        for rid in ("lab1", "lab2", "lab3"):
            for _ in range(order.index(rid) - pos):
                await pilot.press("down")
            pos = order.index(rid)
            await pilot.press("space")
        await settle(pilot, polls=app.polls + 1)
    assert snap_compare(app_factory("none"), terminal_size=(160, 48), run_before=run_before)


def test_log_scale_and_smoothing(snap_compare, app_factory):
    assert snap_compare(app_factory("none"), terminal_size=(160, 48),
                        run_before=_select("lab3", "y", "e", "e", "e"))


def test_detail_with_log(snap_compare, app_factory):
    assert snap_compare(app_factory("none"), terminal_size=(120, 36), run_before=_select("training_11.1", "enter"))


def test_detail_literal_text(snap_compare, app_factory):
    # a note "[bold]x[/]" and log lines with markup/escapes are shown literally
    assert snap_compare(app_factory("none"), terminal_size=(120, 36), run_before=_select("training_11", "enter"))


def test_compare_view(snap_compare, app_factory):
    async def run_before(pilot):
        await settle(pilot)
        app = pilot.app
        order = app.query_one("#runs")._order
        pos = 0
        for rid in ("lab1", "lab4", "lab7"):
            for _ in range(order.index(rid) - pos):
                await pilot.press("down")
            pos = order.index(rid)
            await pilot.press("space")
        await pilot.press("c")
        await settle(pilot, polls=app.polls + 1)
    assert snap_compare(app_factory("none"), terminal_size=(120, 36), run_before=run_before)


def test_no_gpu_state(snap_compare, app_factory):
    assert snap_compare(app_factory("none"), terminal_size=(160, 48), run_before=_go())


def test_nan_flagged_run(snap_compare, app_factory):
    assert snap_compare(app_factory("four"), terminal_size=(160, 48), run_before=_select("lab7"))


def test_help_screen(snap_compare, app_factory):
    assert snap_compare(app_factory("none"), terminal_size=(100, 40), run_before=_go("question_mark"))


def test_small_multiples_160x48(snap_compare, app_factory):
    # p: one plot per chosen metric (loss and lr here), two runs overlaid in each
    async def run_before(pilot):
        await settle(pilot)
        app = pilot.app
        await pilot.press("space", "down", "space")
        app.set_metrics(app.state.available_metrics()[:2])
        await pilot.press("p")
        await settle(pilot, polls=app.polls + 1)
    assert snap_compare(app_factory("none"), terminal_size=(160, 48), run_before=run_before)


def test_plot_cursor_80x24(snap_compare, app_factory):
    # Tab focuses the plot; ← puts the cursor on the latest step, the strip reads each run's value
    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("space", "down", "space", "tab", "left", "left", "left")
        await settle(pilot, polls=pilot.app.polls + 1)
    assert snap_compare(app_factory("none"), terminal_size=(80, 24), run_before=run_before)


def test_gpu_process_view(snap_compare, app_factory):
    assert snap_compare(app_factory("four"), terminal_size=(160, 48), run_before=_go("g"))
