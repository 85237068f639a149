"""The shim's side of a Slurm run (``python -m tui.core.shim --foreground RUN_DIR`` in the job):
record the node and the attempt in the journal's ``slurm`` table, and continue a requeued job's
run (same ``output.log``; its newest checkpoint as ``$LABTUI_RESUME_FROM``)."""

from __future__ import annotations

import os
import re
import socket
import time

import tomlkit

from .. import procs
from ..journal import Journal, JournalError, UnknownRun
from ..rundir import RunDir
from . import cmd
from .state import OUTSIDE


def attempt() -> int:
    """How many times Slurm requeued this job (``SLURM_RESTART_COUNT``; 0 on the first start)."""
    try:
        return int(os.environ.get("SLURM_RESTART_COUNT") or 0)
    except ValueError:
        return 0


def prepare(run_dir: RunDir, env: dict) -> None:
    """Before the trainer starts: on a requeued attempt, forget the last attempt's end, mark the
    log and let the trainer resume from the run's newest checkpoint."""
    n = attempt()
    if n <= 0 or "SLURM_JOB_ID" not in os.environ:
        return
    try:
        run_dir.exit_file.unlink()
    except FileNotFoundError:
        pass
    ck = run_dir.latest_checkpoint()
    if ck is not None and procs.RESUME_ENV not in env:
        env[procs.RESUME_ENV] = str(ck)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    with open(run_dir.log, "ab") as f:
        f.write(f"labtui: {stamp} Slurm requeued job {os.environ['SLURM_JOB_ID']} (attempt {n + 1})"
                f"{'; resuming from ' + ck.name if ck is not None else ''}\n".encode())


def record_start(journal_path: str, run_id: str) -> None:
    """The job's node, state and requeue count in the run's ``slurm`` table (best effort: the
    poll shows the node anyway)."""
    if "SLURM_JOB_ID" not in os.environ:
        return
    try:
        with Journal(journal_path).edit_run(run_id, "slurm") as rec:
            old = rec.get("slurm")
            t = tomlkit.inline_table()
            t.update({k: v for k, v in (old or {}).items()})
            t["job_id"] = t.get("job_id") or os.environ["SLURM_JOB_ID"]
            t["nodes"] = os.environ.get("SLURMD_NODENAME") or socket.gethostname().split(".")[0]
            t["state"] = "RUNNING"
            if "reason" in t:
                del t["reason"]
            if attempt():
                t["requeued"] = attempt()
            rec["slurm"] = t
    except (JournalError, UnknownRun, OSError):
        pass


WARNED = "stopped on Slurm's USR1 warning (time limit or preemption near); passed on as SIGINT"

# slurmstepd's line in the job's output (slurm.out) when it signals the job to end it
_CANCELLED = re.compile(rb"\*\*\* JOB (\d+) ON \S+ CANCELLED AT \S+(?: DUE TO ([A-Z ]+?))? \*\*\*")
_DUE_TO = {b"TIME LIMIT": "TIMEOUT", b"PREEMPTION": "PREEMPTED", b"NODE FAILURE": "NODE_FAIL",
           b"JOB REQUEUE": "REQUEUED"}


def _why_ended(run_dir: RunDir, job: str) -> str:
    """Slurm's word on why it is ending the job: slurmstepd writes ``*** JOB N ON node CANCELLED AT
    ... [DUE TO TIME LIMIT] ***`` to the job's output before its signals; the controller says
    only COMPLETING until the batch step (this shim) has exited.  "" when Slurm said nothing."""
    try:
        with open(run_dir.slurm_out, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 65536))
            tail = f.read()
    except OSError:
        tail = b""
    found = [m for m in _CANCELLED.finditer(tail) if m.group(1).decode() == job]
    if found:
        due = found[-1].group(2)
        return "CANCELLED" if due is None else _DUE_TO.get(due, due.decode().replace(" ", "_"))
    try:
        p = cmd.run(["scontrol", "--oneliner", "show", "job", job], timeout=10)
    except cmd.SlurmDown:
        return ""
    m = re.search(r"\bJobState=(\S+)", p.stdout) if p.returncode == 0 else None
    return m.group(1).upper() if m else ""


def judge_end(run_dir: RunDir, journal_path: str, run_id: str, exit_info: dict,
              warned: bool = False) -> dict:
    """A trainer that did not end cleanly in a Slurm job: was it Slurm's doing?  (See
    :func:`_why_ended`.)  A job cancelled outside labtui (``scancel``) ends ``killed`` with that
    reason; a time limit, preemption or node failure keeps ``failed`` with Slurm's state as
    reason.  Returns the journal fields to write with the end (the ``slurm`` table), or {} (a
    clean end, labtui's own kill, or Slurm said nothing).  A job Slurm requeues did not end:
    ``{"requeued": True, ...}`` and the journal fields of a pending run (no exit.json)."""
    job = os.environ.get("SLURM_JOB_ID")
    if not job or exit_info.get("killed") or (exit_info.get("code") == 0 and not exit_info.get("signal")):
        return {}
    state = _why_ended(run_dir, job)
    if state == "REQUEUED":  # not an end: the next attempt continues this run (see prepare)
        t = _slurm_table(journal_path, run_id, job,
                         state="REQUEUED", reason="requeued by Slurm", requeued=attempt() + 1)
        return {"requeued": True, "status": "pending", "slurm": t}
    if state not in ("CANCELLED", "TIMEOUT", "PREEMPTED", "NODE_FAIL", "DEADLINE", "OUT_OF_MEMORY"):
        if warned:
            exit_info["reason"] = WARNED
        return {}
    if state == "CANCELLED":
        why = OUTSIDE
        exit_info["killed"] = True
    else:
        why = f"Slurm ended the job: {state}"
    exit_info["reason"] = why
    exit_info["slurm"] = {"state": state, "reason": why}
    return {"slurm": _slurm_table(journal_path, run_id, job, state=state, reason=why)}


def _slurm_table(journal_path, run_id: str, job: str, **fields):
    """The run's journal ``slurm`` table as it stands (or a new one for ``job``) updated with
    ``fields``: an inline table, ready for the end's journal write."""
    try:
        old = (Journal(journal_path).read().get("runs") or {}).get(run_id, {}).get("slurm")
    except (JournalError, OSError):
        old = None
    t = tomlkit.inline_table()
    t.update(dict(old) if isinstance(old, dict) else {"job_id": job})
    t.update(fields)
    return t
