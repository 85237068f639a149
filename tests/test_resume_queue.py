"""``labtui resume`` with the queue (--queue, --after, --min-free-mem) and stop rules: a
continuation carries its parent's rules and max-time unless the command line replaces them.
Real processes; the only fake is the GPU source (LABTUI_FAKE_GPUS)."""

from __future__ import annotations

import json
import sys

from tui.core import runs
from tui.core.journal import Journal
from tui.core.rundir import RunDir

from .conftest import PROGS
from . import test_queue
from .test_queue import shim_log, wait_for, write_gpus

qlab = test_queue.qlab  # the queue tests' lab fixture (fake GPU file, teardown)

PY = sys.executable
VALUES = PROGS / "values.py"


def checkpoint(lab, rid: str, step: int = 3) -> None:
    (lab.run_dir(rid) / "checkpoints" / f"step-{step}").mkdir(parents=True)


def spec_stop(lab, rid: str) -> dict:
    return RunDir(lab.run_dir(rid)).read_spec()["stop"]


def ended_record(lab, rid: str) -> dict:
    """The journal record once the end is written there (exit.json comes first)."""
    def ended():
        rec = Journal(lab.journal).read()["runs"][rid]
        return rec if rec.get("status") not in ("queued", "starting", "running") else None
    return wait_for(ended, f"{rid}'s end in the journal")


def test_a_resume_carries_its_parents_rules_unless_replaced(qlab):
    lab = qlab
    # A command run (no template) stopped by its own rule; it idles after its values until a stop.
    lab.q("run", "--name", "p", "--stop-when", "loss < 1.5", "--max-time", "1h", "--",
          PY, str(VALUES), "loss", "3", "2", "1")
    assert lab.wait_status("p", "stopped", timeout=60) == "stopped"
    checkpoint(lab, "p")
    # Nothing given: the continuation has the same rules, and they act on it.
    lab.q("resume", "p")
    assert lab.wait_status("p.1", "stopped", timeout=60) == "stopped"
    rec = ended_record(lab, "p.1")
    assert rec["stop"] == "loss < 1.5; max-time 1h" and rec["stop_reason"] == "loss 1 < 1.5 at step 3"
    assert spec_stop(lab, "p.1") == {"when": ["loss < 1.5"], "on": [], "max_time": 3600.0}
    # --stop-when replaces the carried thresholds (max-time stays): it fires at the 2.
    lab.q("resume", "p", "--stop-when", "loss < 2.5", "--stop-on", "nan")
    assert lab.wait_status("p.2", "stopped", timeout=60) == "stopped"
    rec = ended_record(lab, "p.2")
    assert rec["stop"] == "loss < 2.5; nan; max-time 1h" and rec["stop_reason"] == "loss 2 < 2.5 at step 2"
    # Only the journal's line left (an older run folder): carried from it; --max-time replaces.
    rd = RunDir(lab.run_dir("p.2"))
    spec = rd.read_spec()
    del spec["stop"]
    rd.write_spec(spec)
    checkpoint(lab, "p.2")
    lab.q("resume", "p.2", "--max-time", "2h")
    assert lab.wait_status("p.3", "stopped", timeout=60) == "stopped"
    assert spec_stop(lab, "p.3") == {"when": ["loss < 2.5"], "on": ["nan"], "max_time": 7200.0}
    assert ended_record(lab, "p.3")["stop"] == "loss < 2.5; nan; max-time 2h"
    # A bad rule: one line, nothing started.
    before = lab.journal.read_bytes()
    r = lab.q("resume", "p", "--stop-when", "loss ~ 3", check=False)
    assert r.returncode == 1 and "bad --stop-when 'loss ~ 3'" in r.stderr
    assert lab.journal.read_bytes() == before


def test_template_rules_are_not_doubled_on_resume(qlab):
    lab = qlab
    with open(lab.journal, "a", encoding="utf-8") as f:
        f.write("[experiments.vals]\n"
                f'command = "{PY} {VALUES} loss 3 2 --end"\n'
                'stop_when = ["loss < -1"]\nstop_on = "nan"\n')
    lab.q("run", "vals", "--stop-when", "loss > 100", "--max-time", "3h")
    ended_record(lab, "vals_1")
    want = {"when": ["loss < -1", "loss > 100"], "on": ["nan"], "max_time": 10800.0}
    assert spec_stop(lab, "vals_1") == want
    checkpoint(lab, "vals_1")
    lab.q("resume", "vals_1")
    assert spec_stop(lab, "vals_1.1") == want  # the template's once, the parent's own once
    assert ended_record(lab, "vals_1.1")["status"] == "finished"


def test_resume_queues_for_gpu_memory_and_after_a_run(qlab):
    lab = qlab  # one fake GPU, 79 of 80 GiB in use
    lab.q("run", "count", "--gpus", "none")
    ended_record(lab, "count_1")
    checkpoint(lab, "count_1")
    r = lab.q("resume", "count_1", "--queue", "--gpus", "auto", "--min-free-mem", "20G")
    assert "queued count_1.1 (#1)" in r.stdout, r.stdout
    rec = Journal(lab.journal).read()["runs"]["count_1.1"]
    assert rec["status"] == "queued" and rec["parent"] == "count_1"
    assert rec["queue"] == {"gpus": "auto", "min_free_mem": 20 << 30}
    wait_for(lambda: "waiting:" in shim_log(lab, "count_1.1"), "the shim to wait")
    assert not RunDir(lab.run_dir("count_1.1")).log.exists()
    write_gpus(lab.gpus, 10)
    lab.wait_status("count_1.1", "finished", timeout=60)
    assert Journal(lab.journal).read()["runs"]["count_1.1"]["gpus"] == [0]
    out = RunDir(lab.run_dir("count_1.1")).log.read_text()
    assert out.strip(), "the continuation ran its command"

    # --after: waits for a running run, starts once it ended.
    lab.q("run", "slow", "--gpus", "none")
    lab.wait_status("slow_1", "running")
    r = lab.q("resume", "count_1", "--after", "slow_1", "--gpus", "none", "--json")
    d = json.loads(r.stdout)
    assert d["id"] == "count_1.2" and d["status"] == "queued"
    wait_for(lambda: "after slow_1 (running)" in shim_log(lab, "count_1.2"), "count_1.2 to wait")
    assert runs.get_run(lab.journal, "count_1.2").status == runs.Status.QUEUED
    runs.kill(lab.journal, "slow_1", now=True)
    lab.wait_status("count_1.2", "finished", timeout=60)
    r = lab.q("resume", "count_1", "--after", "nope", check=False)
    assert r.returncode == 1 and "unknown run 'nope'" in r.stderr
