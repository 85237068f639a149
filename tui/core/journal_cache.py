"""``logs/.journal-cache``: a data-only copy of a large journal's parse.

tomllib is pure Python (~1.7 s for a 10,000-run journal); the cache turns that into a JSON
load.  The file is plain JSON (never pickle: anyone who can write the lab folder must not get
code run in another user's labtui), its first line names the format and a hash of the journal's
bytes, and it is only ever a copy: a hash mismatch, a malformed file or an unexpected shape is
ignored and the journal is parsed again.

Layout::

    labtui-journal-cache 1 <blake2b-128 hex of the journal bytes>\\n
    <JSON of the parse>

TOML values that JSON lacks are tagged one-key objects: ``{"$dt": ISO}`` (datetime),
``{"$d": ISO}`` (date), ``{"$t": ISO}`` (time); a table key that starts with ``$`` is stored
with one more ``$`` so that no table is ever mistaken for a tag.  NaN and infinities use
Python's JSON extension (``NaN``, ``Infinity``).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
from typing import Any

from .fsio import write_atomic

MAGIC = b"labtui-journal-cache 1 "
_TAGS = {"$dt": _dt.datetime.fromisoformat, "$d": _dt.date.fromisoformat, "$t": _dt.time.fromisoformat}


def digest(raw: bytes) -> str:
    return hashlib.blake2b(raw, digest_size=16).hexdigest()


class _Bad(ValueError):
    pass


def _encode(v: Any) -> Any:
    if isinstance(v, dict):
        return {("$" + k if k.startswith("$") else k): _encode(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_encode(x) for x in v]
    if isinstance(v, _dt.datetime):
        return {"$dt": v.isoformat()}
    if isinstance(v, _dt.date):
        return {"$d": v.isoformat()}
    if isinstance(v, _dt.time):
        return {"$t": v.isoformat()}
    if isinstance(v, (str, bool, int, float)):
        return v
    raise _Bad(f"not a TOML value: {type(v).__name__}")


def _hook(d: dict) -> Any:
    if len(d) == 1:
        (k, v), = d.items()
        conv = _TAGS.get(k)
        if conv is not None:
            if not isinstance(v, str):
                raise _Bad("bad tag")
            return conv(v)
    if any(k.startswith("$") for k in d):
        out = {}
        for k, v in d.items():
            if k.startswith("$$"):
                out[k[1:]] = v
            elif k.startswith("$"):
                raise _Bad("unknown tag")  # a forged or corrupt cache
            else:
                out[k] = v
        return out
    return d


def _bad_constant(name: str) -> float:
    if name == "NaN":
        return math.nan
    if name in ("Infinity", "-Infinity"):
        return math.inf if name == "Infinity" else -math.inf
    raise _Bad(name)  # pragma: no cover - json only passes these three


def load(path: str | os.PathLike, want: str) -> dict | None:
    """The cached parse if ``path`` is a well-formed cache for the hash ``want``, else None."""
    try:
        with open(path, "rb") as f:
            head = f.readline(len(MAGIC) + 64)
            if head != MAGIC + want.encode("ascii") + b"\n":
                return None
            body = f.read()
    except OSError:
        return None
    try:
        data = json.loads(body.decode("utf-8"), object_hook=_hook, parse_constant=_bad_constant)
    except (ValueError, TypeError, RecursionError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def store(path: str | os.PathLike, want: str, data: dict) -> None:
    """Write the cache (best effort: a read-only lab still lists)."""
    try:
        body = json.dumps(_encode(data), ensure_ascii=False, separators=(",", ":"))
    except (_Bad, ValueError, RecursionError):
        return
    try:
        os.makedirs(os.path.dirname(os.fspath(path)), exist_ok=True)
        write_atomic(path, MAGIC + want.encode("ascii") + b"\n" + body.encode("utf-8"))
    except OSError:
        pass
