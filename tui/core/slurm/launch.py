"""The Slurm part of :func:`tui.core.runs.launch`: checks before a run id is used, the journal
record (``pending`` + the ``slurm`` table), and the submission that replaces the local shim."""

from __future__ import annotations

import tomlkit

from .. import procs
from ..errors import UserError
from ..journal import Journal
from ..journal import now as _now
from ..rundir import RunDir
from ..status import Status
from . import poll, submit as _submit
from .config import journal_table

GPUS_FOR_SLURM = ("--gpus is for local runs: a Slurm run gets its GPUs from its allocation "
                  "(gres = \"gpu:1\" in [experiments.NAME.slurm])")


def check(data: dict, cfg: dict | None, gpus: object, after: list[str] | None) -> str | None:
    """Validate a Slurm launch before anything is written; its ``--dependency`` value or None."""
    if cfg is None:
        return None  # a local run: --after is the local queue's
    if gpus is not None and str(gpus).strip().lower() != "none":
        raise UserError(GPUS_FOR_SLURM)
    return _submit.dependency(data.get("runs") or {}, after)


def _inline(d: dict):
    t = tomlkit.inline_table()
    t.update(d)
    return t


def record(rec, cfg: dict) -> None:
    """The new run's journal record as a Slurm run (inside launch's journal edit)."""
    rec["status"] = str(Status.PENDING)
    rec["slurm"] = _inline(journal_table(cfg))


def submit(j: Journal, run_id: str, run_dir: RunDir, cfg: dict, dep: str | None, env: dict) -> str:
    """sbatch the run; record the job id (or the failure, then raise its one-line error)."""
    try:
        job = _submit.submit(procs.lab_id(j.path), run_id, run_dir, cfg, dep, env)
    except (UserError, OSError) as e:
        msg = str(e) if isinstance(e, UserError) else f"cannot write the batch script: {e}"
        with j.edit_run(run_id, "status") as rec:
            rec["status"] = str(Status.FAILED)
            rec["ended"] = _now()
            rec["slurm"] = _inline({**dict(rec.get("slurm") or {}), "state": "NOT_SUBMITTED", "reason": msg})
        raise UserError(msg) from None
    poll.forget()
    with j.edit_run(run_id, "slurm") as rec:
        t = dict(rec.get("slurm") or {})
        t["job_id"] = job
        if t.get("state") == "SUBMITTING":  # the shim may already have recorded RUNNING
            t["state"] = "PENDING"
        rec["slurm"] = _inline(t)
    return job


def record_end(rec, fields: dict) -> None:
    """Slurm's word on a job that ended without the shim's record (state, reason) in the run's
    ``slurm`` table (inside reconcile's journal edit)."""
    t = dict(rec.get("slurm") or {})
    t.update({k: v for k, v in fields.items() if k in ("state", "reason") and v})
    rec["slurm"] = _inline(t)
