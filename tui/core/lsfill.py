"""Metrics of many runs within a time budget (``labtui ls``), and the lab's background fill.

A run's flags and last/best values come from its flags cache (``RunDir.FLAGS_CACHE``, written
by ``metrics.flags_for_run``): a valid cache costs a few stats and one small read, a cold run
a parse of its metric files (a 300 kB ``metrics.jsonl``: ~15 ms; 1,000 of them: tens of seconds).
So ``read_runs`` first takes every run whose cache is up to date, then reads cold runs (live
runs first, then the newest) until ``budget`` seconds are spent; the rest are *not read*
(``RunRead.read`` False: no flags, no numbers; the CLI shows ``…`` and says so).

Runs launched by labtui are never cold: their shim warms the cache when the run ends
(``warm_run``, from ``tui.core.shim``).  Imported folders, deleted caches and old runs are
filled in the background (``start_fill``): one detached, niced process per lab
(``python -m tui.core.lsfill JOURNAL``) that holds an flock on ``logs/.metrics-fill.lock``
(``rundir.FILL_LOCK``) for its whole life, so at most one runs; it reads every cold run's
metrics (``flags_for_run``, the same cache) and exits.

Environment: ``LABTUI_LS_BUDGET`` (seconds, default ``DEFAULT_BUDGET``; ``inf``: read all),
``LABTUI_LS_FILL=0`` (never start a background fill).
"""

from __future__ import annotations

import fcntl
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from .errors import UserError
from .journal import Journal
from .metrics import flags_for_run
from .metrics.flags import flags_and_cache
from .metrics.progress import reader as progress_reader
from .procs import spawn_detached
from .rundir import FILL_LOCK
from .runs import RunInfo, list_runs
from .runs.launch import shim_env
from .status import LIVE

BUDGET_ENV = "LABTUI_LS_BUDGET"
FILL_ENV = "LABTUI_LS_FILL"
DEFAULT_BUDGET = 0.3   # seconds of cold reads; with start-up and the listing, 1,000 cold runs < 2 s
READ_RATE = 20e6       # bytes/s a cold read is assumed to go: a run that cannot fit what is left
#                        of the budget is not started (one huge log must not blow the budget)


@dataclass
class RunRead:
    """One run's metric-derived values: ``flags`` (the CLI's words) and ``metrics`` (last/best
    per metric, ``goals.finals``), or ``read`` False when they were not read (both None)."""
    read: bool
    flags: list[str] | None = None
    metrics: dict | None = field(default=None)


NOT_READ = RunRead(False)


def budget_from_env(default: float = DEFAULT_BUDGET) -> float:
    """``$LABTUI_LS_BUDGET`` in seconds (``inf``: no limit); a bad value is a UserError."""
    raw = os.environ.get(BUDGET_ENV, "").strip()
    if not raw:
        return default
    try:
        v = float(raw)
    except ValueError:
        v = -1.0
    if math.isnan(v) or v < 0:
        raise UserError(f"{BUDGET_ENV}={raw!r}: give seconds (0, 0.5, 2, inf)")
    return v


def _one(j: Journal, info: RunInfo, data: dict, cached_only: bool) -> RunRead | None:
    """The run's flags and finals (None: not cached and ``cached_only``); never raises for a
    strange log (its error is the flag)."""
    try:
        if not cached_only and not info.run_dir.is_dir():
            return RunRead(True, [], {})
        into: dict = {}
        fl = flags_for_run(j, info.id, alive=info.alive, data=data, status=info.status,
                           into=into, cached_only=cached_only)
        if fl is None:  # (cached_only: no cache there; never read, or no folder)
            return None if info.run_dir.is_dir() else RunRead(True, [], {})
        return RunRead(True, fl.labels(), into)
    except UserError:
        return RunRead(True, [], {})
    except Exception as e:  # noqa: BLE001 - a strange log must never break the listing
        return RunRead(True, [f"flags error: {type(e).__name__}"], {})


def _cold_bytes(info: RunInfo) -> int:
    """What a cold read of the run costs, roughly: its metric source's size (0 when a metrics
    cache exists: then only what is new is read)."""
    rd = info.rundir
    if rd.metrics_cache.exists():
        return 0
    for p in (rd.metrics, rd.log):
        try:
            size = p.stat().st_size
        except OSError:
            continue
        if size:
            return size
    return 0


def _cold_order(infos: Iterable[RunInfo]) -> list[RunInfo]:
    """Live runs first, then the most recently started."""
    return sorted(infos, key=lambda r: (r.status not in LIVE,
                                        -(r.started.timestamp() if r.started else 0.0)))


def read_runs(j: Journal, infos: list[RunInfo], data: dict, budget: float | None,
              label: str = "metrics") -> dict[str, RunRead]:
    """Every run's ``RunRead``: cached runs always; cold runs read within ``budget`` seconds
    (None or ``inf``: all of them, reporting progress through ``metrics.progress`` by bytes);
    the others ``NOT_READ``."""
    t0 = time.monotonic()
    out: dict[str, RunRead] = {}
    cold: list[RunInfo] = []
    for info in infos:
        got = _one(j, info, data, cached_only=True)
        if got is None:
            cold.append(info)
        else:
            out[info.id] = got
    limited = budget is not None and not math.isinf(budget)
    costs = {r.id: _cold_bytes(r) for r in cold}
    counter = None if limited else progress_reader(f"{label} of {len(cold)} runs", sum(costs.values()))
    for info in _cold_order(cold):
        if limited:
            left = t0 + budget - time.monotonic()
            if left <= 0 or costs[info.id] > left * READ_RATE:
                out[info.id] = NOT_READ
                continue
        out[info.id] = _one(j, info, data, cached_only=False) or NOT_READ
        if counter is not None:
            counter(costs[info.id])
    if counter is not None:
        counter.end()
    return out


# --------------------------------------------------------------------------- a run's end

def warm_run(journal_path: str, run_id: str, metrics=None, log: Callable[[str], None] | None = None) -> bool:
    """Bring an ended run's caches up to date (its shim calls this after recording the end);
    ``metrics``: the run's reader already polled (its watcher's ``RunMetrics``).  Best effort:
    never raises; whether the cache is now valid."""
    try:
        j = Journal(journal_path)
        data = j.read()
        rec = (data.get("runs") or {}).get(run_id) or {}
        return flags_and_cache(j, run_id, alive=False, data=data, status=rec.get("status"),
                               metrics=metrics)[1]
    except Exception as e:  # noqa: BLE001 - a cache: never the run's problem
        if log is not None:
            log(f"metrics cache not warmed: {type(e).__name__}: {e}")
        return False


# --------------------------------------------------------------------------- the background fill

def fill_lock(j: Journal) -> Path:
    return j.logs_dir / FILL_LOCK


def fill_running(j: Journal) -> bool:
    """Whether a background fill of this lab holds its lock now."""
    try:
        fd = os.open(fill_lock(j), os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def fill_enabled() -> bool:
    return os.environ.get(FILL_ENV, "1").strip() not in ("0", "no", "false", "off")


def start_fill(j: Journal) -> bool:
    """Start the lab's background fill unless one runs (or ``LABTUI_LS_FILL=0``); whether one
    was started.  Fully detached (``procs.spawn_detached``: own session, stdio away, not our
    child), niced (by itself).  Not waited for beyond its exec (its start-up, ~0.4 s of
    imports, must not delay the listing)."""
    if not fill_enabled() or not j.logs_dir.is_dir() or fill_running(j):
        return False
    return spawn_detached([sys.executable, "-m", "tui.core.lsfill", str(j.path)],
                          cwd=str(j.root), env=shim_env()) is not None


def fill(j: Journal) -> int:
    """(The fill process.) Read every cold run's metrics under the lab's fill lock; the number
    of runs read, or -1 when another fill holds the lock."""
    fd = os.open(fill_lock(j), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return -1
        data = j.read()
        infos = list_runs(j, data)
        got = read_runs(j, infos, data, None)
        return sum(1 for r in got.values() if r.read)
    finally:
        os.close(fd)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m tui.core.lsfill JOURNAL", file=sys.stderr)
        return 2
    try:
        os.nice(10)
    except OSError:
        pass
    try:
        fill(Journal(argv[0]))
    except Exception:  # noqa: BLE001 - a cache fill: the next ls starts another
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
