"""The per-run shim: ``python -m tui.core.shim <run-dir>``.

Started by :func:`tui.core.runs.launch` in a new session with stdio away from any
terminal, it outlives the app, the CLI and the SSH link.  It

1. forks once more so the launcher can reap its child at once (no zombies in a
   long-lived app), and becomes a child subreaper so orphaned ranks and workers
   are re-parented to it rather than to init;
2. starts the trainer in its own process group with the run environment, stdout and
   stderr appended *directly* to ``output.log``;
3. records pids and create times in ``state.json`` and marks the run ``running``;
4. when the trainer ends, stops what it left behind (never another run's processes: the
   shim of a run launched from inside this one is adopted by this subreaper, and left
   alone with everything below it), writes ``exit.json``
   atomically and updates the journal (retrying; ``exit.json`` is the truth that
   any labtui process reconciles from if the journal cannot be written).

It imports as little as possible: its resident memory and start-up time count.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from . import procs
from .errors import DISK_FULL_ERRNOS
from .journal import Journal, JournalError, UnknownRun
from .rundir import RunDir
from .slurm import node as slurm_node
from .status import Status, final_status

PR_SET_CHILD_SUBREAPER = 36


def _become_subreaper() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: orphans go to init, the run tag still finds them
        pass


def _log(run_dir: RunDir, msg: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    try:
        with open(run_dir.shim_log, "a", encoding="utf-8") as f:
            f.write(f"{stamp} {msg}\n")
    except OSError:
        pass


class _Noise:
    """Bounded log noise for a retry loop: a failure is logged when its message changes, else at
    most once every ``every`` seconds (a shim may retry for hours on a full disk)."""

    def __init__(self, run_dir: RunDir, every: float = 600.0):
        self.run_dir, self.every = run_dir, every
        self.last: tuple[str, float] | None = None

    def __call__(self, what: str, err: object, attempt: int) -> None:
        msg, t = f"{what} failed: {err}", time.monotonic()
        if self.last is None or self.last[0] != msg or t - self.last[1] >= self.every:
            _log(self.run_dir, f"{msg} (attempt {attempt}; retrying)")
            self.last = (msg, t)


def _journal_fields(run_dir: RunDir, journal_path: str, run_id: str, fields: dict) -> None:
    """Set machine-owned fields of the run in one locked edit of the run's own span (fast on a
    big journal); UnknownRun when the run is not in the journal; raises what the edit raised."""
    with Journal(journal_path).edit_run(run_id, "status") as rec:
        for k, v in fields.items():
            if v is None:
                if k in rec:
                    del rec[k]
            else:
                rec[k] = v


JOURNAL_ATTEMPTS = 20  # a journal a human broke: then exit.json stays the truth (reconcile reads it)


def _update_journal(run_dir: RunDir, journal_path: str, run_id: str, fields: dict) -> None:
    """Set machine-owned fields of the run; retry a while if the journal is being edited badly
    (or cannot be written), and for as long as it takes while the disk is full."""
    noise = _Noise(run_dir)
    attempt = 0
    while True:
        attempt += 1
        try:
            _journal_fields(run_dir, journal_path, run_id, fields)
            return
        except UnknownRun:
            _log(run_dir, f"run {run_id} is not in {journal_path}; journal not updated")
            return
        except JournalError as e:
            noise("journal update", e, attempt)
            if attempt >= JOURNAL_ATTEMPTS:
                _log(run_dir, f"journal not updated after {attempt} attempts; exit.json has the outcome")
                return
            time.sleep(min(30.0, 0.5 * attempt))
        except OSError as e:
            noise("journal update", e, attempt)
            if e.errno not in DISK_FULL_ERRNOS and attempt >= JOURNAL_ATTEMPTS:
                _log(run_dir, f"journal not updated after {attempt} attempts: {e}")
                return
            time.sleep(min(30.0, 0.5 * attempt))


def _record_end(run_dir: RunDir, journal_path: str, run_id: str, exit_info: dict, fields: dict) -> None:
    """Write ``exit.json``, then the journal, retrying until each is written (the outcome is held
    here in memory meanwhile: on a full disk a run that ended must never read ``lost`` once space
    is back).  Other write errors (a read-only folder) get a bounded number of attempts; a
    deleted run folder gets none."""
    noise = _Noise(run_dir)
    attempt = 0
    while True:
        attempt += 1
        try:
            run_dir.write_exit(exit_info)
            if attempt > 1:
                _log(run_dir, f"exit.json written after {attempt} attempts")
            break
        except OSError as e:
            if not run_dir.exists():
                break  # the run's folder was deleted: the journal is all that is left
            noise("writing exit.json", e, attempt)
            if e.errno not in DISK_FULL_ERRNOS and attempt >= JOURNAL_ATTEMPTS:
                break  # not a full disk (a read-only folder): the journal records the end
            time.sleep(min(30.0, 0.25 * attempt))
    _update_journal(run_dir, journal_path, run_id, fields)


class Trainer:
    """The trainer's pid as the signal handler sees it: forgotten before the trainer is reaped.

    A reaped pid is free for any new process, so a signal forwarded after the reap could hit a
    bystander.  :meth:`wait` learns that the trainer ended without reaping it (``WNOWAIT``: the
    zombie keeps holding the pid), forgets the pid, and only then reaps: a signal forwarded
    up to that moment can only reach the trainer's zombie.
    """

    def __init__(self, pid: int | None = None):
        self.pid = pid

    def forward(self, signum: int, _frame: object = None) -> bool:
        """(Signal handler.) Pass a signal to the shim on to the trainer root; whether it was sent."""
        pid = self.pid
        if pid is None or signum == signal.SIGHUP:
            return False
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            return False
        return True

    def wait(self) -> int:
        """Wait for the trainer to end (reaping any orphan on the way); its raw wait status."""
        pid = self.pid
        while True:
            try:
                info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOWAIT)
            except ChildProcessError:
                self.pid = None
                return 0
            if info is None:
                continue
            if info.si_pid == pid:
                self.pid = None  # one store: the handler sees the pid or None, never a reaped pid
                return os.waitpid(pid, 0)[1]
            try:  # an orphan re-parented to us (we are a subreaper)
                os.waitpid(info.si_pid, 0)
            except ChildProcessError:
                pass


def _reap_ready() -> None:
    """Reap every child (trainer leftovers, adopted orphans) that has already ended."""
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG) == (0, 0):
                return
        except ChildProcessError:
            return


def _reap_while_alive(ps: list, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        _reap_ready()
        if not any(procs.alive(p) for p in ps) or time.monotonic() > deadline:
            return
        time.sleep(0.05)


def _other_run(lab: str, run_id: str, run_dir: RunDir):
    """A predicate: is a process (with all below it) another run's?  The shim of a run launched
    from inside ours (a sweep driver's child) is adopted by us, a subreaper, when its launcher
    forks away; it and its trainer are that run's, never leftovers of ours."""
    def other(p) -> bool:
        env = procs.environ(p)
        shim = env.get(procs.SHIM_ENV)
        if shim is not None and shim != str(run_dir.path):
            return True
        if procs.HOOK_ENV in env:
            return True  # a user hook (tui.core.hooks) fired by this shim: it runs on, detached
        p_lab, p_run = env.get(procs.LAB_TAG), env.get(procs.RUN_TAG)
        return p_run is not None and (p_run != run_id or (p_lab is not None and p_lab != lab))
    return other


def _stop_leftovers(other_run, grace: float = 3.0) -> None:
    """Terminate every descendant still alive (orphaned workers/ranks), then kill; processes
    of other runs (``other_run``) are never signalled nor waited for."""
    kids = procs.descendants(prune=other_run)
    if not kids:
        return
    for p in kids:
        procs.send(p, signal.SIGTERM)
    _reap_while_alive(kids, grace)
    kids = procs.descendants(prune=other_run)
    for p in kids:
        procs.send(p, signal.SIGKILL)
    _reap_while_alive(kids, 10.0)


def _iso_now() -> str:
    return dt.datetime.now().astimezone().replace(microsecond=0).isoformat()


def run(run_dir: RunDir, foreground: bool = False) -> int:
    spec = run_dir.read_spec()
    if spec is None:
        _log(run_dir, "spec.json missing or unreadable")
        return 2
    run_id = spec["run_id"]
    journal_path = spec["journal"]

    queue = None
    if spec.get("queue"):
        # Deferred: only a queued run's shim needs the queue (and the listing it imports).
        from .runs import queue
        if queue.hold_shim_lock(run_dir) is None:
            _log(run_dir, "another shim of this run is alive; this one leaves")
            return 0

    _become_subreaper()
    me = os.getpid()
    state = {"shim_pid": me, "shim_create": procs.create_time(me)}
    run_dir.write_state(state)

    # A signal to the shim (e.g. system shutdown) is passed to the trainer root.
    trainer = Trainer()
    # Handlers, never SIG_IGN: handlers reset to default across exec, SIG_IGN would not.
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, trainer.forward)
    warned: list[int] = []
    if foreground:  # in a Slurm job: `--signal=B:USR1@90` (time limit, preemption) = the graceful stop
        signal.signal(signal.SIGUSR1, lambda _s, _f: warned.append(1) or trainer.forward(signal.SIGINT))

    if queue is not None:  # wait for the run's turn (GPUs, --after); None: cancelled meanwhile
        spec = queue.wait_turn(run_dir, spec, lambda m: _log(run_dir, m))
        if spec is None:
            return 0

    # A run launched from inside another run inherits none of that run's tags.
    env = {k: v for k, v in os.environ.items() if k not in procs.RUN_ENV}
    env.update(spec.get("env") or {})
    env[procs.RUN_TAG] = run_id
    lab = env[procs.LAB_TAG] = procs.lab_id(journal_path)
    env[procs.RUN_DIR_ENV] = str(run_dir.path)
    env["PYTHONUNBUFFERED"] = "1"
    gpus = spec.get("gpus")
    if gpus is not None:
        env["CUDA_VISIBLE_DEVICES"] = ",".join(str(g) for g in gpus)
        env["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID"  # indices as NVML and `labtui gpus` number them

    if run_dir.kill_requested():  # killed while starting: never start the trainer
        exit_info = {"code": None, "signal": None, "ended": _iso_now(), "killed": True}
        _record_end(run_dir, journal_path, run_id, exit_info, {
            "status": str(Status.KILLED), "ended": _to_dt(exit_info["ended"])})
        return 0

    if foreground:
        slurm_node.prepare(run_dir, env)  # a requeued job continues the same run
    log = open(run_dir.log, "ab", buffering=0)
    argv = spec["argv"]
    try:
        popen = subprocess.Popen(
            argv,
            cwd=spec.get("cwd") or None,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            close_fds=True,
            preexec_fn=os.setpgrp,  # own process group (process_group= needs 3.11)
        )
    except OSError as e:
        log.write(f"labtui: cannot start {argv[0]!r}: {e.strerror or e}\n".encode())
        log.close()
        exit_info = {"code": 127, "signal": None, "ended": _iso_now(), "killed": False,
                     "error": f"cannot start {argv[0]!r}: {e.strerror or e}"}
        _record_end(run_dir, journal_path, run_id, exit_info, {
            "status": str(Status.FAILED), "ended": _to_dt(exit_info["ended"]), "exit_code": 127})
        watcher = _watch(run_dir, spec, journal_path, run_id, watching=False)
        if watcher is not None:
            watcher.ended(exit_info)
        return 1 if foreground else 0
    log.close()

    popen.returncode = 0  # the trainer is reaped by Trainer.wait; Popen must never wait for it
    trainer.pid = pid = popen.pid
    ctime = procs.create_time(pid)
    state.update({"pid": pid, "create_time": ctime, "pgid": pid})
    run_dir.write_state(state)
    _update_journal(run_dir, journal_path, run_id, {
        "status": str(Status.RUNNING), "pid": pid, "create_time": ctime})
    if foreground:
        slurm_node.record_start(journal_path, run_id)
    watcher = _watch(run_dir, spec, journal_path, run_id)

    status = trainer.wait()
    if watcher is not None:
        watcher.halt()  # no rule fires once the trainer ended (it ended on its own)
    _stop_leftovers(_other_run(lab, run_id, run_dir))

    code: int | None = None
    sig: str | None = None
    if os.WIFSIGNALED(status):
        sig = signal.Signals(os.WTERMSIG(status)).name
    else:
        code = os.WEXITSTATUS(status)
    # Killed only if a kill's signal landed before the end: a run that ended on its own while a
    # kill was merely requested (or whose untagged trainer the kill could not signal) reads as
    # it ended.
    kill_rec = run_dir.read_kill() or {}
    killed = "signalled" in kill_rec
    exit_info = {"code": code, "signal": sig, "ended": _iso_now(), "killed": killed}
    if killed and kill_rec.get("rule"):  # stopped by one of its rules (tui.core.watch)
        exit_info.update(stopped=str(kill_rec["rule"]), killed=False)
    slurm_fields = slurm_node.judge_end(run_dir, journal_path, run_id, exit_info, bool(warned)) if foreground else {}
    if slurm_fields.pop("requeued", False):  # Slurm runs this job again: the run has not ended
        _update_journal(run_dir, journal_path, run_id, slurm_fields)
        return 0
    _record_end(run_dir, journal_path, run_id, exit_info, {
        "status": str(final_status(exit_info)),
        "ended": _to_dt(exit_info["ended"]),
        "exit_code": code,
        "signal": sig,
        "stop_reason": exit_info.get("stopped"),
        **slurm_fields,
    })
    if watcher is not None:
        watcher.ended(exit_info)  # the hook's run-end event
    _warm_metrics(run_dir, journal_path, run_id, watcher)
    # In a Slurm job the job's state says it too (afterok dependencies of --after RUN:finished).
    return 1 if foreground and final_status(exit_info) != Status.FINISHED else 0


def _watch(run_dir: RunDir, spec: dict, journal_path: str, run_id: str, watching: bool = True):
    """The run's watcher (stop rules, flag events, the user hook): only for a run that has
    rules or a hook; ``watching=False``: for its end event only (no thread)."""
    if not (spec.get("stop") or spec.get("hook")):
        return None
    try:
        # Deferred: the watcher reads metrics (the metrics package, ~50 ms and several MB); a
        # plain run's shim never imports it.
        from . import watch
        return watch.start(run_dir, spec, journal_path, run_id, log=lambda m: _log(run_dir, m),
                           watching=watching)
    except Exception as e:  # noqa: BLE001 - rules and hooks never cost the run its record
        _log(run_dir, f"watcher not started: {type(e).__name__}: {e}")
        return None


def _warm_metrics(run_dir: RunDir, journal_path: str, run_id: str, watcher) -> None:
    """After the end is recorded: bring the run's metrics cache up to date, so ``labtui ls`` never
    finds a labtui run cold (with the watcher's reader when there is one).  Niced, best effort."""
    try:
        os.nice(10)
        # Deferred: the metrics package (~50 ms, several MB) is needed only now, at the very end.
        from . import lsfill
        lsfill.warm_run(journal_path, run_id, getattr(watcher, "metrics", None),
                        log=lambda m: _log(run_dir, m))
    except Exception as e:  # noqa: BLE001 - a cache: never the run's problem
        _log(run_dir, f"metrics cache not warmed: {type(e).__name__}: {e}")


def _to_dt(iso: str) -> dt.datetime:
    return dt.datetime.fromisoformat(iso)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    foreground = argv[:1] == ["--foreground"]  # a Slurm job's batch step: no fork, Slurm tracks us
    argv = argv[1:] if foreground else argv
    if len(argv) != 1:
        print("usage: python -m tui.core.shim [--foreground] RUN_DIR", file=sys.stderr)
        return 2
    run_dir = RunDir(Path(argv[0]).absolute())
    # Detach from the launcher: it reaps this process at once; the grandchild carries on.
    if not foreground and os.fork() > 0:
        os._exit(0)
    try:
        return run(run_dir, foreground)
    except Exception as e:  # last resort: leave a trace, never a silent death
        _log(run_dir, f"shim crashed: {type(e).__name__}: {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
