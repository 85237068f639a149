"""The app's state object without Pilot: filter, sort and tree order, selection across polls,
marks, kill targets, plot settings.  Runs are real run folders and a real journal, read by the
app's own Poller (no Textual anywhere in these tests)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.snapshot_tests.labdata import NOW, Lab, clock, series
from tui.app.model import Poller
from tui.app.state import SMOOTHING_STEPS, SORTS, AppState, matches
from tui.core.journal import Journal
from tui.core.status import Status

GAN = {"g_lr": 1e-4, "d_lr": 4e-4, "steps": 2000}


def build(root: Path, *, without: tuple[str, ...] = (), extra: bool = False) -> Lab:
    """A small lab: a resume chain written child-first, an ablation, one live run."""
    lab = Lab(root)
    specs = [
        # children before their parents in the journal: the tree still nests them
        ("chain.1", "gan", "failed", GAN, 45, dict(parent="chain", resume_step=800,
                                                   metrics=series(800, 1200, 20, seed=3))),
        ("chain.2", "gan", "finished", GAN, 60, dict(parent="chain.1", resume_step=1200,
                                                     metrics=series(1200, 1600, 20, seed=3))),
        ("chain", "gan", "killed", GAN, 10, dict(metrics=series(0, 800, 20, seed=3))),
        ("abl_a", "ablation", "finished", {"lr": 1e-3, "dropout": 0.1, "steps": 600}, 30,
         dict(metrics=series(0, 600, 10, lr=1e-3), tags=["ablation", "best"])),
        ("abl_b", "ablation", "finished", {"lr": 3e-3, "dropout": 0.5, "steps": 600}, 31,
         dict(metrics=series(0, 600, 10, lr=3e-3, seed=5), tags=["ablation"])),
        ("live", "gan", "running", GAN, 90, dict(metrics=series(0, 300, 20, seed=7))),
        ("chain.1b", "gan", "failed", GAN, 50, dict(parent="chain", resume_step=800,
                                                    metrics=series(800, 900, 20, seed=4))),
    ]
    if extra:
        specs.append(("late", "ablation", "finished", {"lr": 1e-2, "dropout": 0.0, "steps": 600}, 100,
                      dict(metrics=series(0, 600, 10, lr=1e-2))))
    for rid, exp, status, params, start, kw in specs:
        if rid not in without:
            lab.run(rid, exp, status, params, start, 10, **kw)
    lab.write()
    return lab


def poll_into(state: AppState, poller: Poller, timeout: float = 20.0) -> None:
    """Poll until every run is read (no backlog), folding each result into ``state``."""
    t0 = time.monotonic()
    while True:
        state.apply(poller.poll())
        if not state.loading:
            return
        assert time.monotonic() - t0 < timeout, "the poll never caught up"


@pytest.fixture
def lab(tmp_path):
    lab = build(tmp_path)
    yield lab
    lab.close()


@pytest.fixture
def st(lab):
    state = AppState(clock)
    poll_into(state, Poller(Journal(lab.journal), clock=clock))
    return state


def ids(state: AppState) -> list[str]:
    return [r["info"].id for r in state.rows()]


# --------------------------------------------------------------------------- tree and sort

def test_tree_order_nests_resume_chains_written_child_first(st):
    rows = [(r["info"].id, r["depth"]) for r in st.rows()]
    assert rows == [("chain", 0), ("chain.1", 1), ("chain.2", 2), ("chain.1b", 1),
                    ("abl_a", 0), ("abl_b", 0), ("live", 0)]


def test_tree_branches_tell_siblings_from_the_last_child(st):
    rows = {r["info"].id: r["branch"] for r in st.rows()}
    # chain.1 and chain.1b are siblings (both resumed from chain): ├ then └, and chain.1's own
    # child is drawn under a │ that carries chain's line down to chain.1b
    assert rows == {"chain": "", "chain.1": "├ ", "chain.2": "│ └ ", "chain.1b": "└ ",
                    "abl_a": "", "abl_b": "", "live": ""}
    st.next_sort()  # no tree outside the tree order
    assert {r["branch"] for r in st.rows()} == {""}


def test_duration_is_end_minus_start_for_ended_runs_and_age_for_live_ones(st):
    rows = {r["info"].id: r for r in st.rows()}
    assert rows["abl_a"]["duration"] == "10m" and rows["abl_a"]["age"] == "1h30"
    assert rows["live"]["duration"] == rows["live"]["age"] == "30m"


def test_last_and_best_follow_the_chosen_metric(st):
    st.select("abl_a")
    rows = {r["info"].id: r for r in st.rows()}
    assert rows["abl_a"]["metric"] == "loss" and st.rows_metric(list(rows.values())) == "loss"
    loss_last = rows["abl_a"]["last"]
    assert st.next_metric() and st.table_metric() == st.current_metrics()[0] != "loss"
    st.set_metrics(["acc"])
    rows = {r["info"].id: r for r in st.rows()}
    acc = st.store["abl_a"].series["acc"]
    assert rows["abl_a"]["metric"] == "acc" and rows["abl_a"]["last"] == acc.y[len(acc) - 1] != loss_last
    assert rows["abl_a"]["best"] == max(acc.y[:len(acc)])  # accuracy: higher is better
    assert st.rows_metric(list(rows.values())) == "acc"


def test_tree_order_survives_a_hand_written_cycle(tmp_path):
    lab = Lab(tmp_path)
    lab.run("a", "gan", "finished", GAN, 0, 5, parent="b", resume_step=10)
    lab.run("b", "gan", "finished", GAN, 1, 5, parent="a", resume_step=10)
    lab.write()
    state = AppState(clock)
    poll_into(state, Poller(Journal(lab.journal), clock=clock))
    assert sorted(ids(state)) == ["a", "b"]  # each once, no endless walk
    state.reselect(ids(state))
    assert state.curves()[3] == f"no metrics yet for {state.selected}"  # the walk ends


def test_sorts_cycle_and_order(st):
    assert st.sort_key == "tree"
    seen = []
    for _ in SORTS:
        st.next_sort()
        seen.append(st.sort_key)
    assert seen == [*SORTS[1:], "tree"]
    st.sort_key = "status"
    statuses = [r["info"].status for r in st.rows()]
    assert statuses[0] == Status.RUNNING and statuses[-1] == Status.FINISHED
    assert all(r["depth"] == 0 for r in st.rows())  # only the tree indents
    st.sort_key = "age"  # newest first
    assert ids(st)[:3] == ["live", "chain.2", "chain.1b"]
    st.sort_key = "experiment"
    assert ids(st)[:2] == ["abl_a", "abl_b"]
    st.sort_key = "last"  # lowest last value of the main metric first
    lasts = [r["summary"].last for r in st.rows()]
    assert lasts == sorted(lasts)


# --------------------------------------------------------------------------- filter

def test_filter_tokens(st):
    st.filter_text = "failed"
    assert ids(st) == ["chain.1", "chain.1b"]
    st.filter_text = "dropout=0.5"
    assert ids(st) == ["abl_b"]
    st.filter_text = "lr=0.001"  # numerically equal to 1e-3
    assert ids(st) == ["abl_a"]
    st.filter_text = "best"  # a tag
    assert ids(st) == ["abl_a"]
    st.filter_text = "ABLATION finished"  # every token must match, any case
    assert ids(st) == ["abl_a", "abl_b"]
    st.filter_text = "nope=1"
    assert ids(st) == []
    st.filter_text = "  "
    assert len(ids(st)) == 7


def test_matches_on_a_status_enum(st):
    info = st.infos["live"]
    assert matches(info, "running") and matches(info, "gan run") and not matches(info, "killed")


# --------------------------------------------------------------------------- selection across polls

def test_selection_survives_polls_that_add_and_remove_runs(lab, tmp_path):
    state = AppState(clock)
    poller = Poller(Journal(lab.journal), clock=clock)
    poll_into(state, poller)
    assert state.reselect(ids(state)) == "chain"  # nothing selected yet: the first row
    assert state.select("abl_b") and not state.select("abl_b")
    # another terminal adds a run: the selection stays
    build(tmp_path, extra=True)
    poll_into(state, poller)
    assert "late" in state.infos
    assert state.reselect(ids(state)) == "abl_b"
    # a filter hides the selected run: the first row that shows
    state.filter_text = "chain"
    assert state.reselect(ids(state)) == "chain"
    state.filter_text = ""
    state.select("chain.2")
    # the selected run is removed from the journal: the first row
    build(tmp_path, without=("chain.2",), extra=True)
    poll_into(state, poller)
    assert "chain.2" not in state.infos
    assert state.reselect(ids(state)) == "chain"
    state.filter_text = "no such run"
    assert state.reselect(ids(state)) is None


def test_a_run_an_action_created_is_selected_once_listed(lab, tmp_path):
    state = AppState(clock)
    poller = Poller(Journal(lab.journal), clock=clock)
    poll_into(state, poller)
    state.select("abl_a")
    state.select_pending = "late"
    assert state.reselect(ids(state)) == "abl_a"  # not listed yet: keep the selection
    build(tmp_path, extra=True)
    poll_into(state, poller)
    assert state.reselect(ids(state)) == "late"
    assert state.select_pending is None


# --------------------------------------------------------------------------- marks

def test_marks_targets_and_priority(st):
    assert st.toggle_mark() is None  # nothing selected
    st.select("abl_a")
    assert st.toggle_mark() == "abl_a"
    st.select("live")
    st.toggle_mark()
    st.select("chain")
    assert st.marked == ["abl_a", "live"]
    assert st.plotted_ids() == ["abl_a", "live", "chain"]
    assert st.priority() == ("abl_a", "live", "chain")
    assert [i.id for i in st.targets(use_marked=True)] == ["abl_a", "live"]
    assert [i.id for i in st.targets(use_marked=False)] == ["chain"]
    assert st.compare_ids() == ["abl_a", "live"]
    st.select("live")
    st.toggle_mark()  # unmark
    assert st.marked == ["abl_a"]
    st.unmark_all()
    assert st.marked == [] and st.compare_ids() == ["live"]


def test_kill_plan(st):
    targets = [st.infos[i] for i in ("live", "abl_a", "chain")]
    plan = st.kill_plan(targets)
    assert [i.id for i in plan.alive] == ["live"] and plan.skipped == ["abl_a", "chain"] and plan.busy == []
    st.killing.add("live")
    plan = st.kill_plan(targets)
    assert plan.alive == [] and plan.busy == ["live"] and plan.skipped == ["abl_a", "chain", "live"]
    assert {r["info"].id: r["stopping"] for r in st.rows()}["live"] is True


def test_a_kill_in_flight_ends_when_the_poll_sees_the_run_end(lab):
    # the kill worker's state and the poll agree: a run the poll sees ended is neither
    # "stopping" nor "already killing", whether or not the worker has reported yet
    state = AppState(clock)
    poller = Poller(Journal(lab.journal), clock=clock)
    poll_into(state, poller)
    state.killing.add("live")
    assert state.kill_plan([state.infos["live"]]).busy == ["live"]
    for p in lab.procs:  # the run's process ends (its status becomes lost: no exit.json)
        p.kill()
        p.wait()
    deadline = time.monotonic() + 20
    while state.infos["live"].alive:
        assert time.monotonic() < deadline, "the poll never saw the run end"
        state.apply(poller.poll())
    assert "live" not in state.killing
    assert state.kill_plan([state.infos["live"]]).busy == []
    assert {r["info"].id: r["stopping"] for r in state.rows()}["live"] is False


def test_marks_of_a_run_gone_from_the_journal_are_dropped(lab, tmp_path):
    state = AppState(clock)
    poller = Poller(Journal(lab.journal), clock=clock)
    poll_into(state, poller)
    for rid in ("abl_a", "abl_b"):
        state.select(rid)
        state.toggle_mark()
    build(tmp_path, without=("abl_b",))
    poll_into(state, poller)
    assert state.marked == ["abl_a"]
    assert [i.id for i in state.targets(use_marked=True)] == ["abl_a"]


# --------------------------------------------------------------------------- polls and rows

def test_apply_reports_what_changed(lab):
    state = AppState(clock)
    poller = Poller(Journal(lab.journal), clock=clock)
    first = state.apply(poller.poll())
    assert first.listed and first.gpu and "chain" in first.runs and state.polls == 1
    poll_into(state, poller)
    quiet = state.apply(poller.poll())  # nothing new on disk
    assert not quiet.listed and not quiet.error and not quiet.gpu
    assert quiet.runs <= {"live"}
    row = {r["info"].id: r for r in state.rows()}["abl_a"]
    assert row["summary"].last is not None and row["age"] and row["flags"] == []


def test_silent_flag_only_on_live_runs(st):
    st.log_mtimes["live"] = NOW - 3600
    st.log_mtimes["abl_a"] = NOW - 3600
    assert "silent" in st.flags("live") and "silent" not in st.flags("abl_a")
    st.log_mtimes["live"] = NOW - 1
    assert "silent" not in st.flags("live")


def test_status_counts_and_still_running(st):
    counts = st.status_counts()
    assert counts[Status.RUNNING] == 1 and counts[Status.FINISHED] == 3 and counts[Status.FAILED] == 2
    assert st.still_running() == 1


# --------------------------------------------------------------------------- plot

def test_plot_settings_cycle():
    st = AppState(clock)
    p = st.plot
    seen = []
    for _ in SMOOTHING_STEPS:
        p.smoothing_up()
        seen.append(p.smoothing)
    assert seen == [*SMOOTHING_STEPS[1:], 0.0]
    p.smoothing = 0.9
    p.smoothing_down()
    assert p.smoothing == 0.8
    p.smoothing = 0.0
    p.smoothing_down()
    assert p.smoothing == 0.0
    p.toggle_log()
    assert p.log
    assert [(p.next_axis(), p.axis)[1] for _ in range(3)] == ["epoch", "time", "step"]
    assert [(p.next_window(), p.window)[1] for _ in range(4)] == [1000, 10000, 100000, 0]
    p.window = 123  # not one of the steps: back to all
    p.next_window()
    assert p.window == 0


def test_metrics_and_one_curve_per_resume_chain(st):
    st.select("chain.2")
    assert st.current_metrics() == ["loss"]
    assert set(st.available_metrics()) == {"loss", "lr", "acc"}
    (curve,), shown, key, msg = st.curves()
    label, xs, _ys, marks, *_run_metric = curve
    assert label == "chain.2" and xs[0] == 0 and xs[-1] == 1600 and marks == [800.0, 1200.0]
    assert shown.metrics == ["loss"] and msg == ""
    assert [c for c, _v, _r in key[0][1]] == ["chain", "chain.1", "chain.2"]  # root → run
    assert st.next_metric() and st.current_metrics() != ["loss"]
    st.set_metrics(["loss", "acc"])
    assert [c[0] for c in st.curves()[0]] == ["chain.2 loss", "chain.2 acc"]
    st.plot.axis = "time"  # minutes from the first point
    assert st.curves()[0][0][1][0] == 0.0
    st.select(None)
    st.set_metrics([])
    assert st.curves()[0] == [] and st.curves()[3] == "no runs"
