"""Markdown that GitHub (and any CommonMark renderer) shows literally: journal text is data.

``text(s)``: one line of inline text.  Every character that could start inline markup, raw
HTML, an entity, math or a link (`` \\ ` * _ [ ] ( ) < > ! | ~ & $ # ``) is backslash-escaped,
control characters and bidi marks are shown visibly (``text.inert``), newlines as ``⏎``; so
``<script>`` renders as the text ``<script>`` and ``](javascript:`` as those characters.
``code(s)``: an inline code span (a fence longer than any backtick run inside).
``table(header, rows)``: a GFM table of escaped cells.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

from ..text import inert
from .table import fmt

_SPECIAL = re.compile(r"([\\`*_\[\]()<>!|~&$#])")
_BACKTICKS = re.compile(r"`+")


def text(s: Any) -> str:
    """Inline text, inert: rendered exactly as written (one line)."""
    return _SPECIAL.sub(r"\\\1", inert(str(s)))


def code(s: Any, in_table: bool = False) -> str:
    """An inline code span of ``s`` (one line; ``in_table``: ``|`` escaped for a GFM cell)."""
    s = inert(str(s))
    if in_table:
        s = s.replace("|", "\\|")
    longest = max((len(m) for m in _BACKTICKS.findall(s)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if s.startswith("`") or s.endswith("`") or not s.strip() else ""
    return f"{fence}{pad}{s}{pad}{fence}"


def cell(v: Any) -> str:
    return text(fmt(v)) if v is not None else "-"


def table(header: Sequence[Any], rows: Sequence[Sequence[Any]], transpose: bool = False) -> str:
    """A GFM table (``transpose``: the first column becomes the header row)."""
    grid = [[text(h) for h in header]] + [[cell(v) for v in row] for row in rows]
    if transpose:
        grid = [list(col) for col in zip(*grid)]
    head, body = grid[0], grid[1:]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(" --- " for _ in head) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    return "\n".join(lines) + "\n"


def slug(s: str) -> str:
    """A safe file-name part (letters, digits, ``.``, ``_``, ``-``)."""
    out = re.sub(r"[^A-Za-z0-9._-]+", "-", s).strip("-.")
    return out or "x"
