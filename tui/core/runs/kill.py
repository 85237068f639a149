"""Stopping a run: SIGINT, grace, SIGTERM, grace, then SIGKILL to every process of the run.

Only the trainer root gets graceful signals (DataLoader workers must not die before the
save), and only after its (pid, create time, run tag) matched.  :func:`start_kill` runs the
same escalation in a detached ``python -m tui.core.killer`` so that it completes even if its
caller (the app, or the CLI whose terminal closed) exits; :func:`kill_detached` follows it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Callable

from .. import procs
from ..errors import UserError
from ..journal import Journal
from ..journal import now as _now
from ..rundir import RunDir
from ..slurm import cancel as slurm_cancel
from ..status import Status, final_status
from .edit import add_note
from . import queue
from .launch import shim_env
from .model import RunInfo, as_journal, get_run
from .reconcile import reconcile

DEFAULT_GRACE = 30.0  # seconds after SIGINT, and again after SIGTERM (checkpoint saves take time)
MODES = ("graceful", "term", "now")


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise UserError(f"bad kill mode {mode!r}: graceful, term or now")


def kill(journal: Journal | str | None, run_id: str, grace: float = DEFAULT_GRACE,
         now: bool = False, reason: str | None = None, mode: str | None = None,
         progress: Callable[[str], None] | None = None, term_grace: float | None = None,
         rule: str | None = None) -> str:
    """Stop a run: SIGINT, grace, SIGTERM, grace, then SIGKILL to every tagged process.

    ``mode``: ``graceful`` (default: SIGINT first), ``term`` (SIGTERM first) or ``now``
    (SIGKILL at once).  Only the trainer root gets graceful signals, and only after its
    (pid, create time, run tag) matched; the final SIGKILL goes to every process of
    this user that carries the run tag (this lab's run: the same id in another lab is
    another run).  Returns the run's final status.

    ``rule``: the stop rule that fired (``tui.core.watch``): kill.json says so, and the shim
    records the end as ``stopped`` with it instead of ``killed``.

    An end is recorded only once the trainer is verifiably gone (by pid and create time, tag
    or not): a trainer that dropped its run tag and survives raises :class:`UserError` (the
    run stays live, nothing claims it was killed, and it can be killed again).
    """
    j = as_journal(journal)
    info = get_run(j, run_id)
    if not info.alive and not slurm_cancel.active(info.status, info.slurm):
        raise UserError(f"run {run_id!r} is not running (status: {info.status})")
    mode = "now" if now else (mode or "graceful")
    _check_mode(mode)
    term_grace = grace if term_grace is None else term_grace
    say = progress or (lambda _m: None)
    rd = info.rundir
    _check_folder(rd, run_id)
    if slurm_cancel.active(info.status, info.slurm):  # through Slurm: scancel, never /proc
        if reason:
            add_note(j, run_id, f"killed: {reason}")
        return slurm_cancel.kill(j, run_id, str(info.slurm.get("job_id") or ""), grace, term_grace,
                                 mode, reason, say)
    lab = procs.lab_id(j.path)
    record = {"requested": _now().isoformat(), "reason": reason, "mode": mode, "by_pid": os.getpid()}
    if rule:
        record["rule"] = rule
    rd.write_kill(record)
    if reason:
        add_note(j, run_id, f"killed: {reason}")

    def signalled() -> None:
        """Say in kill.json that a signal is about to land (once): from here on, an end is the
        kill's doing; a run that ended before reads as it ended (finished, failed)."""
        if "signalled" not in record:
            record["signalled"] = _now().isoformat()
            rd.write_kill(record)

    state = rd.read_state()
    pid, ctime = state.get("pid", info.pid), state.get("create_time", info.create_time)
    root = procs.matching_process(pid, ctime)
    if root is not None and (not procs.has_tag(root, lab, run_id) or not procs.own(root)):
        root = None  # same pid and time but not this lab's run: never signal it
    if root is not None and mode in ("graceful", "term"):
        steps = [(signal.SIGINT, grace)] if mode == "graceful" else []
        steps.append((signal.SIGTERM, term_grace))
        for sig, wait_s in steps:
            say(f"sending {sig.name} to {run_id} (pid {root.pid}), waiting up to {wait_s:g}s")
            signalled()
            procs.send(root, sig)
            if procs.wait_gone(root, wait_s):
                break
    victims = list(procs.tagged_processes(run_id, lab))
    if root is not None and procs.alive(root):
        victims.append(root)
    if victims:
        say(f"sending SIGKILL to {len(victims)} process(es) of {run_id}")
        signalled()
    for p in victims:
        procs.send(p, signal.SIGKILL)
    for p in victims:
        procs.wait_gone(p, 5.0)

    shim_alive = _wait_for_shim(rd, lab, run_id, rd.read_state() or state, signalled)
    exit_info = rd.read_exit()
    if exit_info is None:
        state = rd.read_state() or state
        survivor = procs.matching_process(state.get("pid", pid), state.get("create_time", ctime))
        if survivor is not None and procs.wait_gone(survivor, 2.0):  # it was on its way out
            shim_alive = _wait_for_shim(rd, lab, run_id, state, signalled)
            exit_info, survivor = rd.read_exit(), None
    if exit_info is None:
        if survivor is not None:  # tag or not, the trainer still runs: nothing ended
            why = ("it does not carry the run's tag, so it was not signalled"
                   if procs.dropped_tag(survivor, lab, run_id) or not procs.has_tag(survivor, lab, run_id)
                   else "it outlived every signal")
            raise UserError(f"run {run_id!r} is still running (pid {survivor.pid}): {why}; nothing "
                            f"was recorded (kill it yourself, or labtui kill {run_id} again)")
        if shim_alive:
            # The trainer is gone and its shim records the end as soon as it can (a full disk:
            # it keeps retrying); never write over what it knows.
            return str(Status.KILLED if "signalled" in record else get_run(j, run_id).status)
        # No shim to report it (lost run, or the shim was killed): record the kill ourselves,
        # in exit.json and in the journal.  (Otherwise the shim records the end itself.)
        exit_info = {"code": None, "signal": "SIGKILL", "ended": _now().isoformat(), "killed": True}
        rd.write_exit(exit_info)
        reconcile(j)
    return str(final_status(exit_info))


def killable(info: RunInfo) -> bool:
    """Whether a kill acts on the run: it is live, a Slurm job that has not ended (a pending
    one is cancelled at once), or queued (its kill is a cancel: :func:`cancel_queued`)."""
    return info.alive or info.status == Status.QUEUED or slurm_cancel.active(info.status, info.slurm)


def cancel_queued(journal: Journal | str | None, run_id: str, reason: str | None = None) -> str | None:
    """A queued run's kill is a cancel (:func:`tui.core.runs.queue.cancel`): its final status,
    ``cancelled``; None when it is not queued, or it started meanwhile (then kill it).  The CLI's
    ``labtui kill`` and the app's ``k`` both start here."""
    j = as_journal(journal)
    if get_run(j, run_id).status != Status.QUEUED:
        return None
    try:
        queue.cancel(j, run_id, reason)
    except UserError:
        if not get_run(j, run_id).alive:
            raise
        return None  # it started meanwhile: kill it
    return str(Status.CANCELLED)


def _check_folder(rd: RunDir, run_id: str) -> None:
    if not rd.exists():
        raise UserError(f"run {run_id!r}: its folder {rd.path} is missing; nothing was changed")


def _wait_for_shim(rd: RunDir, lab: str, run_id: str, state: dict, signalled: Callable[[], None],
                   timeout: float = 10.0) -> bool:
    """While the run's shim lives and has not written exit.json, SIGKILL any trainer it started
    while we were signalling (a kill during ``starting``).  Whether the shim still lives."""
    shim = procs.matching_process(state.get("shim_pid"), state.get("shim_create"))
    deadline = time.monotonic() + timeout
    while shim is not None and procs.alive(shim) and not rd.has_exit():
        if time.monotonic() > deadline:
            return True
        for p in procs.tagged_processes(run_id, lab):
            signalled()
            procs.send(p, signal.SIGKILL)
        st = rd.read_state()
        root = procs.matching_process(st.get("pid"), st.get("create_time"))
        if root is not None and procs.dropped_tag(root, lab, run_id):
            return True  # a trainer without the run's tag lives on: its shim has nothing to write
        time.sleep(0.05)
    return shim is not None and procs.alive(shim) and not rd.has_exit()


def start_kill(journal: Journal | str | None, run_id: str, grace: float = DEFAULT_GRACE,
               mode: str = "graceful", reason: str | None = None) -> subprocess.Popen:
    """Run :func:`kill` in a detached process (``tui.core.killer``) and return it at once.

    The escalation then completes even if the caller (the app, the CLI) exits.  Its output, ending in
    ``result: STATUS`` or ``error: MESSAGE``, is in ``<run dir>/kill.log``; see
    :func:`kill_outcome`.
    """
    j = as_journal(journal)
    info = get_run(j, run_id)
    if not info.alive and not slurm_cancel.active(info.status, info.slurm):
        raise UserError(f"run {run_id!r} is not running (status: {info.status})")
    _check_mode(mode)
    _check_folder(info.rundir, run_id)
    log = open(info.rundir.kill_log, "ab")
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "tui.core.killer", str(j.path), run_id, mode, repr(float(grace)),
             reason or ""],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            close_fds=True, cwd=str(info.run_dir), env=shim_env())
    finally:
        log.close()


def kill_outcome(journal: Journal | str | None, run_id: str) -> str:
    """The last line a detached kill wrote: its final status, or raise its one-line error."""
    j = as_journal(journal)
    try:
        text = RunDir(j.run_dir(run_id)).kill_log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    for line in reversed(text.splitlines()):
        if line.startswith("result: "):
            return line[len("result: "):].strip()
        if line.startswith("error: "):
            raise UserError(line[len("error: "):].strip())
    return str(get_run(j, run_id).status)


def kill_detached(journal: Journal | str | None, run_id: str, grace: float = DEFAULT_GRACE,
                  mode: str = "graceful", reason: str | None = None,
                  progress: Callable[[str], None] | None = None,
                  started: Callable[[subprocess.Popen], None] | None = None) -> str:
    """:func:`kill` in the detached killer (:func:`start_kill`), followed from here: its progress
    lines go to ``progress``, its outcome is returned (or its one-line error raised).

    If this process dies meanwhile (the terminal closed, an SSH link dropped), the escalation
    carries on to its end without it.  ``started(proc)`` is told the killer once it runs.
    """
    j = as_journal(journal)
    log_path = RunDir(j.run_dir(run_id)).kill_log
    try:
        offset = log_path.stat().st_size
    except OSError:
        offset = 0
    proc = start_kill(j, run_id, grace=grace, mode=mode, reason=reason)
    if started is not None:
        started(proc)
    say = progress or (lambda _m: None)
    pending = b""
    outcome: tuple[str, str] | None = None
    while True:
        done = proc.poll() is not None  # read once more after it ended: its last lines
        try:
            with open(log_path, "rb") as f:
                f.seek(offset)
                data = f.read()
        except OSError:
            data = b""
        offset += len(data)
        lines = (pending + data).split(b"\n")
        pending = lines.pop()
        for raw in lines:
            line = raw.decode("utf-8", "replace")
            for key in ("result", "error"):
                if line.startswith(key + ": "):
                    outcome = (key, line[len(key) + 2:].strip())
                    break
            else:
                say(line)
        if done:
            break
        time.sleep(0.05)
    if outcome is None:
        raise UserError(f"the kill of {run_id!r} ended without an outcome (exit {proc.returncode}); "
                        f"see {log_path}")
    if outcome[0] == "error":
        raise UserError(outcome[1])
    return outcome[1]
