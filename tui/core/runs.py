"""Runs: launch, kill, resume, notes/tags and reconcile.

A run's truth lives in files: the journal entry (what was asked, notes), the shim's
``state.json`` (pids + create times), ``kill.json`` (a labtui kill was asked) and
``exit.json`` (how it ended).  Any labtui process can reconcile them with ``/proc``
and tell ``starting | running | finished | failed | killed | lost``; a pid is only
trusted together with its create time, so a reused pid is never mistaken for a run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import shlex
import shutil
import signal
import string
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterable

from . import procs
from .errors import UserError
from .gpus import busy_gpus, parse_gpus, resolve_gpus
from .journal import Journal, JournalError, table, validate_run_id
from .journal import now as _now
from .shim import final_status

STATUSES = ("starting", "running", "finished", "failed", "killed", "lost")
LIVE = ("starting", "running")
STARTING_TIMEOUT = 30.0  # seconds a run may stay "starting" without a shim before it is lost
DEFAULT_GRACE = 30.0  # seconds after SIGINT, and again after SIGTERM (checkpoint saves take time)


@dataclasses.dataclass
class RunInfo:
    id: str
    experiment: str | None
    status: str
    command: str
    params: dict
    gpus: list | None
    pid: int | None
    create_time: float | None
    started: dt.datetime | None
    ended: dt.datetime | None
    exit_code: int | None
    signal: str | None
    parent: str | None
    resumed_from: str | None
    resume_step: int | None
    notes: list
    tags: list
    verdict: str | None
    run_dir: Path
    extra: dict = dataclasses.field(default_factory=dict)

    @property
    def alive(self) -> bool:
        return self.status in LIVE

    def to_json(self) -> dict:
        def iso(t):
            return t.isoformat() if isinstance(t, (dt.datetime, dt.date)) else t

        return {
            "id": self.id,
            "experiment": self.experiment,
            "status": self.status,
            "command": self.command,
            "params": _jsonable(self.params),
            "gpus": self.gpus,
            "pid": self.pid,
            "started": iso(self.started),
            "ended": iso(self.ended),
            "exit_code": self.exit_code,
            "signal": self.signal,
            "parent": self.parent,
            "resumed_from": self.resumed_from,
            "resume_step": self.resume_step,
            "notes": [{"at": iso(n.get("at")), "text": n.get("text", "")} for n in self.notes],
            "tags": list(self.tags),
            "verdict": self.verdict,
            "run_dir": str(self.run_dir),
        }


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (dt.datetime, dt.date, dt.time)):
        return v.isoformat()
    return v


# --------------------------------------------------------------------------- reading

def _as_journal(journal: Journal | str | os.PathLike | None) -> Journal:
    return journal if isinstance(journal, Journal) else Journal(journal)


def _notes(raw: Any) -> list[dict]:
    out = []
    for n in raw or []:
        if isinstance(n, dict):
            out.append({"at": n.get("at"), "text": str(n.get("text", ""))})
        else:  # a plain string written by hand
            out.append({"at": None, "text": str(n)})
    return out


def _parse_iso(s: Any) -> dt.datetime | None:
    if isinstance(s, dt.datetime):
        return s
    if isinstance(s, str):
        try:
            return dt.datetime.fromisoformat(s)
        except ValueError:
            return None
    return None


def live_status(rec: dict, run_dir: Path, now_ts: float | None = None) -> tuple[str, dict | None]:
    """Reconcile one run record with its files and /proc: (status, exit_info or None)."""
    recorded = rec.get("status", "lost")
    exit_info = procs.read_json(run_dir / "exit.json")
    if exit_info is not None:
        return final_status(exit_info), exit_info
    if recorded not in LIVE and recorded in STATUSES:
        # Ended and recorded (exit.json may be gone if the logs were deleted): trust the journal.
        return recorded, None
    state = procs.read_json(run_dir / "state.json") or {}
    pid = state.get("pid", rec.get("pid"))
    ctime = state.get("create_time", rec.get("create_time"))
    if procs.matching_process(pid, ctime) is not None:
        return "running", None
    shim = procs.matching_process(state.get("shim_pid"), state.get("shim_create"))
    if shim is not None:
        # Shim alive: it is starting the trainer, or writing exit.json right now.
        return ("running" if pid else "starting"), None
    if not state:
        started = rec.get("started")
        t0 = started.timestamp() if isinstance(started, dt.datetime) else 0.0
        if (now_ts if now_ts is not None else time.time()) - t0 < STARTING_TIMEOUT:
            return "starting", None
    # The shim is gone without exit.json (machine rebooted, shim killed): the run is lost.
    return "lost", None


def _info(journal: Journal, run_id: str, rec: dict, status: str, exit_info: dict | None) -> RunInfo:
    ended = rec.get("ended")
    exit_code = rec.get("exit_code")
    sig = rec.get("signal")
    if exit_info is not None:
        ended = _parse_iso(exit_info.get("ended")) or ended
        exit_code = exit_info.get("code")
        sig = exit_info.get("signal")
    known = {"experiment", "command", "params", "gpus", "pid", "create_time", "started", "ended",
             "exit_code", "signal", "parent", "resumed_from", "resume_step", "notes", "tags",
             "verdict", "status"}
    tags = rec.get("tags") or []
    return RunInfo(
        id=run_id,
        experiment=rec.get("experiment"),
        status=status,
        command=str(rec.get("command", "")),
        params=dict(rec.get("params") or {}),
        gpus=rec.get("gpus"),
        pid=rec.get("pid"),
        create_time=rec.get("create_time"),
        started=rec.get("started"),
        ended=ended,
        exit_code=exit_code,
        signal=sig,
        parent=rec.get("parent"),
        resumed_from=rec.get("resumed_from"),
        resume_step=rec.get("resume_step"),
        notes=_notes(rec.get("notes")),
        tags=[str(t) for t in tags] if isinstance(tags, list) else [str(tags)],
        verdict=rec.get("verdict"),
        run_dir=journal.logs_dir / run_id,
        extra={k: v for k, v in rec.items() if k not in known},
    )


def list_runs(journal: Journal | str | None = None, data: dict | None = None,
              write_back: bool = True) -> list[RunInfo]:
    """Every run in journal order, with live status.

    With ``write_back`` the journal is corrected (one locked edit, only when something
    changed) so that a run that ended while nobody watched is recorded as such.
    """
    j = _as_journal(journal)
    if data is None:
        data = j.read()
    out = []
    changes: dict[str, tuple[str, dict | None]] = {}
    t = time.time()
    for run_id, rec in (data.get("runs") or {}).items():
        try:
            validate_run_id(run_id)
        except UserError:
            continue  # a hand-written entry with an unsafe id: never touch files for it
        status, exit_info = live_status(rec, j.logs_dir / run_id, t)
        if status != rec.get("status") and status not in ("starting",):
            if not (status == "running" and rec.get("status") == "starting"):
                changes[run_id] = (status, exit_info)
        out.append(_info(j, run_id, rec, status, exit_info))
    if changes and write_back:
        try:
            _write_back(j, changes)
        except (JournalError, OSError):
            pass  # listing must still work on a read-only or broken lab
    return out


def _write_back(j: Journal, changes: dict[str, tuple[str, dict | None]]) -> None:
    with j.edit() as doc:
        runs = doc.get("runs") or {}
        for run_id, (status, exit_info) in changes.items():
            if run_id not in runs:
                continue
            rec = runs[run_id]
            if rec.get("status") in ("finished", "failed", "killed") and exit_info is None:
                continue
            rec["status"] = status
            if exit_info is not None:
                ended = _parse_iso(exit_info.get("ended"))
                if ended is not None:
                    rec["ended"] = ended
                for key, src in (("exit_code", "code"), ("signal", "signal")):
                    if exit_info.get(src) is not None:
                        rec[key] = exit_info[src]
                    elif key in rec:
                        del rec[key]


def get_run(journal: Journal | str | None, run_id: str, data: dict | None = None) -> RunInfo:
    j = _as_journal(journal)
    if data is None:
        data = j.read()
    runs = data.get("runs") or {}
    if run_id not in runs:
        raise UserError(_unknown("run", run_id, runs))
    validate_run_id(run_id)
    status, exit_info = live_status(runs[run_id], j.logs_dir / run_id)
    return _info(j, run_id, runs[run_id], status, exit_info)


def _unknown(kind: str, name: str, known: Iterable[str]) -> str:
    known = list(known)
    if not known:
        return f"unknown {kind} {name!r} (there are none yet)"
    shown = ", ".join(known[-12:]) + (" ..." if len(known) > 12 else "")
    return f"unknown {kind} {name!r}; known: {shown}"


def tree_order(infos: list) -> list[tuple[int, Any]]:
    """Runs in journal order with each resume chain under its parent: ``[(depth, run), ...]``."""
    by_id = {r.id: r for r in infos}
    kids: dict[str, list] = {}
    roots = []
    for r in infos:
        if r.parent in by_id and r.parent != r.id:
            kids.setdefault(r.parent, []).append(r)
        else:
            roots.append(r)
    out: list[tuple[int, Any]] = []
    seen: set[str] = set()

    def walk(r, depth):
        if r.id in seen:
            return
        seen.add(r.id)
        out.append((depth, r))
        for k in kids.get(r.id, []):
            walk(k, depth + 1)

    for r in roots:
        walk(r, 0)
    for r in infos:  # cycles written by hand
        walk(r, 0)
    return out


def lineage(journal: Journal | str | None, run_id: str, data: dict | None = None) -> list[str]:
    """Parent chain from the root to ``run_id`` (cycles in a hand-edited journal are cut)."""
    j = _as_journal(journal)
    runs = (data if data is not None else j.read()).get("runs") or {}
    chain = [run_id]
    seen = {run_id}
    cur = runs.get(run_id, {}).get("parent")
    while isinstance(cur, str) and cur in runs and cur not in seen:
        chain.append(cur)
        seen.add(cur)
        cur = runs[cur].get("parent")
    return list(reversed(chain))


# --------------------------------------------------------------------------- launching

def parse_value(text: str) -> Any:
    """A ``--set`` value: TOML scalar if it parses (1e-4, 4, true, "x"), else the raw string."""
    from .journal import tomllib

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
    busy = busy_gpus(list_runs(j, data, write_back=False)) if req is not None and req.auto else set()
    chosen, warning = resolve_gpus(req, busy)
    if warning and warn:
        warn(warning)
    return chosen


def _next_id(prefix: str, taken: set[str]) -> str:
    pat = re.compile(re.escape(prefix) + r"_(\d+)$")
    n = max((int(m.group(1)) for t in taken if (m := pat.match(t))), default=0)
    return f"{prefix}_{n + 1}"


def _taken_ids(j: Journal, doc_runs: Any) -> set[str]:
    taken = set(doc_runs.keys()) if doc_runs is not None else set()
    try:
        taken.update(os.listdir(j.logs_dir))
    except FileNotFoundError:
        pass
    return taken


def _spawn_shim(run_dir: Path) -> None:
    err = open(run_dir / "shim.log", "ab")
    try:
        # The child forks and exits at once: waiting for it leaves no zombie behind.
        p = subprocess.Popen(
            [sys.executable, "-m", "tui.core.shim", str(run_dir)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
            start_new_session=True, close_fds=True,
            cwd=str(run_dir),
            env=_shim_env(),
        )
        p.wait()
    finally:
        err.close()


def _shim_env() -> dict:
    """The environment of the shim: ours, plus our source tree when running from a checkout."""
    env = dict(os.environ)
    here = str(Path(__file__).resolve().parents[2])
    if "site-packages" not in here and "dist-packages" not in here:
        old = env.get("PYTHONPATH")
        env["PYTHONPATH"] = here if not old else here + os.pathsep + old
    return env


def wait_started(j: Journal, run_id: str, timeout: float = 5.0) -> dict:
    """Wait until the shim recorded the trainer pid (or the run already ended)."""
    run_dir = j.run_dir(run_id)
    deadline = time.monotonic() + timeout
    while True:
        state = procs.read_json(run_dir / "state.json") or {}
        if state.get("pid") or (run_dir / "exit.json").exists():
            return state
        if time.monotonic() > deadline:
            return state
        time.sleep(0.005)


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
    j = _as_journal(journal)
    data = j.read()
    params = dict(params or {})
    exps = data.get("experiments") or {}
    if name is not None:
        validate_run_id(name)
    if experiment is not None:
        if experiment not in exps:
            raise UserError(_unknown("experiment", experiment, exps))
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

    with j.edit() as doc:
        runs = table(doc, "runs") if "runs" in doc else None
        taken = _taken_ids(j, runs)
        if name is not None:
            if name in taken:
                raise UserError(f"run id {name!r} is already used (ids are never reused)")
            run_id = name
        else:
            run_id = _next_id(experiment or "run", taken)
        run_dir = j.run_dir(run_id)
        run_dir.mkdir(parents=True, exist_ok=False)
        procs.write_json_atomic(run_dir / "spec.json", {
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
            import tomlkit

            it = tomlkit.inline_table()
            it.update(params)
            rec["params"] = it
        if chosen_gpus is not None:
            rec["gpus"] = chosen_gpus
        rec["status"] = "starting"
        rec["started"] = _now()

    try:
        _spawn_shim(run_dir)
    except OSError as e:
        with j.edit() as doc:
            doc["runs"][run_id]["status"] = "failed"
            doc["runs"][run_id]["ended"] = _now()
        raise UserError(f"cannot start the run shim: {e}") from None
    if wait:
        wait_started(j, run_id)
    return run_id


# --------------------------------------------------------------------------- kill

def _signal(p, sig: int) -> None:
    try:
        p.send_signal(sig)
    except Exception:
        pass


def _wait_gone(p, timeout: float, poll: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(p):
            return True
        time.sleep(poll)
    return not _alive(p)


def _alive(p) -> bool:
    import psutil

    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def kill(journal: Journal | str | None, run_id: str, grace: float = DEFAULT_GRACE,
         now: bool = False, reason: str | None = None, mode: str | None = None,
         progress: Callable[[str], None] | None = None, term_grace: float | None = None) -> str:
    """Stop a run: SIGINT, grace, SIGTERM, grace, then SIGKILL to every tagged process.

    ``mode``: ``graceful`` (default: SIGINT first), ``term`` (SIGTERM first) or ``now``
    (SIGKILL at once).  Only the trainer root gets graceful signals, and only after its
    (pid, create time, run tag) matched; the final SIGKILL goes to every process of
    this user that carries the run tag.  Returns the run's final status.
    """
    j = _as_journal(journal)
    info = get_run(j, run_id)
    if not info.alive:
        raise UserError(f"run {run_id!r} is not running (status: {info.status})")
    mode = "now" if now else (mode or "graceful")
    if mode not in ("graceful", "term", "now"):
        raise UserError(f"bad kill mode {mode!r}: graceful, term or now")
    term_grace = grace if term_grace is None else term_grace
    say = progress or (lambda _m: None)
    run_dir = info.run_dir
    procs.write_json_atomic(run_dir / "kill.json", {
        "requested": _now().isoformat(), "reason": reason, "mode": mode, "by_pid": os.getpid()})
    if reason:
        add_note(j, run_id, f"killed: {reason}")

    state = procs.read_json(run_dir / "state.json") or {}
    root = procs.matching_process(state.get("pid", info.pid), state.get("create_time", info.create_time))
    if root is not None and (procs.run_tag(root) != run_id or not procs.own(root)):
        root = None  # same pid and time but not ours: never signal it
    if root is not None and mode in ("graceful", "term"):
        steps = [(signal.SIGINT, grace)] if mode == "graceful" else []
        steps.append((signal.SIGTERM, term_grace))
        for sig, wait_s in steps:
            say(f"sending {sig.name} to {run_id} (pid {root.pid}), waiting up to {wait_s:g}s")
            _signal(root, sig)
            if _wait_gone(root, wait_s):
                break
    victims = list(procs.tagged_processes(run_id))
    if root is not None and _alive(root):
        victims.append(root)
    if victims:
        say(f"sending SIGKILL to {len(victims)} process(es) of {run_id}")
    for p in victims:
        _signal(p, signal.SIGKILL)
    for p in victims:
        _wait_gone(p, 5.0)

    state = procs.read_json(run_dir / "state.json") or state
    shim = procs.matching_process(state.get("shim_pid"), state.get("shim_create"))
    deadline = time.monotonic() + 10.0
    while shim is not None and _alive(shim) and not (run_dir / "exit.json").exists():
        if time.monotonic() > deadline:
            break
        # A trainer the shim started while we were signalling (a kill during `starting`).
        for p in procs.tagged_processes(run_id):
            _signal(p, signal.SIGKILL)
        time.sleep(0.05)
    if not (run_dir / "exit.json").exists():
        # No shim to report it (lost run, or the shim was killed): record the kill ourselves.
        exit_info = {"code": None, "signal": "SIGKILL", "ended": _now().isoformat(), "killed": True}
        procs.write_json_atomic(run_dir / "exit.json", exit_info)
    return list_status(j, run_id)


def start_kill(journal: Journal | str | None, run_id: str, grace: float = DEFAULT_GRACE,
               mode: str = "graceful", reason: str | None = None) -> subprocess.Popen:
    """Run :func:`kill` in a detached process (``tui.core.killer``) and return it at once.

    The escalation then completes even if the caller (the app) exits.  Its output, ending in
    ``result: STATUS`` or ``error: MESSAGE``, is in ``<run dir>/kill.log``; see
    :func:`kill_outcome`.
    """
    j = _as_journal(journal)
    info = get_run(j, run_id)
    if not info.alive:
        raise UserError(f"run {run_id!r} is not running (status: {info.status})")
    if mode not in ("graceful", "term", "now"):
        raise UserError(f"bad kill mode {mode!r}: graceful, term or now")
    log = open(info.run_dir / "kill.log", "ab")
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "tui.core.killer", str(j.path), run_id, mode, repr(float(grace)),
             reason or ""],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            close_fds=True, cwd=str(info.run_dir), env=_shim_env())
    finally:
        log.close()


def kill_outcome(journal: Journal | str | None, run_id: str) -> str:
    """The last line a detached kill wrote: its final status, or raise its one-line error."""
    j = _as_journal(journal)
    try:
        lines = (j.run_dir(run_id) / "kill.log").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        lines = []
    for line in reversed(lines):
        if line.startswith("result: "):
            return line[len("result: "):].strip()
        if line.startswith("error: "):
            raise UserError(line[len("error: "):].strip())
    return get_run(j, run_id).status


def list_status(j: Journal, run_id: str) -> str:
    """Reconcile one run into the journal and return its status."""
    for r in list_runs(j):
        if r.id == run_id:
            return r.status
    raise UserError(f"unknown run {run_id!r}")


# --------------------------------------------------------------------------- resume

_STEP_RE = re.compile(r"step[-_]?(\d+)$")


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The run's newest complete checkpoint: ``checkpoints/latest`` if valid, else the highest step-N."""
    ck = run_dir / "checkpoints"
    try:
        name = (ck / "latest").read_text(encoding="utf-8").strip()
        if name and "/" not in name and (ck / name).is_dir() and not name.endswith(".tmp"):
            return ck / name
    except OSError:
        pass
    best = None
    try:
        for entry in os.scandir(ck):
            m = _STEP_RE.search(entry.name)
            if m and entry.is_dir() and not entry.name.endswith(".tmp"):
                if best is None or int(m.group(1)) > best[0]:
                    best = (int(m.group(1)), Path(entry.path))
    except FileNotFoundError:
        return None
    return best[1] if best else None


def checkpoint_step(path: Path | str | None) -> int | None:
    if path is None:
        return None
    m = _STEP_RE.search(Path(path).name)
    return int(m.group(1)) if m else None


def resume(journal: Journal | str | None, run_id: str, params: dict | None = None,
           from_path: str | None = None, gpus: Any = None, name: str | None = None,
           warn: Callable[[str], None] | None = None, wait: bool = True) -> str:
    """Start a new run that continues ``run_id`` from a checkpoint; return the new id.

    The new id continues the chain of the lineage root: ``training_11`` →
    ``training_11.1`` → ``training_11.2`` ...
    """
    j = _as_journal(journal)
    data = j.read()
    runs = data.get("runs") or {}
    parent = get_run(j, run_id, data)
    if from_path is not None:
        ckpt = Path(from_path).expanduser()
        if not ckpt.is_absolute():
            ckpt = (Path.cwd() / ckpt)
        if not ckpt.exists():
            raise UserError(f"checkpoint {from_path!r} does not exist")
        if ckpt.is_dir() and (ckpt / "checkpoints").is_dir():
            ckpt = latest_checkpoint(ckpt) or ckpt
        elif ckpt.is_dir() and ckpt.name == "checkpoints":
            ckpt = latest_checkpoint(ckpt.parent) or ckpt
    else:
        ckpt = latest_checkpoint(parent.run_dir)
        if ckpt is None:
            raise UserError(
                f"run {run_id!r} has no complete checkpoint in {parent.run_dir / 'checkpoints'}; "
                "give one with --from PATH")
    ckpt = ckpt.resolve()
    if name is None:
        root = lineage(j, run_id, data)[0]
        name = _next_resume_id(root, _taken_ids(j, runs))
    env = {"LABTUI_RESUME_FROM": str(ckpt)}
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


# --------------------------------------------------------------------------- notes, tags

def _edit_run(j: Journal, run_id: str):
    class _Ctx:
        def __enter__(self_inner):
            self_inner.cm = j.edit()
            doc = self_inner.cm.__enter__()
            runs = doc.get("runs")
            if runs is None or run_id not in runs:
                self_inner.cm.__exit__(None, None, None)
                raise UserError(_unknown("run", run_id, runs.keys() if runs else []))
            return runs[run_id]

        def __exit__(self_inner, *exc):
            return self_inner.cm.__exit__(*exc)

    return _Ctx()


def add_note(journal: Journal | str | None, run_id: str, text: str) -> None:
    import tomlkit

    text = str(text).strip()
    if not text:
        raise UserError("empty note")
    j = _as_journal(journal)
    with _edit_run(j, run_id) as rec:
        if "notes" not in rec or not isinstance(rec["notes"], list):
            old = rec.get("notes")
            arr = tomlkit.array()
            if isinstance(old, str):
                arr.append(old)
            rec["notes"] = arr
        note = tomlkit.inline_table()
        note["at"] = _now()
        note["text"] = text
        rec["notes"].append(note)
        rec["notes"].multiline(True)


TAG_RE = re.compile(r"^[^\s\[\]\"',]{1,64}$")


def add_tags(journal: Journal | str | None, run_id: str, tags: Iterable[str], remove: bool = False) -> list[str]:
    import tomlkit

    tags = [t.strip() for t in tags]
    for t in tags:
        if not TAG_RE.match(t):
            raise UserError(f"bad tag {t!r}: one word, no spaces, quotes, commas or brackets")
    j = _as_journal(journal)
    with _edit_run(j, run_id) as rec:
        cur = [str(t) for t in (rec.get("tags") or [])]
        if remove:
            new = [t for t in cur if t not in tags]
        else:
            new = cur + [t for t in dict.fromkeys(tags) if t not in cur]
        arr = tomlkit.array()
        arr.extend(new)
        rec["tags"] = arr
    return new


VERDICTS = ("converging", "diverging", "bug", "keep")


def set_verdict(journal: Journal | str | None, run_id: str, verdict: str | None) -> None:
    if verdict is not None and verdict not in VERDICTS:
        raise UserError(f"bad verdict {verdict!r}: one of {', '.join(VERDICTS)}")
    j = _as_journal(journal)
    with _edit_run(j, run_id) as rec:
        if verdict is None:
            if "verdict" in rec:
                del rec["verdict"]
        else:
            rec["verdict"] = verdict
