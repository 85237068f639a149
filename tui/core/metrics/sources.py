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
import threading
import time
from pathlib import Path

from ..rundir import RunDir
from .files import declared_kind, kind_of, metric_files, own_files
from .formats import CsvParser, HfStateParser, JsonlParser
from .parse import TextParser, split_lines
from .patterns import Patterns
from .progress import reader as progress_reader
from .series import Series, Sink, read_series_cache, write_series_cache
from .tail import LogTail
from .tfevents import TfEventsMetrics

PARSER_VERSION = 7  # 4: epoch kept as a series; 5: CSVs read incrementally; 6: the real-log corpus rules;
# 7: restarts (earlier attempts of a log kept apart: TextParser.segments)
SEG_SEP = "\x00"  # cache names of earlier attempts' series: "\x00<attempt>\x00<name>"
CWD_EVERY_S = 5.0   # the working folder is walked for new metric files at most this often
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
        self.note: str | None = None
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
        if self.kind == "jsonl":
            return JsonlParser()
        if self.kind in ("csv", "tsv"):
            return CsvParser("\t" if self.kind == "tsv" else None)
        if self.kind == "hfstate":
            return HfStateParser()
        return TextParser(self.patterns)

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
    def segments(self) -> list[dict[str, Series]]:
        """Earlier attempts of a restarted text log (a new config dump or start banner, then the
        step or epoch counter back at its start), oldest first, each like ``.series``; ``.series``
        is the latest attempt."""
        p = self.parser
        return [{k: s for k, s in seg.items() if len(s) >= 2 or k in p.user_names}
                for seg in getattr(p, "segments", ())]

    def all_attempts(self) -> dict[str, Series]:
        """Every attempt's points joined in log order (each name: its points of the first attempt,
        then of the next...), as if the log had no restart."""
        p = self.parser
        segs = getattr(p, "segments", ())
        if not segs:
            return self.series
        out: dict[str, Series] = {}
        for seg in [*segs, p.series]:
            for k, s in seg.items():
                o = out.get(k)
                if o is None:
                    out[k] = s.copy()
                else:
                    n = len(s)
                    o.x.extend(s.x[:n])
                    o.y.extend(s.y[:n])
                    o.wall.extend(s.wall[:n])
        return {k: s for k, s in out.items() if len(s) >= 2 or k in p.user_names}

    @property
    def last_traceback(self) -> str | None:
        return self.parser.last_traceback

    def poll(self, max_bytes: int | None = None, final: bool = False) -> bool:
        """Read what is new; ``final``: the writer has ended, so a last line without a newline
        is read too."""
        with self.lock:
            if not self._loaded:
                self._loaded = True
                if self.cache_path:
                    self._load_cache()
            status, st = self.tail.check()
            changed = False
            if status == "grown" and getattr(self.parser, "whole", False) and self.tail.offset:
                self.tail.restart()  # a document rewritten at each save: read it whole again
                status = "reset"
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
            counted = progress_reader(self.path, st.st_size - start)  # None unless a CLI listens

            def handle(data: bytes) -> None:
                nonlocal changed
                a = w0 + (w1 - w0) * (self.tail.offset - start) / size0
                b = w0 + (w1 - w0) * (self.tail.offset + len(data) - start) / size0
                changed |= parser.feed(split_lines(data), a, b)
                if counted is not None:
                    counted(len(data))

            n = self.tail.read(handle, max_bytes, final=final)
            if counted is not None:
                counted.end()
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
            every = dict(p.series)
            for i, seg in enumerate(getattr(p, "segments", ())):
                every.update((f"{SEG_SEP}{i}{SEG_SEP}{k}", s) for k, s in seg.items())
            try:
                write_series_cache(self.cache_path, hdr, every)
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
        for k, s in series.items():
            if k.startswith(SEG_SEP):  # an earlier attempt's series
                _, i, name = k.split(SEG_SEP, 2)
                segs = parser.segments
                while len(segs) <= int(i):
                    segs.append({})
                segs[int(i)][name] = s
            else:
                parser.series[k] = s
        self.tail, self.parser = tail, parser
        self.version += 1
        return True


def parse_file(path: str | os.PathLike, patterns: Patterns | None = None,
               kind: str | None = None) -> LogMetrics | TfEventsMetrics:
    """Parse a whole file now (no cache), its last line even without a newline; ``.series`` /
    ``.x_axis`` of the result.  ``kind``: the reader, by default from the file name
    (``files.declared_kind``: a CSV, JSON lines, ``trainer_state.json``, a TensorBoard event
    file (``.note`` says why one could not be read)...; text with patterns)."""
    if kind is None and not patterns:
        kind = declared_kind(Path(path))
    if kind == "tfevents":
        tf = TfEventsMetrics(path)
        tf.poll()
        return tf
    lm = LogMetrics(path, patterns, kind=kind)
    lm.poll(final=True)
    return lm


# --------------------------------------------------------------------------- a run folder

class RunMetrics:
    """Metrics of one run folder: every metric file beside the log (``files.metric_files``: the
    run folder's ``metrics.jsonl``, CSV/TSV, ``*.jsonl`` and TensorBoard event files, and those of
    the run's working folder or declared by its experiment), merged into one series dict; a
    name two files share is prefixed with the later file's stem (``results/loss``).  Without
    any metric file, ``output.log`` (text).  User patterns (from the experiment) always read
    ``output.log``, beside the declared files.  Each file is read incrementally; files that
    appear later join in (``poll`` returns True).  ``.source``: the primary file, ``.sources``:
    all, ``.notes``: one-line notes (a TensorBoard file without the tensorboard package)."""

    def __init__(self, run_dir: str | os.PathLike, patterns: Patterns | None = None):
        self.rd = RunDir(run_dir)
        self.run_dir = self.rd.path
        self.patterns = patterns if patterns is not None else Patterns()
        self.lock = threading.RLock()
        self.version = 0
        self._log: LogMetrics | None = None       # the primary reader when it is a log-like file
        self._readers: dict[Path, LogMetrics | TfEventsMetrics] = {}
        self._names: dict[str, tuple[Path, str]] | None = None
        self.source: Path | None = None
        self.sources: list[Path] = []
        self._start = _run_start(self.rd)
        spec = self.rd.read_spec() or {}
        cwd = spec.get("cwd") if isinstance(spec, dict) else None
        self.cwd = Path(cwd) if isinstance(cwd, str) and cwd else None
        self._cwd_files: list[Path] = []
        self._cwd_at = -CWD_EVERY_S

    def _find(self) -> list[Path]:
        pats = self.patterns
        now = time.monotonic()
        if now - self._cwd_at >= CWD_EVERY_S:
            self._cwd_at = now
            end = None
            try:
                end = self.rd.exit_file.stat().st_mtime
            except OSError:
                pass
            own = set(metric_files(self.rd, with_cwd=False))
            self._cwd_files = [p for p in metric_files(self.rd, self.cwd, pats.files, self._start, end)
                               if p not in own]
        if pats:  # user patterns: output.log, plus the declared files
            files = [self.rd.log] if self.rd.log.exists() else []
            return files + (self._cwd_files if pats.files else [])
        files = metric_files(self.rd, with_cwd=False) + self._cwd_files
        if not files and self.rd.log.exists():
            files = [self.rd.log]
        return files

    def _reader(self, p: Path, primary: bool) -> LogMetrics | TfEventsMetrics:
        if p == self.rd.log:
            kind = "text"
        else:
            kind = kind_of(p) or declared_kind(p)
        if kind == "tfevents":
            return TfEventsMetrics(p)
        cache = self.rd.metrics_cache if primary and kind in ("text", "jsonl") else None
        pats = self.patterns if kind == "text" else None
        return LogMetrics(p, pats, cache, kind=kind, start_time=self._start)

    def poll(self) -> bool:
        with self.lock:
            files = self._find()
            changed = False
            if files != self.sources:
                if not files or not self.sources or files[0] != self.sources[0]:
                    self._readers = {}   # another primary source: start over
                    self._log = None
                keep = {p: r for p, r in self._readers.items() if p in files}
                for i, p in enumerate(files):
                    if p not in keep:
                        keep[p] = self._reader(p, i == 0)
                self._readers = {p: keep[p] for p in files}
                self.sources = files
                self.source = files[0] if files else None
                first = self._readers.get(self.source) if self.source else None
                self._log = first if isinstance(first, LogMetrics) else None
                self._names = None
                changed = True
            ended = self.rd.exit_file.exists()  # the run is over: a last line without newline counts
            for r in self._readers.values():
                if (r.poll(final=True) if ended and isinstance(r, LogMetrics) else r.poll()):
                    changed = True
                    self._names = None
            if changed:
                self.version += 1
            return changed

    def _merged(self) -> dict[str, tuple[Path, str]]:
        """Shown name -> (file, its own name); the primary's names stay plain."""
        names = self._names
        if names is None:
            names = {}
            for p, r in self._readers.items():
                for k in r.series:
                    shown = k
                    if shown in names:
                        shown = f"{p.stem}/{k}"
                        if shown in names:
                            shown = f"{p.parent.name}/{p.stem}/{k}"
                    names.setdefault(shown, (p, k))
            self._names = names
        return names

    @property
    def segments(self) -> list[dict[str, Series]]:
        """Earlier attempts of the primary log (``LogMetrics.segments``), oldest first."""
        with self.lock:
            return self._log.segments if self._log is not None else []

    @property
    def series(self) -> dict[str, Series]:
        if len(self._readers) <= 1:
            r = next(iter(self._readers.values()), None)
            return r.series if r is not None else {}
        out = {}
        for shown, (p, k) in self._merged().items():
            s = self._readers[p].series.get(k)
            if s is not None:
                out[shown] = s
        return out

    @property
    def x_axis(self) -> str:
        r = self._readers.get(self.source) if self.source else None
        return r.x_axis if r is not None and r.series else "line"

    @property
    def notes(self) -> list[str]:
        return [r.note for r in self._readers.values() if r.note]

    @property
    def last_traceback(self) -> str | None:
        tb = self._log.last_traceback if self._log is not None else None
        if tb is None and self.source != self.rd.log:
            tb = last_traceback(self.rd.log)
        return tb

    def snapshot(self) -> dict[str, Series]:
        with self.lock:
            return {k: s.copy() for k, s in self.series.items()}

    def save_cache(self) -> None:
        if self._log is not None:
            self._log.save_cache()

    def releasable(self) -> bool:
        """Whether ``release()`` would drop the series: every file's are in an up-to-date cache."""
        with self.lock:
            return bool(self._readers) and all(
                isinstance(r, LogMetrics) and r.cache_path is not None and not r._unsaved
                and r.cache_path.exists() for r in self._readers.values())

    def release(self) -> bool:
        """Drop the parsed series (memory) when every file's are in an up-to-date series cache;
        the next ``poll()`` reads them back from it (~10 ms for 100k points) and returns True.
        False: nothing dropped (a file without a cache, or unsaved points)."""
        with self.lock:
            if not self.releasable():
                return False
            self._readers, self._log, self._names = {}, None, None
            self.sources, self.source = [], None
            return True


def _run_start(rd: RunDir) -> float | None:
    for p in (rd.spec_file, rd.state_file):
        try:
            return p.stat().st_mtime
        except OSError:
            pass
    return None


def pick_source(rd: RunDir, patterns: Patterns | None = None, walk: dict | None = None) -> Path | None:
    """The run folder's primary source: ``metrics.jsonl`` (non-empty), else the first metric
    file found in the run folder (``files.metric_files``), else ``output.log``; with user
    patterns always ``output.log``.  None: nothing yet.  (The working folder is not looked at.)
    ``walk``: a dict holding the record of the folder's last walk (``files.own_files``), or
    empty; updated in place (emptied when the walk cannot be kept)."""
    if not patterns:
        met = rd.metrics
        try:  # metric_files puts a non-empty metrics.jsonl first: no need to walk the folder
            if os.stat(met).st_size > 0:
                return met
        except OSError:
            pass
        if walk is None:
            found = metric_files(rd, with_cwd=False)
        else:
            found, rec = own_files(rd, walk or None)
            walk.clear()
            walk.update(rec or {})
            found = [p for p in found if p != met]  # empty (metric_files' rule)
        if found:
            return found[0]
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
