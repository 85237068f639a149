"""Metrics truth (issue 12): final values, metric direction, progress, false series, families."""

from __future__ import annotations

import asyncio
import sys
import time

from tests.snapshot_tests.labdata import no_gpu
from tui.app.app import LabApp

TRAINER = '''
import os, sys, time
go = sys.argv[1]
for s in range(40):
    print(f"step {s} loss {1.0 / (s + 1):.4f}", flush=True)
while not os.path.exists(go):
    time.sleep(0.01)
# the last lines reach the log only when the process exits (block-buffered stdout)
for s in range(40, 101):
    print(f"step {s} loss {0.0123 if s == 100 else 1.0 / (s + 1):.4f}")
'''


def test_final_values_reach_the_row_with_its_end(lab, tmp_path):
    """A run that is not selected and ends: the poll that shows its end also shows its last
    lines (step 100, loss 0.0123), never the step-39 values read while it ran."""
    prog = tmp_path / "trainer.py"
    prog.write_text(TRAINER)
    go = tmp_path / "go"
    lab.labtui("run", "--name", "subject", "--", sys.executable, str(prog), str(go), check=True)
    lab.labtui("run", "--name", "other", "--", sys.executable, "-c", "print('step 1 loss 0.5')",
               check=True)
    lab.wait_status("other", "finished")

    async def main() -> None:
        app = LabApp(lab.journal, gpu_source=no_gpu(), poll_interval=1.0, theme="textual-dark")
        async with app.run_test(size=(160, 48)) as pilot:
            async def until(cond, what, timeout=30.0):
                t0 = time.monotonic()
                while not cond():
                    assert time.monotonic() - t0 < timeout, f"timed out waiting for {what}"
                    await pilot.pause(0.02)

            st = app.state
            await until(lambda: st.summaries.get("subject") is not None
                        and st.summaries["subject"].step == 39, "step 39 while running")
            table = app.query_one("#runs")
            while table.current_id != "other":
                await pilot.press("down" if table._order.index("other") > table._order.index(table.current_id) else "up")
            await until(lambda: app.selected == "other", "cursor on the other run")
            assert "subject" not in app.poller.priority
            go.write_text("")
            seen = []

            def ended() -> bool:
                info = st.infos.get("subject")
                if info is None or info.alive:
                    return False
                s = st.summaries["subject"]
                seen.append((s.step, s.last))
                return True

            await until(ended, "the run's end")
            assert seen[0] == (100, 0.0123)
            await pilot.pause(0.3)
            s = st.summaries["subject"]
            assert (s.step, s.last) == (100, 0.0123)

    asyncio.run(main())
