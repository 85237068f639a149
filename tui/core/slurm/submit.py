"""Submitting a run: the batch script in the run folder and ``sbatch --parsable``.

The job runs the run's shim in the foreground (``exec``: the shim *is* the batch step's shell,
so ``scancel --batch --signal=...`` reaches it and it passes the signal on to the trainer root
only, as a local kill does); Slurm's own output goes to ``slurm.out``, the trainer's to
``output.log`` exactly as for a local run.
"""

from __future__ import annotations

import shlex
import sys

from ..errors import UserError
from ..fsio import write_atomic
from ..rundir import RunDir
from ..status import Status
from . import cmd
from .config import job_comment, job_name, sbatch_options

SUBMIT_TIMEOUT = 30.0


def batch_script(run_dir: RunDir, python: str | None = None) -> str:
    py = python or sys.executable
    return ("#!/bin/bash\n"
            "# Submitted by labtui (the sbatch options are on its command line: see the journal).\n"
            "# The run's shim in the foreground: output.log, exit.json and the journal as for a local run.\n"
            f"exec {shlex.quote(py)} -m tui.core.shim --foreground {shlex.quote(str(run_dir.path))}\n")


def dependency(runs: dict, after: list[str] | None) -> str | None:
    """``--after RUN[,RUN:finished]`` of a Slurm run as a Slurm dependency (``afterany:JOB`` /
    ``afterok:JOB``), from the journal's runs; UserError for a run that is not a Slurm run or that
    ended in a way ``RUN:finished`` can never accept.  A run that already ended as asked adds nothing."""
    deps = []
    for item in after or []:
        run_id, _sep, cond = str(item).partition(":")
        run_id, cond = run_id.strip(), cond.strip()
        if cond not in ("", "finished"):
            raise UserError(f"--after {item}: RUN or RUN:finished")
        rec = runs.get(run_id)
        if not isinstance(rec, dict):
            raise UserError(f"--after {item}: unknown run {run_id!r}")
        job = (rec.get("slurm") or {}).get("job_id") if isinstance(rec.get("slurm"), dict) else None
        status = Status.parse(rec.get("status"))
        if status is not None and status.ended:
            if cond == "finished" and status != Status.FINISHED:
                raise UserError(f"--after {item}: {run_id} ended {status}, it will never finish")
            continue
        if not job:
            raise UserError(f"--after {item}: {run_id} is not a Slurm run (a Slurm run can only wait "
                            "for Slurm jobs)")
        deps.append(f"{'afterok' if cond == 'finished' else 'afterany'}:{job}")
    return ",".join(deps) or None


def sbatch_argv(lab: str, run_id: str, run_dir: RunDir, cfg: dict, dep: str | None) -> list[str]:
    argv = ["sbatch", "--parsable",
            f"--job-name={job_name(run_id)}",
            f"--comment={job_comment(lab, run_id)}",
            f"--output={run_dir.slurm_out}",
            "--open-mode=append",  # a requeued job appends, as the shim does to output.log
            f"--chdir={run_dir.path}",
            "--kill-on-invalid-dep=yes"]  # an --after RUN:finished whose run failed: cancelled
    if dep:
        argv.append(f"--dependency={dep}")
    argv.extend(sbatch_options(cfg))
    argv.append(str(run_dir.slurm_script))
    return argv


def submit(lab: str, run_id: str, run_dir: RunDir, cfg: dict, dep: str | None, env: dict) -> str:
    """Write the batch script and submit it; the job id.  UserError with sbatch's message."""
    write_atomic(run_dir.slurm_script, batch_script(run_dir, cfg.get("python")), mode=0o755)
    try:
        p = cmd.run(sbatch_argv(lab, run_id, run_dir, cfg, dep), timeout=SUBMIT_TIMEOUT, env=env)
    except cmd.SlurmDown as e:
        raise UserError(f"sbatch: {e}") from None
    job = p.stdout.strip().split(";")[0]
    if p.returncode != 0 or not job.isdigit():
        raise UserError(f"sbatch failed: {cmd.one_line(p.stderr) or p.stdout.strip() or p.returncode}")
    return job
