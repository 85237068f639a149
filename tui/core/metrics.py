"""Metrics of a run: incremental log reading, series, cache, stitching, downsampling, flags.

No textual import here.  Log text (metric names, tracebacks) is data: callers that show it in
Rich/Textual must escape it (``rich.markup.escape`` or ``Text(...)``), never render it as markup.

API (what the app and the CLI use)
----------------------------------
``RunMetrics(run_dir, patterns=None)``
    ``.poll() -> bool``  read only what is new in the run's source (byte offsets); True when a
    series changed.  Safe to call every tick from one worker thread; hold ``.lock`` while
    reading ``.series`` from another thread (``.snapshot()`` does that and copies).
    ``.series: dict[str, Series]`` metric name as the log writes it -> Series (default text
    parsing hides series with a single point: hyperparameter echoes, final summaries).
    ``.x_axis``: ``"step" | "epoch" | "line"``.  ``.source``: the file read (metrics.jsonl >
    a metrics CSV > output.log; with user patterns output.log).  ``.last_traceback``.
    ``.version`` increments on every change.  ``.save_cache()`` (poll saves it itself after
    large reads); the cache is ``<run_dir>/.metrics-cache``.
``LogMetrics(path, patterns=None, cache_path=None)``  the same for one log file (any path).
``Series``: ``.name``, ``.x``, ``.y``, ``.wall`` (unix seconds), each ``array('d')``.
``stitched(journal, run_id, patterns=...) -> Stitched``  the lineage root..run_id as one set of
    series; ``.series``, ``.x_axis``, ``.resume_points`` = ``[(run_id, x), ...]`` (x where the
    child takes over), ``.runs`` (ids root..run_id).
``downsample(x, y, k) -> (x, y)``  at most k points (min/max per bucket), keeps first, last,
    min, max and non-finite points.
``ema(y, weight) -> array('d')``  TensorBoard-style debiased exponential smoothing.
``main_metric(names) -> str | None``  first name containing "loss" (train before val), else the first.
``flags(series, ...) -> Flags``  ``nonfinite`` (x of the first NaN/inf), ``cliff`` (x of the first
    robust jump); ``silence(mtime, alive, now, minutes=10) -> float | None`` (seconds silent).
``run_flags(journal, run_id, alive=None, now=None) -> list[str]``  short strings for ``labtui ls``:
    ``NaN@1200``, ``cliff@803250``, ``silent 12m``, ``traceback``.
``last_traceback(path) -> str | None``  the last Python traceback in the tail of a log.
``patterns_for_run(journal_data, run_id)`` / ``Patterns`` (``tui.core.logparse``) user regexes.
``parse_file(path, patterns=None) -> LogMetrics`` parse a whole file once (CLI).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import struct
import threading
import time
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from .errors import UserError
from .logparse import (ANSI_RE, JsonlParser, Patterns, Series, TextParser, _Sink, parse_csv)

# numpy is imported on first use (``_numpy()``), not at import: ``labtui ls`` never needs it on a
# warm flags cache.  ``_np``: False = not tried yet, None = unavailable (tests set None to force the
# pure-Python paths), else the module.
_np: Any = False


def _numpy():
    global _np
    if _np is False:
        try:
            import numpy
            _np = numpy
        except Exception:  # pragma: no cover - depends on the environment
            _np = None
    return _np

__all__ = ["Series", "Patterns", "RunMetrics", "LogMetrics", "Stitched", "stitched", "downsample",
           "ema", "main_metric", "Flags", "flags", "silence", "run_flags", "last_traceback",
           "patterns_for_run", "parse_file", "CACHE_NAME"]

CACHE_NAME = ".metrics-cache"
CACHE_MAGIC = b"LTMC2\n"
PARSER_VERSION = 3
MAX_LINE = 1 << 20          # longer lines are skipped (bounded memory)
CHUNK = 4 << 20
CSV_NAMES = ("metrics.csv", "results.csv", "progress.csv", "history.csv", "training.csv", "log.csv")
SAVE_EVERY_BYTES = 8 << 20
SAVE_EVERY_S = 30.0


# --------------------------------------------------------------------------- tailing

class LogTail:
    """Reads a growing file by byte offset: complete lines only (``\\n`` or ``\\r`` ends a line,
    so tqdm redraws count); a shrunk/replaced file (inode, size, head bytes) starts over."""

    HEAD = 64

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.offset = 0
        self.ident: tuple[int, int] | None = None
        self.head = b""
        self.skipping = False
        self.mtime = 0.0

    def state(self) -> dict:
        return {"offset": self.offset, "ident": list(self.ident) if self.ident else None,
                "head": self.head.hex(), "skipping": self.skipping, "mtime": self.mtime}

    def set_state(self, st: dict) -> None:
        self.offset = st["offset"]
        self.ident = tuple(st["ident"]) if st.get("ident") else None
        self.head = bytes.fromhex(st.get("head", ""))
        self.skipping = st.get("skipping", False)
        self.mtime = st.get("mtime", 0.0)

    def _reset(self) -> None:
        self.offset = 0
        self.head = b""
        self.skipping = False

    def check(self) -> tuple[str, os.stat_result | None]:
        """``("missing"|"same"|"grown"|"reset", stat)``; on reset the offset is back at 0."""
        try:
            st = os.stat(self.path)
        except OSError:
            return "missing", None
        ident = (st.st_dev, st.st_ino)
        reset = False
        if self.ident is not None and (ident != self.ident or st.st_size < self.offset):
            reset = True
        elif self.head and st.st_size >= len(self.head):
            try:
                with open(self.path, "rb") as f:
                    if f.read(len(self.head)) != self.head:
                        reset = True
            except OSError:
                return "missing", None
        if reset:
            self._reset()
        self.ident = ident
        if reset:
            return "reset", st
        return ("grown" if st.st_size > self.offset else "same"), st

    def read(self, handle, max_bytes: int | None = None) -> int:
        """Feed complete new lines (bytes, terminators included) to ``handle(data)``; bytes consumed."""
        total = 0
        try:
            f = open(self.path, "rb")
        except OSError:
            return 0
        with f:
            if len(self.head) < self.HEAD:
                self.head = f.read(self.HEAD)
            f.seek(self.offset)
            while max_bytes is None or total < max_bytes:
                data = f.read(CHUNK)
                if not data:
                    break
                if self.skipping:
                    k = _first_eol(data)
                    if k < 0:
                        self.offset += len(data)
                        total += len(data)
                        continue
                    self.skipping = False
                    self.offset += k + 1
                    total += k + 1
                    f.seek(self.offset)
                    continue
                cut = max(data.rfind(b"\n"), data.rfind(b"\r"))
                if cut < 0:
                    if len(data) >= MAX_LINE:
                        self.skipping = True
                        self.offset += len(data)
                        total += len(data)
                        continue
                    break  # a partial last line waits for its newline
                handle(data[:cut + 1] if cut + 1 < len(data) else data)
                self.offset += cut + 1
                total += cut + 1
                rest = len(data) - cut - 1
                if rest >= MAX_LINE:
                    self.skipping = True
                    self.offset += rest
                    total += rest
                elif rest:
                    f.seek(self.offset)
        return total


def _first_eol(data: bytes) -> int:
    a, b = data.find(b"\n"), data.find(b"\r")
    if a < 0:
        return b
    if b < 0:
        return a
    return min(a, b)


def _split_lines(data: bytes) -> list[str]:
    text = data.decode("utf-8", "replace")
    if "\x1b" in text:
        text = ANSI_RE.sub("", text)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


# --------------------------------------------------------------------------- one log file

class LogMetrics:
    """Series parsed incrementally from one file (text log or ``*.jsonl``)."""

    def __init__(self, path: str | os.PathLike, patterns: Patterns | None = None,
                 cache_path: str | os.PathLike | None = None, kind: str | None = None,
                 start_time: float | None = None):
        self.path = Path(path)
        self.patterns = patterns or Patterns()
        self.kind = kind or ("jsonl" if self.path.suffix == ".jsonl" else "text")
        self.cache_path = Path(cache_path) if cache_path else None
        self.start_time = start_time
        self.tail = LogTail(self.path)
        self.lock = threading.RLock()
        self.version = 0
        self._new_parser()
        self._unsaved = 0
        self._saved_at = time.monotonic()
        self._loaded = False

    def _new_parser(self) -> None:
        self.parser: _Sink = JsonlParser() if self.kind == "jsonl" else TextParser(self.patterns)

    # -- public
    @property
    def x_axis(self) -> str:
        return self.parser.axis or "line"

    @property
    def series(self) -> dict[str, Series]:
        p = self.parser
        if p.kind != "text":
            return p.series
        return {k: s for k, s in p.series.items() if len(s) >= 2 or k in p.user_names}

    @property
    def last_traceback(self) -> str | None:
        return getattr(self.parser, "last_traceback", None)

    def poll(self, max_bytes: int | None = None) -> bool:
        with self.lock:
            if not self._loaded:
                self._loaded = True
                if self.cache_path:
                    self._load_cache()
            status, st = self.tail.check()
            changed = False
            if status == "reset":
                self._new_parser()
                changed = True
            if status in ("missing", "same") or st is None:
                if changed:
                    self.version += 1
                return changed
            w1 = st.st_mtime
            w0 = self.tail.mtime if self.tail.offset else (self.start_time or w1)
            w0 = min(w0, w1)
            size0 = max(st.st_size - self.tail.offset, 1)
            start = self.tail.offset
            parser = self.parser

            def handle(data: bytes) -> None:
                nonlocal changed
                a = w0 + (w1 - w0) * (self.tail.offset - start) / size0
                b = w0 + (w1 - w0) * (self.tail.offset + len(data) - start) / size0
                changed |= parser.feed(_split_lines(data), a, b)

            n = self.tail.read(handle, max_bytes)
            self.tail.mtime = w1
            self._unsaved += n
            if changed:
                self.version += 1
            if self.cache_path and self._unsaved and (
                    self._unsaved >= SAVE_EVERY_BYTES or time.monotonic() - self._saved_at > SAVE_EVERY_S):
                self.save_cache()
            return changed

    def snapshot(self) -> dict[str, Series]:
        with self.lock:
            return {k: s.copy() for k, s in self.series.items()}

    # -- cache: header JSON + raw arrays; keyed on file identity, head bytes, offset, patterns
    def _sig(self) -> str:
        return f"{PARSER_VERSION}:{self.kind}:{self.patterns.signature()}"

    def save_cache(self) -> None:
        if not self.cache_path or (self._unsaved == 0 and self.cache_path.exists()):
            return  # nothing new since the cache was written or loaded
        with self.lock:
            p = self.parser
            names = list(p.series)
            hdr = {"sig": self._sig(), "path": str(self.path.name), "tail": self.tail.state(),
                   "parser": p.state(), "series": [[k, len(p.series[k])] for k in names]}
            blob = json.dumps(hdr).encode()
            tmp = self.cache_path.with_name(self.cache_path.name + f".tmp{os.getpid()}")
            try:
                with open(tmp, "wb") as f:
                    f.write(CACHE_MAGIC + struct.pack("<I", len(blob)) + blob)
                    for k in names:
                        s = p.series[k]
                        n = len(s)
                        for a in (s.x, s.y, s.wall):
                            (a if len(a) == n else a[:n]).tofile(f)
                os.replace(tmp, self.cache_path)
                self._unsaved = 0
                self._saved_at = time.monotonic()
            except OSError:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass

    def _load_cache(self) -> bool:
        try:
            with open(self.cache_path, "rb") as f:
                if f.read(len(CACHE_MAGIC)) != CACHE_MAGIC:
                    return False
                (hl,) = struct.unpack("<I", f.read(4))
                hdr = json.loads(f.read(hl))
                if hdr.get("sig") != self._sig() or hdr.get("path") != self.path.name:
                    return False
                tail = LogTail(self.path)
                tail.set_state(hdr["tail"])
                st = os.stat(self.path)
                if tuple(tail.ident or ()) != (st.st_dev, st.st_ino) or st.st_size < tail.offset:
                    return False
                with open(self.path, "rb") as lf:
                    if tail.head and lf.read(len(tail.head)) != tail.head:
                        return False
                parser = JsonlParser() if self.kind == "jsonl" else TextParser(self.patterns)
                parser.set_state(hdr["parser"])
                for name, n in hdr["series"]:
                    cols = []
                    for _ in range(3):
                        a = array("d")
                        a.fromfile(f, n)
                        cols.append(a[:])  # a slice is allocated exactly (fromfile over-allocates)
                    parser.series[name] = Series(name, *cols)
        except (OSError, ValueError, KeyError, EOFError, struct.error, TypeError):
            return False
        self.tail, self.parser = tail, parser
        self.version += 1
        return True


def parse_file(path: str | os.PathLike, patterns: Patterns | None = None) -> LogMetrics:
    """Parse a whole file now (no cache); ``.series`` / ``.x_axis`` of the result."""
    lm = LogMetrics(path, patterns)
    lm.poll()
    return lm


# --------------------------------------------------------------------------- a run folder

class RunMetrics:
    """Metrics of one run folder.  Source: ``metrics.jsonl`` if present, else a metrics CSV
    (``metrics.csv``, ``results.csv``... up to 3 levels down, the newest), else ``output.log``;
    user patterns (from the experiment) always read ``output.log``.  When a better source
    appears later the series switch to it (``poll`` returns True)."""

    def __init__(self, run_dir: str | os.PathLike, patterns: Patterns | None = None):
        self.run_dir = Path(run_dir)
        self.patterns = patterns or Patterns()
        self.lock = threading.RLock()
        self.version = 0
        self._log: LogMetrics | None = None
        self._csv: tuple[Path, float, int] | None = None
        self._csv_series: dict[str, Series] = {}
        self._csv_axis = "line"
        self.source: Path | None = None
        self._start = _run_start(self.run_dir)

    def _pick(self) -> Path | None:
        if not self.patterns:
            j = self.run_dir / "metrics.jsonl"
            if j.is_file() and j.stat().st_size > 0:
                return j
            c = _find_csv(self.run_dir)
            if c is not None:
                return c
        log = self.run_dir / "output.log"
        return log if log.exists() else None

    def poll(self) -> bool:
        with self.lock:
            src = self._pick()
            changed = False
            if src != self.source:
                self.source = src
                self._log, self._csv, self._csv_series = None, None, {}
                changed = True
                if src is not None and src.suffix != ".csv":
                    self._log = LogMetrics(src, self.patterns, self.run_dir / CACHE_NAME,
                                           start_time=self._start)
            if self._log is not None:
                changed |= self._log.poll()
            elif src is not None:
                changed |= self._poll_csv(src)
            if changed:
                self.version += 1
            return changed

    def _poll_csv(self, src: Path) -> bool:
        try:
            st = src.stat()
            key = (src, st.st_mtime, st.st_size)
            if key == self._csv:
                return False
            text = src.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return False
        self._csv = key
        self._csv_series, self._csv_axis = parse_csv(text, st.st_mtime)
        return True

    @property
    def series(self) -> dict[str, Series]:
        if self._log is not None:
            return self._log.series
        return self._csv_series

    @property
    def x_axis(self) -> str:
        if self._log is not None:
            return self._log.x_axis
        return self._csv_axis if self._csv_series else "line"

    @property
    def last_traceback(self) -> str | None:
        tb = self._log.last_traceback if self._log is not None else None
        if tb is None and (self.source is None or self.source.name != "output.log"):
            tb = last_traceback(self.run_dir / "output.log")
        return tb

    def snapshot(self) -> dict[str, Series]:
        with self.lock:
            if self._log is not None:
                return self._log.snapshot()
            return {k: s.copy() for k, s in self._csv_series.items()}

    def save_cache(self) -> None:
        if self._log is not None:
            self._log.save_cache()


def _run_start(run_dir: Path) -> float | None:
    for name in ("spec.json", "state.json"):
        try:
            return (run_dir / name).stat().st_mtime
        except OSError:
            pass
    return None


def _find_csv(run_dir: Path) -> Path | None:
    best: tuple[float, Path] | None = None
    pats = [n for n in CSV_NAMES] + [f"*/{n}" for n in CSV_NAMES] + [f"*/*/{n}" for n in CSV_NAMES]
    for pat in pats:
        for p in run_dir.glob(pat):
            try:
                m = p.stat().st_mtime
            except OSError:
                continue
            if best is None or m > best[0]:
                best = (m, p)
    return best[1] if best else None


# --------------------------------------------------------------------------- journal glue

def patterns_for_run(data: dict, run_id: str) -> Patterns:
    """The experiment's ``[experiments.NAME.metrics]`` patterns for a run (UserError if bad)."""
    rec = (data.get("runs") or {}).get(run_id) or {}
    exp = rec.get("experiment")
    cfg = ((data.get("experiments") or {}).get(exp) or {}).get("metrics") if exp else None
    return Patterns.from_config(cfg, f"experiment {exp}") if cfg is not None else Patterns()


def _journal(journal):
    if hasattr(journal, "read"):
        return journal
    from .journal import Journal
    return Journal(journal)


@dataclass
class Stitched:
    series: dict[str, Series]
    x_axis: str
    resume_points: list[tuple[str, float]] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)


def _lineage(data: dict, run_id: str) -> list[str]:
    runs = data.get("runs") or {}
    chain, seen = [run_id], {run_id}
    cur = (runs.get(run_id) or {}).get("parent")
    while isinstance(cur, str) and cur in runs and cur not in seen:
        chain.append(cur)
        seen.add(cur)
        cur = runs[cur].get("parent")
    return chain[::-1]


def stitched(journal, run_id: str, metrics: dict[str, RunMetrics] | None = None) -> Stitched:
    """One curve per metric over the lineage root..run_id.  A parent's points at or after the
    child's resume x (``resume_step`` of the child's record, else the child's first x) are
    dropped; a child that restarted counting below its resume step is shifted onto it.
    ``metrics`` may hold already-polled RunMetrics by id (the app's own; reused and polled)."""
    j = _journal(journal)
    data = j.read()
    chain = _lineage(data, run_id)
    runs = data.get("runs") or {}
    out: dict[str, Series] = {}
    points: list[tuple[str, float]] = []
    axis = None
    for i, rid in enumerate(chain):
        rm = (metrics or {}).get(rid)
        if rm is None:
            rm = RunMetrics(j.run_dir(rid), patterns_for_run(data, rid))
            if metrics is not None:
                metrics[rid] = rm
        rm.poll()
        with rm.lock:
            ser = rm.series
            if axis is None and ser:
                axis = rm.x_axis
            first = min((s.x[0] for s in ser.values() if len(s)), default=None)
            if i == 0:
                for k, s in ser.items():
                    out[k] = s.copy()
                continue
            rs = (runs.get(rid) or {}).get("resume_step")
            r = float(rs) if isinstance(rs, (int, float)) and not isinstance(rs, bool) else first
            if r is None:
                continue
            shift = (r - first) if first is not None and first < r else 0.0
            points.append((rid, r))
            for k, s in out.items():  # cut parents at the resume point
                n = _bisect_left(s.x, r)
                if n < len(s):
                    out[k] = Series(k, s.x[:n], s.y[:n], s.wall[:n])
            for k, s in ser.items():
                o = out.get(k)
                if o is None:
                    o = out[k] = Series(k)
                n = len(s)
                o.x.extend(s.x[:n] if not shift else array("d", (v + shift for v in s.x[:n])))
                o.y.extend(s.y[:n])
                o.wall.extend(s.wall[:n])
    return Stitched(out, axis or "line", points, chain)


def _bisect_left(a, v: float) -> int:
    lo, hi = 0, len(a)
    while lo < hi:  # x is non-decreasing in practice; fall back to first index >= v
        mid = (lo + hi) // 2
        if a[mid] < v:
            lo = mid + 1
        else:
            hi = mid
    return lo


# --------------------------------------------------------------------------- downsampling

def downsample(x: Sequence[float], y: Sequence[float], k: int) -> tuple[array, array]:
    """At most ``k`` points: per bucket of consecutive points its min and max (in x order);
    the first, last, global min/max and the first non-finite value of each bucket are kept."""
    n = min(len(x), len(y))
    k = max(int(k), 5)  # first, last, min, max and a non-finite point fit
    if n <= k:
        return array("d", x[:n]), array("d", y[:n])
    if _numpy() is not None:
        return _downsample_np(x, y, n, k)
    nb = (k - 2) // 3
    idx = {0, n - 1}
    isfin = math.isfinite
    for b in range(nb):
        a0, a1 = b * n // nb, (b + 1) * n // nb
        seg = y[a0:a1]
        fin = [v for v in seg if isfin(v)]
        if len(fin) != len(seg):
            for j, v in enumerate(seg):
                if not isfin(v):
                    idx.add(a0 + j)
                    break
        if fin:
            lo, hi = min(fin), max(fin)
            idx.add(a0 + _index(seg, lo))
            idx.add(a0 + _index(seg, hi))
    order = sorted(idx)
    return array("d", (x[i] for i in order)), array("d", (y[i] for i in order))


def _index(seg, v):
    try:
        return seg.index(v)
    except ValueError:
        return 0


def _downsample_np(x, y, n, k):
    np = _np
    xa = np.frombuffer(x, dtype=np.float64, count=n) if isinstance(x, array) else np.asarray(x[:n], float)
    ya = np.frombuffer(y, dtype=np.float64, count=n) if isinstance(y, array) else np.asarray(y[:n], float)
    with np.errstate(all="ignore"):
        allfin = bool(np.isfinite(ya.sum()))  # one pass; an overflowing sum takes the slow path
    fin = None if allfin else np.isfinite(ya)
    nb = (k - 2) // (2 if allfin else 3)
    m = (n // nb) * nb
    sel = [np.array([0, n - 1])]
    yb = ya[:m].reshape(nb, -1)
    if allfin:
        lo = yb.argmin(axis=1)
        hi = yb.argmax(axis=1)
    else:
        yf = np.where(fin[:m], ya[:m], np.nan).reshape(nb, -1)
        with np.errstate(all="ignore"):
            yl = np.where(np.isnan(yf), np.inf, yf)
            yh = np.where(np.isnan(yf), -np.inf, yf)
        lo, hi = yl.argmin(axis=1), yh.argmax(axis=1)
        nf = ~fin[:m].reshape(nb, -1)
        has = nf.any(axis=1)
        sel.append(np.flatnonzero(has) * (m // nb) + nf.argmax(axis=1)[has])
    base = np.arange(nb) * (m // nb)
    sel += [base + lo, base + hi]
    if m < n:  # the remainder bucket
        r = ya[m:]
        if np.isfinite(r).any():
            rr = np.where(np.isfinite(r), r, np.nan)
            sel.append(np.array([m + int(np.nanargmin(rr)), m + int(np.nanargmax(rr))]))
        if not np.isfinite(r).all():
            sel.append(np.array([m + int(np.argmax(~np.isfinite(r)))]))
    order = np.unique(np.concatenate(sel))
    if len(order) > k:  # the remainder bucket can push us over by a couple
        must = [0, n - 1]
        if allfin:
            must += [int(ya.argmin()), int(ya.argmax())]
        else:
            if fin.any():
                yf = ya[fin]
                fi = np.flatnonzero(fin)
                must += [int(fi[yf.argmin()]), int(fi[yf.argmax()])]
            if not fin.all():
                must.append(int(np.argmax(~fin)))
        must = np.unique(np.array(must))
        rest = np.setdiff1d(order, must, assume_unique=True)
        room = k - len(must)
        if room > 0 and len(rest):
            rest = rest[np.unique(np.linspace(0, len(rest) - 1, room).astype(int))]
        else:
            rest = rest[:0]
        order = np.union1d(must, rest)
    return array("d", xa[order].tobytes()), array("d", ya[order].tobytes())


def ema(y: Iterable[float], weight: float) -> array:
    """Debiased exponential moving average (TensorBoard's smoothing slider, weight in [0, 1));
    non-finite values pass through without disturbing the average."""
    w = min(max(float(weight), 0.0), 0.999999)
    np = _numpy() if w else None
    if np is not None:
        ya = _as_np(y)
        if len(ya) > 64:
            out = _ema_np(np, ya, w)
            if out is not None:
                return array("d", out.tobytes())
    return _ema_py(y, w)


def _as_np(y):
    np = _np
    if isinstance(y, array) and y.typecode == "d":
        return np.frombuffer(y, dtype=np.float64) if len(y) else np.zeros(0)
    return np.asarray(y if isinstance(y, (list, tuple)) or hasattr(y, "__array__") else list(y),
                      dtype=np.float64)


def _ema_py(y: Iterable[float], w: float) -> array:
    out = array("d")
    last, num = 0.0, 0
    isfin = math.isfinite
    for v in y:
        if not isfin(v):
            out.append(v)
            continue
        last = last * w + (1 - w) * v
        num += 1
        out.append(last / (1 - w ** num) if w else v)
    return out


def _ema_np(np, ya, w: float):
    """``_ema_py`` vectorised: blocks of B points where ``w**-B`` stays below 2**40; within a
    block ``last_i = w**i * (L0 + (1-w) * cumsum(v_j * w**-j))``; one Python step per block
    carries the state.  Agrees with the sequential recurrence to ~1e-11 relative (cumsum rounding)."""
    fin = np.isfinite(ya)
    allfin = bool(fin.all())
    v = ya if allfin else ya[fin]
    m = len(v)
    out_f = np.empty(m)
    if m:
        B = int(min(m, max(1, math.floor(40 * math.log(2) / -math.log(w)))))
        j = np.arange(1, B + 1, dtype=np.float64)
        wp = w ** j                   # w**1 .. w**B
        winv = w ** -j                # w**-1 .. w**-B
        nb = -(-m // B)
        pad = nb * B - m
        vb = (np.concatenate([v, np.zeros(pad)]) if pad else v).reshape(nb, B)
        part = np.cumsum(vb * winv, axis=1)          # zero-start partial sums, scaled
        part *= (1 - w)
        part *= wp                                    # last_i of a block started from 0
        if nb > 1:
            carry = np.empty(nb)
            wB = float(wp[-1])
            L = 0.0
            ends = part[:, -1].tolist()
            for b in range(nb):
                carry[b] = L
                L = ends[b] + wB * L
            part += carry[:, None] * wp[None, :]
        last = part.reshape(-1)[:m]
        num = np.arange(1, m + 1, dtype=np.float64)
        with np.errstate(all="ignore"):
            # 1 - w**n as -expm1(n log w): exact where w**n is near 1, and 50x faster than
            # np.power, which crawls through subnormals once w**n underflows (w=0.6: 6 ms/100k).
            out_f = last / -np.expm1(num * math.log1p(w - 1))
        if not np.isfinite(out_f).all():
            return None  # overflow somewhere: the sequential recurrence decides
    if allfin:
        return out_f
    out = ya.copy()
    out[fin] = out_f
    return out


def main_metric(names: Iterable[str]) -> str | None:
    """The metric shown by default: the first with 'loss' in its name (training before
    validation/test), else the first name."""
    names = list(names)
    losses = [n for n in names if "loss" in n.lower()]
    train = [n for n in losses if not any(t in n.lower() for t in ("val", "test", "eval", "valid"))]
    for group in (train, losses, names):
        if group:
            return group[0]
    return None


# --------------------------------------------------------------------------- flags

@dataclass
class Flags:
    nonfinite: float | None = None   # x of the first NaN/inf
    cliff: float | None = None       # x of the first sudden jump


def _first_nonfinite(s: Series) -> float | None:
    y = s.y
    if len(y) > 64 and _numpy() is not None:
        a = _np.frombuffer(y, dtype=_np.float64, count=len(s))
        bad = ~_np.isfinite(a)
        if bad.any():
            return s.x[int(bad.argmax())]
        return None
    isfin = math.isfinite
    for i in range(len(s)):
        if not isfin(y[i]):
            return s.x[i]
    return None


def _median(v: list[float]) -> float:
    v = sorted(v)
    n = len(v)
    return v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2])


def find_cliff(y: Sequence[float], window: int = 50, z: float = 12.0, rel: float = 0.25,
               warmup: int = 20, max_points: int = 20000) -> int | None:
    """Index of the first point departing from the median of the preceding ``window`` points
    by more than ``z`` robust sigmas (1.4826 * MAD) *and* by ``rel`` of the median's size.
    Long series are judged on block medians (at most ``max_points`` blocks), then refined."""
    n = len(y)
    np = _numpy() if n > 2 * window else None
    if n > max_points:
        b = -(-n // max_points)
        if np is not None:
            blocks = _block_medians(np, y, n, b)
            j = _cliff_scan_np(np, blocks, window, z, rel, warmup)
            if j is None:
                return None
            ref = [float(v) for v in blocks[max(0, j - window):j] if v == v]
        else:
            blocks = []
            for i in range(0, n, b):
                seg = [v for v in y[i:i + b] if math.isfinite(v)]
                blocks.append(_median(seg) if seg else None)
            j = _cliff_scan(blocks, window, z, rel, warmup)
            if j is None:
                return None
            ref = [v for v in blocks[max(0, j - window):j] if v is not None]
        med = _median(ref)
        for i in range(j * b, min(n, (j + 1) * b)):
            if math.isfinite(y[i]) and abs(y[i] - med) > rel * max(abs(med), 1e-12):
                return i
        return j * b
    if np is not None:
        return _cliff_scan_np(np, _as_np(y)[:n], window, z, rel, warmup)
    fin = [v if math.isfinite(v) else None for v in y]
    return _cliff_scan(fin, window, z, rel, warmup)


def _block_medians(np, y, n: int, b: int):
    """Median of the finite values of each block ``y[i:i+b]`` (NaN where none), as ``_median``."""
    a = _as_np(y)[:n]
    nb = -(-n // b)
    v = np.full(nb * b, np.nan)
    v[:n] = a
    v[~np.isfinite(v)] = np.nan
    v = np.sort(v.reshape(nb, b), axis=1)        # NaNs sort last
    c = b - np.isnan(v).sum(axis=1)               # finite values per block
    rows = np.arange(nb)
    hi = v[rows, np.minimum(c // 2, b - 1)]
    lo = v[rows, np.maximum(c // 2 - 1, 0)]
    med = np.where(c % 2 == 1, hi, 0.5 * (lo + hi))
    med[c == 0] = np.nan
    return med


def _cliff_scan_np(np, v, window: int, z: float, rel: float, warmup: int) -> int | None:
    """``_cliff_scan`` over a float array (NaN/inf = skipped): the first ``window`` finite
    values run the exact Python scan, the rest are judged on sliding windows in chunks."""
    fin = np.isfinite(v)
    idx = np.flatnonzero(fin)
    f = v[idx]
    m = len(f)
    head = _cliff_scan(f[:window].tolist(), window, z, rel, warmup)
    if head is not None:
        return int(idx[head])
    if m <= window or warmup > window:
        return None
    from numpy.lib.stride_tricks import sliding_window_view

    wins = sliding_window_view(f, window)         # wins[p] = f[p:p+window]; judges f[p+window]
    zk = z * 1.4826
    step = 4096
    for p0 in range(0, m - window, step):
        p1 = min(m - window, p0 + step)
        w = wins[p0:p1]
        med = _row_median(np, w)
        mad = _row_median(np, np.abs(w - med[:, None]))
        val = f[p0 + window:p1 + window]
        d = np.abs(val - med)
        hit = (d > zk * mad) & (d > rel * np.maximum(np.abs(med), 1e-12)) & (d > 1e-12)
        if hit.any():
            return int(idx[p0 + window + int(hit.argmax())])
    return None


def _row_median(np, w):
    """Median of each row, as ``_median`` computes it (``0.5 * (a + b)`` for an even count)."""
    k = w.shape[1]
    h = k // 2
    p = np.sort(w, axis=1)  # faster than np.partition / np.median for short rows
    if k % 2:
        return p[:, h]
    return 0.5 * (p[:, h - 1] + p[:, h])


def _cliff_scan(v: list, window: int, z: float, rel: float, warmup: int) -> int | None:
    recent: list[float] = []
    for i, val in enumerate(v):
        if val is None:
            continue
        if len(recent) >= warmup:
            med = _median(recent)
            mad = _median([abs(r - med) for r in recent])
            d = abs(val - med)
            if d > z * 1.4826 * mad and d > rel * max(abs(med), 1e-12) and d > 1e-12:
                return i
        recent.append(val)
        if len(recent) > window:
            recent.pop(0)
    return None


def flags(series: Series) -> Flags:
    """Non-finite and cliff flags of one series (x values)."""
    f = Flags(nonfinite=_first_nonfinite(series))
    i = find_cliff(series.y[:len(series)])
    if i is not None:
        f.cliff = series.x[i]
    return f


def silence(mtime: float, alive: bool, now: float | None = None, minutes: float = 10.0) -> float | None:
    """Seconds without new output when the process is alive and that exceeds ``minutes``; else None."""
    now = time.time() if now is None else now
    quiet = now - mtime
    if alive and quiet >= minutes * 60:
        return quiet
    return None


def last_traceback(path: str | os.PathLike, tail_bytes: int = 256 << 10) -> str | None:
    """The last ``Traceback (most recent call last):`` block in the last ``tail_bytes`` of a log."""
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - tail_bytes))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return None
    i = text.rfind("Traceback (most recent call last)")
    if i < 0:
        return None
    p = TextParser()
    p.feed(_split_lines(text[i:].encode()), 0, 0)
    return p.last_traceback or "\n".join(p.tb) or None


def _fmt_x(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.4g}"


FLAGS_CACHE = ".flags-cache"
FLAGS_VERSION = 1


def _stat_key(p) -> list | None:
    try:
        st = os.stat(p)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


def _flags_source(run_dir: str, pats: Patterns) -> str:
    """The file ``RunMetrics`` reads (its ``_pick`` rule) without opening anything (a path
    relative to the run folder)."""
    if not pats:
        try:
            if os.stat(os.path.join(run_dir, "metrics.jsonl")).st_size > 0:
                return "metrics.jsonl"
        except OSError:
            pass
        c = _find_csv(Path(run_dir))
        if c is not None:
            return os.path.relpath(c, run_dir)
    return "output.log"


_DEFAULT_SIG: list = []


def _pattern_sig(pats: Patterns) -> str:
    if not pats.source and pats.defaults is True:  # the common case: default patterns only
        if not _DEFAULT_SIG:
            _DEFAULT_SIG.append(pats.signature())
        return _DEFAULT_SIG[0]
    return pats.signature()


def _load_flags_cache(path) -> dict | None:
    try:
        with open(path, "rb") as f:
            doc = json.loads(f.read(1 << 16))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and doc.get("v") == FLAGS_VERSION else None


def _save_flags_cache(path: str, doc: dict) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "w") as f:
            json.dump(doc, f)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def _metric_flags(run_dir: Path, pats: Patterns) -> tuple[float | None, float | None]:
    """(x of the first NaN/inf of any series, x of the main metric's cliff), from the files."""
    rm = RunMetrics(run_dir, pats)
    rm.poll()
    rm.save_cache()
    ser = rm.series
    nan_at = None
    for s in ser.values():
        x = _first_nonfinite(s)
        if x is not None and (nan_at is None or x < nan_at):
            nan_at = x
    cliff = None
    name = main_metric(ser)
    if name is not None:
        s = ser[name]
        f = find_cliff(s.y[:len(s)])
        if f is not None:
            cliff = s.x[f]
    return nan_at, cliff


def run_flags(journal, run_id: str, alive: bool | None = None, now: float | None = None,
              silent_minutes: float = 10.0, data: dict | None = None) -> list[str]:
    """Short flags for ``labtui ls``: ``NaN@1200``, ``cliff@803250``, ``silent 12m``, ``traceback``.
    Uses the run's metrics cache; ``alive`` defaults to the journal status being running/starting.

    The NaN/cliff/traceback findings are kept in ``<run_dir>/.flags-cache`` keyed on the
    size, mtime, ctime and inode of the files they came from (and the patterns): an unchanged
    run costs a few stats and one small read; any change to those files recomputes."""
    j = _journal(journal)
    data = data if data is not None else j.read()
    rec = (data.get("runs") or {}).get(run_id) or {}
    run_dir = j.run_dir(run_id)
    rd = os.fspath(run_dir)
    out: list[str] = []
    try:
        pats = patterns_for_run(data, run_id)
    except UserError:
        pats = Patterns()
    log = os.path.join(rd, "output.log")
    src_name = _flags_source(rd, pats)
    src = os.path.join(rd, src_name)
    src_key = _stat_key(src)
    log_key = src_key if src_name == "output.log" else _stat_key(log)
    sig = [_pattern_sig(pats), PARSER_VERSION, src_name, src_key]
    cpath = os.path.join(rd, FLAGS_CACHE)
    cache = _load_flags_cache(cpath)
    dirty = False
    if cache is None or cache.get("sig") != sig:
        nan_at, cliff = _metric_flags(run_dir, pats)
        # the metrics were read from the file as it is now: the cache is written only when its
        # stat did not change meanwhile (else the key could claim data that was not read)
        cache = {"v": FLAGS_VERSION, "sig": sig, "nan": nan_at, "cliff": cliff}
        dirty = _stat_key(src) == src_key
    if cache.get("nan") is not None:
        out.append(f"NaN@{_fmt_x(cache['nan'])}")
    if cache.get("cliff") is not None:
        out.append(f"cliff@{_fmt_x(cache['cliff'])}")
    status = rec.get("status")
    if alive is None:
        alive = status in ("running", "starting") and not os.path.exists(os.path.join(rd, "exit.json"))
    mts = [k[1] / 1e9 for k in (log_key, src_key if src_name == "metrics.jsonl"
                                else _stat_key(os.path.join(rd, "metrics.jsonl"))) if k]
    if mts:
        q = silence(max(mts), alive, now, silent_minutes)
        if q is not None:
            out.append(f"silent {int(q // 60)}m")
    failed = status in ("failed", "lost") or (rec.get("exit_code") not in (None, 0))
    if failed:
        tb = cache.get("tb")
        if not (isinstance(tb, list) and len(tb) == 2 and tb[0] == log_key):
            tb = [log_key, bool(last_traceback(log))]
            if log_key is None or _stat_key(log) == log_key:
                cache["tb"] = tb
                dirty = True
        if tb[1]:
            out.append("traceback")
    if dirty:
        _save_flags_cache(cpath, cache)
    return out
