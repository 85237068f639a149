"""`labtui gpus --kill PID`: end a foreign GPU process, with every refusal checked first."""

from __future__ import annotations

import os
import signal
import time

import psutil

from ..errors import UserError
from ..procs import same_start
from .attribution import is_kernel_thread, read_tag
from .snapshot import NA, GpuSnapshot, fmt
from .sources import GpuSource, make_source


def _wait_dead(p: psutil.Process, timeout: float) -> bool:
    """True once p is gone or a zombie (its parent, not us, reaps it)."""
    end = time.monotonic() + timeout
    while True:
        try:
            if not p.is_running() or p.status() == psutil.STATUS_ZOMBIE:
                return True
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            return True
        except psutil.Error:
            pass
        if time.monotonic() >= end:
            return False
        time.sleep(0.05)


def _self_and_parents() -> set[int]:
    me = psutil.Process()
    try:
        return {me.pid} | {p.pid for p in me.parents()}
    except psutil.Error:
        return {me.pid}


def _run_refusal(pid: int, lab, run: str, our_lab: str | None) -> UserError:
    if lab and our_lab and lab != our_lab:
        return UserError(f"PID {pid} belongs to labtui run {run} of lab {lab}: "
                         f"use `labtui --journal {lab} kill {run}`")
    return UserError(f"PID {pid} belongs to labtui run {run}: use `labtui kill {run}`")


def kill_foreign(pid: int, snapshot: GpuSnapshot | None = None, source: GpuSource | None = None,
                 grace: float = 5.0, any_user: bool = False, lab: str | None = None) -> str:
    """Kill a foreign GPU process. Returns a one-line report; UserError (one line) if refused.

    Refuses, whoever asks (root included): pid 1, pids not on any GPU, labtui itself and its parents,
    kernel threads, invisible pids, processes of a labtui run of any lab (use `labtui kill
    RUN`), and other users' processes unless `any_user`. The create time comes from the snapshot
    and is re-checked (with the owner and the run tag) right before each signal: SIGTERM, then
    SIGKILL after `grace` s. `lab`: ours, to name another lab's run (default: the source's).
    """
    if lab is None and source is not None:
        lab = source.lab
    if pid == 1:
        raise UserError("PID 1 is the init process: labtui never signals it")
    if snapshot is None:
        snapshot = (source if source is not None else make_source("auto")).sample()
    gp = snapshot.process(pid)
    if gp is None:
        raise UserError(f"PID {pid} holds no GPU memory (not in the GPU process list); not killing it")
    if pid in _self_and_parents():
        raise UserError(f"PID {pid} is labtui itself or one of its parents; not killing it")
    if gp.run_id:
        raise UserError(f"PID {pid} belongs to labtui run {gp.run_id}: use `labtui kill {gp.run_id}`")
    if not gp.visible:
        raise UserError(f"PID {pid} is not visible here (another PID namespace?); cannot check its owner")
    if is_kernel_thread(pid):
        raise UserError(f"PID {pid} is a kernel thread: labtui never signals kernel threads")
    if gp.same_user is not True and not any_user:
        raise UserError(f"PID {pid} belongs to user {fmt(gp.user)}: labtui never signals other users' "
                        f"processes (--any-user to override)")
    if gp.create_time is NA:
        raise UserError(f"PID {pid}: create time unknown; not killing it")

    def recheck() -> psutil.Process:
        try:
            p = psutil.Process(pid)
            same = same_start(p.create_time(), float(gp.create_time))
            uid = p.uids().real
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            raise ProcessLookupError from None
        except (psutil.Error, OSError) as e:
            raise UserError(f"PID {pid}: cannot check it ({e}); not killing it") from None
        if not same:
            raise ProcessLookupError
        if uid != os.getuid() and not any_user:
            raise UserError(f"PID {pid} now belongs to another user; not killing it")
        tag = read_tag(pid)
        if tag:
            raise _run_refusal(pid, tag[0], tag[1], lab)
        return p

    def send(p: psutil.Process, sig: int) -> None:
        try:
            p.send_signal(sig)
        except psutil.AccessDenied:
            raise UserError(f"PID {pid}: permission denied (not yours); nothing signalled") from None

    what = f"PID {pid} ({fmt(gp.name)}, {fmt(gp.mem_used, 'B')} on GPU {gp.gpu})"
    try:
        p = recheck()
        send(p, signal.SIGKILL if grace <= 0 else signal.SIGTERM)
    except (ProcessLookupError, psutil.NoSuchProcess):
        return f"{what} is gone (exited, or its pid is now another process's); nothing signalled"
    if grace <= 0:
        sig = "SIGKILL"
    else:
        sig = "SIGTERM"
        if not _wait_dead(p, grace):
            try:
                send(recheck(), signal.SIGKILL)
                sig = "SIGTERM, then SIGKILL"
            except (ProcessLookupError, psutil.NoSuchProcess):
                pass
    _wait_dead(p, 2.0)
    return f"killed {what} with {sig}"
