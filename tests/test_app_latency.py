"""Steady-state latency: what a cursor move costs the app (issue 14).  A released run that is
selected again is read back without a second loss-cliff scan (its series are the same), and
its flag comes with the read-back itself, even from a poll with no time left for scans."""

from __future__ import annotations

import gc
import json
import random
import weakref

from tests.snapshot_tests import conftest as fixtures
from tui.app.gcpace import NEVER, GcPacer
from tui.app.model import Poller
from tui.app.state import AppState
from tui.core import fsio
from tui.core.journal import Journal

app_factory, lab, settle, sync = fixtures.app_factory, fixtures.lab, fixtures.settle, fixtures.sync  # pytest fixtures + helpers


def _lab(root):
    """Two ended runs: ``cliff`` (loss jumps up at step 300) and ``calm``."""
    rnd = random.Random(0)
    text = []
    for rid in ("cliff", "calm"):
        d = root / "logs" / rid
        d.mkdir(parents=True)
        rows = []
        for s in range(600):
            loss = 2.0 - s * 0.001 + rnd.uniform(-0.02, 0.02) + (5.0 if rid == "cliff" and s >= 300 else 0.0)
            rows.append(json.dumps({"step": s, "loss": round(loss, 5)}))
        (d / "metrics.jsonl").write_text("\n".join(rows) + "\n")
        fsio.write_json_atomic(d / "exit.json", {"code": 0, "signal": None,
                                                  "ended": "2026-05-13T10:00:00+00:00", "killed": False})
        text.append(f'[runs.{rid}]\ncommand = "python train.py"\nstatus = "finished"\n'
                    f'started = 2026-05-13T08:00:00+00:00\nended = 2026-05-13T10:00:00+00:00\n'
                    f'exit_code = 0\n\n')
    (root / "experiments.toml").write_text("".join(text))
    return root / "experiments.toml"


def _settle(poller, state):
    for _ in range(100):  # polls, no sleeping: until every run is read, checked and released
        res = poller.poll()
        state.apply(res)
        if not res.backlog and not res.updates and not poller.cliff_due:
            return
    raise AssertionError("the poller never settled")


def test_a_released_run_read_back_keeps_its_cliff_without_a_second_scan(tmp_path):
    clock = lambda: 1.8e9  # noqa: E731
    poller = Poller(Journal(_lab(tmp_path)), None, clock=clock)
    state = AppState(clock)
    state.select("calm")
    poller.priority = state.priority()
    _settle(poller, state)
    assert "cliff" in poller.thin and state.store["cliff"].thin
    x = state.store["cliff"].flags.cliff_at
    assert x is not None and 290 <= x <= 310
    assert poller.cliff_known["cliff"] == x

    state.select("cliff")  # shown again: read back from the series cache
    poller.priority = state.priority()
    poller.time_budget = 0.0  # a poll with no time left for scans (a loaded box)
    res = poller.poll()
    assert [rd.run_id for rd in res.updates] == ["cliff"] and not res.updates[0].thin
    assert res.cliffs == {"cliff": x}  # the known cliff, with the read-back
    assert "cliff" not in poller.cliff_due  # no scan scheduled for the same series
    state.apply(res)
    assert not state.store["cliff"].thin and state.store["cliff"].flags.cliff_at == x
    assert state.summaries["cliff"].cliff == x
    assert "cliff" in state.flags("cliff") and "cliff" not in state.flags("calm")  # the flag never blinks off


class _Cycle:
    def __init__(self):
        self.me = self  # reference cycle: only the cyclic collector frees it


def test_gc_pacer_collects_only_when_due_and_idle_and_restores_the_thresholds():
    now = [100.0]
    before = gc.get_threshold()
    p = GcPacer(every=30.0, quiet=1.0, clock=lambda: now[0])
    assert not p.tick()  # not started: the collector's own rules
    p.start()
    try:
        assert gc.get_threshold()[:2] == before[:2] and gc.get_threshold()[2] == NEVER
        garbage = _Cycle()
        ref = weakref.ref(garbage)
        del garbage
        gc.collect(0), gc.collect(1)  # into the old generation, where only a full collection looks
        assert not p.tick()  # the last full one is not 30 s old yet
        now[0] += 31
        p.key()
        now[0] += 0.5
        assert not p.tick()  # a key 0.5 s ago: the user is busy
        now[0] += 1.0
        assert p.tick() and p.fulls == 1
        assert ref() is None  # the full collection freed the cycle
        assert not p.tick()  # and the next one is 30 s away
    finally:
        p.stop()
    assert gc.get_threshold() == before


@sync
async def test_the_app_paces_full_collections_after_its_first_load_and_restores_them(app_factory):
    before = gc.get_threshold()
    app = app_factory()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.pause()
        assert app._gc_frozen and app.gc_pacer.on and gc.get_threshold()[2] == NEVER
        t = app.gc_pacer.last_key
        await pilot.press("down")
        assert app.gc_pacer.last_key > t  # a key defers the next full collection
    assert not app.gc_pacer.on and gc.get_threshold() == before
    gc.unfreeze()  # the app froze this process's objects: the next tests start as before
