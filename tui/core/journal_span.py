"""Find one run's own table span in the journal text, so an edit rewrites only that span.

A note on a 10,000-run journal must not parse and re-serialise every run (tomlkit: ~10 s).
:func:`locate` finds ``[runs.ID]`` (and its ``[runs.ID.*]`` sub-tables right after it) by a
scan of table-header lines, and proves the span is the run's whole definition before anyone
edits it:

- every run of the (verified) parse has exactly one ``[runs.ID]`` header and there is no
  other: a header-looking line inside a multi-line string or array would be a duplicate or an
  unknown run, so the scan is refused;
- the run's headers are contiguous, none is an array of tables;
- the span, parsed on its own, equals the run's record in the full parse (a span cut short by a
  header-looking line inside its own string or array does not even parse).

Then prefix and suffix are complete TOML on their own terms, and replacing the span by another
self-contained ``[runs.ID]`` table (verified by parsing it) changes that run and nothing else.
Anything unproven returns None and the caller edits the whole document instead.
"""

from __future__ import annotations

import math
import re
from typing import Any, Collection

try:  # Python 3.11+
    import tomllib  # novermin
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

_PART = r'(?:[A-Za-z0-9_-]+|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\')'
_KEY = rf"{_PART}(?:[ \t]*\.[ \t]*{_PART})*"
HEADER_RE = re.compile(rf"^[ \t]*(\[\[?)[ \t]*({_KEY})[ \t]*\]\]?[ \t]*(?:#[^\n]*)?\r?$", re.M)
_PART_RE = re.compile(_PART)


def _key(src: str) -> tuple[str, ...] | None:
    parts = []
    for m in _PART_RE.finditer(src):
        p = m.group(0)
        if p[0] == "'":
            parts.append(p[1:-1])
        elif p[0] == '"':
            if "\\" in p:
                try:
                    parts.append(tomllib.loads(f"k = {p}")["k"])
                except (tomllib.TOMLDecodeError, KeyError):
                    return None
            else:
                parts.append(p[1:-1])
        else:
            parts.append(p)
    return tuple(parts)


_LINE_BRACKET = re.compile(r"\n[ \t]*\[")  # a literal first character: a fast scan


def headers(text: str) -> list[tuple[int, bool, tuple[str, ...] | None]]:
    """``(offset, is_array, key)`` of every line that looks like a table header."""
    out = []
    starts = [0] + [m.start() + 1 for m in _LINE_BRACKET.finditer(text)]
    for pos in starts:
        m = HEADER_RE.match(text, pos)
        if m is None:
            continue
        src = m.group(2)
        key = tuple(p.strip(" \t") for p in src.split(".")) if "'" not in src and '"' not in src else _key(src)
        out.append((m.start(), m.group(1) == "[[", key))
    return out


def same(a: Any, b: Any) -> bool:
    """Deep equality where NaN equals NaN (a parse compared with the intended value)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def locate(text: str, run_id: str, run_ids: Collection[str], rec: dict) -> tuple[int, int] | None:
    """``(start, end)`` of the run's table span in ``text``, or None.

    ``run_ids`` / ``rec``: every run id and this run's record, from a verified parse of ``text``.
    """
    if run_id not in run_ids:
        return None
    hs = headers(text)
    seen: set[str] = set()
    start = end = None
    for i, (off, is_array, key) in enumerate(hs):
        if key is None:
            return None
        if len(key) == 2 and key[0] == "runs" and not is_array:
            if key[1] in seen:
                return None
            seen.add(key[1])
        if key[:2] == ("runs", run_id):
            if is_array:
                return None
            if start is None:
                if len(key) != 2:
                    return None  # a sub-table before its run's header
                start = off
            elif end is not None:
                return None  # the run's tables are not contiguous
        elif start is not None and end is None:
            end = off
        if key == ("runs",):
            return None  # runs may be defined as keys of a [runs] table
    if start is None or len(seen) != len(run_ids) or not seen.issuperset(run_ids):
        return None
    if end is None:
        end = len(text)
    try:
        alone = tomllib.loads(text[start:end])
    except (tomllib.TOMLDecodeError, RecursionError):
        return None
    if not same(alone, {"runs": {run_id: rec}}):
        return None
    return start, end
