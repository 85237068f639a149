"""The app's first frame: painted by the CLI from the app's own first polls before Textual
loads, in the app's layout, then handed over (polls, screen, the keys typed meanwhile).

The layout and the plot are compared with the real app's under ``run_test``; the handover is
driven in a real terminal (tmux): the frame held on screen, keys typed at it, then the app."""

from __future__ import annotations

import os
import pty
import re
import shutil
import sys
import termios
import time
from pathlib import Path

import pytest

from tests.snapshot_tests.labdata import clock, no_gpu
from tests.test_app import sync
from tests.test_app_state import build
from tests.test_e2e_tmux import Pane
from tests.test_escapes import bad_chars, esc_lab  # noqa: F401 - the fixture
from tui.app import firstframe
from tui.app.app import LabApp
from tui.app.widgets.plot import MetricPlot
from tui.app.widgets.runs_table import RunsTable
from tui.core.journal import Journal


def _braille(text: str) -> int:
    return sum(1 for ch in text if 0x2801 <= ord(ch) <= 0x28FF)


@pytest.mark.parametrize("size,few", [((160, 48), False), ((100, 30), False), ((80, 24), False),
                                      ((120, 40), True)])
@sync
async def test_the_frame_has_the_apps_layout_rows_and_plot(tmp_path, size, few):
    # few: 3 runs, fewer rows than the table's least height
    lab = build(tmp_path, without=("chain", "chain.1", "chain.2", "chain.1b") if few else ())
    try:
        w, h = size
        early: list = []
        frame = firstframe.build(Journal(lab.journal), w, h, clock=clock, early=early.append)
        assert frame is not None and len(frame.results) == 2
        # painted first: the table from the listing alone, metric cells "…", the plot waiting
        (table_only,) = early
        text = "\n".join(t.plain for t in table_only.lines.values())
        assert len(table_only.results) == 1 and "loading metrics…" in text and "…" in table_only.lines[2].plain
        assert table_only.table_rows == frame.table_rows and table_only.plot_box == frame.plot_box
        plain = {y: t.plain for y, t in frame.lines.items()}
        assert "labtui" in plain[0] and ("3 runs" if few else "7 runs") in plain[0]
        assert plain[1].split()[0] == "run" and "status" in plain[1]
        # the selected run's row is the reverse one, and the plot's legend names it
        cursor = [y for y, t in frame.lines.items() if 1 < y <= frame.table_rows
                  and any("reverse" in str(s.style) for s in t.spans)]
        assert len(cursor) == 1 and frame.selected in plain[cursor[0]]
        x, y0, pw, ph = frame.plot_box
        assert set(plain[y0]) == {"─"}
        assert frame.selected in plain[y0 + 1]
        plot_lines = [plain.get(y, "").rstrip() for y in range(y0 + 1, y0 + ph)]
        assert _braille("".join(plot_lines)) > 20

        # the app, handed the frame's polls, lays itself out the same and shows the same plot
        first = firstframe.Handover(frame.poller, frame.results, 0, 1, None)
        app = LabApp(lab.journal, clock=clock, gpu_source=no_gpu(), poll_interval=60, theme="textual-dark",
                     first=first)
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            table, plot = app.query_one(RunsTable), app.query_one(MetricPlot)
            assert app.state.selected == frame.selected
            assert table.region.y == 1 and table.region.height == frame.table_rows
            assert (plot.region.x, plot.region.y, plot.region.width, plot.region.height) == frame.plot_box
            # the same text: the strip, the ticks and the curve (colours aside)
            drawn = [ln.rstrip() for ln in plot.render().plain.split("\n")]
            assert drawn[:len(plot_lines)] == plot_lines and not any(drawn[len(plot_lines):])
            assert frame.poller is app.poller  # the polls are not made again
    finally:
        lab.close()


def test_ansi_keeps_styles_without_colour_and_reads_no_markup():
    from rich.text import Text

    t = Text("[bold]x[/] ")
    t.append("ok", style="bold green")
    colour = firstframe.ansi(t, firstframe.color_system({"TERM": "xterm"}))
    plain = firstframe.ansi(t, firstframe.color_system({"NO_COLOR": "1", "TERM": "xterm"}))
    assert "[bold]x[/] " in colour and "\x1b[1;32mok" in colour
    assert "\x1b[1mok" in plain and "32" not in plain


def test_only_on_a_terminal_and_not_when_turned_off():
    env = {"TERM": "xterm-256color"}
    r, w = os.pipe()
    m, s = pty.openpty()
    try:
        assert firstframe.wanted(env, s, s)
        assert not firstframe.wanted(env, r, s) and not firstframe.wanted(env, s, w)
        assert not firstframe.wanted({**env, "LABTUI_FIRST_FRAME": "0"}, s, s)
        assert not firstframe.wanted({"TERM": "dumb"}, s, s)
    finally:
        for fd in (r, w, m, s):
            os.close(fd)


def _stty_after(pane_text: str) -> set[str]:
    return {w for ln in pane_text.splitlines() if ln.startswith("MODES ") for w in ln.split()[1:]}


@pytest.fixture
def held(tmp_path, request):
    if shutil.which("tmux") is None:
        pytest.fail("tmux is required for the real-terminal tests (.ci/run installs it)")
    lab = build(tmp_path / "lab")
    hold = tmp_path / "release"
    pane = Pane(f"labtui-ff-{os.getpid()}-{request.node.name[:16]}", lab)
    yield lab, pane, hold
    pane.kill_server()
    lab.close()


def _open(pane: Pane, lab, hold: Path, extra: str = "") -> None:
    # after the app: the terminal's modes, one per word (echo, icanon, isig, icrnl or their -)
    modes = "echo MODES $(stty -a | tr ' ;' '\\n\\n' | grep -xE -- '-?(echo|icanon|isig|icrnl|ixon)' | tr '\\n' ' ')"
    cmd = (f"cd {lab.root} && LABTUI_FIRST_FRAME_HOLD={hold} {extra} {sys.executable} -m tui.cli "
           f"--journal {lab.journal}; {modes}; sleep 30")
    pane.tmux("-u", "new-session", "-d", "-s", "ff", "-x", "120", "-y", "36", cmd)
    pane.session = "ff"


def test_keys_typed_at_the_frame_reach_the_app_unechoed_and_the_terminal_is_restored(held):
    lab, pane, hold = held
    _open(pane, lab, hold)
    # the frame, before Textual: rows, the cursor's run named by the legend, its curve
    screen = pane.wait(lambda s: "─" * 20 in s and _braille(s) > 20, "the first frame with a curve")
    lines = screen.splitlines()
    rule = next(i for i, ln in enumerate(lines) if ln.startswith("─" * 20))
    first = _legend(screen)
    rows = [_row_id(ln, lab.runs) for ln in lines[2:rule]]
    assert first in rows  # a run of the table
    assert "labtui" in lines[0] and "7 runs" in lines[0]
    # keys typed now wait for the app, unechoed and unchanged: the terminal is in Textual's modes
    tty = pane.tmux("display-message", "-p", "-t", "ff", "#{pane_tty}").stdout.strip()
    fd = os.open(tty, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        iflag, _o, _c, lflag = termios.tcgetattr(fd)[:4]
    finally:
        os.close(fd)
    assert not lflag & (termios.ECHO | termios.ICANON | termios.ISIG) and not iflag & termios.ICRNL
    pane.keys("Down")
    pane.type("zz")
    assert "zz" not in pane.screen()
    # from here the terminal's output is Textual's (the CLI waits on the hold)
    stream = hold.parent / "stream"
    pane.tmux("pipe-pane", "-o", "-t", "ff", f"cat >> {stream}")
    hold.touch()
    # the app: its key bar, and the Down typed at the frame moved its cursor one row
    want = rows[rows.index(first) + 1]
    screen = pane.wait(lambda s: "q Quit" in s and _legend(s) not in (None, first), "the app on the next run")
    assert _legend(screen) == want
    pane.keys("q")
    after = pane.wait(lambda s: "MODES" in s, "the shell after the app")
    assert _stty_after(after) >= {"echo", "icanon", "isig", "icrnl"}, after
    assert "reopen with" in after
    # the app drew over the frame without switching screens again (a switch can clear the
    # screen: a blank flash until its first paint), and left the alternate screen once
    out = stream.read_bytes()
    assert out.count(b"\x1b[?1049h") == 0 and out.count(b"\x1b[?1049l") == 1, out[:300]


def _legend(screen: str) -> str | None:
    """The run the plot's legend names ("loss vs step  ⣿⣿ RUN")."""
    m = re.search(r"^\S.* vs step  ⣿⣿ (\S+)", screen, re.M)
    return m.group(1) if m else None


def _row_id(line: str, ids: list[str]) -> str | None:
    return next((w for w in line.split() if w in ids), None)


def test_an_error_after_the_frame_is_printed_on_the_normal_screen(held, tmp_path):
    lab, pane, hold = held
    cfg = tmp_path / "config.toml"
    cfg.write_text('[keys]\nkill = "q"\n', encoding="utf-8")  # refused by the app, after the frame
    hold.touch()
    _open(pane, lab, hold, extra=f"LABTUI_CONFIG={cfg}")
    after = pane.wait(lambda s: "MODES" in s, "the shell after the error")
    assert "clashes with quit" in after and "─" * 20 not in after, after  # not left on the frame
    assert _stty_after(after) >= {"echo", "icanon", "isig", "icrnl"}, after


def _read_all(fd: int) -> bytes:
    out = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except (BlockingIOError, OSError):
            return out
        if not chunk:
            return out
        out += chunk


def test_paint_on_a_pty_then_restore_and_a_failed_frame_leaves_the_terminal_alone(tmp_path):
    lab = build(tmp_path / "lab")
    m, s = pty.openpty()
    try:
        import fcntl
        import struct

        fcntl.ioctl(s, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        os.set_blocking(m, False)
        before = termios.tcgetattr(s)
        env = {"TERM": "xterm-256color"}
        handover = firstframe.paint(Journal(lab.journal), env=env, fd_in=s, fd_out=s)
        assert handover is not None and len(handover.results) == 2 and handover.poller is not None
        assert not termios.tcgetattr(s)[3] & termios.ECHO
        out = _read_all(m)
        assert out.count(firstframe.ENTER_ALT.encode()) == 1 and b"loading metrics" in out  # table first
        assert b"7 runs" in out and b"\xe2\xa3" in out  # then the curve (braille)
        handover.restore()
        assert termios.tcgetattr(s) == before and _read_all(m).endswith(firstframe.LEAVE_ALT.encode())
        handover.restore()  # once only
        assert _read_all(m) == b""

        # a journal that cannot be read (a folder): no frame, nothing written, modes untouched
        assert firstframe.paint(Journal(tmp_path), env=env, fd_in=s, fd_out=s) is None
        assert termios.tcgetattr(s) == before and _read_all(m) == b""
    finally:
        os.close(m)
        os.close(s)
        lab.close()


@sync
async def test_a_cold_run_is_read_by_the_app_not_before_it(tmp_path):
    """A selected run with much output and no series cache (a first open of a long run): the
    frame is the table alone, and the app, answering keys meanwhile, reads the curve."""
    lab = build(tmp_path)
    try:
        j = Journal(lab.journal)
        warm = firstframe.build(j, 160, 48, clock=clock)
        run_dir = warm.poller._last_runs[[r.id for r in warm.poller._last_runs].index(warm.selected)].run_dir
        assert not firstframe.cold(run_dir)  # small: read in the frame (and its cache written)
        for p in run_dir.glob(".metrics-cache*"):
            p.unlink()
        (run_dir / "stdout.old").write_bytes(b"step 1 loss 0.5\n" * 80_000)  # 1.3 MB, no cache
        assert firstframe.cold(run_dir)
        early: list = []
        frame = firstframe.build(Journal(lab.journal), 160, 48, clock=clock, early=early.append)
        assert early == [] and len(frame.results) == 1 and frame.selected == warm.selected
        assert "loading metrics…" in "\n".join(t.plain for t in frame.lines.values())
        app = LabApp(lab.journal, clock=clock, gpu_source=no_gpu(), poll_interval=0.2, theme="textual-dark",
                     first=firstframe.Handover(frame.poller, frame.results, 0, 1, None))
        async with app.run_test(size=(160, 48)) as pilot:
            plot = app.query_one(MetricPlot)
            deadline = time.monotonic() + 60
            while not plot.curves:
                assert time.monotonic() < deadline, "the app never read the cold run"
                await pilot.pause(0.05)
            assert app.state.selected == warm.selected and plot.curves[0].run == warm.selected
    finally:
        lab.close()


# the frame's own sequences: SGR, cursor position, erase line/screen, its modes
OWN = re.compile(r"\x1b\[(?:[0-9;]*m|\d+;1H|2K|H|2J|\?(?:2026|1049|25)[hl])")


def test_the_frame_writes_journal_text_log_text_and_command_lines_inert(esc_lab):  # noqa: F811
    """The run whose command, log, notes, tags and verdict carry every escape (test_escapes):
    the frame's bytes hold no control character but the frame's own sequences."""
    frame = firstframe.build(Journal(esc_lab.journal), 160, 48)
    assert frame is not None and "esc" in "".join(t.plain for t in frame.lines.values())
    for system in (firstframe.color_system({"TERM": "xterm-256color"}), None):
        out = OWN.sub("", firstframe.render(frame, system))
        assert bad_chars(out) == [], bad_chars(out)
