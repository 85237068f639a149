"""Launching a run: ids, the run's command/cwd/env from its template (``template``), git info,
and starting its shim.

``launch`` allocates the run id, records the run in the journal as ``starting``, writes the
shim's ``spec.json`` and starts ``python -m tui.core.shim <run-dir>`` detached from this
process (its own session, stdio away from any terminal).
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import tomlkit

from .. import hooks, procs, stoprules
from ..checkpoints import newest, pick, run_checkpoints
from ..errors import UserError
from ..fsio import write_atomic
from ..gitinfo import git_info
from ..gpus import busy_gpus, parse_gpus, resolve_gpus
from ..journal import Journal, table, validate_run_id
from ..journal import now as _now
from ..rundir import RunDir
from ..slurm import slurm_config
from ..slurm import launch as slurm_launch
from ..status import Status
from . import queue as _queue
from .model import as_journal, get_run, list_runs, unknown
from .template import (CONTEXT, check_types, placeholders, render_command, render_text,
                       template_cwd, template_env)


# --------------------------------------------------------------------------- launching

def _resolve_argv0(argv: list[str]) -> list[str]:
    if argv and argv[0] in ("python", "python3") and shutil.which(argv[0]) is None:
        return [sys.executable, *argv[1:]]
    return argv


def _resolve_gpus(j: Journal, data: dict, gpus: Any, warn: Callable[[str], None] | None):
    """A user GPU spec -> indices, by the one parser and placement of tui.core.gpus."""
    req = parse_gpus(gpus)
    busy = busy_gpus(list_runs(j, data)) if req is not None and req.auto else set()
    chosen, warning = resolve_gpus(req, busy)
    if warning and warn:
        warn(warning)
    return chosen


def _next_id(prefix: str, taken: set[str]) -> str:
    pat = re.compile(re.escape(prefix) + r"_(\d+)$")
    n = max((int(m.group(1)) for t in taken if (m := pat.match(t))), default=0)
    return f"{prefix}_{n + 1}"


def taken_ids(j: Journal, doc_runs: Any) -> set[str]:
    taken = set(doc_runs.keys()) if doc_runs is not None else set()
    try:
        taken.update(os.listdir(j.logs_dir))
    except FileNotFoundError:
        pass
    return taken


def _spawn_shim(run_dir: RunDir, lock_fd: int | None = None) -> None:
    env = shim_env()
    env[procs.SHIM_ENV] = str(run_dir.path)  # the shim's own mark: see shim._other_run
    if lock_fd is not None:  # a queued run's shim lock, handed over (see runs.queue)
        env[_queue.LOCK_FD_ENV] = str(lock_fd)
    err = open(run_dir.shim_log, "ab")
    try:
        # The child forks and exits at once: waiting for it leaves no zombie behind.
        p = subprocess.Popen(
            [sys.executable, "-m", "tui.core.shim", str(run_dir.path)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
            start_new_session=True, close_fds=True,
            pass_fds=() if lock_fd is None else (lock_fd,),
            cwd=str(run_dir.path),
            env=env,
        )
        p.wait()
    finally:
        err.close()


def shim_env() -> dict:
    """The environment of a detached labtui helper (shim, killer): ours without any run's tag
    (launched from inside a run, it is not part of that run), plus our source tree when
    running from a checkout."""
    env = {k: v for k, v in os.environ.items() if k not in procs.RUN_ENV}
    here = str(Path(__file__).resolve().parents[3])
    if "site-packages" not in here and "dist-packages" not in here:
        old = env.get("PYTHONPATH")
        env["PYTHONPATH"] = here if not old else here + os.pathsep + old
    return env


def wait_started(j: Journal, run_id: str, timeout: float = 5.0) -> dict:
    """Wait until the shim recorded the trainer pid (or the run already ended)."""
    run_dir = RunDir(j.run_dir(run_id))
    deadline = time.monotonic() + timeout
    while True:
        state = run_dir.read_state()
        if state.get("pid") or run_dir.has_exit():
            return state
        if time.monotonic() > deadline:
            return state
        time.sleep(0.005)


@contextlib.contextmanager
def _removed_on_error(made: list[Path]) -> Iterator[None]:
    """Remove the folders in ``made`` if the block fails (a full disk while writing the spec or
    the journal): a launch that did not happen leaves nothing behind, its id stays free."""
    try:
        yield
    except Exception:  # the journal was not written (an edit writes last, atomically)
        for path in made:
            shutil.rmtree(path, ignore_errors=True)
        raise


def launch(journal: Journal | str | None = None, experiment: str | None = None,
           command: str | list[str] | None = None, params: dict | None = None,
           gpus: Any = None, name: str | None = None, parent: str | None = None,
           resumed_from: str | None = None, resume_step: int | None = None,
           env: dict | None = None, warn: Callable[[str], None] | None = None,
           wait: bool = True, cwd: str | os.PathLike | None = None,
           context: dict | None = None, recipe: dict | None = None,
           init_from: str | None = None, stop_when: list[str] | None = None,
           stop_on: list[str] | None = None, max_time: str | None = None, on: str | None = None,
           queue: bool | None = None, after: str | list | None = None,
           min_free_mem: str | int | None = None, defer_init_from: str | None = None,
           extra: dict | None = None, slurm: dict | None = None) -> str:
    """Start a run detached from this process; return its id.

    Either ``experiment`` (a template in the journal, ``params`` override its defaults)
    or ``command`` (argv list or a string split like a shell would, never run by one).
    ``cwd``: the run's working folder (default: the template's ``cwd``, else the lab folder).
    ``context``: ``resume_from`` / ``parent_run_dir`` placeholders of a resume; ``recipe``: the
    template's resume recipe (``set`` values and ``args``) to apply; ``init_from``:
    ``RUN[:CHECKPOINT]`` whose checkpoint the new run starts its weights from.
    ``stop_when`` / ``stop_on`` / ``max_time``: stop rules added to the template's
    (``tui.core.stoprules``; ``max_time`` replaces the template's).
    ``on``: ``"slurm"`` / ``"local"`` (default: Slurm when the template has a ``slurm`` table, or
    ``slurm``: the settings to submit with).
    ``queue`` (default: the template's ``queue``; implied by ``after``): record the run as
    ``queued``; its shim waits for ``gpus`` with ``min_free_mem`` free (default: the template's
    ``gpu_mem``) and for the ``after`` runs (see :mod:`tui.core.runs.queue`).  For a Slurm run,
    ``after`` becomes Slurm dependencies and Slurm does the queueing.
    ``defer_init_from``: a run whose newest checkpoint becomes ``{init_from}`` when this queued
    run starts (a pipeline stage).  ``extra``: more fields for the journal record.
    """
    j = as_journal(journal)
    data = j.read()
    params = dict(params or {})
    exps = data.get("experiments") or {}
    gpus_arg = gpus
    if name is not None:
        validate_run_id(name)
    ctx = {k: str(v) for k, v in (context or {}).items() if v is not None}
    env = {k: str(v) for k, v in (env or {}).items()}
    init_rec = None
    if init_from is not None:
        init_rec, ckpt = resolve_init_from(j, data, init_from)
        ctx["init_from"] = str(ckpt)
        env[procs.INIT_ENV] = str(ckpt)
    elif defer_init_from is not None:
        ctx["init_from"] = env[procs.INIT_ENV] = _queue.INIT_SENTINEL
    if cwd is not None:
        cwd = Path(cwd).expanduser()
        cwd = cwd if cwd.is_absolute() else Path.cwd() / cwd
    render: Callable[[str, Path], tuple[list[str], Path | None, dict, dict]]
    if experiment is not None:
        if experiment not in exps:
            raise UserError(unknown("experiment", experiment, exps))
        tmpl = exps[experiment]
        defaults = dict(tmpl.get("params") or {})
        cmd_t = command if command is not None else tmpl.get("command")
        if isinstance(cmd_t, list):
            cmd_t = shlex.join(str(x) for x in cmd_t)
        if not isinstance(cmd_t, str) or not cmd_t.strip():
            raise UserError(f"experiment {experiment!r} has no command")
        recipe = recipe or {}
        allowed = set(defaults) | (set(placeholders(cmd_t)) - set(CONTEXT)) | set(recipe.get("set") or ())
        for k in params:
            if k not in allowed:
                raise UserError(
                    f"experiment {experiment!r} has no param {k!r}; known: "
                    + (", ".join(sorted(allowed)) or "none"))
        check_types(experiment, defaults, params)
        merged = {**defaults, **params}
        r_args = recipe.get("args")
        if r_args:
            cmd_t = cmd_t + " " + (shlex.join(map(str, r_args)) if isinstance(r_args, list) else str(r_args))
        r_set = recipe.get("set") or {}
        if not isinstance(r_set, dict):
            raise UserError(f"experiment {experiment!r}: resume.set must be a table")

        def render(run_id: str, run_dir: Path):
            base = {**ctx, "run_id": run_id, "run_dir": str(run_dir)}
            values = {**base, **merged}  # a param named like a placeholder (nanoGPT's init_from) wins
            for k, v in defaults.items():  # a default may name the run: out_dir = "out/{run_id}"
                if k not in params and isinstance(v, str) and "{" in v:
                    values[k] = render_text(experiment, v, base, f"params.{k}")
            for k, v in r_set.items():
                values[k] = render_text(experiment, v, values, f"resume.set.{k}") if isinstance(v, str) else v
            ps = {k: values[k] for k in (*merged, *r_set)}
            argv = render_command(experiment, cmd_t, values)
            wd = cwd if cwd is not None else template_cwd(j, tmpl.get("cwd"), experiment, values)
            return argv, wd, {**template_env(tmpl.get("env"), experiment, values), **env}, ps

        if gpus is None and "gpus" in tmpl:
            gpus = tmpl["gpus"]
        if queue is None and tmpl.get("queue") is True:
            queue = True
        if min_free_mem is None and tmpl.get("gpu_mem") is not None:
            min_free_mem = tmpl["gpu_mem"]
    else:
        if command is None or (isinstance(command, (list, str)) and not command):
            raise UserError("nothing to run: give an experiment name or -- COMMAND ARGS...")
        if isinstance(command, str):
            try:
                argv0 = shlex.split(command)
            except ValueError as e:
                raise UserError(f"cannot split command {command!r}: {e}") from None
        else:
            argv0 = [str(a) for a in command]
        if not argv0:
            raise UserError("nothing to run: empty command")

        def render(run_id: str, run_dir: Path):
            return argv0, cwd, env, params

    # Everything a template can get wrong is found here, before a run id is used.
    _argv, wd, _env, _ps = render("RUN_ID", j.logs_dir / "RUN_ID")
    if wd is not None and not str(wd).startswith(str(j.logs_dir / "RUN_ID")) and not Path(wd).is_dir():
        raise UserError(f"working folder {wd} does not exist")
    rules = stoprules.for_launch(exps.get(experiment) if experiment is not None else None,
                                 experiment, stop_when, stop_on, max_time)
    hook = hooks.hook_for(data, j.path)
    slurm_cfg = slurm_config({"slurm": slurm} if slurm is not None else exps.get(experiment or ""),
                             "slurm" if slurm is not None and on is None else on, experiment)
    after_ids = _queue.parse_after(after) if after else []
    sl_dep = slurm_launch.check(data, slurm_cfg, gpus_arg, after_ids)
    if slurm_cfg is not None and defer_init_from is not None:
        raise UserError("pipelines run on this machine for now: give their stages no slurm table "
                        "(or launch each stage with --after and --init-from)")
    queued = slurm_cfg is None and bool(queue or after_ids or defer_init_from)
    if queued:
        for a in after_ids:
            get_run(j, a.partition(":")[0], data)  # UserError naming the known runs
        mem = None if min_free_mem is None else (
            min_free_mem if isinstance(min_free_mem, int) else _queue.parse_size(min_free_mem))
        qcond = _queue.conditions(gpus, mem, after_ids)
        chosen_gpus = None  # chosen when the run starts
    else:
        chosen_gpus = None if slurm_cfg is not None else _resolve_gpus(j, data, gpus, warn)
    in_run_dir = wd is not None and str(wd).startswith(str(j.logs_dir / "RUN_ID"))
    git, diff = git_info(j.root if wd is None or in_run_dir else wd)  # time-boxed, never fails

    made: list[Path] = []
    with _removed_on_error(made), j.edit() as doc:
        runs = table(doc, "runs") if "runs" in doc else None
        taken = taken_ids(j, runs)
        if name is not None:
            if name in taken:
                raise UserError(f"run id {name!r} is already used (ids are never reused)")
            run_id = name
        else:
            run_id = _next_id(experiment or "run", taken)
        run_dir = RunDir(j.run_dir(run_id))
        argv, wd, run_env, params = render(run_id, run_dir.path)
        run_cwd = Path(wd) if wd is not None else j.root
        run_dir.path.mkdir(parents=True, exist_ok=False)
        made.append(run_dir.path)
        if run_cwd.is_relative_to(run_dir.path):
            run_cwd.mkdir(parents=True, exist_ok=True)
        if diff:
            write_atomic(run_dir.code_diff, diff.encode("utf-8"))
        spec = {
            "run_id": run_id,
            "journal": str(j.path),
            "argv": _resolve_argv0(argv),
            "cwd": str(run_cwd),
            "gpus": chosen_gpus,
            "env": run_env,
        }
        if rules:
            spec["stop"] = rules.to_json()
        if hook:
            spec["hook"] = hook
        if queued:
            spec["queue"] = qcond
            if defer_init_from is not None:
                spec["init_from_run"] = defer_init_from
        run_dir.write_spec(spec)
        rec = table(doc, "runs", run_id)
        if experiment is not None:
            rec["experiment"] = experiment
        if parent is not None:
            rec["parent"] = parent
        if resumed_from is not None:
            rec["resumed_from"] = resumed_from
        if resume_step is not None:
            rec["resume_step"] = resume_step
        if init_rec is not None:
            rec["init_from"] = init_rec
            rec["init_checkpoint"] = ctx["init_from"]
        rec["command"] = shlex.join(argv)
        if params:
            it = tomlkit.inline_table()
            it.update(params)
            rec["params"] = it
        if chosen_gpus is not None:
            rec["gpus"] = chosen_gpus
        if run_cwd != j.root:
            rec["cwd"] = str(run_cwd)
        if git:
            it = tomlkit.inline_table()
            it.update(git)
            rec["git"] = it
        if rules:
            rec["stop"] = rules.describe()
        for k, v in (extra or {}).items():
            rec[k] = v
        if queued:
            it = tomlkit.inline_table()
            it.update(qcond)
            rec["queue"] = it
            rec["status"] = str(Status.QUEUED)
            rec["queued"] = _now()
        else:
            rec["status"] = str(Status.STARTING)
            rec["started"] = _now()
        if slurm_cfg is not None:
            slurm_launch.record(rec, slurm_cfg)

    if slurm_cfg is not None:  # sbatch instead of a local shim
        slurm_launch.submit(j, run_id, run_dir, slurm_cfg, sl_dep, {**shim_env(), procs.SHIM_ENV: str(run_dir.path)})
        return run_id
    if queued:
        _queue.enqueue(j, run_id)
    try:
        if queued:
            _queue.spawn_locked(run_dir, _spawn_shim)
        else:
            _spawn_shim(run_dir)
    except OSError as e:
        with j.edit() as doc:
            doc["runs"][run_id]["status"] = str(Status.FAILED)
            doc["runs"][run_id]["ended"] = _now()
        raise UserError(f"cannot start the run shim: {e}") from None
    if wait and not queued:
        wait_started(j, run_id)
    return run_id


def resolve_init_from(j: Journal, data: dict, spec: str) -> tuple[str, Path]:
    """``RUN[:CHECKPOINT]`` -> (run id, checkpoint path): the run's newest complete checkpoint,
    or the one named by step, name or path."""
    run_id, _sep, which = spec.partition(":")
    info = get_run(j, run_id.strip(), data)
    cks = run_checkpoints(data, info)
    ck = pick(cks, which) if which.strip() else newest(cks)
    if ck is None:
        listed = ", ".join(c.name for c in cks) or "none"
        what = f"checkpoint {which!r}" if which.strip() else "complete checkpoint"
        raise UserError(f"--init-from {spec}: run {info.id!r} has no {what} (listed: {listed})")
    return info.id, ck.path.resolve()
