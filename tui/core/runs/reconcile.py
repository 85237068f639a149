"""Reconcile: write what the run folders and ``/proc`` say back into the journal, on purpose.

Listing is pure (:func:`tui.core.runs.list_runs`); a run that ended while nobody watched (its
shim could not update the journal, or vanished) is recorded as such only when a caller asks:
the CLI's ``ls`` and ``kill``, and the app's poller.
"""

from __future__ import annotations

from ..journal import Journal, JournalError, UnknownRun
from ..slurm.launch import record_end
from ..status import Status
from . import queue as _queue
from .launch import _spawn_shim
from .model import RunInfo, as_journal, list_runs, parse_iso

_ENDED_BY_SHIM = (Status.FINISHED, Status.FAILED, Status.KILLED, Status.STOPPED, Status.CANCELLED)


def stale(data: dict, infos: list[RunInfo]) -> dict[str, tuple[Status, dict | None]]:
    """Runs whose live status the journal does not record yet: ``{id: (status, exit record)}``.

    ``starting`` is never written (the shim writes it, then ``running``), nor is ``running``
    over ``starting`` (the shim is about to write it itself).
    """
    runs = data.get("runs") or {}
    out = {}
    for r in infos:
        recorded = (runs.get(r.id) or {}).get("status")
        if r.status == recorded or r.status == Status.STARTING:
            continue
        if r.status == Status.RUNNING and recorded == Status.STARTING:
            continue
        out[r.id] = (r.status, r.exit_record)
    return out


def reconcile(journal: Journal | str | None = None, data: dict | None = None,
              infos: list[RunInfo] | None = None) -> list[str]:
    """Write live statuses the journal lacks; return the ids written (``[]``: nothing to do).

    ``data`` / ``infos``: a journal read and its :func:`list_runs` the caller already has.  One
    locked edit, only when something changed; a read-only or broken lab writes nothing and
    raises nothing (listing must still work there).
    """
    j = as_journal(journal)
    try:
        if data is None:
            data = j.read()
        if infos is None:
            infos = list_runs(j, data)
        _queue.rearm(j, infos, _spawn_shim)  # queued runs whose shim is gone (a reboot)
        changes = stale(data, infos)
        if not changes:
            return []
        return _write_back(j, changes)
    except (JournalError, OSError):
        return []


def _write_back(j: Journal, changes: dict[str, tuple[Status, dict | None]]) -> list[str]:
    if len(changes) <= _ONE_BY_ONE:
        # Each run's own span of the journal (fast on a big journal), one locked edit each.
        written = []
        for run_id, change in changes.items():
            try:
                with j.edit_run(run_id, "status") as rec:
                    if _apply(rec, *change):
                        written.append(run_id)
            except UnknownRun:
                continue
        return written
    written = []
    with j.edit() as doc:
        runs = doc.get("runs") or {}
        for run_id, change in changes.items():
            if run_id in runs and _apply(runs[run_id], *change):
                written.append(run_id)
    return written


_ONE_BY_ONE = 8  # more changed runs than this: one whole-document edit


def _apply(rec, status: Status, exit_info: dict | None) -> bool:
    if rec.get("status") in _ENDED_BY_SHIM and exit_info is None:
        return False
    rec["status"] = str(status)
    if exit_info is not None:
        ended = parse_iso(exit_info.get("ended"))
        if ended is not None:
            rec["ended"] = ended
        for key, src in (("exit_code", "code"), ("signal", "signal"), ("stop_reason", "stopped")):
            if exit_info.get(src) is not None:
                rec[key] = exit_info[src]
            elif key in rec:
                del rec[key]
        if isinstance(exit_info.get("slurm"), dict):  # a Slurm job that ended without exit.json
            record_end(rec, exit_info["slurm"])
    return True
