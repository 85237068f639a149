"""13.4: `labtui gpus --kill PID` as root: never pid 1, a kernel thread, another user's process
(unless --any-user) or a pid that holds no GPU memory. Real processes; only the GPU source is fake."""

from __future__ import annotations

import os
import time
from pathlib import Path

import psutil
import pytest

from tui.core import gpus as G
from tui.core.errors import UserError

from .test_gpus import GiB, fake_gpu, write_fake
from .test_gpus import procs_fixture  # noqa: F401  (the `procs` fixture)
from .test_gpus_cli import gone, labtui

root_only = pytest.mark.skipif(os.getuid() != 0, reason="the refusals that matter are root's")


def _kthread() -> int | None:
    """A kernel thread visible here (kthreadd first: it ignores every signal)."""
    for pid in [2] + sorted(psutil.pids()):
        try:
            flags = int(Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[6])
        except (OSError, ValueError, IndexError):
            continue
        if flags & 0x00200000:   # PF_KTHREAD
            return pid
    return None


def _on_gpu(tmp_path, pids):
    return write_fake(tmp_path, [{"gpus": [fake_gpu(0, 30)], "processes": [
        {"pid": p, "gpu": 0, "mem_used": GiB} for p in pids]}])


@root_only
def test_kill_refuses_pid_1_even_for_root(tmp_path):
    fake = _on_gpu(tmp_path, [1])
    for extra in ([], ["--any-user"], ["--grace", "0", "--any-user"]):
        r = labtui("--kill", "1", *extra, fake=fake)
        assert r.returncode == 1 and "PID 1 is the init process" in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
    assert psutil.pid_exists(1)


@root_only
def test_kill_refuses_kernel_threads(tmp_path):
    kt = _kthread()
    if kt is None:
        pytest.skip("no kernel thread visible in this PID namespace")
    ct = psutil.Process(kt).create_time()
    fake = _on_gpu(tmp_path, [kt])
    for extra in ([], ["--any-user"]):
        r = labtui("--kill", str(kt), "--grace", "0", *extra, fake=fake)
        assert r.returncode == 1 and f"PID {kt} is a kernel thread" in r.stderr, r.stderr
    assert psutil.Process(kt).create_time() == ct


@root_only
def test_kill_other_users_process_only_with_any_user(tmp_path, procs):
    nobody = procs.start(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sleep", "100"])
    deadline = time.monotonic() + 10
    while psutil.Process(nobody.pid).uids().real != 65534:      # setpriv execs sleep as nobody
        assert time.monotonic() < deadline
        time.sleep(0.01)
    fake = _on_gpu(tmp_path, [nobody.pid])
    r = labtui("--kill", str(nobody.pid), "--grace", "0", fake=fake)
    assert r.returncode == 1 and "never signals other users' processes" in r.stderr and "--any-user" in r.stderr
    assert nobody.poll() is None
    r = labtui("--kill", str(nobody.pid), "--grace", "2", "--any-user", fake=fake)
    assert r.returncode == 0 and r.stdout.startswith(f"killed PID {nobody.pid} (") and "SIGTERM" in r.stdout, r
    assert gone(nobody) and nobody.returncode == -15


def test_kill_refuses_what_is_not_on_a_gpu_and_ourselves(tmp_path, procs):
    idle = procs.start(["sleep", "60"])
    fake = _on_gpu(tmp_path, [os.getpid()])
    r = labtui("--kill", str(idle.pid), "--any-user", fake=fake)
    assert r.returncode == 1 and "not in the GPU process list" in r.stderr and idle.poll() is None
    # the process asking (here: the test, an ancestor of the CLI) is never a target
    r = labtui("--kill", str(os.getpid()), "--any-user", fake=fake)
    assert r.returncode == 1 and "labtui itself or one of its parents" in r.stderr, r.stderr


def test_kill_api_refusals_without_the_cli(tmp_path):
    snap = G.FakeSource(_on_gpu(tmp_path, [1, os.getpid()])).sample()
    with pytest.raises(UserError, match="init process"):
        G.kill_foreign(1, snapshot=snap, any_user=True)
    with pytest.raises(UserError, match="itself or one of its parents"):
        G.kill_foreign(os.getpid(), snapshot=snap, any_user=True)
