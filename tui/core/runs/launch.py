"""Launching a run: ids, experiment templates, ``--set`` values, and starting its shim.

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
import string
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import tomlkit

from .. import procs
from ..errors import UserError
from ..gpus import busy_gpus, parse_gpus, resolve_gpus
from ..journal import Journal, table, tomllib, validate_run_id
from ..journal import now as _now
from ..rundir import RunDir
from ..status import Status
from .model import as_journal, list_runs, unknown


# --------------------------------------------------------------------------- launching

def parse_value(text: str) -> Any:
    """A ``--set`` value: TOML scalar if it parses (1e-4, 4, true, "x"), else the raw string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_sets(items: Iterable[str] | None) -> dict:
    out = {}
    for item in items or []:
        key, sep, val = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UserError(f"bad --set {item!r}: expected KEY=VALUE")
        out[key] = parse_value(val.strip())
    return out


def _placeholders(template: str) -> list[str]:
    names = []
    try:
        for _lit, field, _spec, _conv in string.Formatter().parse(template):
            if field is not None:
                names.append(field)
    except ValueError as e:
        raise UserError(f"bad command template {template!r}: {e}") from None
    return names


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, list):
        return ",".join(_fmt(x) for x in v)
    return str(v)


def render_command(exp_name: str, template: str, params: dict) -> list[str]:
    """Fill ``{param}`` placeholders (each value shell-quoted) and split into argv."""
    fields = _placeholders(template)
    for f in fields:
        if not f or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", f):
            raise UserError(f"experiment {exp_name!r}: bad placeholder {{{f}}} in command")
        if f not in params:
            raise UserError(
                f"experiment {exp_name!r}: command needs param {f!r}; "
                f"add it to [experiments.{exp_name}.params] or pass --set {f}=VALUE")
    quoted = {k: shlex.quote(_fmt(v)) for k, v in params.items()}
    try:
        return shlex.split(template.format_map(quoted))
    except ValueError as e:
        raise UserError(f"experiment {exp_name!r}: cannot split command: {e}") from None


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


def _spawn_shim(run_dir: RunDir) -> None:
    env = shim_env()
    env[procs.SHIM_ENV] = str(run_dir.path)  # the shim's own mark: see shim._other_run
    err = open(run_dir.shim_log, "ab")
    try:
        # The child forks and exits at once: waiting for it leaves no zombie behind.
        p = subprocess.Popen(
            [sys.executable, "-m", "tui.core.shim", str(run_dir.path)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
            start_new_session=True, close_fds=True,
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
           wait: bool = True) -> str:
    """Start a run detached from this process; return its id.

    Either ``experiment`` (a template in the journal, ``params`` override its defaults)
    or ``command`` (argv list or a string split like a shell would, never run by one).
    """
    j = as_journal(journal)
    data = j.read()
    params = dict(params or {})
    exps = data.get("experiments") or {}
    if name is not None:
        validate_run_id(name)
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
        allowed = set(defaults) | set(_placeholders(cmd_t))
        for k in params:
            if k not in allowed:
                raise UserError(
                    f"experiment {experiment!r} has no param {k!r}; known: "
                    + (", ".join(sorted(allowed)) or "none"))
        merged = {**defaults, **params}
        argv = render_command(experiment, cmd_t, merged)
        if gpus is None and "gpus" in tmpl:
            gpus = tmpl["gpus"]
        params = merged
    else:
        if command is None or (isinstance(command, (list, str)) and not command):
            raise UserError("nothing to run: give an experiment name or -- COMMAND ARGS...")
        if isinstance(command, str):
            try:
                argv = shlex.split(command)
            except ValueError as e:
                raise UserError(f"cannot split command {command!r}: {e}") from None
        else:
            argv = [str(a) for a in command]
        if not argv:
            raise UserError("nothing to run: empty command")
    chosen_gpus = _resolve_gpus(j, data, gpus, warn)
    run_argv = _resolve_argv0(argv)

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
        run_dir.path.mkdir(parents=True, exist_ok=False)
        made.append(run_dir.path)
        run_dir.write_spec({
            "run_id": run_id,
            "journal": str(j.path),
            "argv": run_argv,
            "cwd": str(j.root),
            "gpus": chosen_gpus,
            "env": {k: str(v) for k, v in (env or {}).items()},
        })
        rec = table(doc, "runs", run_id)
        if experiment is not None:
            rec["experiment"] = experiment
        if parent is not None:
            rec["parent"] = parent
        if resumed_from is not None:
            rec["resumed_from"] = resumed_from
        if resume_step is not None:
            rec["resume_step"] = resume_step
        rec["command"] = shlex.join(argv)
        if params:
            it = tomlkit.inline_table()
            it.update(params)
            rec["params"] = it
        if chosen_gpus is not None:
            rec["gpus"] = chosen_gpus
        rec["status"] = str(Status.STARTING)
        rec["started"] = _now()

    try:
        _spawn_shim(run_dir)
    except OSError as e:
        with j.edit() as doc:
            doc["runs"][run_id]["status"] = str(Status.FAILED)
            doc["runs"][run_id]["ended"] = _now()
        raise UserError(f"cannot start the run shim: {e}") from None
    if wait:
        wait_started(j, run_id)
    return run_id


