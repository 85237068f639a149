"""Killing a Slurm run: the local escalation, through Slurm.

``scancel --batch --signal=INT JOB``, grace, ``--signal=TERM``, grace, then ``scancel JOB``.
``--batch`` signals the batch step's shell only, which is the run's shim (the batch script
``exec``s it); the shim passes the signal to the trainer root alone, exactly as for a local
run, so DataLoader workers live until the checkpoint is saved (``--full`` would signal every
process of the step at once, and the trainer twice).  A pending job is cancelled at once.

Only jobs labtui started: the job id from the journal AND the run tag in the job's name and
comment must match before any ``scancel``.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from typing import Callable

from .. import procs
from ..errors import UserError
from ..journal import Journal, UnknownRun
from ..rundir import RunDir
from ..status import Status, final_status
from . import cmd, poll
from .config import job_comment, job_name
from .launch import record_end

END_WAIT = 60.0  # after the final scancel: Slurm's KillWait (30 s by default) and some


def _iso_now() -> str:
    return dt.datetime.now().astimezone().replace(microsecond=0).isoformat()


def _job(job_id: str) -> poll.Job | None:
    try:
        return poll.job(job_id, fresh=True)
    except cmd.SlurmDown as e:
        raise UserError(f"slurm: not responding ({e}); nothing was cancelled, try again") from None


def _scancel(args: list[str]) -> None:
    try:
        cmd.run(["scancel", *args])
    except cmd.SlurmDown as e:
        raise UserError(f"scancel: slurm not responding ({e}); the job may still run: labtui kill again") from None
    finally:
        poll.forget()


def _wait_end(rd: RunDir, job_id: str, timeout: float) -> bool:
    """Wait until the shim wrote exit.json or the job left Slurm's running states; whether it did."""
    deadline = time.monotonic() + timeout
    next_poll = 0.0
    while True:
        if rd.has_exit():
            return True
        t = time.monotonic()
        if t >= next_poll:
            next_poll = t + 1.0
            try:
                job = poll.job(job_id, fresh=True)
            except cmd.SlurmDown:
                job = poll.Job(job_id, "RUNNING")  # unknown: keep waiting for exit.json
            if job is None or job.ended:
                return True
        if t > deadline:
            return False
        time.sleep(0.1)


def kill(j: Journal, run_id: str, job_id: str, grace: float, term_grace: float, mode: str,
         reason: str | None, progress: Callable[[str], None]) -> str:
    """Cancel the run's job (see the module doc); the run's final status."""
    rd = RunDir(j.run_dir(run_id))
    lab = procs.lab_id(j.path)
    job = _job(job_id)
    if job is None or job.ended:
        ex = rd.read_exit()
        if ex is not None:
            return str(final_status(ex))
        raise UserError(f"run {run_id!r}: Slurm job {job_id} is not active "
                        f"({job.state if job else 'unknown to Slurm'}); nothing was cancelled")
    if job.name != job_name(run_id) or job.comment != job_comment(lab, run_id):
        raise UserError(f"run {run_id!r}: Slurm job {job_id} is not this run's job (its name "
                        f"{job.name!r} / comment do not carry the run's tag); nothing was cancelled")
    record = {"requested": _iso_now(), "reason": reason, "mode": mode, "by_pid": os.getpid(),
              "slurm_job": job_id}
    rd.write_kill(record)

    def signalled() -> None:
        if "signalled" not in record:
            record["signalled"] = _iso_now()
            rd.write_kill(record)

    if job.pending:
        progress(f"cancelling pending Slurm job {job_id} of {run_id}")
        signalled()  # if it starts right now, its shim records the kill
        _scancel([job_id])
        _wait_end(rd, job_id, END_WAIT)
        ex = rd.read_exit()
        if ex is None:
            ex = {"code": None, "signal": None, "ended": _iso_now(), "killed": False,
                  "cancelled": "killed while pending in Slurm" + (f": {reason}" if reason else "")}
            _record(j, rd, run_id, ex, {"state": "CANCELLED", "reason": "labtui kill (pending)"})
        return str(final_status(ex))

    steps = {"graceful": [("INT", grace), ("TERM", term_grace)], "term": [("TERM", term_grace)]}.get(mode, [])
    for sig, wait_s in steps:
        progress(f"sending SIG{sig} to {run_id} (Slurm job {job_id}), waiting up to {wait_s:g}s")
        signalled()
        _scancel(["--batch", f"--signal={sig}", job_id])
        if _wait_end(rd, job_id, wait_s):
            break
    else:
        progress(f"cancelling Slurm job {job_id} of {run_id}")
        signalled()
        _scancel([job_id])
        if not _wait_end(rd, job_id, END_WAIT):
            raise UserError(f"run {run_id!r}: Slurm job {job_id} is still there {END_WAIT:g}s after "
                            "scancel; nothing was recorded (labtui kill again)")
    deadline = time.monotonic() + 10.0  # the job ended: its shim's exit.json follows (shared filesystem)
    while not rd.has_exit() and time.monotonic() < deadline:
        time.sleep(0.1)
    ex = rd.read_exit()
    if ex is None:  # the shim could not write it (killed): record the kill ourselves
        ex = {"code": None, "signal": "SIGKILL", "ended": _iso_now(), "killed": True}
        _record(j, rd, run_id, ex, {"state": "CANCELLED", "reason": "labtui kill"})
    return str(final_status(ex))


def _record(j: Journal, rd: RunDir, run_id: str, ex: dict, slurm_fields: dict) -> None:
    rd.write_exit(ex)
    try:
        with j.edit_run(run_id, "status") as rec:
            rec["status"] = str(final_status(ex))
            rec["ended"] = dt.datetime.fromisoformat(ex["ended"])
            if ex.get("signal"):
                rec["signal"] = ex["signal"]
            record_end(rec, slurm_fields)
    except UnknownRun:
        pass


def active(status: Status, slurm: dict | None) -> bool:
    """Whether a kill goes through Slurm: a Slurm run that has not ended (pending included)."""
    return slurm is not None and not status.ended
