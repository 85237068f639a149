"""Small formatting helpers for the app (Rich Text only; log/user text is never markup)."""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

from rich.text import Text

from ..core.status import Status
from ..core.text import ANSI_RE, inert, last_redraw, show_controls


STATUS_STYLE = {
    "queued": "cyan",
    "pending": "cyan",
    "starting": "yellow",
    "running": "bold green",
    "stopping": "bold yellow",  # display only: a kill from this app is in flight
    "finished": "blue",
    "failed": "bold red",
    "killed": "magenta",
    "stopped": "blue",
    "cancelled": "dim",
    "lost": "dim red",
}
STATUS_ICON = {
    "queued": "…", "pending": "…", "starting": "◌", "running": "●", "stopping": "◐", "finished": "✓",
    "failed": "✗", "killed": "■", "stopped": "◼", "cancelled": "–", "lost": "?",
}
FLAG_STYLE = {"NaN": "bold red", "cliff": "red", "silent": "yellow", "tb": "bold red"}


def show_path(p) -> str:
    """A path as the user would type it: relative to the working directory when inside it."""
    p = Path(p)
    try:
        return inert(str(p.relative_to(Path(os.getcwd()))))
    except ValueError:
        return inert(str(p))


def num(v: float | None, width: int = 7) -> str:
    if v is None:
        return ""
    if v != v:
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    a = abs(v)
    if a != 0 and (a >= 1e5 or a < 1e-3):
        return f"{v:.2e}"
    s = f"{v:.4g}"
    return s


def count(v: float | None) -> str:
    if v is None:
        return ""
    v = float(v)
    if v >= 1e6:
        return f"{v / 1e6:.1f}M"
    if v >= 1e4:
        return f"{v / 1e3:.0f}k"
    return f"{v:.0f}"


def status_text(status: Status | str) -> Text:
    """A status (or the display-only "stopping") with its icon and colour."""
    word = str(status)  # a Status hashes by name: look styles up by its journal word
    return Text(f"{STATUS_ICON.get(word, ' ')} {word}", style=STATUS_STYLE.get(word, ""))


def gpus_text(gpus: list | None, none: str = "") -> str:
    """A run's GPUs: ``0,1``, ``cpu`` (an empty list), or ``none`` when not recorded."""
    if gpus is None:
        return none
    return ",".join(map(str, gpus)) if gpus else "cpu"


def topbar_text(state, journal_path) -> Text:
    """The app's top line: journal, run counts, marks, filter, sort, loading; a journal error
    on a second line.  ``state`` is the app's :class:`~tui.app.state.AppState`."""
    t = Text(no_wrap=True, overflow="ellipsis")
    t.append(" labtui ", style="bold reverse")
    t.append(" ")
    t.append(show_path(journal_path), style="dim")
    t.append(f"  {len(state.run_list)} runs")
    running = state.status_counts().get(Status.RUNNING)
    if running:
        t.append(f" · {running} running", style="green")
    if state.marked:
        t.append(f" · {len(state.marked)} marked", style="cyan")
    if state.filter_text:
        t.append(" · filter: ")
        t.append(state.filter_text, style="bold yellow")
    if state.sort_key != "tree":
        t.append(f" · sort: {state.sort_key}")
    if state.loading:
        t.append(" · loading…", style="dim")
    if state.journal_error:
        t.append("\n")
        t.append(state.journal_error, style="bold red")
    return t


def bar(frac: float | None, width: int, style: str = "green") -> Text:
    t = Text()
    if frac is None or frac != frac:
        t.append("·" * width, style="dim")
        return t
    frac = min(1.0, max(0.0, frac))
    full = int(frac * width)
    t.append("█" * full, style=style)
    t.append("░" * (width - full), style="dim")
    return t


SPARK = "▁▂▃▄▅▆▇█"


def sparkline(values: list, width: int) -> str:
    vals = [v for v in values if isinstance(v, (int, float)) and v == v][-width:]
    if not vals:
        return " " * width
    out = "".join(SPARK[min(7, int(v / 100 * 7.999))] if v > 0 else SPARK[0] for v in vals)
    return out.rjust(width)


_SGR_RE = re.compile(r"\x1b\[([0-9;]*)m")


def log_text(line: str) -> Text:
    """One raw log line as inert Rich Text: last ``\\r`` redraw, SGR colours kept, every other
    escape/control sequence shown visibly (``^[]0;title^G``); ``[bold]x[/]`` stays literal text."""
    line = last_redraw(line)
    out = Text()
    style = ""
    pos = 0
    for m in ANSI_RE.finditer(line):
        seg = line[pos:m.start()]
        if seg:
            out.append(show_controls(seg), style=style or None)
        pos = m.end()
        sgr = _SGR_RE.fullmatch(m.group(0))
        if sgr:
            style = _sgr_style(sgr.group(1), style)
        else:  # any other escape sequence is shown (inert, dim), never sent to the terminal
            out.append(show_controls(m.group(0)), style="dim")
    seg = line[pos:]
    if seg:
        out.append(show_controls(seg), style=style or None)
    return out


_FG = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"]


def _sgr_style(params: str, cur: str) -> str:
    """A small SGR interpreter: reset, bold/dim/italic/underline, 16 fg/bg colours."""
    parts = cur.split() if cur else []
    codes = [int(c) if c.isdigit() else 0 for c in params.split(";")] if params else [0]
    i = 0
    while i < len(codes):
        c = codes[i]
        if c == 0:
            parts = []
        elif c == 1:
            parts.append("bold")
        elif c == 2:
            parts.append("dim")
        elif c == 3:
            parts.append("italic")
        elif c == 4:
            parts.append("underline")
        elif 30 <= c <= 37:
            parts = [p for p in parts if p in ("bold", "dim", "italic", "underline") or p.startswith("on_")]
            parts.append(_FG[c - 30])
        elif 90 <= c <= 97:
            parts.append("bright_" + _FG[c - 90])
        elif 40 <= c <= 47:
            parts.append("on_" + _FG[c - 40])
        elif c in (38, 48):  # 256/truecolor: skip its arguments, keep the text plain
            i += 2 if i + 1 < len(codes) and codes[i + 1] == 5 else 4
        elif c == 39:
            parts = [p for p in parts if p in ("bold", "dim", "italic", "underline") or p.startswith("on_")]
        i += 1
    out = []
    for p in parts:
        out.append(p.replace("on_", "on ", 1) if p.startswith("on_") else p)
    return " ".join(out)
