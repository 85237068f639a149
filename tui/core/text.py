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
# C0 (but tab/newline), DEL, C1, and the invisible bidi/direction marks that reorder what
# follows them on screen ("Trojan Source"): all shown visibly, never passed to a terminal.
_CTRL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# What --json escapes beyond what json.dumps does (it leaves DEL, C1 and bidi marks raw).
_JSON_RAW_RE = re.compile(r"[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def strip_ansi(text: str) -> str:
    return ANSI_RE.sub("", text)


def _visible(m: re.Match) -> str:
    c = ord(m.group(0))
    if c < 0x20:
        return "^" + chr(c + 0x40)
    if c == 0x7F:
        return "^?"
    if c <= 0xFF:
        return f"\\x{c:02x}"
    return f"<U+{c:04X}>"


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


def inert(text: str) -> str:
    """Any one-line string from a journal, a process list or an error (ids, notes, tags,
    commands) as inert text: every control character and bidi mark shown visibly, nothing
    stripped, so what was written can still be read.  Newlines become ``⏎``."""
    return _CTRL_RE.sub(_visible, str(text).replace("\r\n", "\n").replace("\n", "⏎"))


def inert_lines(text: str) -> str:
    """Like :func:`inert` but keeps newlines (multi-line notes)."""
    return "\n".join(_CTRL_RE.sub(_visible, ln) for ln in str(text).replace("\r\n", "\n").split("\n"))


def json_escape(dumped: str) -> str:
    """Output of ``json.dumps(..., ensure_ascii=False)`` with DEL, C1 and bidi marks escaped
    as ``\\uXXXX`` (still the same JSON value; CJK and emoji stay readable)."""
    return _JSON_RAW_RE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", dumped)


def age(seconds: float | None, long: bool = False) -> str:
    """A compact duration for tables: ``45s``, ``12m``, ``3h05``, ``2d4h``; ``long`` spells the
    units for prose (``45 s``, ``12 min``, ``3 h 05 min``, ``2 d 4 h``)."""
    if seconds is None or (long and seconds < 0):
        return ""
    s = int(round(seconds)) if long else int(max(0, seconds))
    d, h, m = s // 86400, s % 86400 // 3600, s % 3600 // 60
    if s < 60:
        return f"{s} s" if long else f"{s}s"
    if s < 3600:
        return f"{s // 60} min" if long else f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600} h {m:02d} min" if long else f"{s // 3600}h{m:02d}"
    return f"{d} d {h} h" if long else f"{d}d{h}h"
