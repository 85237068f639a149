"""A run's Slurm settings (``[experiments.X.slurm]`` or ``labtui run --on slurm``) and its tag.

The journal keeps what was asked in the run's ``slurm`` inline table (``job_id``, ``partition``,
``nodes``, ``state``, ``reason``, ``requeued``); the job carries the run tag in its name and
comment, so a kill never cancels a job labtui did not start.
"""

from __future__ import annotations

from typing import Any

from ..errors import UserError

# key in the table -> sbatch option
OPTIONS = {
    "partition": "--partition",
    "gres": "--gres",
    "time": "--time",
    "cpus_per_task": "--cpus-per-task",
    "mem": "--mem",
    "account": "--account",
    "qos": "--qos",
    "signal": "--signal",  # e.g. "B:USR1@90": the shim passes USR1 on as the graceful stop
}
OTHER_KEYS = {"extra", "python"}  # extra: more sbatch args; python: the interpreter on the nodes
BACKENDS = ("local", "slurm")


def slurm_config(template: dict | None, on: str | None, experiment: str | None = None) -> dict | None:
    """The Slurm table a run submits with, or None for a local run.

    ``on``: ``"slurm"``, ``"local"`` or None (the template decides: a ``slurm`` table means Slurm).
    """
    if on is not None and on not in BACKENDS:
        raise UserError(f"--on {on!r}: local or slurm")
    raw = (template or {}).get("slurm")
    where = f"experiments.{experiment}.slurm" if experiment else "the slurm table"
    if raw is not None and not isinstance(raw, dict):
        raise UserError(f"{where} must be a table")
    if on == "local" or (on is None and raw is None):
        return None
    cfg = dict(raw or {})
    for k, v in cfg.items():
        if k not in OPTIONS and k not in OTHER_KEYS:
            raise UserError(f"{where}: unknown key {k!r}; known: "
                            + ", ".join(sorted([*OPTIONS, *OTHER_KEYS])))
        if k == "extra":
            if not isinstance(v, list) or not all(isinstance(a, str) for a in v):
                raise UserError(f"{where}.extra must be a list of sbatch arguments (strings)")
        elif isinstance(v, bool) or not isinstance(v, (str, int)):
            raise UserError(f"{where}.{k} must be a string or an integer, not {v!r}")
        elif "\n" in str(v) or "\r" in str(v):
            raise UserError(f"{where}.{k}: one line only")
    return cfg


def sbatch_options(cfg: dict) -> list[str]:
    """The sbatch arguments of a Slurm table (known keys in a fixed order, then ``extra``)."""
    out = [f"{opt}={cfg[k]}" for k, opt in OPTIONS.items() if k in cfg and cfg[k] != ""]
    out.extend(cfg.get("extra") or [])
    return out


def job_name(run_id: str) -> str:
    return f"labtui:{run_id}"


def job_comment(lab: str, run_id: str) -> str:
    """The run tag a job carries: the run id and the lab (the journal's real path)."""
    return f"labtui run={run_id} lab={lab}"


def journal_table(cfg: dict) -> dict[str, Any]:
    """What the journal's ``slurm`` table records at submission (before the job id is known): the
    settings (a resume submits with them again) and the state."""
    return {**{k: v for k, v in cfg.items() if k in OPTIONS or k in OTHER_KEYS}, "state": "SUBMITTING"}


def settings_of(table: Any) -> dict:
    """The submission settings kept in a run's journal ``slurm`` table (for its resume)."""
    if not isinstance(table, dict):
        return {}
    return {k: v for k, v in table.items() if k in OPTIONS or k in OTHER_KEYS}
