"""Runs core: pure listing, and never the wrong process (issue 13 items 1-3), with real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil

from tui.core import fsio, procs, runs
from tui.core.journal import Journal

from .conftest import PROGS, Lab, cli_env


def wait_for(pred, timeout=30.0, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def state(lab: Lab, run_id: str) -> dict:
    return fsio.read_json(lab.run_dir(run_id) / "state.json") or {}


def trainer_pid(lab: Lab, run_id: str) -> int:
    assert wait_for(lambda: state(lab, run_id).get("pid")), f"{run_id}: no trainer pid"
    return state(lab, run_id)["pid"]


def make_lab(root) -> Lab:
    root.mkdir(parents=True, exist_ok=True)
    (root / "experiments.toml").write_text("# lab\n", encoding="utf-8")
    return Lab(root)


# --------------------------------------------------------------------------- reads don't write

def test_listing_is_pure_and_reconcile_writes_back(lab):
    """list_runs/get_run never write the journal; reconcile() does, on purpose, once."""
    lab.labtui("run", "--name", "done", "--", "true", check=True)
    assert wait_for(lambda: (lab.run_dir("done") / "exit.json").exists())
    assert wait_for(lambda: Journal(lab.journal).read()["runs"]["done"]["status"] == "finished")
    # The shim could not record the end (say the journal was being edited): the journal lags.
    text = lab.journal.read_text()
    lab.journal.write_text(text.replace('status = "finished"', 'status = "running"'))
    before = lab.journal.read_bytes()
    assert [r.status for r in runs.list_runs(lab.journal)] == ["finished"]
    assert runs.get_run(lab.journal, "done").status == "finished"
    assert lab.journal.read_bytes() == before, "a read wrote the journal"
    assert runs.reconcile(lab.journal) == ["done"]
    assert Journal(lab.journal).read()["runs"]["done"]["status"] == "finished"
    assert runs.reconcile(lab.journal) == []  # nothing left to record: no write


# --------------------------------------------------------------------------- 13.1 lab-aware tag

def test_same_run_id_in_two_labs_kill_in_one_leaves_the_other(tmp_path):
    a, b = make_lab(tmp_path / "lab_a"), make_lab(tmp_path / "lab_b")
    b.labtui("run", "--name", "x", "--", "sleep", "120", check=True)
    a.labtui("run", "--name", "x", "--", "sleep", "120", check=True)
    pid_a, pid_b = trainer_pid(a, "x"), trainer_pid(b, "x")
    try:
        a.labtui("kill", "x", "--grace", "2", check=True)
        assert not alive(pid_a)
        assert runs.get_run(a.journal, "x").status == "killed"
        assert alive(pid_b), "lab B's run x died of lab A's kill"
        assert runs.get_run(b.journal, "x").status == "running"
        env_b = psutil.Process(pid_b).environ()
        assert env_b[procs.LAB_TAG] == procs.lab_id(b.journal) and env_b[procs.RUN_TAG] == "x"
        assert [p.pid for p in procs.tagged_processes("x", procs.lab_id(b.journal))] == [pid_b]
        assert [p.pid for p in procs.tagged_processes("x", procs.lab_id(a.journal))] == []
    finally:
        b.labtui("kill", "x", "--now")
    assert runs.get_run(b.journal, "x").status == "killed"
