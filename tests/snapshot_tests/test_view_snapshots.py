"""SVG snapshots of the compare view with its overlay plot, user-chosen columns, NO_COLOR.

Same fixed lab, clock, theme and GPU state as test_snapshots.py.
Update: pytest tests/snapshot_tests/test_view_snapshots.py --snapshot-update.
"""

from __future__ import annotations

from .conftest import settle


def _compare(*ids):
    async def run_before(pilot):
        await settle(pilot)
        app = pilot.app
        order = app.query_one("#runs")._order
        pos = 0
        for rid in ids:
            for _ in range(order.index(rid) - pos):
                await pilot.press("down")
            pos = order.index(rid)
            await pilot.press("space")
        await pilot.press("c")
        await settle(pilot, polls=app.polls + 1)
    return run_before


async def _settled(pilot):
    await settle(pilot)
    await settle(pilot, polls=pilot.app.polls + 1)


def test_compare_with_plot_80x24(snap_compare, app_factory):
    # under 120 columns the overlay plot sits below the table (which scrolls), >= 10 rows
    assert snap_compare(app_factory("none"), terminal_size=(80, 24), run_before=_compare("lab1", "lab4", "lab7"))


def test_compare_with_plot_160x48(snap_compare, app_factory):
    # the overlay plot of the compared runs beside the table
    assert snap_compare(app_factory("none"), terminal_size=(160, 48), run_before=_compare("lab1", "lab4", "lab7"))


def test_user_columns_160x48(snap_compare, app_factory):
    # columns = ["id", "status", "age", "last", "best", "tags"] in the user config
    app = app_factory("none", columns=["id", "status", "age", "last", "best", "tags"])
    assert snap_compare(app, terminal_size=(160, 48), run_before=_settled)


def test_user_columns_80x24(snap_compare, app_factory):
    # below 120 columns the chosen columns the default hides when narrow go first, from the right
    app = app_factory("none", columns=["id", "experiment", "status", "progress", "age", "last", "best", "tags"])
    assert snap_compare(app, terminal_size=(80, 24), run_before=_settled)


def test_main_no_color_80x24(snap_compare, app_factory, monkeypatch):
    # NO_COLOR: statuses by glyph, runs in the plot by glyph, the cursor row reversed
    monkeypatch.setenv("NO_COLOR", "1")
    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("space", "down", "space")  # two runs overlaid: two glyphs
        await settle(pilot, polls=pilot.app.polls + 1)
    assert snap_compare(app_factory("four"), terminal_size=(80, 24), run_before=run_before)


def test_metric_chooser_no_color_80x24(snap_compare, app_factory, monkeypatch):
    # checked / unchecked metrics differ by [x] / [ ], not by colour alone
    monkeypatch.setenv("NO_COLOR", "1")
    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("M", "down", "down", "space")
        await pilot.pause()
    assert snap_compare(app_factory("none"), terminal_size=(80, 24), run_before=run_before)
