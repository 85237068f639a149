"""Resuming: a new run that continues another from a checkpoint (``training_11`` → ``.1`` → ``.2``).

The checkpoint is the parent's newest complete one (:mod:`tui.core.checkpoints`: labtui's own
layout plus the template's ``checkpoints`` globs) or the one ``--from`` names by path, step or
name.  The new run gets it as ``$LABTUI_RESUME_FROM`` and as the ``{resume_from}`` placeholder;
the template's resume recipe (``[experiments.X.resume]``: ``set`` values, extra ``args``) tells
a trainer that does not read the variable how to continue.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

from .. import procs, stoprules
from ..checkpoints import (Checkpoint, is_own_layout, name_step, newest, pick, run_checkpoints,
                           run_cwd, template_of)
from ..errors import UserError
from ..journal import Journal
from ..rundir import RunDir
from ..slurm import settings_of
from .launch import launch, taken_ids
from .model import as_journal, get_run, lineage

NO_RECIPE = ("this template has no resume recipe: the script may start from scratch "
             "(it gets the checkpoint only as $LABTUI_RESUME_FROM; add [experiments.{exp}.resume])")


def latest_checkpoint(run_dir: Path | str) -> Path | None:
    """The run's newest complete checkpoint: ``checkpoints/latest`` if valid, else the highest step-N."""
    return RunDir(run_dir).latest_checkpoint()


def _checkpoint_from(from_path: str, listed: list[Checkpoint]) -> tuple[Path, int | None]:
    """``--from``: a listed checkpoint by step, name or path; else a checkpoint path, a run
    folder or its ``checkpoints/`` (their latest one)."""
    ck = pick(listed, from_path)
    if ck is not None:
        return ck.path, ck.step
    path = Path(from_path).expanduser()
    if not path.is_absolute():
        path = Path.cwd() / path
    if not path.exists():
        names = ", ".join(c.name for c in listed[-6:]) or "none"
        raise UserError(f"checkpoint {from_path!r} does not exist (this run's: {names})")
    if path.is_dir() and RunDir(path).checkpoints_dir.is_dir():
        path = latest_checkpoint(path) or path
    elif path.is_dir() and path.name == RunDir.CHECKPOINTS:
        path = latest_checkpoint(path.parent) or path
    return path, name_step(path)


def resume_warning(data: dict, info: Any, ckpt: Path | str) -> str | None:
    """The warning a resume of ``info`` from ``ckpt`` gets, or None: no recipe, and a
    checkpoint that is not labtui's own layout (whose trainers read $LABTUI_RESUME_FROM)."""
    if is_own_layout(ckpt):
        return None
    if template_of(data, info.experiment).get("resume"):
        return None
    return NO_RECIPE.format(exp=info.experiment or "NAME")


def parent_rules(info: Any) -> dict:
    """The stop rules a run was launched with, as ``spec.json`` holds them (``when``, ``on``,
    ``max_time``): its ``spec.json``, else the journal's ``stop`` line; empty when it had none."""
    spec = info.rundir.read_spec() or {}
    if isinstance(spec.get("stop"), dict):
        return stoprules.StopRules.from_json(spec["stop"]).to_json()
    try:
        return stoprules.StopRules.from_line(info.extra.get("stop")).to_json()
    except UserError:  # a hand-edited line: nothing to carry (spec.json is the record)
        return stoprules.StopRules().to_json()


def carried_rules(data: dict, info: Any, stop_when: list[str] | None, stop_on: list[str] | None,
                  max_time: str | None) -> tuple[list[str], list[str], Any]:
    """(stop_when, stop_on, max_time) for :func:`launch` of a continuation of ``info``: the
    parent's rules (less its template's, which launch adds again) unless the caller gives that
    kind (``--stop-when`` replaces the parent's thresholds, ``--stop-on`` its nan/plateau rules,
    ``--max-time`` its max-time)."""
    had = parent_rules(info)
    tmpl = stoprules.for_launch(template_of(data, info.experiment), info.experiment).to_json() \
        if info.experiment else {"when": [], "on": [], "max_time": None}
    when = list(stop_when) if stop_when else [w for w in had["when"] if w not in tmpl["when"]]
    on = list(stop_on) if stop_on else [o for o in had["on"] if o not in tmpl["on"]]
    mt = max_time if max_time is not None else had["max_time"]
    return when, on, mt


def resume(journal: Journal | str | None, run_id: str, params: dict | None = None,
           from_path: str | None = None, gpus: Any = None, name: str | None = None,
           warn: Callable[[str], None] | None = None, wait: bool = True,
           queue: bool | None = None, after: str | list | None = None,
           min_free_mem: str | int | None = None, stop_when: list[str] | None = None,
           stop_on: list[str] | None = None, max_time: str | None = None) -> str:
    """Start a new run that continues ``run_id`` from a checkpoint; return the new id.

    The new id numbers after the run continued: ``training_11`` → ``training_11.1``, and
    continuing ``training_11.1`` gives ``training_11.2`` (see :func:`next_resume_id`).
    ``queue`` / ``after`` / ``min_free_mem``: as for :func:`launch` (the run waits its turn).
    The continuation carries the parent's stop rules and max-time (:func:`carried_rules`);
    ``stop_when`` / ``stop_on`` / ``max_time`` replace the parent's of that kind.
    """
    j = as_journal(journal)
    data = j.read()
    runs = data.get("runs") or {}
    parent = get_run(j, run_id, data)
    listed = run_checkpoints(data, parent)
    if from_path is not None:
        ckpt, step = _checkpoint_from(from_path, listed)
    else:
        ck = newest(listed)
        if ck is None:
            raise UserError(
                f"run {run_id!r} has no complete checkpoint in {parent.rundir.checkpoints_dir}"
                + (" or its template's checkpoints" if template_of(data, parent.experiment).get("checkpoints") else "")
                + "; give one with --from PATH")
        ckpt, step = ck.path, ck.step
    ckpt = ckpt.resolve()
    if name is None:
        name = next_resume_id(run_id, lineage(j, run_id, data), taken_ids(j, runs))
    tmpl = template_of(data, parent.experiment)
    msg = resume_warning(data, parent, ckpt)
    if msg and warn:
        warn(msg)
    env = {procs.RESUME_ENV: str(ckpt)}
    recipe = tmpl.get("resume") if isinstance(tmpl.get("resume"), dict) else None
    kwargs: dict[str, Any] = dict(
        parent=run_id, resumed_from=str(ckpt), resume_step=step, env=env,
        name=name, gpus=gpus if gpus is not None else parent.gpus, warn=warn, wait=wait,
        cwd=run_cwd(parent),
        context={"resume_from": str(ckpt), "parent_run_dir": str(parent.run_dir)},
        queue=queue, after=after, min_free_mem=min_free_mem)
    kwargs["stop_when"], kwargs["stop_on"], kwargs["max_time"] = carried_rules(
        data, parent, stop_when, stop_on, max_time)
    if isinstance(parent.extra.get("slurm"), dict):  # a Slurm run resumes on Slurm, as it was submitted
        kwargs["slurm"] = settings_of(parent.extra["slurm"])
    if parent.experiment and tmpl:
        merged = {**parent.params, **(params or {})}
        return launch(j, experiment=parent.experiment, params=merged, recipe=recipe, **kwargs)
    if params:
        raise UserError(f"run {run_id!r} has no experiment template: --set cannot change its command")
    return launch(j, command=parent.command, **kwargs)


def next_resume_id(run_id: str, chain: list[str], taken: set[str]) -> str:
    """``RUN.N``, N one more than any taken: RUN is the run continued, or, when that run is
    itself a numbered continuation (``training_11.1`` of ``training_11`` in its lineage), the
    run it continues.  A user-named continuation (``training_11`` resuming ``training_8``)
    gets its own numbers (``training_11.1``)."""
    base = run_id
    m = re.match(r"^(.+)\.(\d+)$", run_id)
    if m and m.group(1) in chain[:-1]:
        base = m.group(1)
    pat = re.compile(re.escape(base) + r"\.(\d+)$")
    n = max((int(m.group(1)) for t in taken if (m := pat.match(t))), default=0)
    return f"{base}.{n + 1}"
