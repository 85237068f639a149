"""The run's watcher: a thread in its shim (``tui.core.shim``) that evaluates its stop rules and
tells its hook about new flags and about the run's end.

Started only for a run whose ``spec.json`` has ``stop`` rules or a ``hook``: a plain run never
imports this module.  Every ``POLL_S`` it reads what is new in the run's metrics with the
same incremental reader the app uses (``metrics.RunMetrics``) and asks
:class:`tui.core.stoprules.Checker`; when a rule fires it stops the run with the kill's own
escalation (``runs.kill(..., rule=REASON)``: SIGINT, grace, SIGTERM, grace, SIGKILL), so the
trainer saves its checkpoint, and the shim records the end as ``stopped`` with the reason.
Nothing here can fail the run: an error is a line in ``shim.log``.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Callable

from . import hooks
from .errors import UserError
from .journal import Journal, JournalError
from .metrics import (SILENT_AFTER, Patterns, RunFlags, RunMetrics, cliff_at, last_traceback,
                      patterns_for_run, silence)
from .rundir import RunDir
from .runs.kill import DEFAULT_GRACE, kill
from .status import Status, final_status
from .notify import event_for
from .stoprules import Checker, StopRules

POLL_S = 1.0         # how often the metrics are read and the rules judged
CLIFF_EVERY = 30.0   # the cliff flag scans a whole series: at most this often (like the app)


class Watch:
    def __init__(self, run_dir: RunDir, spec: dict, journal_path: str, run_id: str,
                 log: Callable[[str], None]):
        self.rd, self.journal_path, self.run_id, self.log = run_dir, journal_path, run_id, log
        self.rules = StopRules.from_json(spec.get("stop"))
        self.hook = spec.get("hook") if isinstance(spec.get("hook"), dict) else None
        self.grace = DEFAULT_GRACE  # like labtui kill: SIGINT, 30 s, SIGTERM, 30 s, SIGKILL
        self.started = time.time()
        self._halt = threading.Event()
        self.fired: str | None = None
        self.flagged: set[str] = set()
        self._nan_pos: dict[str, int] = {}
        self._cliff_at = 0.0
        self.thread: threading.Thread | None = None
        self.metrics: RunMetrics | None = None  # the reader, once set up (the shim warms the cache with it)

    # ------------------------------------------------------------------ the thread
    def start(self) -> "Watch":
        if self.rules or self.hook:
            self.thread = threading.Thread(target=self._loop, name="labtui-watch", daemon=True)
            self.thread.start()
        return self

    def halt(self) -> None:
        """The trainer ended: judge nothing more."""
        self._halt.set()

    def _loop(self) -> None:
        try:
            rm, checker = self._setup()
            self.metrics = rm
            while not self._halt.is_set():
                self._tick(rm, checker)
                if self.fired is not None or self._halt.wait(POLL_S):
                    return
        except Exception as e:  # noqa: BLE001 - the watcher never takes the run down
            self.log(f"watcher stopped: {type(e).__name__}: {e}")

    def _setup(self) -> tuple[RunMetrics, Checker]:
        try:
            pats = patterns_for_run(Journal(self.journal_path).read(), self.run_id)
        except (JournalError, UserError, OSError) as e:
            self.log(f"watcher: the journal's metric patterns are not used: {e}")
            pats = Patterns()
        return RunMetrics(self.rd.path, pats), Checker(self.rules, self.started, pats.goals)

    def _tick(self, rm: RunMetrics, checker: Checker) -> None:
        rm.poll()
        now = time.time()
        with rm.lock:
            series = rm.series
            reason = checker.check(series, rm.x_axis, now) if self.rules else None
            new_flags = self._new_flags(series, rm, now) if self.hook else []
        for label in new_flags:
            hooks.fire(self.hook, self.rd, "flag", self.run_id, self.journal_path,
                       status=Status.RUNNING, reason=label, flag=label)
        if reason is not None:
            self._stop(reason)

    def _new_flags(self, series: dict, rm: RunMetrics, now: float) -> list[str]:
        """Labels of the flags this run did not have at the last tick (NaN, cliff, silent)."""
        found: dict[str, str] = {}
        for name, s in series.items():  # NaN: only the new points of each series
            i, n = self._nan_pos.get(name, 0), len(s)
            if n < i:
                i = 0
            y, x = s.y, s.x
            while i < n and "nan" not in found:
                if not math.isfinite(y[i]):
                    found["nan"] = RunFlags(nan_at=x[i]).labels()[0]
                i += 1
            self._nan_pos[name] = i
        if "cliff" not in self.flagged and now - self._cliff_at >= CLIFF_EVERY:
            self._cliff_at = now
            c = cliff_at(series, rm.patterns.goals)
            if c is not None:
                found["cliff"] = RunFlags(cliff_at=c).labels()[0]
        quiet = silence(self.rd.last_output_mtime(), True, now, SILENT_AFTER / 60)
        if quiet is not None:
            found["silent"] = RunFlags(silent_for=quiet).labels()[0]
        else:
            self.flagged.discard("silent")  # output again: a later silence is news again
        new = [label for kind, label in found.items() if kind not in self.flagged]
        self.flagged.update(found)
        return new

    def _stop(self, reason: str) -> None:
        if self._halt.is_set():
            return
        if self.rd.kill_requested():
            self.log(f"stop rule fired ({reason}) while a kill is under way: left to the kill")
            self.fired = reason
            return
        self.fired = reason
        self.log(f"stop rule fired: {reason}; stopping the run")
        try:
            kill(Journal(self.journal_path), self.run_id, grace=self.grace, rule=reason,
                 progress=self.log)
        except (UserError, JournalError, OSError) as e:
            self.log(f"stop failed: {e}")

    # ------------------------------------------------------------------ the end
    def ended(self, exit_info: dict) -> None:
        """The shim recorded the end: tell the hook (never raises)."""
        self._halt.set()
        if not self.hook:
            return
        try:
            status = final_status(exit_info)
            event = event_for(status)
            if event is None:
                return
            reason = exit_info.get("stopped") or None
            if status == Status.KILLED:
                reason = (self.rd.read_kill() or {}).get("reason") or None
            elif status == Status.FAILED:
                reason = exit_info.get("error") or (
                    f"signal {exit_info['signal']}" if exit_info.get("signal") else f"exit {exit_info.get('code')}")
            flag = "traceback" if status == Status.FAILED and last_traceback(self.rd.log) else None
            hooks.fire(self.hook, self.rd, event, self.run_id, self.journal_path, status=status,
                       exit_code=exit_info.get("code"), reason=reason, flag=flag)
        except Exception as e:  # noqa: BLE001
            self.log(f"hook not fired: {type(e).__name__}: {e}")


def start(run_dir: RunDir, spec: dict, journal_path: str, run_id: str,
          log: Callable[[str], None], watching: bool = True) -> Watch:
    w = Watch(run_dir, spec, journal_path, run_id, log)
    return w.start() if watching else w
