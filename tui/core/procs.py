"""Process identity: a pid is only ever trusted together with its create time and run tag.

Shared by the runs core, the shim and the GPU attribution code.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

import psutil

RUN_TAG = "LABTUI_RUN_ID"
LAB_TAG = "LABTUI_LAB"  # which lab (the journal's real path): run ids repeat across labs


def lab_id(journal_path: str | os.PathLike) -> str:
    """The lab a run belongs to, as carried in its processes' ``LABTUI_LAB``."""
    return os.path.realpath(os.fspath(journal_path))


def process_tag(p: psutil.Process) -> tuple[str | None, str | None]:
    """``(lab, run id)`` from a process's environment; ``(None, None)`` if unreadable."""
    try:
        env = p.environ()
    except (psutil.Error, OSError):
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
    lab_key, run_key = LAB_TAG.encode() + b"=", RUN_TAG.encode() + b"="
    lab = run = None
    for item in data.split(b"\0"):
        if item.startswith(run_key):
            run = item[len(run_key):].decode("utf-8", "replace")
        elif item.startswith(lab_key):
            lab = item[len(lab_key):].decode("utf-8", "replace")
    return lab, run


def create_time(pid: int) -> float | None:
    try:
        return round(psutil.Process(pid).create_time(), 2)
    except (psutil.Error, OSError):
        return None


def matching_process(pid: Any, ctime: Any) -> psutil.Process | None:
    """The live process ``pid`` if it is the very one started at ``ctime``; zombies do not count."""
    if not isinstance(pid, int) or pid <= 0 or not isinstance(ctime, (int, float)):
        return None
    try:
        p = psutil.Process(pid)
        if abs(p.create_time() - float(ctime)) > 0.05:
            return None
        if p.status() == psutil.STATUS_ZOMBIE:
            return None
        return p
    except (psutil.Error, OSError):
        return None


def run_tag(p: psutil.Process) -> str | None:
    """The LABTUI_RUN_ID in a process's environment (None if absent or unreadable)."""
    try:
        return p.environ().get(RUN_TAG)
    except (psutil.Error, OSError):
        return None


def own(p: psutil.Process) -> bool:
    try:
        return p.uids().real == os.getuid()
    except (psutil.Error, OSError):
        return False


def tagged_processes(run_id: str) -> Iterator[psutil.Process]:
    """Every live process of this user whose environment carries ``LABTUI_RUN_ID=run_id``."""
    me = os.getuid()
    me_pid = os.getpid()
    for p in psutil.process_iter(["uids"]):
        try:
            uids = p.info.get("uids")
            if uids is None or uids.real != me or p.pid == me_pid:
                continue
            if p.status() == psutil.STATUS_ZOMBIE:
                continue
            if run_tag(p) == run_id:
                yield p
        except (psutil.Error, OSError):
            continue


def read_json(path: Path) -> dict | None:
    """A JSON object from ``path``; None if missing or unreadable (never raises)."""
    try:
        with open(path, "rb") as f:
            data = json.loads(f.read().decode("utf-8"))
        return data if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None


def write_json_atomic(path: Path, data: dict) -> None:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix="." + path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
