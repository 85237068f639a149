"""``logs/.journal-cache``: a data-only copy of a large journal's parse.

tomllib is pure Python (~1.7 s for a 10,000-run journal); the cache turns that into a JSON
load.  The file is plain JSON (never pickle: anyone who can write the lab folder must not get
code run in another user's labtui), its first line names the format and a hash of the journal's
bytes, and it is only ever a copy: a hash mismatch, a malformed file or an unexpected shape is
ignored and the journal is parsed again.

Layout (one JSON document per line, ASCII only: a run's record can be read or replaced
without decoding the others, which keeps a note on a 10,000-run journal fast)::

    labtui-journal-cache 2 <blake2b-128 hex of the journal bytes>
    {"rest": <the parse without "runs">, "runs": [RUN-ID, ...] or null}
    <record of the first run>
    ...

TOML values that JSON lacks are one-key objects whose key holds a lone surrogate, which no TOML
key can (TOML strings are Unicode scalar values): ``{"\\ud800dt": ISO}`` (datetime), ``d``
(date), ``t`` (time).  NaN and infinities use Python's JSON extension (``NaN``, ``Infinity``).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import tempfile
from typing import Any


MAGIC = b"labtui-journal-cache 2 "
_TAG = "\ud800"
_TAGS = {_TAG + "dt": _dt.datetime.fromisoformat, _TAG + "d": _dt.date.fromisoformat,
         _TAG + "t": _dt.time.fromisoformat}


def digest(raw: bytes) -> str:
    return hashlib.blake2b(raw, digest_size=16).hexdigest()


class _Bad(ValueError):
    pass


def _default(v: Any) -> Any:
    if isinstance(v, _dt.datetime):
        return {_TAG + "dt": v.isoformat()}
    if isinstance(v, _dt.date):
        return {_TAG + "d": v.isoformat()}
    if isinstance(v, _dt.time):
        return {_TAG + "t": v.isoformat()}
    raise _Bad(f"not a TOML value: {type(v).__name__}")


def _hook(d: dict) -> Any:
    if len(d) == 1:
        for k, v in d.items():
            conv = _TAGS.get(k)
            if conv is not None:
                if not isinstance(v, str):
                    raise _Bad("bad tag")
                return conv(v)
            if k.startswith(_TAG):
                raise _Bad("unknown tag")  # a forged or corrupt cache
    return d


def _dumps(v: Any) -> bytes:
    return json.dumps(v, default=_default, separators=(",", ":")).encode("ascii")


def _loads(b: bytes) -> Any:
    return json.loads(b, object_hook=_hook)


_ERRORS = (ValueError, TypeError, RecursionError, UnicodeDecodeError, KeyError)


class Cached:
    """A cache file split into lines: the run ids, and each run's record still encoded."""

    def __init__(self, rest: dict, ids: list[str] | None, lines: list[bytes]):
        self.rest, self.ids, self.lines = rest, ids, lines
        self.index = {rid: i for i, rid in enumerate(ids or [])}

    def record(self, run_id: str) -> dict | None:
        i = self.index.get(run_id)
        if i is None:
            return None
        try:
            rec = _loads(self.lines[i])
        except _ERRORS:
            return None
        return rec if isinstance(rec, dict) else None

    def data(self) -> dict | None:
        out = dict(self.rest)
        if self.ids is not None:
            try:
                recs = _loads(b"[" + b",".join(self.lines) + b"]")  # one decode: fast
            except _ERRORS:
                return None
            if len(recs) != len(self.ids) or not all(isinstance(r, dict) for r in recs):
                return None  # e.g. a line holding two records
            out["runs"] = dict(zip(self.ids, recs))
        return out


def open_cache(path: str | os.PathLike, want: str) -> Cached | None:
    """The cache split into lines if ``path`` is a well-formed cache for the hash ``want``."""
    try:
        with open(path, "rb") as f:
            head = f.readline(len(MAGIC) + 64)
            if head != MAGIC + want.encode("ascii") + b"\n":
                return None
            body = f.read()
    except OSError:
        return None
    lines = body.split(b"\n")
    if not lines or lines[-1] != b"":
        return None
    lines.pop()
    try:
        top = _loads(lines[0])
        rest, ids = top["rest"], top["runs"]
    except (*_ERRORS, IndexError):
        return None
    if not isinstance(rest, dict) or "runs" in rest:
        return None
    if ids is not None and (not isinstance(ids, list) or not all(isinstance(i, str) for i in ids)
                            or len(set(ids)) != len(ids)):
        return None
    if len(lines) != 1 + len(ids or []):
        return None
    return Cached(rest, ids, lines[1:])


def load(path: str | os.PathLike, want: str) -> dict | None:
    """The cached parse if ``path`` is a well-formed cache for the hash ``want``, else None."""
    c = open_cache(path, want)
    return None if c is None else c.data()


def _write(path: str | os.PathLike, want: str, top: bytes, lines: list[bytes]) -> None:
    data = b"".join([MAGIC, want.encode("ascii"), b"\n", top, b"\n", *(x + b"\n" for x in lines)])
    path = os.fspath(path)
    tmp = None
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        # Atomic but not fsynced: only a copy; after a crash a torn cache fails its checks.
        fd, tmp = tempfile.mkstemp(prefix=".journal-cache.", suffix=".tmp", dir=os.path.dirname(path))
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        tmp = None
    except OSError:
        pass  # best effort: a read-only lab still lists
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def store(path: str | os.PathLike, want: str, data: dict) -> None:
    """Write the cache of ``data`` (the parse of the journal whose hash is ``want``)."""
    runs = data.get("runs")
    if runs is not None and not isinstance(runs, dict):
        return
    try:
        rest = {k: v for k, v in data.items() if k != "runs"}
        top = _dumps({"rest": rest, "runs": None if runs is None else list(runs)})
        lines = [_dumps(rec) for rec in (runs or {}).values()]
    except (_Bad, ValueError, TypeError, RecursionError):
        return
    _write(path, want, top, lines)


def update(path: str | os.PathLike, cached: Cached, want: str, run_id: str, rec: dict) -> None:
    """Rewrite the cache for the journal ``want`` that differs from ``cached``'s in one run's record."""
    i = cached.index.get(run_id)
    if i is None:
        return
    try:
        line = _dumps(rec)
    except (_Bad, ValueError, TypeError, RecursionError):
        return
    lines = list(cached.lines)
    lines[i] = line
    top = _dumps({"rest": cached.rest, "runs": cached.ids})
    _write(path, want, top, lines)
