"""The app's first frame, painted by the CLI before Textual has loaded.

Importing Textual and building the app takes ~0.3 s of one core before it can paint anything;
the data the user opened the app for (the runs, the selected run's curve) is ready sooner.  So
``labtui`` (the app) first does the app's own first two polls with the app's own ``Poller``
(list the runs; read the selected run's series), and paints from them a plain frame in the
app's layout: top bar, runs table with the cursor on the selected run, the plot's rule, legend
strip and curve.  The keys typed meanwhile wait in the terminal (echo off, raw as Textual sets
it), and the ``Poller`` with both polls' results is handed to the app, which applies them
before its first paint: nothing is read twice, and Textual's first frame replaces this one.

Textual-free (the CLI imports this before Textual): the cells come from :mod:`.cells`, the plot
from :mod:`.plotdraw`, both shared with the app's widgets.  Never rewrites a file: the polls
only read (``runs.reconcile`` records an unrecorded status, as the app's first poll would).

``LABTUI_FIRST_FRAME=0`` turns it off.  ``LABTUI_FIRST_FRAME_HOLD=PATH`` (tests) holds the
frame until PATH exists, so a test can read it and type at it in a real terminal.
"""

from __future__ import annotations

import os
import termios
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from rich.color import ColorSystem
from rich.style import Style
from rich.text import Text

from ..core.journal import Journal
from ..core.rundir import RunDir
from .layout import GPU_STRIP, MIN_SIZE, WIDE, plot_width, table_height
from .cells import CELL_PAD, column_layout, row_cells
from .model import Poller, PollResult
from .plotdraw import Curve, PlotDraw
from .state import AppState

ENTER_ALT = "\x1b[?1049h"
LEAVE_ALT = "\x1b[?1049l"


class FramePlot(PlotDraw):
    """The app's plot drawing on a plain plotext figure ("clear" theme: the terminal's colours)."""

    has_focus = False

    def __init__(self, curves: list, settings, message: str):
        from plotext._figure import _figure_class  # the figure textual-plotext's Plot is

        self.init_draw()
        self.plt = _figure_class()
        self.curves, self.settings, self.message = curves, settings, message


def color_system(env) -> ColorSystem | None:
    """The colours Textual will use (``TEXTUAL_COLOR_SYSTEM``, as ``--colors`` sets it, else
    COLORTERM/TERM); None with NO_COLOR (styles stay, colours go)."""
    if env.get("NO_COLOR"):
        return None
    forced = env.get("TEXTUAL_COLOR_SYSTEM", "auto")
    if forced in ("standard", "256", "truecolor"):
        return {"standard": ColorSystem.STANDARD, "256": ColorSystem.EIGHT_BIT,
                "truecolor": ColorSystem.TRUECOLOR}[forced]
    if env.get("COLORTERM", "").lower() in ("truecolor", "24bit"):
        return ColorSystem.TRUECOLOR
    return ColorSystem.EIGHT_BIT if "256" in env.get("TERM", "") else ColorSystem.STANDARD


def ansi(text: Text, system: ColorSystem | None) -> str:
    """``text`` as SGR-styled characters (its text is data: control characters were made
    inert when the cells were built, and nothing here reads markup)."""
    plain = text.plain
    if not plain:
        return ""
    parse = _style
    base = parse(text.style)
    cuts: dict[int, list] = {}
    for i, sp in enumerate(text.spans):
        if sp.start < sp.end:
            cuts.setdefault(sp.start, []).append((1, i))
            cuts.setdefault(sp.end, []).append((0, i))
    cuts.setdefault(0, [])
    cuts.setdefault(len(plain), [])
    active: set[int] = set()
    out = []
    marks = sorted(cuts)
    for a, b in zip(marks, marks[1:]):
        for on, i in cuts[a]:
            (active.add if on else active.discard)(i)
        st = base
        for i in sorted(active):
            st = st + parse(text.spans[i].style)
        if system is None:
            st = st.without_color
        out.append(st.render(plain[a:b], color_system=system or ColorSystem.STANDARD))
    return "".join(out)


_STYLES: dict[Any, Style] = {}


def _style(s) -> Style:
    if isinstance(s, Style):
        return s
    hit = _STYLES.get(s)
    if hit is None:
        hit = _STYLES[s] = Style.parse(s) if s else Style()
    return hit


def fit(text: Text, width: int) -> Text:
    """``text`` cut or padded to exactly ``width`` cells."""
    t = text.copy()
    t.truncate(width, overflow="ellipsis", pad=True)
    return t


@dataclass
class Frame:
    """What the first frame shows, and the polls it was made from (handed to the app)."""

    lines: dict[int, Text]            # screen row -> its text (rows not listed stay blank)
    poller: Poller
    results: list[PollResult]
    selected: str | None
    width: int
    height: int
    table_rows: int = 0               # the runs table's rows, its header included (from row 1)
    plot_box: tuple = (0, 0, 0, 0)    # the plot's x, y, width, height (its top border included)


def build(journal: Journal, w: int, h: int, select: str | None = None,
          columns: list[str] | None = None, clock=time.time, early: Callable | None = None) -> Frame | None:
    """The app's first two polls and the frame they make at ``w``×``h``; None when there is
    nothing to paint (no runs, a journal error: the app says it).  ``early(frame)`` gets the
    frame of the first poll alone (the table, its metric cells "…", the plot "loading
    metrics…"): painted at once, before the selected run's series is read.  A cold run (see
    :func:`cold`) is not read here: the frame is that table, and the app reads it."""
    poller = Poller(journal, None, clock=clock, list_first=True)
    state = AppState(clock)
    state.select_pending = select
    first = poller.poll()
    if first.error or not first.runs:
        return None
    state.apply(first)
    rows = state.rows()
    order = [r["info"].id for r in rows]
    state.select(state.reselect(order))
    table_h = table_height(len(rows), h - 2, w)
    shown = max(table_h - 1, 1)
    idx = order.index(state.selected) if state.selected in order else 0
    top = max(0, idx - (shown - 1))  # the table scrolls just enough to show its cursor
    info = state.infos.get(state.selected or "")
    if info is not None and cold(info.run_dir):
        # its parse is the app's, in its worker, while it answers keys
        return _frame(state, journal, w, h, columns, table_h, top, poller, [first])
    if early is not None:
        early(_frame(state, journal, w, h, columns, table_h, top, poller, [first]))
    poller.priority = state.priority()
    poller.visible = tuple(order[top:top + shown])
    second = poller.poll()
    state.apply(second)
    return _frame(state, journal, w, h, columns, table_h, top, poller, [first, second])


COLD_BYTES = 1 << 20  # a run with this much output and no series cache: parsed by the app, not here


def cold(run_dir: Path) -> bool:
    """Whether reading the run's series means parsing a lot of output: no series cache, and
    its files hold more than COLD_BYTES (a first open of a long run: seconds, not ms)."""
    rd = RunDir(run_dir)
    if rd.metrics_cache.exists():
        return False
    total = 0
    try:
        with os.scandir(run_dir) as it:
            for e in it:
                if e.is_file(follow_symlinks=False):
                    total += e.stat(follow_symlinks=False).st_size
    except OSError:
        return False
    return total > COLD_BYTES


def _frame(state: AppState, journal: Journal, w: int, h: int, columns: list[str] | None, table_h: int,
           top: int, poller: Poller, results: list) -> Frame:
    """The frame of what ``state`` holds now."""
    from .fmt import topbar_text

    shown = max(table_h - 1, 1)
    lines: dict[int, Text] = {0: topbar_text(state, journal.path)}
    rows = state.rows()
    order = [r["info"].id for r in rows]
    narrow = w < WIDE
    cells = {r["info"].id: row_cells(r, r["info"].id in state.marked) for r in rows}
    lens = {rid: {k: t.cell_len for k, t in c.items()} for rid, c in cells.items()}
    cols, labels, widths = column_layout(rows, lens, state.rows_metric(rows), narrow, columns, w)
    pad = " " * (CELL_PAD // 2)

    def table_line(parts: list[Text]) -> Text:
        line = Text(no_wrap=True)
        for c, part in zip(cols, parts):
            line.append(pad)
            line.append_text(fit(part, widths[c]))
            line.append(pad)
        return line

    header = table_line([Text(labels[c]) for c in cols])
    header.stylize("bold")
    lines[1] = header
    for y, rid in enumerate(order[top:top + shown]):
        line = table_line([cells[rid][c] for c in cols])
        if rid == state.selected:
            line.stylize("bold reverse")
        lines[2 + y] = line

    rule_y = 1 + table_h
    lower = h - 2 - table_h
    pw = plot_width(w)
    ph = lower - 1 - (GPU_STRIP if narrow else 0)
    lines[rule_y] = Text("─" * w)
    curves, settings, _key, msg = state.curves()
    plot = FramePlot([Curve(*c) for c in curves], settings, msg)
    drawn = plot._build(pw, ph)
    if not curves:  # the message, in the middle of the plot (as the widget centres it)
        drawn = Text("\n" * (ph // 2)) + fit(Text(" " * max(0, (pw - drawn.cell_len) // 2)) + drawn, pw)
    for i, line in enumerate(drawn.split("\n", allow_blank=True)[:ph]):
        lines[rule_y + 1 + i] = line
    if narrow:
        lines[rule_y + 1 + ph] = Text("─" * w)
    for y in list(lines):
        if y >= h - 1:
            del lines[y]  # the key bar's row and below: the app draws those
    return Frame(lines, poller, list(results), state.selected, w, h, table_h, (0, rule_y, pw, ph + 1))


def render(frame: Frame, system: ColorSystem | None, first: bool = True) -> str:
    """The frame as terminal output, in one synchronized update (terminals that know mode 2026
    show it at once): ``first``, the alternate screen, cleared; then every row but the key
    bar's, each written whole (a later frame replaces an earlier one in place)."""
    out = ["\x1b[?2026h"]
    if first:
        out.append(ENTER_ALT + "\x1b[?25l\x1b[H\x1b[2J")
    for y in range(frame.height - 1):
        text = frame.lines.get(y)
        if text is None:
            if first:
                continue
            text = Text()
        text = text.copy()
        text.truncate(frame.width, overflow="crop")
        out.append(f"\x1b[{y + 1};1H\x1b[0m\x1b[2K" + ansi(text, system) + "\x1b[0m")
    out.append("\x1b[?2026l")
    return "".join(out)


@dataclass
class Handover:
    """The painted frame's polls, and the terminal's modes to put back when the app ends."""

    poller: Poller
    results: list[PollResult]
    fd_in: int
    fd_out: int
    attrs: list | None
    taken: bool = False        # Textual's driver took the screen over (it leaves the alternate screen)
    restored: bool = field(default=False, repr=False)

    def restore(self) -> None:
        """Put the terminal back as it was before the frame (once; safe to call again)."""
        if self.restored:
            return
        self.restored = True
        if not self.taken:  # the app never started: leave the frame's alternate screen
            _write(self.fd_out, "\x1b[?25h" + LEAVE_ALT)
        if self.attrs is not None:
            try:
                termios.tcsetattr(self.fd_in, termios.TCSADRAIN, self.attrs)
            except termios.error:
                pass


def wanted(env, fd_in: int, fd_out: int) -> bool:
    """A first frame only on a real terminal (both ends), not turned off, not a dumb one."""
    if env.get("LABTUI_FIRST_FRAME", "1") in ("0", "no", "off", "false"):
        return False
    if env.get("TERM", "dumb") in ("dumb", "") or env.get("TEXTUAL_DRIVER") or env.get("TEXTUAL_HEADLESS"):
        return False
    try:
        return os.isatty(fd_in) and os.isatty(fd_out)
    except OSError:
        return False


def paint(journal: Journal, select: str | None = None, columns: list[str] | None = None,
          env=None, fd_in: int = 0, fd_out: int = 2) -> Handover | None:
    """Paint the first frame on the terminal (Textual draws on stderr and reads stdin: so does
    this); the handover for the app, or None when no frame was painted."""
    env = os.environ if env is None else env
    if not wanted(env, fd_in, fd_out):
        return None
    try:
        w, h = os.get_terminal_size(fd_out)
    except OSError:
        return None
    if w < MIN_SIZE[0] or h < MIN_SIZE[1]:
        return None
    try:
        attrs = termios.tcgetattr(fd_in)
    except termios.error:
        return None
    raw = list(attrs)
    raw[6] = list(attrs[6])
    # Textual's modes (its LinuxDriver): keys typed now wait, unechoed and unchanged, for the app
    sig = 0 if env.get("TEXTUAL_ALLOW_SIGNALS") else termios.ISIG
    raw[3] = attrs[3] & ~(termios.ECHO | termios.ICANON | termios.IEXTEN | sig)
    raw[0] = attrs[0] & ~(termios.IXON | termios.IXOFF | termios.ICRNL | termios.INLCR | termios.IGNCR)
    raw[6][termios.VMIN] = 1
    handover = Handover(None, [], fd_in, fd_out, attrs)  # type: ignore[arg-type]
    system = color_system(env)
    painted: list[Frame] = []

    def show(frame: Frame) -> None:
        if not painted:
            termios.tcsetattr(fd_in, termios.TCSANOW, raw)
        _write(fd_out, render(frame, system, first=not painted))
        painted.append(frame)

    try:
        frame = build(journal, w, h, select, columns, early=show)
        if frame is not None:
            show(frame)
            handover.poller, handover.results = frame.poller, frame.results
            hold = env.get("LABTUI_FIRST_FRAME_HOLD")
            while hold and not os.path.exists(hold):
                time.sleep(0.02)  # (tests only: the frame stays until the test releases it)
    except Exception:  # noqa: BLE001 - the frame must never keep the app from opening:
        frame = None   # it polls again on its own and shows what went wrong there
    except BaseException:
        if painted:
            handover.restore()
        raise
    if frame is None:
        if painted:
            handover.restore()
        return None
    return handover


def _write(fd: int, data: str) -> None:
    b = data.encode("utf-8", "replace")
    while b:
        try:
            n = os.write(fd, b)
        except InterruptedError:
            continue
        except OSError:
            return  # the terminal went away: nothing to paint on
        b = b[n:]
