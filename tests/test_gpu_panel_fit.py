"""The GPU/host panel never wraps a line: at any width its lines are its rows.  A wrapped line
(seen at 120 columns: "no NVIDIA GPU  NVML Shared Library Not Found" and the CPU line) pushed the
rows below it down; the panel now lays its figures out for its width and crops the rest."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from rich.text import Text
from textual.app import App

import tui.app
from tui.app.widgets.gpu_panel import GpuPanel, render_gpus
from tui.app.widgets.lines import LineStatic
from tui.core.gpus.snapshot import GpuSnapshot, HostInfo, RunUsage

GIB = 1024 ** 3


def no_gpu(runs=("gan-high-lr", "gan-no-r1")) -> GpuSnapshot:
    host = HostInfo(cpu_percent=100.0, mem_used=1.8 * GIB, mem_total=24 * GIB,
                    load1=8.6, load5=4.8, load15=3.1, cpu_count=2)
    return GpuSnapshot(ok=False, reason="no NVIDIA GPU (NVML Shared Library Not Found)", host=host,
                       runs={r: RunUsage(r, cpu_percent=24.0, rss=int(0.3 * GIB)) for r in runs})


def test_no_gpu_lines_fit_the_width_and_figures_are_whole_or_absent():
    wide = render_gpus(no_gpu(), None, 80).plain.split("\n")
    assert wide[0] == "no NVIDIA GPU  NVML Shared Library Not Found"
    assert wide[1].endswith("  load 8.6 4.8 3.1  2 cores")
    for width in (38, 33, 30):
        lines = render_gpus(no_gpu(), None, width).plain.split("\n")
        assert all(len(ln) <= width for ln in lines), (width, lines)
        assert lines[:2] == ["no NVIDIA GPU", "NVML Shared Library Not Found"]
        # each figure whole or left out (never "load 8.6 4." or "  2"), in this order while they fit
        assert re.fullmatch(r"CPU \S{6} 100%(  load 8\.6 4\.8 3\.1)?(  2 cores)?", lines[2]), lines[2]
        assert ("load 8.6 4.8 3.1" in lines[2]) == (width >= 33)
        assert ("2 cores" in lines[2]) == (width in (30,))  # 38/33: load took the room
        assert lines[4:] == ["  gan-high-lr cpu 24% rss 0.3G", "  gan-no-r1 cpu 24% rss 0.3G"]


def test_panel_crops_rather_than_wraps_and_a_change_repaints_its_row_only():
    """In the app's stylesheet the panel is `text-wrap: nowrap`: a line wider than the panel is
    cropped with an ellipsis, so rows stay lines and a changed figure repaints its own row."""
    class One(App):
        CSS_PATH = str(Path(tui.app.__file__).with_name("labtui.tcss"))  # the app's own stylesheet

        def compose(self):
            yield GpuPanel(id="gpus")

    async def main():
        app = One()
        async with app.run_test(size=(40, 12)) as pilot:
            w = app.query_one(GpuPanel)
            assert w.styles.text_wrap == "nowrap"
            long = "x" * 60
            w.update_lines(Text(f"{long}\nrun a cpu 48%\nrun b cpu 0%"))
            await pilot.pause()
            rows = [strip.text for strip in w.render_lines(w.region.reset_offset)]
            assert rows[1].strip().startswith("x") and rows[1].strip().endswith("…"), rows
            assert rows[2].strip() == "run a cpu 48%"
            full, part = w.full_repaints, w.line_repaints
            w.update_lines(Text(f"{long}\nrun a cpu 48%\nrun b cpu 46%"))
            await pilot.pause()
            assert (w.full_repaints, w.line_repaints) == (full, part + 1)
            rows = [strip.text for strip in w.render_lines(w.region.reset_offset)]
            assert rows[3].strip() == "run b cpu 46%", rows
    asyncio.run(main())


def test_line_static_without_nowrap_still_repaints_whole_when_a_line_wraps():
    assert LineStatic().styles.text_wrap != "nowrap"
