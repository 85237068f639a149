"""The dated diary of a lab: each day's events in order, from the journal and the run folders.

Events: launched (with the command), resumed (from which run and checkpoint), finished,
queued (waiting its turn), killed (with the reason), stopped by a rule (with the rule and value),
cancelled before it started (with the reason), failed (exit code or signal, last traceback
line), lost, notes.
Times are shown as written in the journal (its own wall clock); nothing here reads the clock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable

from ..errors import UserError
from ..metrics import last_traceback
from ..rundir import RunDir
from ..runs import RunInfo, Status
from ..stoprules import stop_reason

KILL_NOTE = "killed: "


@dataclass(frozen=True)
class Event:
    at: dt.datetime              # naive, the journal's wall clock
    order: int                   # ties: launch < note < end
    run: str
    kind: str                    # launched resumed finished killed failed lost note
    detail: dict


def parse_day(s: str | None, what: str) -> dt.date | None:
    if s is None:
        return None
    try:
        return dt.date.fromisoformat(s.strip()[:10])
    except ValueError:
        raise UserError(f"{what} {s!r}: give a date as YYYY-MM-DD") from None


def _naive(t) -> dt.datetime | None:
    if isinstance(t, dt.datetime):
        return t.replace(tzinfo=None)
    if isinstance(t, str):
        try:
            return dt.datetime.fromisoformat(t).replace(tzinfo=None)
        except ValueError:
            return None
    return None


def last_traceback_line(rd: RunDir) -> str | None:
    tb = last_traceback(rd.log)
    if not tb:
        return None
    lines = [ln.strip() for ln in tb.splitlines() if ln.strip()]
    return lines[-1] if lines else None


def kill_reason(info: RunInfo) -> str | None:
    k = info.rundir.read_kill() or {}
    reason = k.get("reason")
    if isinstance(reason, str) and reason:
        return reason
    for n in info.notes:
        if n["text"].startswith(KILL_NOTE):
            return n["text"][len(KILL_NOTE):]
    return None


def run_events(info: RunInfo) -> list[Event]:
    out = []
    queued = _naive(info.extra.get("queued"))
    if queued is not None:  # waited its turn first (--queue, --after, a pipeline stage); order
        # -1: before its own launch within the same second (journal times are whole seconds)
        out.append(Event(queued, -1, info.id, "queued", {
            "experiment": info.experiment, "command": info.command,
            "after": (info.extra.get("queue") or {}).get("after")}))
    started = _naive(info.started)
    if started is not None:
        if info.parent:
            out.append(Event(started, 0, info.id, "resumed", {
                "parent": info.parent, "checkpoint": info.resumed_from, "step": info.resume_step,
                "command": info.command}))
        else:
            out.append(Event(started, 0, info.id, "launched", {
                "experiment": info.experiment, "command": info.command}))
    reason = kill_reason(info) if info.status == Status.KILLED else None
    for n in info.notes:
        at = _naive(n.get("at"))
        if at is None:
            continue
        if reason is not None and n["text"] == KILL_NOTE + reason:
            continue  # the kill's own note: said by the kill event
        out.append(Event(at, 1, info.id, "note", {"text": n["text"]}))
    ended = _naive(info.ended) or _naive((info.exit_record or {}).get("ended"))
    if ended is not None and not info.status.live and not info.status.waiting:
        d: dict = {"exit_code": info.exit_code, "signal": info.signal}
        if started is not None:
            d["duration"] = (ended - started).total_seconds()
        if info.status == Status.KILLED:
            d["reason"] = reason
        elif info.status == Status.STOPPED:
            d["reason"] = stop_reason(info)
        elif info.status == Status.CANCELLED:
            why = (info.exit_record or {}).get("cancelled") or info.extra.get("cancel_reason")
            d["reason"] = why if isinstance(why, str) and why else None
        elif info.status == Status.FAILED:
            d["traceback"] = last_traceback_line(info.rundir)
        out.append(Event(ended, 2, info.id, str(info.status), d))
    return out


def events(infos: Iterable[RunInfo], since: dt.date | None = None,
           until: dt.date | None = None) -> list[Event]:
    """Every event of ``infos`` within [since, until] (days, inclusive), in time order."""
    evs = [e for r in infos for e in run_events(r)
           if (since is None or e.at.date() >= since) and (until is None or e.at.date() <= until)]
    evs.sort(key=lambda e: (e.at, e.order, e.run))
    return evs
