"""An idle app writes nothing to the terminal: polls with unchanged data repaint no widget,
and a changed line or cell repaints only itself (not the whole panel or table)."""

from __future__ import annotations

import asyncio
import time

from rich.text import Text
from textual.app import App

from tests.snapshot_tests import conftest as fixtures
from tui.app.widgets.gpu_panel import GpuPanel
from tui.app.widgets.lines import LineStatic

app_factory, lab, settle = fixtures.app_factory, fixtures.lab, fixtures.settle  # pytest fixtures + a helper

SIZE = (160, 48)


def count_refreshes(root, method: str = "refresh") -> dict:
    """Record every call of ``method`` on ``root``'s widgets: widget -> [(regions, kwargs)].
    ``refresh``: any repaint or layout asked for; ``_set_dirty``: what is marked dirty in the
    end (no regions: the whole widget)."""
    calls: dict = {}
    for w in [root, *root.walk_children()]:
        def rec(*regions, _w=w, _orig=getattr(w, method), **kw):
            calls.setdefault(_w, []).append((regions, kw))
            return _orig(*regions, **kw)
        setattr(w, method, rec)
    return calls


def test_polls_with_unchanged_data_repaint_nothing(app_factory):
    async def main():
        app = app_factory(poll_interval=0.05)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot, polls=3)
            # the deferred checks after opening and the first redraws: wait until a few
            # polls in a row change nothing, then count
            calls = count_refreshes(app.screen)
            deadline = time.monotonic() + 60
            while True:
                calls.clear()
                start = app.polls
                while app.polls < start + 6:
                    assert time.monotonic() < deadline, "the app never went quiet over 6 polls"
                    await pilot.pause(0.02)
                await pilot.pause()
                if not calls or time.monotonic() > deadline:
                    break
            names = {f"{type(w).__name__}#{w.id}": len(c) for w, c in calls.items()}
            assert names == {}, f"polls with unchanged data repainted {names}"
    asyncio.run(main())


class OneLineStatic(App):
    """A bare app of one LineStatic, for repaint counts of that widget alone."""

    def compose(self):
        yield LineStatic(id="p")


async def fixed_line_static(pilot, width: int | None = None) -> LineStatic:
    """The app's LineStatic at a fixed size, as the GPU panel's (a resize repaints all)."""
    w = pilot.app.query_one(LineStatic)
    w.styles.height = 10
    if width is not None:
        w.styles.width = width
    await pilot.pause()
    return w


def test_a_changed_line_repaints_only_that_line():
    async def main():
        app = OneLineStatic()
        async with app.run_test(size=(60, 20)) as pilot:
            w = await fixed_line_static(pilot)
            w.update_lines(Text("a\nb\nc\n\n\n"))
            await pilot.pause()
            calls = count_refreshes(w, "_set_dirty")
            w.update_lines(Text("a\nB\nc\n\n\n"))
            w.update_lines(Text("a\nB\nc\n\n\n"))  # unchanged: nothing at all
            await pilot.pause()
            regions = [r for r, _kw in calls.get(w, []) if r]
            assert [[(reg.x, reg.y, reg.width, reg.height) for reg in r] for r in regions] == [[(0, 1, 1, 1)]]
            assert all(r for r, _kw in calls[w]), "a whole-widget refresh happened"
            assert str(w.render()) == "a\nB\nc\n\n\n"
            w.update_lines(Text("a\nB\n"))  # fewer lines: the whole widget
            await pilot.pause()
            assert w.full_repaints == 2 and w.line_repaints == 1
            calls.clear()
            w.update_lines(Text("a\nB\nc CPU 18% load\n"))
            await pilot.pause()
            w.update_lines(Text("a\nB\nc CPU 21% load\n"))  # two cells of one line
            await pilot.pause()
            assert [(reg.x, reg.y, reg.width) for r, _kw in calls[w][1:] for reg in r] == [(6, 2, 2)]
    asyncio.run(main())


def test_a_wrapped_line_makes_the_next_change_repaint_the_whole_widget():
    """Bug (seen in a 120-column terminal): the GPU panel's "NVML ... not found" and CPU lines
    wrapped, so text line i was screen row i+2, and repainting row i left the changed figures of
    the lines below stale on screen.  While any line is wider than the widget, a change repaints
    the whole widget."""
    async def main():
        app = OneLineStatic()
        async with app.run_test(size=(30, 20)) as pilot:
            w = await fixed_line_static(pilot, width=20)
            long = "CPU 100%  load 3.9 1.6 1.5  2 cores"  # 35 cells in 20: wraps
            w.update_lines(Text(f"{long}\nrun a cpu 48%\nrun b cpu 0%"))
            await pilot.pause()
            full, part = w.full_repaints, w.line_repaints
            w.update_lines(Text(f"{long}\nrun a cpu 48%\nrun b cpu 46%"))
            await pilot.pause()
            assert (w.full_repaints, w.line_repaints) == (full + 1, part)
            assert "run b cpu 46%" in str(w.render())
            w.update_lines(Text("CPU 9%\nrun a cpu 48%\nrun b cpu 0%"))   # nothing wraps now
            await pilot.pause()
            full = w.full_repaints
            w.update_lines(Text("CPU 9%\nrun a cpu 48%\nrun b cpu 7%"))
            await pilot.pause()
            assert w.full_repaints == full and w.line_repaints == part + 1
    asyncio.run(main())


def test_table_cell_change_repaints_only_its_cell(app_factory):
    async def main():
        app = app_factory(poll_interval=0.05)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot, polls=3)
            table = app.query_one("#runs")
            rid = table._order[0]
            col = "status" if "status" in table._cols else table._cols[-1]
            calls = count_refreshes(table, "_set_dirty")
            old = table._cells[rid][col]
            table._cells[rid] = dict(table._cells[rid]) | {col: Text("stale")}
            app.refresh_table()  # the real cell differs from "stale": that cell is synced
            await pilot.pause()
            got = calls.get(table, [])
            assert got and all(r for r, _kw in got), f"whole-table refresh: {got}"
            assert all(reg.height == 1 for r, _kw in got for reg in r)
            assert table._cells[rid][col] == old
    asyncio.run(main())


def test_gpu_panel_is_a_line_static():
    assert issubclass(GpuPanel, LineStatic)


# --------------------------------------------------------------------------- jittering host figures
GIB = 1024 ** 3
JITTER = [  # an idle box: CPU %, load and RAM move a little every sample
    {"cpu_percent": c, "load1": l1, "load5": 1.21, "load15": 0.9, "mem_used": m, "mem_total": 64 * GIB,
     "cpu_count": 16}
    for c, l1, m in [(31.0, 1.52, 21.0 * GIB), (36.5, 1.48, 21.05 * GIB), (28.2, 1.55, 20.97 * GIB),
                     (33.3, 1.61, 21.1 * GIB), (29.9, 1.44, 21.02 * GIB)]
]


def test_steady_host_holds_small_moves_and_follows_big_ones():
    from tui.core.gpus import GpuSnapshot, HostInfo
    from tui.core.gpus.steady import steady

    def snap(**h):
        return GpuSnapshot(ok=False, reason="none", host=HostInfo(**h))

    shown = steady(None, snap(**JITTER[0]))
    assert shown.host.cpu_percent == 31.0 and shown.host.load1 == 1.5  # first: exact (load 1 decimal)
    for h in JITTER[1:]:
        shown = steady(shown, snap(**h))
        assert (shown.host.cpu_percent, shown.host.load1, shown.host.mem_used) == (31.0, 1.5, 21.0 * GIB)
    shown = steady(shown, snap(**(JITTER[0] | {"cpu_percent": 75.0, "load1": 3.04, "mem_used": 30 * GIB})))
    assert (shown.host.cpu_percent, shown.host.load1, shown.host.mem_used) == (75.0, 3.0, 30 * GIB)
    busy = steady(shown, snap(**(JITTER[0] | {"load1": 8.0})))
    assert steady(busy, snap(**(JITTER[0] | {"load1": 8.64}))).host.load1 == 8.0  # within 10%
    assert steady(busy, snap(**(JITTER[0] | {"load1": 9.04}))).host.load1 == 9.0
    assert steady(shown, snap()).host.cpu_percent is not None  # NA in, NA out: no crash
    assert steady(None, None) is None


def test_steady_gpu_temperature_and_power():
    from tui.core.gpus import GpuInfo, GpuSnapshot
    from tui.core.gpus.steady import steady

    def snap(temp, power, util=0):
        return GpuSnapshot(ok=True, reason=None, gpus=[GpuInfo(0, "A100", "GPU-0", util, 1, 80, temp, power, 400.0)])

    shown = steady(None, snap(34, 61.2))
    shown = steady(shown, snap(35, 63.9))
    g = shown.gpus[0]
    assert (g.temperature, g.power_draw, g.util) == (34, 61.2, 0)  # jitter held
    g = steady(shown, snap(38, 75.0, util=3)).gpus[0]
    assert (g.temperature, g.power_draw, g.util) == (38, 75.0, 3)  # real moves shown; util exact


def test_polls_with_jittering_host_figures_repaint_nothing(lab):
    from tui.app.app import LabApp
    from tui.core.gpus import FakeSource

    src = FakeSource(data={"snapshots": [{"ok": False, "host": h} for h in JITTER]})

    async def main():
        app = LabApp(lab.journal, clock=fixtures.clock, gpu_source=src, poll_interval=0.05,
                     gpu_interval=0.02, theme="textual-dark")
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot, polls=3)
            panel = app.query_one(GpuPanel)
            assert "CPU" in str(panel.render()) and "load 1." in str(panel.render())
            calls = count_refreshes(app.screen)
            deadline = time.monotonic() + 60
            while True:  # until 8 polls in a row, while the host figures move, repaint nothing
                calls.clear()
                seen = set()
                start = app.polls
                while app.polls < start + 8:
                    assert time.monotonic() < deadline, "the app never went quiet over 8 polls"
                    snap = app.state.gpu_snapshot
                    if snap is not None:
                        seen.add(snap.host.cpu_percent)
                    await pilot.pause(0.02)
                await pilot.pause()
                # (a loaded box may starve the sampler thread for 8 polls: then look again)
                if (not calls and len(seen) >= 2) or time.monotonic() > deadline:
                    break
            assert len(seen) >= 2, f"the host figures did not move during the polls: {seen}"
            names = {f"{type(w).__name__}#{w.id}": len(c) for w, c in calls.items()}
            assert names == {}, f"polls with jittering host figures repainted {names}"
            before = str(panel.render())
            await settle(pilot, polls=3)
            assert str(panel.render()) == before
    asyncio.run(main())
