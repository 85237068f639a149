"""Log display truths (issue 13.11): the last line of a finished run, unterminated escapes,
notes with carriage returns."""

from __future__ import annotations

import sys
import time

from textual.widgets import RichLog

from tests.snapshot_tests.labdata import no_gpu
from tests.test_app import sync
from tui.app.app import LabApp
from tui.core import runs
from tui.core.metrics import EOL_NL, LogTail, parse_file


def test_tail_gives_a_last_line_without_newline_once_the_writer_ended(tmp_path):
    log = tmp_path / "output.log"
    log.write_bytes(b"one\ntwo\nthe end")
    t = LogTail(log, eol=EOL_NL)
    assert t.lines()[0] == ["one", "two"]          # the writer may still finish the line
    assert t.lines()[0] == []
    assert t.lines(final=True)[0] == ["the end"]   # it ended: the line is complete
    assert t.lines(final=True)[0] == []            # and shown once


def test_unterminated_osc_does_not_swallow_metric_lines(tmp_path):
    log = tmp_path / "output.log"
    log.write_text("step 1 loss: 0.5\n\x1b]0;never ended\nstep 2 loss: 0.4\nstep 3 loss: 0.3\n")
    s = parse_file(log).series["loss"]
    assert list(s.x) == [1.0, 2.0, 3.0] and list(s.y) == [0.5, 0.4, 0.3]


@sync
async def test_detail_shows_the_last_line_of_a_finished_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    j = tmp_path / "experiments.toml"
    j.write_text("", encoding="utf-8")
    rid = runs.launch(j, command=[sys.executable, "-c", "print('first'); print('final words', end='')"],
                      name="nonl")
    deadline = time.monotonic() + 30
    while runs.get_run(j, rid).alive:
        assert time.monotonic() < deadline, "the run did not end"
        time.sleep(0.05)
    app = LabApp(j, gpu_source=no_gpu(), poll_interval=0.2, theme="textual-dark")
    async with app.run_test(size=(120, 40)) as pilot:
        deadline = time.monotonic() + 15
        while rid not in app.state.infos:
            assert time.monotonic() < deadline, "the run never listed"
            await pilot.pause(0.05)
        await pilot.press("enter")

        def shown() -> str:
            try:
                log = app.screen.query_one(RichLog)
            except Exception:  # noqa: BLE001 - the detail screen is not mounted yet
                return ""
            return "\n".join(s.text for s in log.lines)

        deadline = time.monotonic() + 15
        while "final words" not in shown():
            assert time.monotonic() < deadline, f"last line never shown: {shown()!r}"
            await pilot.pause(0.05)
        assert shown().count("final words") == 1 and "first" in shown()


def test_a_log_rewritten_in_place_is_read_again_not_mixed(tmp_path):
    """Same inode, same size, new content (a script re-run with `>` into the same file): the old
    numbers are dropped, never spliced with the new ones (which made a phantom loss cliff)."""
    from tui.core.metrics import RunMetrics

    log = tmp_path / "output.log"
    log.write_text("".join(f"step {i} loss: {1.0 / i:.4f}\n" for i in range(1, 1001)))
    rm = RunMetrics(tmp_path)
    rm.poll()
    assert len(rm.series["loss"]) == 1000 and rm.series["loss"].y[-1] == 0.001
    ino = log.stat().st_ino
    with open(log, "r+") as f:
        f.write("".join(f"step {i} loss: {9.0 / i:.4f}\n" for i in range(1, 1001)))
        f.truncate()
    assert log.stat().st_ino == ino
    rm.poll()
    s = rm.series["loss"]
    assert list(s.x) == [float(i) for i in range(1, 1001)] and s.y[0] == 9.0 and s.y[-1] == 0.009
    with open(log, "r+") as f:  # shorter: a truncation that then grew a little
        f.write("step 1 loss: 5.0\nstep 2 loss: 4.0\n")
        f.truncate()
    rm.poll()
    assert list(rm.series["loss"].y) == [5.0, 4.0]
