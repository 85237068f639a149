"""Resuming: a new run that continues another from a checkpoint (``training_11`` → ``.1`` → ``.2``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

from .. import procs
from ..errors import UserError
from ..journal import Journal
from ..rundir import RunDir, checkpoint_step
from .launch import launch, taken_ids
from .model import as_journal, get_run, lineage


def latest_checkpoint(run_dir: Path | str) -> Path | None:
    """The run's newest complete checkpoint: ``checkpoints/latest`` if valid, else the highest step-N."""
    return RunDir(run_dir).latest_checkpoint()


def _checkpoint_from(from_path: str) -> Path:
    """``--from PATH``: a checkpoint, a run folder or its ``checkpoints/`` (their latest one)."""
    ckpt = Path(from_path).expanduser()
    if not ckpt.is_absolute():
        ckpt = Path.cwd() / ckpt
    if not ckpt.exists():
        raise UserError(f"checkpoint {from_path!r} does not exist")
    if ckpt.is_dir() and RunDir(ckpt).checkpoints_dir.is_dir():
        ckpt = latest_checkpoint(ckpt) or ckpt
    elif ckpt.is_dir() and ckpt.name == RunDir.CHECKPOINTS:
        ckpt = latest_checkpoint(ckpt.parent) or ckpt
    return ckpt


def resume(journal: Journal | str | None, run_id: str, params: dict | None = None,
           from_path: str | None = None, gpus: Any = None, name: str | None = None,
           warn: Callable[[str], None] | None = None, wait: bool = True) -> str:
    """Start a new run that continues ``run_id`` from a checkpoint; return the new id.

    The new id continues the chain of the lineage root: ``training_11`` →
    ``training_11.1`` → ``training_11.2`` ...
    """
    j = as_journal(journal)
    data = j.read()
    runs = data.get("runs") or {}
    parent = get_run(j, run_id, data)
    if from_path is not None:
        ckpt = _checkpoint_from(from_path)
    else:
        ckpt = parent.rundir.latest_checkpoint()
        if ckpt is None:
            raise UserError(
                f"run {run_id!r} has no complete checkpoint in {parent.rundir.checkpoints_dir}; "
                "give one with --from PATH")
    ckpt = ckpt.resolve()
    if name is None:
        root = lineage(j, run_id, data)[0]
        name = _next_resume_id(root, taken_ids(j, runs))
    env = {procs.RESUME_ENV: str(ckpt)}
    kwargs: dict[str, Any] = dict(
        parent=run_id, resumed_from=str(ckpt), resume_step=checkpoint_step(ckpt), env=env,
        name=name, gpus=gpus if gpus is not None else parent.gpus, warn=warn, wait=wait)
    exps = data.get("experiments") or {}
    if parent.experiment and parent.experiment in exps:
        merged = {**parent.params, **(params or {})}
        return launch(j, experiment=parent.experiment, params=merged, **kwargs)
    if params:
        raise UserError(f"run {run_id!r} has no experiment template: --set cannot change its command")
    return launch(j, command=parent.command, **kwargs)


def _next_resume_id(root: str, taken: set[str]) -> str:
    pat = re.compile(re.escape(root) + r"\.(\d+)$")
    n = max((int(m.group(1)) for t in taken if (m := pat.match(t))), default=0)
    return f"{root}.{n + 1}"
