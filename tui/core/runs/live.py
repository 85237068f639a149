"""A run's live status from its files and ``/proc``: pure, never writes.

``exit.json`` says how a run ended; ``state.json`` names the shim and the trainer by pid and
create time, so a reused pid is never mistaken for the run.  Together with the journal's
record they tell ``starting | running | finished | failed | killed | lost``.
"""

from __future__ import annotations

import datetime as dt
import time

from .. import procs
from ..rundir import RunDir
from ..slurm import state as slurm_state
from ..status import LIVE, Status, final_status

STARTING_TIMEOUT = 30.0  # seconds a run may stay "starting" without a shim before it is lost


def live_status(rec: dict, run_dir: RunDir, now_ts: float | None = None) -> tuple[Status, dict | None]:
    """Reconcile one run record with its files and /proc: (status, exit.json record or None)."""
    rd = run_dir if isinstance(run_dir, RunDir) else RunDir(run_dir)
    recorded = Status.parse(rec.get("status", "lost"))
    exit_info = rd.read_exit()
    if exit_info is not None:
        return final_status(exit_info), exit_info
    if slurm_state.slurm_table(rec) is not None:  # a Slurm job: Slurm's word, never /proc
        return slurm_state.live_status(rec, rd)
    if recorded is not None and recorded not in LIVE:
        # Ended and recorded (exit.json may be gone if the logs were deleted): trust the journal.
        return recorded, None
    state = rd.read_state()
    pid = state.get("pid", rec.get("pid"))
    ctime = state.get("create_time", rec.get("create_time"))
    if procs.matching_process(pid, ctime) is not None:
        return Status.RUNNING, None
    if procs.matching_process(state.get("shim_pid"), state.get("shim_create")) is not None:
        # Shim alive: it is starting the trainer, or writing exit.json right now.
        return (Status.RUNNING if pid else Status.STARTING), None
    if not state:
        started = rec.get("started")
        t0 = started.timestamp() if isinstance(started, dt.datetime) else 0.0
        if (now_ts if now_ts is not None else time.time()) - t0 < STARTING_TIMEOUT:
            return Status.STARTING, None
    # The shim is gone without exit.json (machine rebooted, shim killed): the run is lost.
    return Status.LOST, None
