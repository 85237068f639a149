"""THE flag rule set: one ``RunFlags`` object that ``ls``, ``show``, ``--json`` and the app render.

Rules (docs/metrics.md, "Flags"):
- ``nan_at``: x of the first NaN/inf in any series of the run.
- ``cliff_at``: x of the first sudden jump of the main metric (``main_metric``), judged only
  for metrics where lower is better (losses, errors): a point more than 12 robust sigmas
  (1.4826·MAD) and 25% away from the median of the previous 50 (``detect.find_cliff``).
- ``silent_for``: seconds without new output (``output.log`` / ``metrics.jsonl``) while the
  run is alive, once that reaches ``SILENT_AFTER`` (10 minutes).
- ``traceback``: the run failed or was lost and its log holds a Python traceback.  A run
  labtui killed is not flagged: the KeyboardInterrupt (or torchrun SignalException)
  traceback a kill leaves behind is how a kill looks, not a crash.

Renderings: ``labels()`` for the CLI (``NaN@1200``, ``cliff@803250``, ``silent 12m``,
``traceback``) and ``short()`` for the app's table (``NaN``, ``tb``, ``cliff``, ``silent``).

``run_flags`` keeps its findings in ``RunDir.FLAGS_CACHE`` keyed on the size, mtime, ctime
and inode of the files they came from (and the patterns): an unchanged run costs a few stats
and one small read; any change to those files recomputes.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, replace
from typing import Iterable, Mapping

from ..errors import UserError
from ..fsio import write_atomic
from ..rundir import RunDir
from ..status import Status
from .detect import find_cliff, first_nonfinite
from .goals import finals, lower_is_better, metric_stats
from .patterns import Patterns, as_journal, patterns_for_run
from .series import Series
from .sources import PARSER_VERSION, RunMetrics, last_traceback, pick_source

SILENT_AFTER = 600.0    # seconds without output before a live run is flagged silent
TRACEBACK_STATUSES = frozenset({Status.FAILED, Status.LOST})
FLAGS_VERSION = 3       # 3: goals.goal_of decides "lower is better"; per-metric stats kept
NOT_MAIN = ("epoch", "lr", "learning_rate")


@dataclass(frozen=True)
class RunFlags:
    nan_at: float | None = None       # x of the first NaN/inf of any series
    cliff_at: float | None = None     # x of the main metric's first cliff
    silent_for: float | None = None   # seconds silent while alive (>= SILENT_AFTER)
    traceback: bool = False           # a failed/lost run whose log holds a traceback

    def __bool__(self) -> bool:
        return bool(self.labels())

    def labels(self) -> list[str]:
        """The CLI's words (``labtui ls``, ``show``, ``--json``)."""
        out = []
        if self.nan_at is not None:
            out.append(f"NaN@{_fmt_x(self.nan_at)}")
        if self.cliff_at is not None:
            out.append(f"cliff@{_fmt_x(self.cliff_at)}")
        if self.silent_for is not None:
            out.append(f"silent {int(self.silent_for // 60)}m")
        if self.traceback:
            out.append("traceback")
        return out

    def short(self) -> list[str]:
        """The app table's words."""
        out = []
        if self.nan_at is not None:
            out.append("NaN")
        if self.traceback:
            out.append("tb")
        if self.cliff_at is not None:
            out.append("cliff")
        if self.silent_for is not None:
            out.append("silent")
        return out


# --------------------------------------------------------------------------- the rules

def main_metric(names: Iterable[str], preferred: str | None = None) -> str | None:
    """The metric shown (and judged for cliffs) by default: ``preferred`` if present, else the
    first with 'loss' in its name (training before validation/test), else the first name;
    ``epoch``/``lr``/``learning_rate`` only when nothing else is there."""
    names = list(names)
    if preferred and preferred in names:
        return preferred
    return _first_main([n for n in names if n not in NOT_MAIN]) or _first_main(names)


def _first_main(names: list[str]) -> str | None:
    losses = [n for n in names if "loss" in n.lower()]
    train = [n for n in losses if not any(t in n.lower() for t in ("val", "test", "eval", "valid"))]
    for group in (train, losses, names):
        if group:
            return group[0]
    return None


def nan_at(series: Mapping[str, Series]) -> float | None:
    """x of the first non-finite value over all series (the smallest such x)."""
    best = None
    for s in series.values():
        x = first_nonfinite(s)
        if x is not None and (best is None or x < best):
            best = x
    return best


def cliff_at(series: Mapping[str, Series], goals: Mapping[str, str] | None = None) -> float | None:
    """x of the main metric's first cliff, for a lower-is-better main metric; else None."""
    name = main_metric(series)
    if name is None or not lower_is_better(name, goals):
        return None
    s = series[name]
    i = find_cliff(s.y[:len(s)])
    return s.x[i] if i is not None else None


def silence(mtime: float | None, alive: bool, now: float | None = None,
            minutes: float = SILENT_AFTER / 60) -> float | None:
    """Seconds without new output when the run is alive and that reaches ``minutes``; else None."""
    if mtime is None or not alive:
        return None
    now = time.time() if now is None else now
    quiet = now - mtime
    return quiet if quiet >= minutes * 60 else None


def traceback_counts(status: object) -> bool:
    """Whether a traceback in this run's log is a flag: only for runs that failed or were lost."""
    return Status.parse(status) in TRACEBACK_STATUSES


def evaluate(series: Mapping[str, Series], *, status: object, alive: bool,
             last_output: float | None, now: float | None = None,
             traceback_text: str | None = None, cliff: bool = True,
             goals: Mapping[str, str] | None = None) -> RunFlags:
    """Every flag of a run from its series in memory (the app's readers hold them)."""
    return RunFlags(nan_at(series), cliff_at(series, goals) if cliff else None,
                    silence(last_output, alive, now),
                    bool(traceback_text) and traceback_counts(status))


# --------------------------------------------------------------------------- a run from its files

def _fmt_x(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.4g}"


def _stat_key(p) -> list | None:
    try:
        st = os.stat(p)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


_DEFAULT_SIG: list = []


def _pattern_sig(pats: Patterns) -> str:
    if not pats.source and pats.defaults is True:  # the common case: default patterns only
        if not _DEFAULT_SIG:
            _DEFAULT_SIG.append(pats.signature())
        return _DEFAULT_SIG[0]
    return pats.signature()


# The cache starts with the run folder's mtime its walk record was last found to hold at (``tm``,
# fixed width): a later call that finds the record still holding overwrites those digits in
# place (``_settle``), since replacing the file would change the folder's mtime again.
_TM_HEAD = b'{"tm": "'
_TM_WIDTH = 20


def _load_flags_cache(path) -> tuple[dict | None, int]:
    """(the cache, or None; its inode)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None, 0
    try:
        st = os.fstat(fd)
        if st.st_size > 1 << 22:
            return None, 0
        raw = os.read(fd, st.st_size + 1)  # one read for a small file (no 4 MiB buffer)
        while len(raw) < st.st_size:  # (a short read)
            more = os.read(fd, st.st_size - len(raw))
            if not more:
                break
            raw += more
        ino = st.st_ino
        doc = json.loads(raw)
    except (OSError, ValueError):
        return None, 0
    finally:
        os.close(fd)
    if not (isinstance(doc, dict) and doc.get("v") == FLAGS_VERSION):
        return None, 0
    walk = doc.get("walk")
    if isinstance(walk, dict) and raw.startswith(_TM_HEAD) and str(doc.get("tm", "")).isdigit():
        walk["tm"] = int(doc["tm"])
    else:
        doc.pop("walk", None)
    return doc, ino


def _save_flags_cache(path, doc: dict) -> bool:
    """Write the cache (its walk record's ``tm`` first); whether it was written."""
    walk = dict(doc.get("walk") or {})
    tm = walk.pop("tm", 0)
    out = {"tm": f"{tm if isinstance(tm, int) and tm > 0 else 0:0{_TM_WIDTH}d}"}
    out.update((k, v) for k, v in doc.items() if k not in ("tm", "walk"))
    if walk:
        out["walk"] = walk
    try:
        write_atomic(path, json.dumps(out))
    except OSError:
        return False  # a cache: the next reader recomputes
    return True


def _settle(path, ino: int, tm: int) -> None:
    """Put ``tm`` into the cache file in place (same width: a reader sees a valid document)."""
    digits = f"{tm:0{_TM_WIDTH}d}".encode()
    if len(digits) != _TM_WIDTH:
        return
    try:
        fd = os.open(path, os.O_WRONLY)
    except OSError:
        return
    try:
        if os.fstat(fd).st_ino == ino:  # still the file read (not one renamed over it since)
            os.pwrite(fd, digits, len(_TM_HEAD))
    except OSError:
        pass
    finally:
        os.close(fd)


def _metric_flags(rd: RunDir, pats: Patterns, rm: RunMetrics | None = None
                  ) -> tuple[float | None, float | None, dict]:
    """(nan_at, cliff_at, metric_stats) of a run, read from its files (the metrics cache makes
    this cheap; ``rm``: a reader of this run already polled, e.g. its shim's watcher's)."""
    rm = rm if rm is not None else RunMetrics(rd.path, pats)
    rm.poll()
    rm.save_cache()
    with rm.lock:
        ser = rm.series
        return nan_at(ser), cliff_at(ser, pats.goals), metric_stats(ser)


def flags_for_run(journal, run_id: str, alive: bool | None = None, now: float | None = None,
                  data: dict | None = None, status: object = None,
                  into: dict | None = None, cached_only: bool = False,
                  metrics: RunMetrics | None = None) -> RunFlags | None:
    """The flags of a run from its files.  ``status`` (the run's live status, e.g.
    ``RunInfo.status``) defaults to the journal's; ``alive`` to that status being live with no
    ``exit.json``.  ``into`` (a dict) receives ``goals.finals`` of the run's metrics (last,
    step, best, best_step per metric), from the same cache.  ``cached_only``: read no metric
    file, return None (``into`` untouched) unless the cache is up to date (``tui.core.lsfill``).
    ``metrics``: the run's reader if one is already polled (``tui.core.watch``)."""
    return flags_and_cache(journal, run_id, alive, now, data, status, into, cached_only, metrics)[0]


def flags_and_cache(journal, run_id: str, alive: bool | None = None, now: float | None = None,
                    data: dict | None = None, status: object = None,
                    into: dict | None = None, cached_only: bool = False,
                    metrics: RunMetrics | None = None) -> tuple[RunFlags | None, bool]:
    """``flags_for_run`` and whether the run's flags cache is up to date afterwards (a
    ``cached_only`` call would answer from it)."""
    j = as_journal(journal)
    data = data if data is not None else j.read()
    rec = (data.get("runs") or {}).get(run_id) or {}
    rd = RunDir(j.run_dir(run_id))
    cache_path = rd.flags_cache
    cache, ino = _load_flags_cache(cache_path)
    if cache is None and cached_only:
        return None, False  # never read (or the cache is gone): cold, without looking for files
    try:
        pats = patterns_for_run(data, run_id)
    except UserError:
        pats = Patterns()
    old_walk = (cache or {}).get("walk") or {}
    walk = dict(old_walk)
    log = rd.log
    src = pick_source(rd, pats, walk) or log
    src_name = _rel(src, rd.path)
    src_key = _stat_key(src)
    log_key = src_key if src_name == RunDir.LOG else _stat_key(log)
    sig = [_pattern_sig(pats), json.dumps(pats.goals, sort_keys=True) if pats.goals else "{}",
           PARSER_VERSION, src_name, src_key]
    fresh = True   # the cache on disk answers for the files as they are now
    dirty = bool(walk) and {k: v for k, v in walk.items() if k != "tm"} != {
        k: v for k, v in old_walk.items() if k != "tm"}   # a new walk record to keep
    if cache is None or cache.get("sig") != sig:
        if cached_only:
            return None, False
        nan, cliff, mstats = _metric_flags(rd, pats, metrics)
        # the metrics were read from the file as it is now: the cache is written only when its
        # stat did not change meanwhile (else the key could claim data that was not read)
        cache = {"v": FLAGS_VERSION, "sig": sig, "nan": nan, "cliff": cliff, "stats": mstats}
        fresh = _stat_key(src) == src_key
        dirty = dirty or fresh
    status = rec.get("status") if status is None else status
    if alive is None:
        alive = Status.parse(status) in (Status.STARTING, Status.RUNNING) and not rd.has_exit()
    met_key = src_key if src_name == RunDir.METRICS else _stat_key(rd.metrics)
    mts = [k[1] / 1e9 for k in (log_key, met_key) if k]
    silent = silence(max(mts), alive, now) if mts else None
    tb = False
    if traceback_counts(status):
        hit = cache.get("tb")
        if not (isinstance(hit, list) and len(hit) == 2 and hit[0] == log_key):
            if cached_only:
                return None, False
            hit = [log_key, bool(last_traceback(log))]
            if log_key is None or _stat_key(log) == log_key:
                cache["tb"] = hit
                dirty = True
            else:
                fresh = False
        tb = bool(hit[1])
    if walk:
        cache["walk"] = walk
    if dirty:
        fresh = _save_flags_cache(cache_path, cache) and fresh
    elif walk.get("tm") and walk.get("tm") != old_walk.get("tm"):
        _settle(cache_path, ino, walk["tm"])
    if into is not None:
        st = cache.get("stats")
        into.update(finals(st if isinstance(st, dict) else {}, pats.goals))
    return RunFlags(_num(cache.get("nan")), _num(cache.get("cliff")), silent, tb), fresh


def _rel(p, root) -> str:
    """``os.path.relpath(p, root)`` for a path inside ``root`` (without its cost)."""
    s, r = str(p), str(root)
    if s.startswith(r) and s[len(r):len(r) + 1] == os.sep:
        return s[len(r) + 1:]
    return os.path.relpath(s, r)


def _num(v) -> float | None:
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def run_flags(journal, run_id: str, alive: bool | None = None, now: float | None = None,
              data: dict | None = None, status: object = None,
              into: dict | None = None) -> list[str]:
    """``flags_for_run(...).labels()``: the words ``labtui ls`` prints (``into``: as there)."""
    return flags_for_run(journal, run_id, alive, now, data, status, into).labels()


def with_silence(flags: RunFlags, last_output: float | None, alive: bool, now: float) -> RunFlags:
    """``flags`` with its silence judged at ``now`` (the app re-judges it on every redraw)."""
    q = silence(last_output, alive, now)
    return flags if q == flags.silent_for else replace(flags, silent_for=q)
