"""The shim's side of a Slurm run (``python -m tui.core.shim --foreground RUN_DIR`` in the job):
record the node and the attempt in the journal's ``slurm`` table, and continue a requeued job's
run (same ``output.log``; its newest checkpoint as ``$LABTUI_RESUME_FROM``)."""

from __future__ import annotations

import os
import socket
import time

import tomlkit

from .. import procs
from ..journal import Journal, JournalError, UnknownRun
from ..rundir import RunDir


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
