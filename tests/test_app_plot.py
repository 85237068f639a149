"""The plot: nice ticks, the legend strip, a glyph per run, the cursor readout, small multiples."""

from __future__ import annotations

import time

from tests.snapshot_tests import conftest as fixtures
from tests.test_app import SIZE, goto, sync
from tui.app.widgets.plot import MARKERS, MetricPlot, log_ticks, nice_ticks, si

app_factory, lab, settle = fixtures.app_factory, fixtures.lab, fixtures.settle


async def until(pilot, cond, what: str, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        await pilot.pause(0.02)


def test_nice_ticks_are_1_2_5_steps_with_si_labels():
    ticks, step = nice_ticks(68.8, 1518.8, 5)  # the issue's `68.8 112.5 1518.8`
    assert step == 500 and ticks == [500, 1000, 1500]
    assert [si(t, step) for t in ticks] == ["500", "1k", "1.5k"]
    ticks, step = nice_ticks(0.13, 2.2, 6)
    assert step == 0.5 and [si(t, step) for t in ticks] == ["0.5", "1", "1.5", "2"]
    assert si(10_000, 5_000) == "10k" and si(1_500_000, 500_000) == "1.5M" and si(0, 1) == "0"
    assert si(0.05, 0.05) == "0.05" and si(0.15, 0.05) == "0.15" and si(2e-5, 1e-5) == "2e-05"
    assert nice_ticks(3.0, 3.0, 4)[0] == [3.0]
    assert log_ticks(0.01, 100, 8) == [0.01, 0.1, 1, 10, 100]
    assert all(t > 0 for t in log_ticks(0.2, 3, 8))


@sync
async def test_legend_strip_glyph_per_run_and_no_noise_ticks(app_factory):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for rid in ("training_8", "lab1", "lab2"):
            await goto(pilot, rid)
            await pilot.press("space")
        plot = app.query_one(MetricPlot)
        await until(pilot, lambda: len(plot.curves) == 3, "three overlaid curves")
        await pilot.pause()
        text = plot.render().plain
        strip = text.splitlines()[0]
        # the legend is a strip above the data; each run has its own glyph (readable without colour)
        for i, rid in enumerate(("training_8", "lab1", "lab2")):
            assert f"{MARKERS[i][1] * 2} {rid}" in strip
        assert {MARKERS[1][0], MARKERS[2][0]} <= set(text)
        # tick labels are short nice numbers, never 68.8-style noise
        bottom = text.splitlines()[-1].split()
        assert bottom and all(len(lbl) <= 5 for lbl in bottom), bottom


@sync
async def test_cursor_reads_the_step_and_every_overlaid_value(app_factory):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for rid in ("training_8", "lab1"):
            await goto(pilot, rid)
            await pilot.press("space")
        plot = app.query_one(MetricPlot)
        await until(pilot, lambda: len(plot.curves) == 2 and plot._xrange is not None, "two curves drawn")
        await pilot.press("tab")
        assert app.focused is plot
        assert plot.readout() == ""
        await pilot.press("left")  # the cursor appears at the latest point
        await until(pilot, lambda: plot.readout() != "", "the cursor")
        start = plot.cursor
        for _ in range(5):
            await pilot.press("left")
        await pilot.press("right_square_bracket")
        await pilot.press("left_square_bracket")
        await pilot.press("left_square_bracket")
        assert plot.cursor < start
        line = plot.readout()
        assert line.startswith("step ")
        step = float(line.split()[1])
        for c in plot.curves:
            xs, ys = list(c.xs), list(c.ys)
            if xs[0] <= step <= xs[-1]:
                want = ys[min(range(len(xs)), key=lambda i: abs(xs[i] - step))]
                assert f" {c.label} {float(want):.4g}" in line, (line, c.label)
            else:
                assert f" {c.label} –" in line
        # what the strip shows on screen is that readout
        await pilot.pause()
        assert plot.render().plain.splitlines()[0].startswith(line[:30])
        await pilot.press("escape")
        assert plot.cursor is None and plot.readout() == ""


@sync
async def test_small_multiples_one_plot_per_chosen_metric(app_factory):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        plot = app.query_one(MetricPlot)
        metrics = app.state.available_metrics()[:2]
        assert len(metrics) == 2, app.state.available_metrics()
        app.set_metrics(metrics)
        await pilot.pause()
        assert plot._panels() == [None]
        await pilot.press("p")
        await until(pilot, lambda: plot._panels() == metrics, "two panels")
        await pilot.pause()
        text = plot.render().plain
        lines = text.splitlines()
        titles = lines[1]  # under the strip: a title per panel, side by side at this width
        assert all(m in titles for m in metrics), titles
        assert lines[2].count("┌") == 2 and text.count("┌") == 2  # two plots next to each other
        # the legend names the run once (one glyph per run across panels)
        assert lines[0].count(app.selected) == 1
        await pilot.press("p")
        await until(pilot, lambda: plot._panels() == [None], "one plot again")
