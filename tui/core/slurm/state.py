"""A Slurm run's live status: ``exit.json`` (the shim on the node wrote it), ``state.json`` (the
trainer started) and the batched Slurm poll: ``pending`` (with Slurm's reason) → ``running`` (on
its node) → ended as a local run.  Never ``/proc``: the job runs on another machine.

A job that ended without the shim's ``exit.json`` is told honestly: cancelled outside labtui
(``scancel``: ``killed`` if its trainer had started, else ``cancelled``), or ``failed`` with the
Slurm state (TIMEOUT, NODE_FAIL, OUT_OF_MEMORY, ...).  A Slurm that does not answer changes
nothing: the run keeps its last known status and says "slurm: not responding".
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..rundir import RunDir
from ..status import ACTIVE, Status, final_status
from . import poll
from .cmd import NOT_RESPONDING, SlurmDown

OUTSIDE = "scancel outside labtui"
ACTIVE_WORDS = frozenset({"SUBMITTING", *poll.PENDING_STATES, *poll.RUNNING_STATES})


def slurm_table(rec: dict) -> dict | None:
    """The run's ``slurm`` table from the journal, or None (a local run)."""
    t = rec.get("slurm")
    return t if isinstance(t, dict) else None


def job_id(rec: dict) -> str:
    t = slurm_table(rec) or {}
    return str(t.get("job_id") or "")


def _iso_now() -> str:
    return dt.datetime.now().astimezone().replace(microsecond=0).isoformat()


def ended_without_record(job: poll.Job | None, job_id: str, started: bool, rd: RunDir) -> dict:
    """An exit record for a job that ended with no ``exit.json`` from its shim."""
    base: dict[str, Any] = {"code": None, "signal": None, "ended": _iso_now(), "killed": False}
    if job is None:
        why = f"Slurm no longer knows job {job_id} and its shim left no exit.json"
        return {**base, "error": why, "slurm": {"state": "UNKNOWN", "reason": why}}
    if job.state == "CANCELLED":
        if "depend" in job.reason.lower():
            why = f"its --after dependency can never be satisfied (Slurm: {job.reason})"
        elif rd.kill_requested():
            why = "cancelled by labtui kill"
        else:
            why = OUTSIDE
        sl = {"state": job.state, "reason": why}
        if started:
            return {**base, "killed": True, "reason": why, "slurm": sl}
        return {**base, "cancelled": why, "slurm": sl}
    why = f"Slurm job ended {job.state}" + (f" ({job.reason})" if job.reason else "") + " without the shim's exit record"
    return {**base, "error": why, "slurm": {"state": job.state, "reason": why}}


def live_status(rec: dict, rd: RunDir) -> tuple[Status, dict | None]:
    """(status, exit record or None) of a Slurm run whose ``exit.json`` is absent."""
    recorded = Status.parse(rec.get("status"))
    if recorded is not None and recorded not in ACTIVE:
        return recorded, None  # ended and recorded: trust the journal
    started = bool(rd.read_state().get("pid"))
    jid = job_id(rec)
    if not jid:  # sbatch has not answered yet (launch records a failed submission itself)
        return recorded or Status.PENDING, None
    try:
        job = poll.job(jid)
    except SlurmDown:
        return (Status.RUNNING if started else (recorded or Status.PENDING)), None
    if job is not None and job.pending:
        return Status.PENDING, None
    if job is not None and job.running:
        return (Status.RUNNING if started else Status.STARTING), None
    exit_info = rd.read_exit()  # it may have been written since the caller looked
    if exit_info is not None:
        return final_status(exit_info), exit_info
    info = ended_without_record(job, jid, started, rd)
    return final_status(info), info


def slurm_view(rec: dict, status: Status, exit_info: dict | None = None) -> dict | None:
    """The Slurm fields of a run for listings (None for a local run): the journal's table,
    refreshed from the (cached) poll while the run is active; ``note`` says when Slurm did
    not answer."""
    t = slurm_table(rec)
    if t is None:
        return None
    out = {k: t.get(k) for k in ("job_id", "partition", "nodes", "state", "reason", "requeued")}
    out["note"] = None
    if status not in ACTIVE and str(out.get("state") or "") in ACTIVE_WORDS:
        out["state"] = None  # the journal's last word while it ran; Slurm's final word is not kept
    if exit_info and isinstance(exit_info.get("slurm"), dict):
        out.update({k: v for k, v in exit_info["slurm"].items() if k in ("state", "reason")})
    jid = job_id(rec)
    if jid and status in ACTIVE:
        try:
            job = poll.job(jid)
        except SlurmDown:
            out["note"] = NOT_RESPONDING
        else:
            if job is not None:
                out["state"], out["reason"] = job.state, job.reason or None
                if job.nodes:
                    out["nodes"] = job.nodes
    return out


def describe(view: dict | None) -> str:
    """One line for a Slurm run's job: ``job 12 on node3, RUNNING`` / ``job 13, PENDING (Priority)``,
    ``requeued 2x``, ``slurm: not responding``; "" for a local run.  (Journal data: the caller
    sanitises it like any other.)"""
    if not view:
        return ""
    s = f"job {view.get('job_id') or '?'}"
    if view.get("nodes"):
        s += f" on {view['nodes']}"
    if view.get("partition"):
        s += f" ({view['partition']})"
    if view.get("state"):
        s += f", {view['state']}"
    if view.get("reason"):
        s += f": {view['reason']}"
    if view.get("requeued"):
        s += f"; requeued {view['requeued']}x"
    if view.get("note"):
        s += f"; {view['note']}"
    return s
