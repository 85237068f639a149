"""The app's report key (W): core's report of the marked runs (or the filtered view), written on
a worker into a dated folder of the lab; the toast says where."""

from __future__ import annotations

import time
from pathlib import Path

from tests.snapshot_tests import conftest as fixtures
from tests.test_app import goto, sync
from tui.core.report import markdown as MD

app_factory, lab, settle = fixtures.app_factory, fixtures.lab, fixtures.settle  # pytest fixtures + a helper


async def wait_report(pilot, before: set, timeout: float = 120.0) -> tuple[Path, str]:
    """Wait until the toast naming a new report.md is up; (that file, the toast)."""
    app = pilot.app
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        for n in list(app._notifications):
            if n.message.startswith("report of ") and n.message not in before:
                path = Path(n.message.split(": ", 1)[1].split(" (")[0])
                return path, n.message
            assert n.severity != "error", n.message
        await pilot.pause(0.1)
    raise AssertionError("no report toast within the deadline")


def toasts(app) -> set:
    return {n.message for n in app._notifications}


@sync
async def test_report_key_writes_the_marked_runs_then_the_filtered_view(app_factory, lab):
    app = app_factory()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await goto(pilot, "lab2")
        await pilot.press("space")
        await goto(pilot, "lab5")
        await pilot.press("space")
        await pilot.press("W")  # the report is written on a thread worker (run_core); a toast says so
        assert any(n.message.startswith("writing a report of 2 run(s)") for n in app._notifications)
        path, msg = await wait_report(pilot, set())
        assert path.name == "report.md" and path.parent.parent == Path("reports"), msg
        assert msg.startswith("report of 2 run(s): ")
        text = (lab.root / path).read_text(encoding="utf-8")
        assert "**lab2**" in text and "**lab5**" in text
        assert "lab3" not in text and "training_8" not in text
        for img in path.parent.glob("img/*.png"):  # pictures (matplotlib installed) are linked
            assert f"img/{img.name}" in text

        # no marks: the filtered view (every run whose row shows), into a new folder
        await pilot.press("u", "slash", *"training_11", "enter")
        await pilot.pause()
        shown = {r["info"].id for r in app.state.rows()}
        assert shown == {"training_11", "training_11.1", "training_11.2"}
        before = toasts(app)
        await pilot.press("W")
        path2, msg2 = await wait_report(pilot, before)
        assert path2 != path and msg2.startswith("report of 3 run(s): ")
        text2 = (lab.root / path2).read_text(encoding="utf-8")
        assert all(f"**{MD.text(rid)}**" in text2 for rid in shown), text2
        assert "lab2" not in text2
