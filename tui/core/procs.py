"""Process identity and kill waits: a pid is only ever trusted with its create time and run tag.

The one home for "is this the process we started?", "is it still alive?", "signal it", "wait
until it is gone", "which processes carry this run's tag?" and "start this fully detached"
(``spawn_detached``).  Shared by the runs core, the
shim and the GPU attribution code.

A run's tag is two environment variables the shim puts into the trainer's environment:
``LABTUI_LAB`` (the lab: the journal's real path) and ``LABTUI_RUN_ID``.  Run ids such as
``run_1`` repeat in every lab, so a matcher compares both.
"""

from __future__ import annotations

import os
import time
from typing import Any, Callable, Iterator

import psutil

RUN_TAG = "LABTUI_RUN_ID"
LAB_TAG = "LABTUI_LAB"  # which lab (the journal's real path): run ids repeat across labs
RUN_DIR_ENV = "LABTUI_RUN_DIR"
RESUME_ENV = "LABTUI_RESUME_FROM"  # the checkpoint a resumed run starts from
INIT_ENV = "LABTUI_INIT_FROM"  # the checkpoint a run initialises its weights from (init-from)
SHIM_ENV = "LABTUI_SHIM"  # in a shim's own environment: its run folder (the shim of which run)
HOOK_ENV = "LABTUI_EVENT"  # a user hook (tui.core.hooks): it names a run, but is none of its processes
# Everything that ties a process to a run: a run launched from inside another run (a sweep
# driver) is its own run, so its shim and trainer inherit none of these from the launcher.
RUN_ENV = (RUN_TAG, LAB_TAG, RUN_DIR_ENV, RESUME_ENV, SHIM_ENV, INIT_ENV, HOOK_ENV)
MAXFD = os.sysconf("SC_OPEN_MAX")  # spawn_detached closes every fd below it (as subprocess does)


def lab_id(journal_path: str | os.PathLike) -> str:
    """The lab a run belongs to, as carried in its processes' ``LABTUI_LAB``."""
    return os.path.realpath(os.fspath(journal_path))


def process_tag(p: psutil.Process) -> tuple[str | None, str | None]:
    """``(lab, run id)`` from a process's environment; ``(None, None)`` if unreadable, or for a
    hook (``HOOK_ENV``: it carries the run id as data)."""
    env = environ(p)
    if HOOK_ENV in env:
        return None, None
    return env.get(LAB_TAG), env.get(RUN_TAG)


def pid_tag(pid: int) -> tuple[str | None, str | None]:
    """``(lab, run id)`` of a pid, like :func:`process_tag`, read straight from /proc/PID/environ:
    ~10x cheaper than a psutil.Process (the GPU attribution scans every process of the host)."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            data = f.read()
    except OSError:
        return None, None
    lab_key, run_key, hook_key = LAB_TAG.encode() + b"=", RUN_TAG.encode() + b"=", HOOK_ENV.encode() + b"="
    lab = run = None
    for item in data.split(b"\0"):
        if item.startswith(hook_key):
            return None, None
        if item.startswith(run_key):
            run = item[len(run_key):].decode("utf-8", "replace")
        elif item.startswith(lab_key):
            lab = item[len(lab_key):].decode("utf-8", "replace")
    return lab, run


def has_tag(p: psutil.Process, lab: str | None, run_id: str) -> bool:
    """Whether ``p`` carries the tag of run ``run_id`` of lab ``lab``.

    ``lab=None`` matches on the run id alone (a caller that does not know the lab).  A process
    tagged with the run id but no lab (a trainer started by an older shim) still matches its
    own lab's run: it can only be told apart by the lab if it names one.
    """
    p_lab, p_run = process_tag(p)
    if p_run != run_id:
        return False
    return lab is None or p_lab is None or p_lab == lab


def dropped_tag(p: psutil.Process, lab: str | None, run_id: str) -> bool:
    """Whether ``p`` visibly runs without run ``run_id``'s tag (``exec env -i ...``): its
    environment reads, is not empty, and names no such run.  A process on its way out (its
    environment already gone) or an unreadable one is not taken for a deserter."""
    env = environ(p)
    if not env:
        return False
    return env.get(RUN_TAG) != run_id or (lab is not None and env.get(LAB_TAG) not in (None, lab))


def create_time(pid: int) -> float | None:
    try:
        return round(psutil.Process(pid).create_time(), 2)
    except (psutil.Error, OSError):
        return None


def same_start(now: float, recorded: float) -> bool:
    """Whether a create time read now is the one recorded (within 0.05 s), allowing a shift of
    exactly one second: psutil adds the boot time to a process's start, and Linux gives the boot
    time (``btime`` in /proc/stat) in whole seconds derived from the wall clock, so a clock
    adjustment across a whole second moves every process's create time by 1 s.  Without this a
    long run could read "lost" while it runs.  (A reused pid started exactly a second off is no
    real risk.)"""
    d = now - recorded
    return abs(d) <= 0.05 or abs(abs(d) - 1.0) <= 0.05


def matching_process(pid: Any, ctime: Any) -> psutil.Process | None:
    """The live process ``pid`` if it is the very one started at ``ctime``; zombies do not count."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return None
    if not isinstance(ctime, (int, float)) or isinstance(ctime, bool) or ctime != ctime:
        return None  # a NaN create time would match any process
    try:
        p = psutil.Process(pid)
        if not same_start(p.create_time(), float(ctime)):
            return None
        if p.status() == psutil.STATUS_ZOMBIE:
            return None
        return p
    except (psutil.Error, OSError):
        return None


def run_tag(p: psutil.Process) -> str | None:
    """The LABTUI_RUN_ID in a process's environment (None if absent or unreadable)."""
    return process_tag(p)[1]


def own(p: psutil.Process) -> bool:
    try:
        return p.uids().real == os.getuid()
    except (psutil.Error, OSError):
        return False


def alive(p: psutil.Process) -> bool:
    """Whether ``p`` (the very process, not a reuse of its pid) still runs; zombies are gone."""
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def send(p: psutil.Process, sig: int) -> bool:
    """Signal ``p`` if it is still the very process (psutil checks its create time); never raises."""
    try:
        p.send_signal(sig)
        return True
    except (psutil.Error, OSError):
        return False


def wait_gone(p: psutil.Process, timeout: float, poll: float = 0.05) -> bool:
    """Wait up to ``timeout`` seconds for ``p`` to end; whether it did."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(p):
            return True
        time.sleep(poll)
    return not alive(p)


def tagged_processes(run_id: str, lab: str | None = None) -> Iterator[psutil.Process]:
    """Every live process of this user (but this one) carrying run ``run_id``'s tag.

    With ``lab`` (see :func:`lab_id`) only that lab's run matches: the same id in another lab
    is another run.  Without it, any lab's ``run_id`` matches.
    """
    me = os.getuid()
    me_pid = os.getpid()
    for p in psutil.process_iter(["uids"]):
        try:
            uids = p.info.get("uids")
            if uids is None or uids.real != me or p.pid == me_pid:
                continue
            if p.status() == psutil.STATUS_ZOMBIE:
                continue
            if has_tag(p, lab, run_id):
                yield p
        except (psutil.Error, OSError):
            continue


def descendants(pid: int | None = None,
                prune: Callable[[psutil.Process], bool] | None = None) -> list[psutil.Process]:
    """Live (not zombie) descendants of ``pid`` (default: this process).

    ``prune(p)`` true leaves out ``p`` and everything below it (another run's subtree).
    """
    out: list[psutil.Process] = []
    try:
        todo = psutil.Process(pid).children()
    except (psutil.Error, OSError):
        return out
    seen: set[int] = set()
    while todo:
        p = todo.pop()
        if p.pid in seen or (prune is not None and prune(p)):
            continue
        seen.add(p.pid)
        if alive(p):
            out.append(p)
        try:
            todo.extend(p.children())
        except (psutil.Error, OSError):
            pass
    return out


def environ(p: psutil.Process) -> dict:
    """A process's environment (``{}`` if gone or unreadable)."""
    try:
        return p.environ()
    except (psutil.Error, OSError):
        return {}


def spawn_detached(argv: list[str], cwd: str | os.PathLike | None = None,
                   env: dict | None = None) -> int | None:
    """Start ``argv`` fully detached (a double fork): its own session, stdio on /dev/null, no
    other file descriptor, and not this process's child (the intermediate process, reaped here
    at once, leaves it to init), so nothing waits for it or warns about it.  Waits for its
    ``exec`` only, never for what it does; its pid, or None when it could not be started.
    (A fork: for the CLI and the core's own processes, not a threaded app.)"""
    r, w = os.pipe()  # the intermediate writes the pid; an exec failure writes "!errno"; EOF at exec
    try:
        pid = os.fork()
    except OSError:
        os.close(r)
        os.close(w)
        return None
    if pid == 0:
        _detached_child(list(argv), cwd, env, r, w)  # never returns
    os.close(w)
    got = b""
    try:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
        while True:
            chunk = os.read(r, 64)
            if not chunk:
                break
            got += chunk
    finally:
        os.close(r)
    head, _, _ = got.partition(b"\n")
    if b"!" in got or not head.strip().isdigit():
        return None
    return int(head)


def _detached_child(argv: list[str], cwd, env: dict | None, r: int, w: int) -> None:
    """(In the forked child.) New session, fork the program, exit; never returns."""
    try:
        os.close(r)
        os.setsid()
        pid = os.fork()
        if pid:
            os.write(w, b"%d\n" % pid)
            os._exit(0)
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.closerange(3, w)
        os.closerange(w + 1, MAXFD)
        if cwd is not None:
            os.chdir(cwd)
        if env is None:
            os.execvp(argv[0], argv)
        os.execvpe(argv[0], argv, env)
    except BaseException as e:  # noqa: BLE001 - a forked child must never return into the caller
        try:
            os.write(w, b"!%d" % (getattr(e, "errno", None) or 0))
        finally:
            os._exit(127)
    os._exit(127)
