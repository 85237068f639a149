"""Stopping a run: SIGINT, grace, SIGTERM, grace, then SIGKILL to every process of the run.

Only the trainer root gets graceful signals (DataLoader workers must not die before the
save), and only after its (pid, create time, run tag) matched.  :func:`start_kill` runs the
same escalation in a detached ``python -m tui.core.killer`` so that it completes even if its
caller (the app) exits.
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
from ..status import final_status
from .edit import add_note
from .launch import shim_env
from .model import as_journal, get_run
from .reconcile import reconcile

DEFAULT_GRACE = 30.0  # seconds after SIGINT, and again after SIGTERM (checkpoint saves take time)
MODES = ("graceful", "term", "now")


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise UserError(f"bad kill mode {mode!r}: graceful, term or now")


def kill(journal: Journal | str | None, run_id: str, grace: float = DEFAULT_GRACE,
         now: bool = False, reason: str | None = None, mode: str | None = None,
         progress: Callable[[str], None] | None = None, term_grace: float | None = None) -> str:
    """Stop a run: SIGINT, grace, SIGTERM, grace, then SIGKILL to every tagged process.

    ``mode``: ``graceful`` (default: SIGINT first), ``term`` (SIGTERM first) or ``now``
    (SIGKILL at once).  Only the trainer root gets graceful signals, and only after its
    (pid, create time, run tag) matched; the final SIGKILL goes to every process of
    this user that carries the run tag (this lab's run: the same id in another lab is
    another run).  Returns the run's final status.
    """
    j = as_journal(journal)
    info = get_run(j, run_id)
    if not info.alive:
        raise UserError(f"run {run_id!r} is not running (status: {info.status})")
    mode = "now" if now else (mode or "graceful")
    _check_mode(mode)
    term_grace = grace if term_grace is None else term_grace
    say = progress or (lambda _m: None)
    rd = info.rundir
    lab = procs.lab_id(j.path)
    rd.write_kill({"requested": _now().isoformat(), "reason": reason, "mode": mode, "by_pid": os.getpid()})
    if reason:
        add_note(j, run_id, f"killed: {reason}")

    state = rd.read_state()
    root = procs.matching_process(state.get("pid", info.pid), state.get("create_time", info.create_time))
    if root is not None and (not procs.has_tag(root, lab, run_id) or not procs.own(root)):
        root = None  # same pid and time but not this lab's run: never signal it
    if root is not None and mode in ("graceful", "term"):
        steps = [(signal.SIGINT, grace)] if mode == "graceful" else []
        steps.append((signal.SIGTERM, term_grace))
        for sig, wait_s in steps:
            say(f"sending {sig.name} to {run_id} (pid {root.pid}), waiting up to {wait_s:g}s")
            procs.send(root, sig)
            if procs.wait_gone(root, wait_s):
                break
    victims = list(procs.tagged_processes(run_id, lab))
    if root is not None and procs.alive(root):
        victims.append(root)
    if victims:
        say(f"sending SIGKILL to {len(victims)} process(es) of {run_id}")
    for p in victims:
        procs.send(p, signal.SIGKILL)
    for p in victims:
        procs.wait_gone(p, 5.0)

    _wait_for_shim(rd, lab, run_id, rd.read_state() or state)
    exit_info = rd.read_exit()
    if exit_info is None:
        # No shim to report it (lost run, or the shim was killed): record the kill ourselves,
        # in exit.json and in the journal.  (Otherwise the shim records the end itself.)
        exit_info = {"code": None, "signal": "SIGKILL", "ended": _now().isoformat(), "killed": True}
        rd.write_exit(exit_info)
        reconcile(j)
    return str(final_status(exit_info))


def _wait_for_shim(rd: RunDir, lab: str, run_id: str, state: dict, timeout: float = 10.0) -> None:
    """While the run's shim lives and has not written exit.json, SIGKILL any trainer it started
    while we were signalling (a kill during ``starting``)."""
    shim = procs.matching_process(state.get("shim_pid"), state.get("shim_create"))
    deadline = time.monotonic() + timeout
    while shim is not None and procs.alive(shim) and not rd.has_exit():
        if time.monotonic() > deadline:
            break
        for p in procs.tagged_processes(run_id, lab):
            procs.send(p, signal.SIGKILL)
        time.sleep(0.05)


def start_kill(journal: Journal | str | None, run_id: str, grace: float = DEFAULT_GRACE,
               mode: str = "graceful", reason: str | None = None) -> subprocess.Popen:
    """Run :func:`kill` in a detached process (``tui.core.killer``) and return it at once.

    The escalation then completes even if the caller (the app) exits.  Its output, ending in
    ``result: STATUS`` or ``error: MESSAGE``, is in ``<run dir>/kill.log``; see
    :func:`kill_outcome`.
    """
    j = as_journal(journal)
    info = get_run(j, run_id)
    if not info.alive:
        raise UserError(f"run {run_id!r} is not running (status: {info.status})")
    _check_mode(mode)
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
