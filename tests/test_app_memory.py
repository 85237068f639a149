"""Memory: the app holds whole series only for the runs it shows (and their lineage); the others
keep digests that give the same row numbers, and their readers drop their series until shown
again (read back from the series cache)."""

from __future__ import annotations

import math
import random
from array import array

import pytest

from tests.snapshot_tests import conftest as fixtures
from tui.app.model import Poller, summarize
from tui.app.state import AppState
from tui.core.journal import Journal
from tui.core.metrics import _numeric, goals, patterns_for_run
from tui.core.metrics.series import Series
from tui.core.metrics.sources import RunMetrics

lab = fixtures.lab  # pytest fixture


def _series(n: int, seed: int, nan_every: int = 0) -> Series:
    rnd = random.Random(seed)
    ys = [rnd.random() * 3 for _ in range(n)]
    if nan_every:
        for i in range(0, n, nan_every):
            ys[i] = math.nan
        ys[-1] = math.inf  # the last value is not finite: the last finite one is kept apart
    return Series("loss", array("d", (float(i) for i in range(n))), array("d", ys),
                  array("d", (1e9 + 0.5 * i for i in range(n))))


def _same(a, b) -> bool:
    return all((x == y) or (x != x and y != y) for x, y in zip(a, b)) and len(a) == len(b)


@pytest.mark.parametrize("with_numpy", [True, False])
def test_digest_gives_the_same_summary(with_numpy, monkeypatch):
    if not with_numpy:
        monkeypatch.setattr(_numeric, "_np", None)
    for seed, n, nan_every in [(1, 5000, 0), (2, 5000, 7), (3, 40, 0), (4, 300, 3)]:
        s = _series(n, seed, nan_every)
        d = s.digest()
        assert len(d) <= 54 and (n > 54 or len(d) == n)
        assert list(d.x) == sorted(d.x) and set(d.x) <= set(s.x)
        assert _same(goals.metric_stats({"loss": s})["loss"], goals.metric_stats({"loss": d})["loss"])
        full = summarize({"loss": s, "epoch": s}, {"steps": 10_000})
        thin = summarize({"loss": d, "epoch": d}, {"steps": 10_000})
        assert vars(full) == vars(thin)


def test_release_then_poll_reads_the_same_series_back(lab):
    rm = RunMetrics(lab.logs / "training_8")
    assert rm.poll()
    before = {k: (list(s.x), list(s.y), list(s.wall)) for k, s in rm.series.items()}
    assert before
    rm.save_cache()
    assert rm.release() and rm.series == {}
    assert rm.poll()  # read back from the cache
    assert {k: (list(s.x), list(s.y), list(s.wall)) for k, s in rm.series.items()} == before


def test_poller_releases_runs_not_shown_and_reads_them_back_when_shown(lab):
    poller = Poller(Journal(lab.journal), None, clock=fixtures.clock)
    state = AppState(fixtures.clock)
    arrived: dict = {}  # run id -> whether its first data came as digests
    poller.priority = ("lab3",)  # shown (the app selects a run after its first poll)
    for _ in range(200):  # until every run is read, cliff-checked and released (no sleeping: polls)
        res = poller.poll()
        for rd in res.updates:
            arrived.setdefault(rd.run_id, rd.thin)
        state.apply(res)
        if not res.backlog and not res.updates and not poller.cliff_due:
            break

    def whole(rid):  # the run's series as a reader of its own reads them
        rm = RunMetrics(state.infos[rid].run_dir, patterns_for_run(poller._data, rid))
        rm.poll()
        return rm.series

    full = {r.id: whole(r.id) for r in state.run_list}
    ended = {r.id for r in state.run_list if not r.alive and full.get(r.id)}
    assert "training_8" in ended and "training_11" in ended
    assert "lab3" in ended and "lab3" not in poller.thin and not state.store["lab3"].thin
    ended.discard("lab3")
    assert ended <= poller.thin, f"not released: {ended - poller.thin}"
    assert all(arrived[rid] for rid in ended), "an ended run not shown was copied whole"
    assert not any(arrived[r.id] for r in state.run_list if r.alive)
    rd = state.store["training_8"]
    assert rd.thin and all(len(s) <= 54 for s in rd.series.values())
    assert max(len(s) for s in full["training_8"].values()) > 54  # a digest is smaller
    assert poller.readers["training_8"].series == {}
    for rid in ended:  # the row numbers are those of the whole series
        rd, info = state.store[rid], state.infos[rid]
        want = summarize(full[rid], info.params, x_axis=rd.x_axis, goals=rd.goals)
        got = state.summaries[rid]
        assert (got.metric, got.last, got.best, got.step, got.total, got.rate) == \
            (want.metric, want.last, want.best, want.step, want.total, want.rate), rid
    rows = {r["info"].id: (r["last"], r["best"]) for r in state.rows()}
    assert rows["training_8"][0] is not None

    # a thin run is not drawn; shown, the next poll brings its whole series (and its lineage's)
    state.select("training_11.1")
    assert state.needs_data("training_11.1")
    curves, _shown, _key, msg = state.curves()
    assert curves == [] and msg == "loading metrics…"
    poller.priority = state.priority()
    res = poller.poll()
    state.apply(res)
    got = {rd.run_id for rd in res.updates}
    assert {"training_11", "training_11.1"} <= got
    for rid in ("training_11", "training_11.1"):
        assert not state.store[rid].thin
        assert {k: list(s.y) for k, s in state.store[rid].series.items()} == \
            {k: list(s.y) for k, s in full[rid].items()}
    assert not state.needs_data("training_11.1")
    assert state.rows() and {r["info"].id: (r["last"], r["best"]) for r in state.rows()} == rows
    curves, _shown, _key, _msg = state.curves()
    assert curves and curves[0][4] == "training_11.1"
    # no longer shown: released again once cliff-checked
    state.select("training_8")
    poller.priority = state.priority()
    for _ in range(20):
        res = poller.poll()
        state.apply(res)
        if "training_11.1" in res.thinned:
            break
    assert state.store["training_11.1"].thin and "training_11" in poller.thin
