"""The user's event hook: ``on_event = "CMD"`` in the lab (``[labtui]`` in experiments.toml) or
the user config (``~/.config/labtui/config.toml``); the lab's wins.

The hook a run gets is resolved at launch (:func:`hook_for`) and kept in its ``spec.json``;
the run's shim fires it (:func:`fire`) when the run ends and when its watcher sees a new
flag.  Each firing is a detached ``python -m tui.core.hooks`` that runs CMD in its own session.
CMD is split like a shell would (``shlex``) and run WITHOUT a shell, as run commands are: the
lab's value sits in a journal others may write; a user who wants a shell says so
(``on_event = "sh -c '...'"``).  It runs with the event in its environment (``LABTUI_EVENT``, ``LABTUI_RUN_ID``,
``LABTUI_STATUS``, ``LABTUI_EXIT_CODE``, ``LABTUI_REASON``, ``LABTUI_FLAG``,
``LABTUI_JOURNAL``), its output appended to ``RunDir.hooks_log``, killed (its whole process
group) after ``hook_timeout`` seconds (default 30).  Nothing a hook does (fail, hang, print
escapes) reaches the run, its status or the journal.

A hook carries ``LABTUI_EVENT``: that marks it as a hook, never one of the run's processes
(``procs.process_tag``), so a kill or the shim's clean-up never signals it.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

from . import procs
from .config import config_path, load_config
from .errors import UserError
from .rundir import RunDir

HOOK_TIMEOUT = 30.0
KILL_GRACE = 2.0  # seconds between the timeout's SIGTERM and SIGKILL to the hook's group


def _settings(table: dict, where: object) -> dict | None:
    cmd = table.get("on_event")
    if cmd is None:
        return None
    if not isinstance(cmd, str) or not cmd.strip():
        raise UserError(f"{where}: on_event must be a command (a string; run without a shell: "
                        "write sh -c '...' for one)")
    try:
        shlex.split(cmd)
    except ValueError as e:
        raise UserError(f"{where}: cannot split on_event {cmd!r}: {e}") from None
    timeout = table.get("hook_timeout", HOOK_TIMEOUT)
    if (not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not math.isfinite(timeout)
            or timeout <= 0):
        raise UserError(f"{where}: hook_timeout must be a number of seconds > 0, not {timeout!r}")
    return {"cmd": cmd, "timeout": float(timeout)}


def hook_for(data: dict, journal_path: object, user_cfg: dict | None = None) -> dict | None:
    """``{"cmd", "timeout"}`` of the lab's ``[labtui]`` table, else of the user config; None
    when neither has ``on_event``.  A malformed value is a one-line UserError naming the file."""
    lab = data.get("labtui")
    if lab is not None and not isinstance(lab, dict):
        raise UserError(f"{journal_path}: 'labtui' must be a table ([labtui] with on_event = \"...\")")
    found = _settings(lab or {}, f"{journal_path}: [labtui]")
    if found is not None:
        return found
    cfg = load_config() if user_cfg is None else user_cfg
    return _settings(cfg, config_path())


def hook_env(event: str, run_id: str, journal: object, status: object = None,
             exit_code: object = None, reason: str | None = None, flag: str | None = None,
             base: dict | None = None) -> dict:
    """The hook's environment: ours without any run's tag, plus the event."""
    env = {k: v for k, v in (os.environ if base is None else base).items() if k not in procs.RUN_ENV}
    env.update({procs.HOOK_ENV: event, procs.RUN_TAG: run_id, "LABTUI_JOURNAL": str(journal),
                "LABTUI_STATUS": "" if status is None else str(status),
                "LABTUI_EXIT_CODE": "" if exit_code is None else str(exit_code),
                "LABTUI_REASON": reason or "", "LABTUI_FLAG": flag or ""})
    return env


def fire(hook: dict | None, run_dir: RunDir, event: str, run_id: str, journal: object,
         status: object = None, exit_code: object = None, reason: str | None = None,
         flag: str | None = None) -> subprocess.Popen | None:
    """Start the hook detached (``python -m tui.core.hooks``); never raises (a hook that cannot
    start is a line in its log)."""
    if not hook:
        return None
    env = hook_env(event, run_id, journal, status, exit_code, reason, flag)
    try:
        log = open(run_dir.hooks_log, "ab")
    except OSError:
        return None
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "tui.core.hooks", repr(float(hook.get("timeout") or HOOK_TIMEOUT)),
             str(hook["cmd"])],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            close_fds=True, cwd=str(Path(str(journal)).parent), env=env)
    except OSError as e:
        log.write(f"{_stamp()} {event}: cannot start the hook runner: {e}\n".encode())
        return None
    finally:
        log.close()


def _stamp() -> str:
    return dt.datetime.now().astimezone().replace(microsecond=0).isoformat()


def run_hook(cmd: str, timeout: float) -> int:
    """(The detached runner.)  Run ``cmd`` (split like a shell would, never run by one) in its
    own process group, stdout
    and stderr to ours (the run's hooks log); after ``timeout`` s SIGTERM its group, then
    SIGKILL.  Returns its exit code (124 on a timeout)."""
    event, run_id = os.environ.get(procs.HOOK_ENV, "?"), os.environ.get(procs.RUN_TAG, "?")
    print(f"{_stamp()} {event} {run_id}: {cmd}", flush=True)
    try:
        p = subprocess.Popen(shlex.split(cmd), stdin=subprocess.DEVNULL, start_new_session=True)
    except (OSError, ValueError) as e:
        print(f"{_stamp()} {event} {run_id}: cannot start the hook: {e}", flush=True)
        return 127
    try:
        rc = p.wait(timeout)
    except subprocess.TimeoutExpired:
        for sig, wait_s in ((signal.SIGTERM, KILL_GRACE), (signal.SIGKILL, None)):
            try:
                os.killpg(p.pid, sig)
            except OSError:
                pass
            try:
                p.wait(wait_s)
                break
            except subprocess.TimeoutExpired:
                continue
        print(f"{_stamp()} {event} {run_id}: timed out after {timeout:g}s, killed", flush=True)
        return 124
    print(f"{_stamp()} {event} {run_id}: exit {rc}", flush=True)
    return rc


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m tui.core.hooks TIMEOUT CMD", file=sys.stderr)
        return 2
    run_hook(argv[1], float(argv[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
