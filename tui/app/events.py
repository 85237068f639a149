"""What the app announces (toast, bell, and the desktop notification when ``notify = "osc"``): a
run it watched end (finished, failed, stopped by a rule, killed) or get a new flag (NaN,
cliff, traceback, silent).  Textual-free: :class:`Announcer` turns polls into
:class:`Event` objects; ``LabApp`` shows them.

What the first look at a run finds is the baseline, never news: opening the app on a lab
full of ended and flagged runs announces nothing.  The texts are the core's
(``tui.core.notify.message``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from ..core.metrics import RunFlags, silence
from ..core.notify import event_for, message
from ..core.status import Status
from ..core.stoprules import stop_reason
from .model import PollResult

SEVERITY = {"run_failed": "error", "run_stopped": "warning", "run_killed": "warning",
            "flag": "warning", "run_ended": "information"}


@dataclass
class Event:
    name: str        # tui.core.notify.EVENTS
    run_id: str
    text: str

    @property
    def severity(self) -> str:
        return SEVERITY.get(self.name, "information")


def _kinds(flags: RunFlags) -> dict[str, str]:
    """{kind: label} of the flags a poll's metrics gave (the cliff and silence come apart)."""
    out = {}
    if flags.nan_at is not None:
        out["nan"] = RunFlags(nan_at=flags.nan_at).labels()[0]
    if flags.traceback:
        out["traceback"] = "traceback"
    return out


def _reason(info: Any) -> str | None:
    st = Status.parse(info.status)
    if st == Status.STOPPED:
        return stop_reason(info)
    if st in (Status.FAILED, Status.LOST):
        if info.signal:
            return f"signal {info.signal}"
        return f"exit {info.exit_code}" if info.exit_code is not None else None
    return None


@dataclass
class Announcer:
    clock: Callable[[], float] = time.time
    primed: bool = False                                # the first run list was seen
    seen: dict[str, set] = field(default_factory=dict)  # run id -> flag kinds already known
    cliff_looked: set = field(default_factory=set)      # runs whose cliff was judged once

    def _flag(self, rid: str, kind: str, label: str, new: dict) -> None:
        known = self.seen.setdefault(rid, set())
        if kind not in known:
            known.add(kind)
            new.setdefault(rid, []).append(label)

    def feed(self, before: dict, infos: dict, res: PollResult) -> list[Event]:
        """Events of one poll: ``before`` and ``infos`` are the app's runs (id -> RunInfo)
        before and after it was applied."""
        new_flags: dict[str, list[str]] = {}
        for rd in res.updates:
            kinds = _kinds(rd.flags)
            if rd.run_id not in self.seen:
                self.seen[rd.run_id] = set(kinds)  # the baseline
                continue
            for kind, label in kinds.items():
                self._flag(rd.run_id, kind, label, new_flags)
        for rid, x in res.cliffs.items():
            if rid not in self.cliff_looked:
                self.cliff_looked.add(rid)
                if x is not None:
                    self.seen.setdefault(rid, set()).add("cliff")
            elif x is not None:
                self._flag(rid, "cliff", RunFlags(cliff_at=x).labels()[0], new_flags)
        now = self.clock()
        for rid, mtime in res.log_mtimes.items():
            info = infos.get(rid)
            quiet = silence(mtime, bool(info is not None and info.alive), now)
            known = self.seen.setdefault(rid, set())
            if quiet is None:
                known.discard("silent")
            elif rid in before and "silent" not in known:
                self._flag(rid, "silent", RunFlags(silent_for=quiet).labels()[0], new_flags)
            else:
                known.add("silent")
        events = []
        if res.runs is not None:
            for info in res.runs:
                prev = before.get(info.id)
                st = Status.parse(info.status)
                if st is None or not st.ended:
                    continue
                if prev is None and not self.primed:
                    continue  # ended before the app looked: not news
                if prev is not None and (Status.parse(prev.status) or Status.LOST).ended:
                    continue
                name = event_for(st)
                if name is None:
                    continue
                flags = new_flags.pop(info.id, [])
                events.append(Event(name, info.id, message(info.id, st, _reason(info),
                                                           ", ".join(flags) or None)))
            self.primed = True
        for rid, labels in new_flags.items():
            events.append(Event("flag", rid, message(rid, flag=", ".join(labels))))
        return events
