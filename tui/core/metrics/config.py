"""The run's logged config: the config dumps a trainer prints at its start (``Namespace(lr=0.001,
...)``, a ``{'lr': 0.1, 'batch_size': 32}`` echo, Hugging Face ``TrainingArguments(`` ... ``)``,
``Config: {...}``).  The metric parser drops these lines (params, not metrics: ``rules.CONFIG_RE``,
``CONFIG_KEYS``); ``logged_config`` reads them from the head of the log so ``labtui show`` can
print them.  Values stay the text the trainer printed (never evaluated)."""

from __future__ import annotations

import os
import re

from .parse import ANSI_RE, BLOCK_START_RE
from .rules import CONFIG_KEYS, CONFIG_RE, GBM_KEYS

HEAD_BYTES = 256 << 10   # only the start of the log is read: config is printed first
MAX_DUMPS = 8
MAX_ITEMS = 300
MAX_VALUE = 200          # characters of one value kept

NAMED_RE = re.compile(r"\b([A-Z][A-Za-z0-9_]*(?:Arguments|Args|Config|Namespace|Params|Options)|Namespace)\(")
KEY_RE = re.compile(r"""\s*(?:(['"])([^'"]{1,80})\1|([A-Za-z_][\w.\-]{0,79}))\s*[:=]\s*(.*)\Z""", re.S)
X_KEYS = {"step", "global_step", "iter", "iteration", "epoch", "loss"}


def logged_config(path: str | os.PathLike, head_bytes: int = HEAD_BYTES) -> list[tuple[str, dict[str, str]]]:
    """The config dumps at the start of the log ``path``: ``[(name, {key: value text})]`` in log
    order (``name``: ``Namespace``, ``TrainingArguments``, ``config``...); ``[]`` when there are
    none or the file cannot be read."""
    try:
        with open(path, "rb") as f:
            data = f.read(head_bytes)
    except OSError:
        return []
    text = data.decode("utf-8", "replace")
    if "\x1b" in text:
        text = ANSI_RE.sub("", text)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if len(data) == head_bytes:
        lines.pop()  # a partial last line
    out: list[tuple[str, dict[str, str]]] = []
    i = 0
    while i < len(lines) and len(out) < MAX_DUMPS:
        raw = lines[i]
        i += 1
        if raw[-1:] == "(" and BLOCK_START_RE.match(raw):  # "TrainingArguments(" ... ")" (as the parser skips it)
            body, depth, j = [], 1, i
            while j < len(lines) and depth > 0 and len(body) < 2000:
                nxt = lines[j]
                j += 1
                depth += nxt.count("(") - nxt.count(")")
                body.append(nxt)
            if depth > 0:
                continue  # never closed: not a dump
            i = j
            inner = "\n".join(body).rsplit(")", 1)[0]
            items = _items(inner, ",\n" if ",\n" in inner else "\n")
            if items:
                out.append((raw[:-1].rsplit(".", 1)[-1], items))
            continue
        found = _one_line(raw.strip())
        if found:
            out.append(found)
    return out


def _one_line(line: str) -> tuple[str, dict[str, str]] | None:
    m = NAMED_RE.search(line)
    if m:
        inner = _balanced(line, m.end() - 1)
        items = _items(inner, ",") if inner is not None else {}
        return (m.group(1), items) if items else None
    b = line.find("{")
    if b < 0:
        return None
    inner = _balanced(line, b)
    if inner is None:
        return None
    items = _items(inner, ",")
    keys = {k.lower() for k in items}
    named = bool(CONFIG_RE.search(line[:b + 1]))
    if not items or (not named and (not keys & (CONFIG_KEYS | GBM_KEYS) or keys & X_KEYS)):
        return None  # a metrics dict ({'loss': 0.5, 'epoch': 0.1}) or a data size dict, not config
    return "config", items


def _unquoted(s: str, start: int = 0):
    """``(index, char)`` of each character of ``s`` from ``start`` outside quotes (the quote marks
    themselves left out; a backslash-escaped quote does not end a quoted part)."""
    quote = ""
    for j in range(start, len(s)):
        c = s[j]
        if quote:
            if c == quote and s[j - 1] != "\\":
                quote = ""
        elif c in "'\"":
            quote = c
        else:
            yield j, c


def _balanced(s: str, start: int) -> str | None:
    """The text inside the bracket at ``s[start]`` up to its match (quotes respected)."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    stack = []
    for j, c in _unquoted(s, start):
        if c in pairs:
            stack.append(pairs[c])
        elif stack and c == stack[-1]:
            stack.pop()
            if not stack:
                return s[start + 1:j]
    return None


def _split_top(s: str, sep: str) -> list[str]:
    """``s`` split at ``sep`` outside brackets and quotes."""
    parts, depth, last = [], 0, 0
    for j, c in _unquoted(s):
        if j < last:
            continue  # inside the separator just split at
        if c in "([{<":
            depth += 1
        elif c in ")]}>" and depth:
            depth -= 1
        elif depth == 0 and s.startswith(sep, j):
            parts.append(s[last:j])
            last = j + len(sep)
    parts.append(s[last:])
    return parts


def _items(inner: str, sep: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in _split_top(inner, sep):
        m = KEY_RE.match(part.strip())
        if not m:
            continue
        key = m.group(2) or m.group(3)
        val = " ".join(m.group(4).split()).rstrip(",")
        if len(val) > MAX_VALUE:
            val = val[:MAX_VALUE - 1] + "…"
        out[key] = val
        if len(out) >= MAX_ITEMS:
            break
    return out
