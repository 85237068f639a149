"""`g`: the GPU process view with the fake GPU source and real processes: rows per GPU and
process (pid, user, GPU memory, run or foreign, command as plain text), and kill of the user's
own foreign process through core after a confirmation."""

from __future__ import annotations

import getpass
import os
import subprocess
import time

import psutil
from tests.snapshot_tests import conftest as fixtures
from tests.snapshot_tests.labdata import clock
from tests.test_app import SIZE, sync
from tests.test_gpus import GiB, fake_gpu, write_fake
from tui.app.app import LabApp
from tui.app.screens.gpus import GpuKillDialog, GpuScreen
from tui.core import procs
from tui.core.gpus import make_source

lab, settle = fixtures.lab, fixtures.settle

EVIL = "\x1b]0;pwned\x07\x1b[31mred\x1b[0m"


async def until(pilot, cond, what: str, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        await pilot.pause(0.02)


def _start_sleeper():
    """A real process whose command line (argv[0]) carries terminal escapes."""
    p = subprocess.Popen(["bash", "-c", 'exec -a "$0" sleep 120', EVIL])
    end = time.monotonic() + 10
    while True:  # until exec has happened (its command line is the one shown)
        try:
            if psutil.Process(p.pid).cmdline()[:1] == [EVIL]:
                return p
        except psutil.Error:
            pass
        assert time.monotonic() < end, "the sleeper did not start"
        time.sleep(0.01)


def _cells(table, key):
    return [c.plain if hasattr(c, "plain") else str(c) for c in table.get_row(key)]


@sync
async def test_gpu_view_lists_processes_and_kills_own_foreign_one(lab, tmp_path):
    victim = _start_sleeper()
    try:
        fake = write_fake(tmp_path, [{"gpus": [fake_gpu(0, 30, util=55), fake_gpu(1, 0)], "processes": [
            {"pid": victim.pid, "gpu": 0, "mem_used": 2 * GiB},
            {"pid": 1, "gpu": 1, "mem_used": GiB}]}])
        src = make_source("fake", fake_path=fake, lab=procs.lab_id(lab.journal))
        app = LabApp(lab.journal, clock=clock, gpu_source=src, poll_interval=0.2, gpu_interval=0.2,
                     theme="textual-dark")
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await until(pilot, lambda: app.state.gpu_snapshot is not None and app.state.gpu_snapshot.ok,
                        "a GPU sample")
            await pilot.press("g")
            await until(pilot, lambda: isinstance(app.screen, GpuScreen), "the GPU view")
            screen = app.screen
            table = screen.query_one("#gpu-procs")
            key = f"pid:0:{victim.pid}"
            await until(pilot, lambda: key in [r.value for r in table.rows], "the victim's row")
            keys = [r.value for r in table.rows]
            assert keys[:2] == ["gpu:0", key] and "gpu:1" in keys and "pid:1:1" in keys
            cells = _cells(table, key)
            assert cells[0].strip() == str(victim.pid)
            assert cells[1] == getpass.getuser() and cells[2] == "2.0 GiB" and cells[4] == "foreign"
            # another user's (or anyone's) command line is plain text: no terminal control at all
            assert "pwned" in cells[5] and "red" in cells[5] and cells[5].endswith(" 120")
            assert all(ord(ch) >= 32 and ch != "\x7f" for ch in cells[5]), repr(cells[5])
            assert "util 55%" in _cells(table, "gpu:0")[3]

            # k on a GPU line: nothing to kill
            table.move_cursor(row=0, animate=False)
            await pilot.press("k")
            assert isinstance(app.screen, GpuScreen)
            # k on the victim: a confirmation; n keeps it alive
            table.move_cursor(row=keys.index(key), animate=False)
            await pilot.press("k")
            await until(pilot, lambda: isinstance(app.screen, GpuKillDialog), "the confirmation")
            await pilot.press("n")
            await until(pilot, lambda: isinstance(app.screen, GpuScreen), "back to the view")
            assert victim.poll() is None
            table.move_cursor(row=[r.value for r in table.rows].index(key), animate=False)
            await pilot.press("k")
            await until(pilot, lambda: isinstance(app.screen, GpuKillDialog), "the confirmation")
            await pilot.press("y")
            end = time.monotonic() + 20
            while victim.poll() is None:
                assert time.monotonic() < end, "the process was not killed"
                await pilot.pause(0.05)
            assert victim.returncode == -15  # SIGTERM was enough
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, GpuScreen), "the main screen")
    finally:
        if victim.poll() is None:
            victim.kill()
        victim.wait()


@sync
async def test_gpu_view_refuses_pid_1_through_core(lab, tmp_path):
    """pid 1 (whoever owns it): the core's refusal is shown, nothing signalled."""
    fake = write_fake(tmp_path, [{"gpus": [fake_gpu(0, 30)], "processes": [
        {"pid": 1, "gpu": 0, "mem_used": GiB}]}])
    src = make_source("fake", fake_path=fake, lab=procs.lab_id(lab.journal))
    app = LabApp(lab.journal, clock=clock, gpu_source=src, poll_interval=0.2, gpu_interval=0.2,
                 theme="textual-dark")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await until(pilot, lambda: app.state.gpu_snapshot is not None and app.state.gpu_snapshot.ok,
                    "a GPU sample")
        await pilot.press("g")
        await until(pilot, lambda: isinstance(app.screen, GpuScreen), "the GPU view")
        table = app.screen.query_one("#gpu-procs")
        await until(pilot, lambda: "pid:0:1" in [r.value for r in table.rows], "pid 1's row")
        table.move_cursor(row=[r.value for r in table.rows].index("pid:0:1"), animate=False)
        await pilot.press("k")
        await until(pilot, lambda: isinstance(app.screen, GpuKillDialog), "the confirmation")
        await pilot.press("y")
        said = lambda: [n.message for n in app._notifications]  # noqa: E731 - the toasts shown
        await until(pilot, lambda: any("PID 1" in m for m in said()), "the refusal")
        assert any("init process" in m for m in said()), said()
    assert os.getpid() != 1
