"""Pilot tests of the compare view's plot, the generated help, user columns, the metric chooser's
glyphs and the detail view's "code differs"."""

from __future__ import annotations

from tests.snapshot_tests import conftest as fixtures
from tests.test_app import SIZE, goto, sync
from tui.app.screens.compare import CompareScreen

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
            await pilot.press("escape")
            assert not isinstance(app.screen, CompareScreen)
