"""Opening the app: the table paints from the journal before any metric is read; the metric
cells fill in progressively (a placeholder until read, never a stale number), the selected run
first, then the rows on screen; the plot says "loading metrics…" until its series is in."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.snapshot_tests.labdata import clock, no_gpu
from tests.test_app import SIZE, sync
from tests.test_app_state import build, poll_into
from tui.app import app as app_module
from tui.app.app import LabApp
from tui.app.fmt import num
from tui.app.model import Poller
from tui.app.state import AppState
from tui.app.widgets.plot import MetricPlot
from tui.app.widgets.runs_table import RunsTable, row_cells
from tui.core.journal import Journal

RUNS = {"chain", "chain.1", "chain.2", "chain.1b", "abl_a", "abl_b", "live"}


def cells_of(state: AppState) -> dict[str, dict[str, str]]:
    return {r["info"].id: {k: t.plain for k, t in row_cells(r, False).items()} for r in state.rows()}


def test_the_first_poll_lists_then_metrics_stream_in_plotted_run_first_then_rows_on_screen(tmp_path):
    lab = build(tmp_path)
    try:
        state = AppState(clock)
        # as the app makes it; no budget cut (the test is about the order)
        poller = Poller(Journal(lab.journal), clock=clock, time_budget=60.0, list_first=True)
        first = poller.poll()
        assert {r.id for r in first.runs} == RUNS and first.updates == [] and first.backlog
        state.apply(first)
        cells = cells_of(state)
        assert set(cells) == RUNS  # every row, before any metric file was opened
        for rid in RUNS:  # an honest placeholder in every metric-derived cell
            assert (cells[rid]["last"], cells[rid]["best"], cells[rid]["flags"]) == ("…", "…", "…"), rid
        state.select("abl_b")
        curves, _s, _k, msg = state.curves()
        assert curves == [] and msg == "loading metrics…"

        poller.priority, poller.visible = state.priority(), ("abl_a", "live")
        second = poller.poll()  # the plotted run alone, posted at once
        assert [u.run_id for u in second.updates] == ["abl_b"] and second.backlog
        state.apply(second)
        curves, _s, _k, msg = state.curves()
        assert curves and curves[0][0] == "abl_b" and msg == ""
        cells = cells_of(state)
        assert cells["abl_b"]["last"] == num(state.summaries["abl_b"].last) != "…"
        assert cells["abl_a"]["last"] == "…"  # not read yet: still the placeholder

        third = poller.poll()  # then the rows on screen (the live one first), then the rest
        assert [u.run_id for u in third.updates][:2] == ["live", "abl_a"]
        state.apply(third)
        poll_into(state, poller)
        cells = cells_of(state)
        for rid in RUNS:
            assert cells[rid]["last"] == num(state.summaries[rid].last) and "…" not in cells[rid]["last"], rid
    finally:
        lab.close()


class Recording(LabApp):
    """The app, noting after each poll what the table and the plot show."""

    CSS_PATH = Path(app_module.__file__).parent / LabApp.CSS_PATH  # relative to the app's module

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.seen: list[tuple[dict, str, int]] = []

    def apply(self, res) -> None:
        super().apply(res)
        table, plot = self.query_one(RunsTable), self.query_one(MetricPlot)
        last = {rid: c["last"].plain for rid, c in table._cells.items()}
        self.seen.append((last, plot.message, len(plot.curves)))


@sync
async def test_the_table_shows_rows_with_placeholders_before_metrics_then_values_and_the_curve(tmp_path):
    lab = build(tmp_path)
    try:
        app = Recording(lab.journal, clock=clock, gpu_source=no_gpu(), poll_interval=0.2, theme="textual-dark")
        async with app.run_test(size=SIZE) as pilot:
            end = time.monotonic() + 60
            while app.loading or not app.seen:
                assert time.monotonic() < end, "the app never finished reading the metrics"
                await pilot.pause(0.05)
            await pilot.pause()
            last, message, ncurves = app.seen[0]
            # the first paint: every row, metric cells "…", the plot waiting for its series
            assert set(last) == RUNS and set(last.values()) == {"…"}
            assert message == "loading metrics…" and ncurves == 0
            # then the values (each one the run's own), and the selected run's curve
            plot, table = app.query_one(MetricPlot), app.query_one(RunsTable)
            assert plot.curves and plot.message == ""
            for rid in RUNS:
                assert table._cells[rid]["last"].plain == num(app.state.summaries[rid].last) != "…", rid
            selected = app.state.selected
            firsts = [i for i, (lst, _m, n) in enumerate(app.seen) if lst.get(selected) != "…"]
            assert firsts and app.seen[firsts[0]][2] >= 1  # its value and its curve came together
    finally:
        lab.close()


def test_the_screens_are_not_imported_before_first_use():
    # the dialogs and screens (~85 ms of imports) wait until an action, the help or the keymap
    # check needs them; load_screens() then binds every one of them
    code = ("import sys, tui.app.app as a; mods = [m for m in sys.modules if m.startswith('tui.app.screens.')];"
            "print(sorted(mods)); a.load_screens(); print(a.HelpScreen.__name__, a.KillDialog.__name__,"
            " a.CancelQueuedDialog.__name__, 'tui.app.screens.detail' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(Path(app_module.__file__).parents[2])})
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["[]", "HelpScreen KillDialog CancelQueuedDialog True"]
