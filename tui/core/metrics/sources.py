"""Readers: one log file (``LogMetrics``) and one run folder (``RunMetrics``).

``RunMetrics(run_dir, patterns=None)``
    ``.poll() -> bool``  read only what is new in the run's source (byte offsets); True when a
    series changed.  Safe to call every tick from one worker thread; hold ``.lock`` while
    reading ``.series`` from another thread (``.snapshot()`` does that and copies).
    ``.series: dict[str, Series]`` metric name as the log writes it -> Series (default text
    parsing hides series with a single point: hyperparameter echoes, final summaries).
    ``.x_axis``: ``"step" | "epoch" | "line"``.  ``.source``: the file read (``pick_source``).
    ``.last_traceback``.  ``.version`` increments on every change.  ``.save_cache()`` (poll
    saves it itself after large reads); the cache is ``RunDir.METRICS_CACHE``.
``LogMetrics(path, patterns=None, cache_path=None)``  the same for one log file (any path).
"""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path

from ..rundir import RunDir
from .formats import JsonlParser, parse_csv
from .parse import TextParser, split_lines
from .patterns import Patterns
from .series import Series, Sink, read_series_cache, write_series_cache
from .tail import LogTail

PARSER_VERSION = 4  # 4: epoch kept as a series
CSV_NAMES = ("metrics.csv", "results.csv", "progress.csv", "history.csv", "training.csv", "log.csv")
SAVE_EVERY_BYTES = 8 << 20
SAVE_EVERY_S = 30.0


# --------------------------------------------------------------------------- one log file

class LogMetrics:
    """Series parsed incrementally from one file (text log or ``*.jsonl``)."""

    def __init__(self, path: str | os.PathLike, patterns: Patterns | None = None,
                 cache_path: str | os.PathLike | None = None, kind: str | None = None,
                 start_time: float | None = None):
        self.path = Path(path)
        self.patterns = patterns if patterns is not None else Patterns()
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

    def _make_parser(self) -> Sink:
        return JsonlParser() if self.kind == "jsonl" else TextParser(self.patterns)

    def _new_parser(self) -> None:
        self.parser: Sink = self._make_parser()

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
        return self.parser.last_traceback

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
                changed |= parser.feed(split_lines(data), a, b)

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

    # -- cache (series.py's format): keyed on file identity, head bytes, offset, patterns
    def _sig(self) -> str:
        return f"{PARSER_VERSION}:{self.kind}:{self.patterns.signature()}"

    def save_cache(self) -> None:
        if not self.cache_path or (self._unsaved == 0 and self.cache_path.exists()):
            return  # nothing new since the cache was written or loaded
        with self.lock:
            p = self.parser
            hdr = {"sig": self._sig(), "path": str(self.path.name), "tail": self.tail.state(),
                   "parser": p.state()}
            try:
                write_series_cache(self.cache_path, hdr, p.series)
            except OSError:
                return
            self._unsaved = 0
            self._saved_at = time.monotonic()

    def _load_cache(self) -> bool:
        tail = LogTail(self.path)

        def accept(hdr: dict) -> bool:
            if hdr.get("sig") != self._sig() or hdr.get("path") != self.path.name:
                return False
            tail.set_state(hdr["tail"])
            st = os.stat(self.path)
            if tuple(tail.ident or ()) != (st.st_dev, st.st_ino) or st.st_size < tail.offset:
                return False
            if tail.head:
                with open(self.path, "rb") as lf:
                    if lf.read(len(tail.head)) != tail.head:
                        return False
            return True

        got = read_series_cache(self.cache_path, accept)
        if got is None:
            return False
        hdr, series = got
        parser = self._make_parser()
        try:
            parser.set_state(hdr["parser"])
        except (KeyError, TypeError, ValueError, AttributeError):
            return False
        parser.series.update(series)
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
        self.rd = RunDir(run_dir)
        self.run_dir = self.rd.path
        self.patterns = patterns if patterns is not None else Patterns()
        self.lock = threading.RLock()
        self.version = 0
        self._log: LogMetrics | None = None
        self._csv: tuple[Path, float, int] | None = None
        self._csv_series: dict[str, Series] = {}
        self._csv_axis = "line"
        self.source: Path | None = None
        self._start = _run_start(self.rd)

    def poll(self) -> bool:
        with self.lock:
            src = pick_source(self.rd, self.patterns)
            changed = False
            if src != self.source:
                self.source = src
                self._log, self._csv, self._csv_series = None, None, {}
                changed = True
                if src is not None and src.suffix != ".csv":
                    self._log = LogMetrics(src, self.patterns, self.rd.metrics_cache,
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
        if tb is None and self.source != self.rd.log:
            tb = last_traceback(self.rd.log)
        return tb

    def snapshot(self) -> dict[str, Series]:
        with self.lock:
            if self._log is not None:
                return self._log.snapshot()
            return {k: s.copy() for k, s in self._csv_series.items()}

    def save_cache(self) -> None:
        if self._log is not None:
            self._log.save_cache()


def _run_start(rd: RunDir) -> float | None:
    for p in (rd.spec_file, rd.state_file):
        try:
            return p.stat().st_mtime
        except OSError:
            pass
    return None


def find_csv(run_dir: Path) -> Path | None:
    """The newest metrics CSV (``CSV_NAMES``) in a folder or up to two levels below."""
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


def pick_source(rd: RunDir, patterns: Patterns | None = None) -> Path | None:
    """THE source rule of a run folder: ``metrics.jsonl`` (non-empty), else the newest metrics
    CSV, else ``output.log``; with user patterns always ``output.log``.  None: nothing yet."""
    if not patterns:
        try:
            st = rd.metrics.stat()
            if stat.S_ISREG(st.st_mode) and st.st_size > 0:
                return rd.metrics
        except OSError:
            pass
        c = find_csv(rd.path)
        if c is not None:
            return c
    return rd.log if rd.log.exists() else None


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
    p.feed(split_lines(text[i:].encode()), 0, 0)
    return p.last_traceback or "\n".join(p.tb) or None
