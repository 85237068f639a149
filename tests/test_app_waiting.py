"""The app and waiting runs (Pilot, real core calls, real shims): ``k`` on a queued run cancels
it through the core (the same function as ``labtui kill``); the new-run dialog's queue, after and
stop fields, usable at 80x24.  The only fake is the GPU source (LABTUI_FAKE_GPUS: full)."""

from __future__ import annotations

import pytest

from tests.test_app import sync
from tests.test_app_actions import JOURNAL, dialog_title, make_app, rec, start, until
from tests.conftest import end_runs
from tests.test_queue import shims_of, wait_for, write_gpus
from tui.app.screens.actions import KillDialog, NewRunDialog
from tui.core import runs
from tui.core.rundir import RunDir
from tui.core.status import Status


@pytest.fixture
def wlab(tmp_path, monkeypatch):
    """A lab whose one fake GPU is full (a queued run waits for it), and a teardown that leaves
    no waiting shim or sleeper behind."""
    monkeypatch.chdir(tmp_path)
    gpus = tmp_path / "gpus.json"
    write_gpus(gpus, 79)
    monkeypatch.setenv("LABTUI_FAKE_GPUS", str(gpus))  # the shims launched from here read it
    j = tmp_path / "experiments.toml"
    j.write_text(JOURNAL, encoding="utf-8")
    yield j
    end_runs(j)
    for r in runs.list_runs(j):
        wait_for(lambda: not shims_of(r.run_dir), f"{r.id}'s shim to leave", 30)


@sync
async def test_k_on_a_queued_run_cancels_it(wlab):
    rid = runs.launch(wlab, experiment="nap", queue=True, gpus="auto", min_free_mem="20G")
    rd = RunDir(wlab.parent / "logs" / rid)
    wait_for(lambda: "waiting:" in rd.shim_log.read_text() if rd.shim_log.exists() else False,
             "the shim to wait for the GPU")
    app = make_app(wlab)
    async with app.run_test(size=(120, 40)) as pilot:
        await start(pilot, rid)
        assert app.infos[rid].status == Status.QUEUED
        await pilot.press("k")
        await pilot.pause()
        assert isinstance(app.screen, KillDialog), app.said  # not "is not running"
        assert dialog_title(app) == f"Kill {rid}?"
        await pilot.press(*"wrong lr")
        await pilot.press("enter")
        await until(pilot, lambda: ("information", f"{rid}: cancelled") in app.said, what="cancelled notice")
        await until(pilot, lambda: app.infos[rid].status == Status.CANCELLED, what="cancelled in the app")
    assert rd.read_exit()["cancelled"] == "wrong lr"
    assert rd.read_kill() is None  # a cancel, never a kill escalation
    wait_for(lambda: not shims_of(rd.path), "the cancelled run's shim to leave")
    wait_for(lambda: rec(wlab, rid).get("status") == "cancelled", "the cancel in the journal")
    assert not rd.log.exists()  # it never started


@sync
async def test_new_run_dialog_queue_after_and_stop_at_80x24(wlab):
    first = runs.launch(wlab, experiment="nap")
    app = make_app(wlab)
    async with app.run_test(size=(80, 24)) as pilot:
        await start(pilot, first)
        await until(pilot, lambda: app.infos[first].alive, what=f"{first} running")
        await pilot.press("n")
        await pilot.pause()
        dlg = app.screen
        assert isinstance(dlg, NewRunDialog)
        dlg.query_one("#new-params Input").value = "0"
        stop = dlg.query_one("#new-stop")
        stop.value = "loss ~ 3"
        before = wlab.read_bytes()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "bad stop rules 'loss ~ 3'" in str(dlg.query_one(".dialog-error").render())
        assert wlab.read_bytes() == before
        # Every new field can be reached at 80x24: the body scrolls them into view.
        for wid in ("#new-queue", "#new-after", "#new-stop"):
            w = dlg.query_one(wid)
            w.focus()
            await pilot.pause()
            await until(pilot, lambda w=w: w.region.height > 0 and w.region.bottom <= 24,
                        what=f"{wid} scrolled into view")
        ok = dlg.query_one("#ok")
        assert ok.region.height > 0 and ok.region.bottom <= 24
        dlg.query_one("#new-queue").value = True
        dlg.query_one("#new-after").value = first
        dlg.query_one("#new-name").value = "nap_next"
        stop.value = "nan; max-time 1h"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: ("information", "queued nap_next") in app.said, what="queued notice")
    r = rec(wlab, "nap_next")
    assert r["status"] == "queued" and r["queue"]["after"] == [first]
    assert r["stop"] == "nan; max-time 1h"
    assert RunDir(wlab.parent / "logs" / "nap_next").read_spec()["stop"] == {
        "when": [], "on": ["nan"], "max_time": 3600.0}
    wait_for(lambda: "after" in RunDir(wlab.parent / "logs" / "nap_next").shim_log.read_text()
             if RunDir(wlab.parent / "logs" / "nap_next").shim_log.exists() else False, "nap_next to wait")
    assert runs.get_run(wlab, "nap_next").status == Status.QUEUED
    runs.kill(wlab, first, mode="now")
    wait_for(lambda: runs.get_run(wlab, "nap_next").status in (Status.RUNNING, Status.FINISHED),
             "nap_next to start once its predecessor ended")
