"""Log text and notes are data: make them safe to show on a terminal.

``terminal_safe`` renders what a terminal would finally show of a line (the text after
the last ``\\r`` of a redrawn progress bar), drops ANSI colour sequences and turns every
other control character into a visible ``^X`` / ``\\xNN`` form so that no escape
sequence from a log can move the cursor, retitle the window or change colours.
"""

from __future__ import annotations

import re

# CSI ... final byte, OSC ... BEL/ST, and two-byte ESC sequences.
ANSI_RE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]")
_CTRL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def strip_ansi(text: str) -> str:
    return ANSI_RE.sub("", text)


def _visible(m: re.Match) -> str:
    c = ord(m.group(0))
    if c < 0x20:
        return "^" + chr(c + 0x40)
    if c == 0x7F:
        return "^?"
    return f"\\x{c:02x}"


def show_controls(text: str) -> str:
    """Every control character of ``text`` in a visible form (``^[``, ``^G``, ``\\x9b``)."""
    return _CTRL_RE.sub(_visible, text)


def last_redraw(line: str) -> str:
    """What remains visible of a line redrawn with ``\\r`` (tqdm-style bars)."""
    line = line.rstrip("\r")
    if "\r" in line:
        parts = [p for p in line.split("\r") if p]
        return parts[-1] if parts else ""
    return line


def terminal_safe(line: str) -> str:
    """One log line (no trailing newline) as plain, inert text."""
    return show_controls(strip_ansi(last_redraw(line)))


def age(seconds: float | None) -> str:
    """A compact duration for tables: ``45s``, ``12m``, ``3h05``, ``2d4h``."""
    if seconds is None:
        return ""
    s = int(max(0, seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h{(s % 3600) // 60:02d}"
    return f"{s // 86400}d{(s % 86400) // 3600}h"
