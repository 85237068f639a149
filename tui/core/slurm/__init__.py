"""Slurm: a run's shim inside a Slurm job (``labtui run --on slurm`` or ``[experiments.X.slurm]``).

labtui drives Slurm, it does not schedule: ``submit`` builds the job (``sbatch --parsable``; the
job runs ``python -m tui.core.shim --foreground RUN_DIR`` on the node, so the run folder and the
journal are written exactly as for a local run: the lab is on the cluster's shared filesystem);
``poll`` asks Slurm about every job of this user in one batched, cached call per refresh;
``state`` turns that into a run's live status (never ``/proc``: the job runs on another node);
``cancel`` is the kill escalation through ``scancel``.  Every Slurm command has a timeout; a Slurm
that does not answer is a state ("slurm: not responding"), never a crash nor ``lost``.
"""

from .cmd import NOT_RESPONDING, SlurmDown
from .config import job_comment, job_name, settings_of, slurm_config
from .state import describe, live_status, slurm_view

__all__ = ["NOT_RESPONDING", "SlurmDown", "describe", "job_comment", "job_name", "live_status", "settings_of", "slurm_config",
           "slurm_view"]
