"""Queued runs in the app: "queued #N" in the table, + / - move one, X cancels it (Pilot, real
core calls); one 80x24 snapshot.  The queued runs' shims are stand-in ``sleep`` processes
(so nothing re-arms them), recorded in state.json like a real waiting shim."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import subprocess

import pytest

from tui.core import fsio, procs, runs
from tui.core.journal import Journal

from .conftest import settle
from .labdata import T0, Lab, clock, no_gpu, series


def _queued(lab: Lab, rid: str, experiment: str, minute: int, extra: str = "") -> None:
    d = lab.logs / rid
    d.mkdir(parents=True, exist_ok=True)
    p = subprocess.Popen(["sleep", "600"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    lab.procs.append(p)
    fsio.write_json_atomic(d / "state.json", {"shim_pid": p.pid, "shim_create": procs.create_time(p.pid)})
    queued = (T0 + dt.timedelta(minutes=minute)).isoformat()
    lab._text.append(f'[runs.{rid}]\nexperiment = "{experiment}"\ncommand = "python -m trainers.gan"\n'
                     f'queue = {{ gpus = "auto", min_free_mem = 21474836480 }}\n{extra}'
                     f'status = "queued"\nqueued = {queued}\n\n')


@pytest.fixture
def qlab(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NO_COLOR", raising=False)
    lab = Lab(tmp_path)
    lab.run("lab1", "ablation", "running", {"lr": 1e-3}, start_min=60, gpus=[0],
            metrics=series(0, 400, every=20))
    _queued(lab, "lab2", "ablation", 70)
    _queued(lab, "frame64_1", "gan", 80, 'pipeline = "dinet"\npipeline_id = "dinet_1"\npipeline_stage = 1\n')
    _queued(lab, "frame128_1", "gan", 80, 'pipeline = "dinet"\npipeline_id = "dinet_1"\npipeline_stage = 2\n')
    lab.write()
    fsio.write_json_atomic(lab.logs / "queue.json", {"order": ["lab2", "frame64_1", "frame128_1"]})
    yield lab
    lab.close()


def _app(lab):
    from tui.app.app import LabApp
    return LabApp(lab.journal, clock=clock, gpu_source=no_gpu(), poll_interval=0.2, theme="textual-dark")


def _status(app, rid: str) -> str:
    return app.query_one("#runs")._cells[rid]["status"].plain


async def _wait(pilot, pred, what: str, timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    while not pred():
        if loop.time() - t0 > timeout:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


def test_queued_runs_move_and_cancel_from_the_keyboard(qlab):
    async def go():
        app = _app(qlab)
        async with app.run_test(size=(160, 48)) as pilot:
            await settle(pilot)
            assert _status(app, "lab2").endswith("queued #1")
            assert _status(app, "frame128_1").endswith("queued #3")
            assert "⛓dinet_1:2" in app.query_one("#runs")._cells["frame128_1"]["experiment"].plain
            table = app.query_one("#runs")
            while table.current_id != "lab2":
                await pilot.press("down")
            await pilot.press("minus")  # lab2: #1 -> #2
            await _wait(pilot, lambda: _status(app, "lab2").endswith("queued #2"), "lab2 to move down")
            assert runs.queue.read_order(qlab.journal) == ["frame64_1", "lab2", "frame128_1"]
            await pilot.press("plus")
            await _wait(pilot, lambda: _status(app, "lab2").endswith("queued #1"), "lab2 to move up")
            await pilot.press("X")
            await pilot.pause()
            await pilot.press(*"wrong lr", "enter")
            await _wait(pilot, lambda: "cancelled" in _status(app, "lab2"), "lab2 cancelled")
            assert _status(app, "frame64_1").endswith("queued #1")
            ex = json.loads((qlab.logs / "lab2" / "exit.json").read_text())
            assert ex["cancelled"] == "wrong lr"
            await _wait(pilot, lambda: Journal(qlab.journal).read()["runs"]["lab2"]["status"] == "cancelled",
                        "the journal to record the cancel")
            await pilot.press("up")  # lab1 runs: not queued, nothing moves
            await pilot.press("X")
            await pilot.pause()
            assert runs.queue.read_order(qlab.journal) == ["frame64_1", "frame128_1"]
    asyncio.run(go())


def test_queued_runs_80x24(snap_compare, qlab):
    assert snap_compare(_app(qlab), terminal_size=(80, 24), run_before=lambda pilot: settle(pilot))
