"""labtui on a real Slurm: a single-node cluster started on this machine (tests/slurm_cluster.py).

munged, slurmctld and slurmd run for the whole session; accounting is off, so ``sacct`` is
unavailable and labtui's squeue fallback is what these tests exercise.  Skipped only where Slurm
is not installed (CI installs it: .ci/run).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from tui.core import runs
from tui.core.journal import Journal
from tui.core.slurm import NOT_RESPONDING, poll
from tui.core.status import Status

from tui.app.screens.actions import KillDialog

from .conftest import PROGS, Lab, wait_for
from .test_app import sync
from .test_app_actions import make_app, start, until
from .slurm_cluster import Cluster, missing_binaries

CKPT = PROGS / "ckpt_steps.py"
COUNT = PROGS / "count.py"


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    missing = missing_binaries()
    if missing:
        why = f"Slurm is not installed here (no {', '.join(missing)}): apt-get install slurm-wlm munge"
        if os.environ.get("LABTUI_REQUIRE_SLURM"):  # CI installs it: a missing Slurm is a failure there
            pytest.fail(why)
        pytest.skip(why)
    c = Cluster(tmp_path_factory.mktemp("slurm") / "c")
    old = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = str(c.conf)
    try:
        c.start()
        yield c
    finally:
        c.stop()
        if old is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = old


@pytest.fixture
def slab(tmp_path: Path, cluster) -> Lab:
    (tmp_path / "experiments.toml").write_text(
        "[experiments.count]\n"
        f'command = "{sys.executable} {COUNT} --n {{n}} --code {{code}} --delay {{delay}}"\n'
        "params = { n = 50, code = 0, delay = 0.0 }\n"
        "[experiments.count.slurm]\n"
        'time = "10:00"\n'
        "[experiments.steps]\n"
        f'command = "{sys.executable} {CKPT} --steps {{steps}} --tick {{tick}}"\n'
        "params = { steps = 20, tick = 0.05 }\n"
        "[experiments.steps.slurm]\n"
        "cpus_per_task = 1\n",
        encoding="utf-8")
    poll.forget()
    return Lab(tmp_path)


def log_text(lab: Lab, run_id: str) -> str:
    try:
        return (lab.run_dir(run_id) / "output.log").read_text(errors="replace")
    except FileNotFoundError:
        return ""


def journal_rec(lab: Lab, run_id: str) -> dict:
    return Journal(lab.journal).read()["runs"][run_id]


def test_submit_running_finished_every_line(slab: Lab, cluster: Cluster):
    out = json.loads(slab.labtui("run", "count", "--on", "slurm", "--set", "n=40", "--set", "delay=0.02",
                                 "--name", "c1", "--json").stdout)
    assert out["slurm"]["job_id"] and out["status"] in ("pending", "starting", "running")
    rec = journal_rec(slab, "c1")
    job = rec["slurm"]["job_id"]
    assert rec["slurm"]["time"] == "10:00"
    rd = slab.run_dir("c1")
    assert json.loads((rd / "spec.json").read_text())["run_id"] == "c1"
    assert "tui.core.shim --foreground" in (rd / "slurm.sh").read_text()

    info = wait_for(lambda: (i := runs.get_run(slab.journal, "c1")).status in (Status.RUNNING, Status.FINISHED) and i,
                    what="c1 running")
    if info.status == Status.RUNNING:
        assert info.slurm["nodes"] == cluster.node
    slab.wait_status("c1", "finished", timeout=60)
    text = log_text(slab, "c1")
    assert [ln for ln in text.splitlines() if ln.startswith("line ")] == \
        [f"line {i} loss={1.0 / i:.4f}" for i in range(1, 41)]
    assert (rd / "slurm.out").exists()
    ls = json.loads(slab.labtui("ls", "--json").stdout)
    row = next(r for r in ls["runs"] if r["id"] == "c1")
    assert row["status"] == "finished" and row["exit_code"] == 0
    assert row["slurm"]["job_id"] == job and row["slurm"]["nodes"] == cluster.node
    assert journal_rec(slab, "c1")["status"] == "finished"
    assert f"@{cluster.node}" in slab.labtui("ls").stdout
    show = slab.labtui("show", "c1").stdout
    assert f"job {job} on {cluster.node}" in show


def test_pending_with_reason_then_running(slab: Lab, cluster: Cluster):
    # --hold keeps it pending (reason JobHeldUser) until released: pending is seen for sure.
    rid = runs.launch(slab.journal, experiment="count", params={"n": 5}, name="held",
                      slurm={"extra": ["--hold"]})
    info = runs.get_run(slab.journal, rid)
    assert info.status == Status.PENDING
    assert info.slurm["state"] == "PENDING" and info.slurm["reason"] == "JobHeldUser"
    cluster.run("scontrol", "release", info.slurm["job_id"])
    slab.wait_status(rid, "finished", timeout=60)
    assert "line 5" in log_text(slab, rid)


def test_kill_checkpoints_then_resume(slab: Lab, cluster: Cluster):
    rid = runs.launch(slab.journal, experiment="steps", params={"steps": 100000, "tick": 0.05}, name="k1")
    wait_for(lambda: "step 3:" in log_text(slab, rid), what="k1 stepping")
    assert runs.get_run(slab.journal, rid).status == Status.RUNNING
    said = []
    st = runs.kill(slab.journal, rid, grace=30, progress=said.append)
    assert st == "killed"
    text = log_text(slab, rid)
    assert "stopped by SIGINT" in text  # the graceful signal, once, to the trainer
    stopped_at = int(text.split("saved checkpoint step-")[-1].split()[0])
    assert (slab.run_dir(rid) / "checkpoints" / f"step-{stopped_at}").is_dir()
    assert any("SIGINT" in m and "Slurm job" in m for m in said)
    info = runs.get_run(slab.journal, rid)
    assert info.status == Status.KILLED and info.exit_record["killed"] is True

    new = runs.resume(slab.journal, rid, params={"steps": stopped_at + 5})
    rec = journal_rec(slab, new)
    assert rec["slurm"]["cpus_per_task"] == 1 and rec["slurm"]["job_id"] != journal_rec(slab, rid)["slurm"]["job_id"]
    slab.wait_status(new, "finished", timeout=60)
    text = log_text(slab, new)
    assert f"starting at step {stopped_at + 1}" in text and f"step {stopped_at + 5}:" in text


def test_after_is_a_slurm_dependency(slab: Lab, cluster: Cluster):
    # a is held until b has been seen waiting on it: no race with a finishing first.
    a = runs.launch(slab.journal, experiment="steps", params={"steps": 30, "tick": 0.05}, name="a",
                    slurm={"cpus_per_task": 1, "extra": ["--hold"]})
    b = runs.launch(slab.journal, experiment="count", params={"n": 3}, name="b", after=["a:finished"])
    assert f"afterok:{journal_rec(slab, a)['slurm']['job_id']}" in cluster.run(
        "scontrol", "show", "job", journal_rec(slab, b)["slurm"]["job_id"]).stdout
    wait_for(lambda: (i := runs.get_run(slab.journal, b)).status == Status.PENDING
             and i.slurm["reason"] == "Dependency", "b pending on its dependency", timeout=30)  # Slurm holds it
    cluster.run("scontrol", "release", journal_rec(slab, a)["slurm"]["job_id"])
    slab.wait_status(b, "finished", timeout=90)
    ra, rb = runs.get_run(slab.journal, a), runs.get_run(slab.journal, b)
    assert ra.status == Status.FINISHED and rb.started is not None
    assert "step 30:" in log_text(slab, a) and "line 3" in log_text(slab, b)
    assert os.stat(slab.run_dir(b) / "output.log").st_mtime >= os.stat(slab.run_dir(a) / "exit.json").st_mtime

    # An --after RUN:finished whose run failed never runs: Slurm cancels it, labtui says why.
    f = runs.launch(slab.journal, experiment="count", params={"n": 2, "code": 3}, name="f")
    g = runs.launch(slab.journal, experiment="count", params={"n": 2}, name="g", after=["f:finished"])
    slab.wait_status(f, "failed", timeout=60)
    slab.wait_status(g, "cancelled", timeout=60)
    gi = runs.get_run(slab.journal, g)
    assert "dependency" in gi.slurm["reason"] and not log_text(slab, g)
    runs.reconcile(slab.journal)
    assert journal_rec(slab, g)["status"] == "cancelled"


def test_controller_down_then_back(slab: Lab, cluster: Cluster):
    rid = runs.launch(slab.journal, experiment="steps", params={"steps": 100000, "tick": 0.05}, name="r1")
    wait_for(lambda: "step 2:" in log_text(slab, rid), what="r1 stepping")
    cluster.stop_controller()
    try:
        poll.forget()
        info = runs.get_run(slab.journal, rid)
        assert info.status == Status.RUNNING and info.slurm["note"] == NOT_RESPONDING
        ls = json.loads(slab.labtui("ls", "--json").stdout)
        assert next(r for r in ls["runs"] if r["id"] == rid)["slurm"]["note"] == NOT_RESPONDING
        n = len(log_text(slab, rid))
        wait_for(lambda: len(log_text(slab, rid)) > n, what="r1 still writing while slurmctld is down")
    finally:
        cluster.start_controller()
    poll.forget()
    info = wait_for(lambda: (i := runs.get_run(slab.journal, rid)).slurm["note"] is None and i,
                    what="slurm answering again")
    assert info.status == Status.RUNNING and info.slurm["state"] == "RUNNING"
    assert runs.kill(slab.journal, rid, grace=30) == "killed"


def test_cancelled_outside_labtui(slab: Lab, cluster: Cluster):
    # Pending: the shim never ran, no exit.json: the poll tells it.
    p = runs.launch(slab.journal, experiment="count", name="p", slurm={"extra": ["--hold"]})
    cluster.run("scancel", journal_rec(slab, p)["slurm"]["job_id"])
    poll.forget()
    slab.wait_status(p, "cancelled", timeout=30)
    assert runs.get_run(slab.journal, p).slurm["reason"] == "scancel outside labtui"
    assert runs.reconcile(slab.journal) == [p]
    assert journal_rec(slab, p)["slurm"]["reason"] == "scancel outside labtui"

    # Running: Slurm's SIGTERM reaches the trainer; the shim asks Slurm why and records it.
    r = runs.launch(slab.journal, experiment="steps", params={"steps": 100000}, name="r")
    wait_for(lambda: "step 2:" in log_text(slab, r), what="r stepping")
    cluster.run("scancel", journal_rec(slab, r)["slurm"]["job_id"])
    slab.wait_status(r, "killed", timeout=60)
    info = runs.get_run(slab.journal, r)
    assert info.exit_record["reason"] == "scancel outside labtui"
    assert info.slurm["state"] == "CANCELLED"
    wait_for(lambda: journal_rec(slab, r)["status"] == "killed", "the shim's journal update", timeout=30)
    assert journal_rec(slab, r)["slurm"]["reason"] == "scancel outside labtui"


def test_slurm_not_installed_or_wrong_settings_are_one_line_errors(slab: Lab, cluster: Cluster):
    with pytest.raises(runs.UserError, match="--gpus is for local runs"):
        runs.launch(slab.journal, experiment="count", gpus="0")
    with pytest.raises(runs.UserError, match="unknown key 'partiton'"):
        runs.launch(slab.journal, experiment="count", slurm={"partiton": "gpu"})
    with pytest.raises(runs.UserError, match="extra must be a list"):
        runs.launch(slab.journal, experiment="count", slurm={"extra": "--hold"})
    assert not Journal(slab.journal).read().get("runs")  # nothing was launched
    p = slab.labtui("run", "count", "--on", "slurm", "--set", "n=1", check=False, env={"PATH": "/nonexistent"})
    assert p.returncode == 1 and "sbatch" in p.stderr and "Traceback" not in p.stderr
    # the failed submission is recorded, not left pending
    failed = [r for r in runs.list_runs(slab.journal) if r.status == Status.FAILED]
    assert len(failed) == 1 and failed[0].slurm["state"] == "NOT_SUBMITTED"


def test_requeue_continues_the_same_run(slab: Lab, cluster: Cluster):
    rid = runs.launch(slab.journal, experiment="steps", params={"steps": 40, "tick": 0.05}, name="q",
                      slurm={"extra": ["--requeue"]})
    wait_for(lambda: "saved checkpoint step-5" in log_text(slab, rid), what="q's first checkpoint")
    job = journal_rec(slab, rid)["slurm"]["job_id"]
    cluster.run("scontrol", "requeue", job)
    poll.forget()

    def requeued_and_pending():
        i = runs.get_run(slab.journal, rid)
        assert i.status not in (Status.FAILED, Status.KILLED, Status.FINISHED), i.status  # never an end
        if i.status == Status.PENDING and i.slurm["requeued"] == 1:
            if i.slurm["reason"] == "BeginTime":  # Slurm delays a requeued job ~2 min: not in a test
                cluster.run("scontrol", "update", f"JobId={job}", "StartTime=now", check=False)
            return i
        return None

    wait_for(requeued_and_pending, "q pending again, requeued once", timeout=60)
    slab.wait_status(rid, "finished", timeout=90)
    text = log_text(slab, rid)
    assert f"Slurm requeued job {job} (attempt 2)" in text
    resumed = int(text.split("; resuming from step-")[1].split()[0])
    assert f"starting at step {resumed + 1}" in text and "step 40:" in text
    assert runs.get_run(slab.journal, rid).slurm["requeued"] == 1


def test_usr1_warning_is_the_graceful_stop(slab: Lab, cluster: Cluster):
    # What `--signal=B:USR1@90` sends before a time limit: the shim passes it on as SIGINT.
    rid = runs.launch(slab.journal, experiment="steps", params={"steps": 100000}, name="w")
    wait_for(lambda: "step 2:" in log_text(slab, rid), what="w stepping")
    cluster.run("scancel", "--batch", "--signal=USR1", journal_rec(slab, rid)["slurm"]["job_id"])
    slab.wait_status(rid, "failed", timeout=60)
    text = log_text(slab, rid)
    assert "stopped by SIGINT" in text and "saved checkpoint" in text.split("stopped by")[0].splitlines()[-1]
    assert "USR1" in runs.get_run(slab.journal, rid).exit_record["reason"]


def test_cli_kill_of_a_pending_job_cancels_it_at_once(slab: Lab, cluster: Cluster):
    rid = runs.launch(slab.journal, experiment="count", name="pk", slurm={"extra": ["--hold"]})
    job = journal_rec(slab, rid)["slurm"]["job_id"]
    t0 = time.monotonic()
    out = slab.labtui("kill", rid, "--grace", "30", "--reason", "wrong lr").stdout
    assert f"{rid}: cancelled" in out and time.monotonic() - t0 < 25  # no grace for a pending job
    assert cluster.run("squeue", "-h", "-t", "all", "-j", job, "-o", "%T").stdout.strip() == "CANCELLED"
    rec = journal_rec(slab, rid)
    assert rec["status"] == "cancelled" and rec["notes"][-1]["text"] == "killed: wrong lr"
    assert runs.get_run(slab.journal, rid).exit_record["cancelled"].startswith("killed while pending")
    # A job labtui did not start, its id written into a run's record: the tag does not match.
    script = slab.root / "other.sh"
    script.write_text("#!/bin/bash\nsleep 1\n")
    victim = cluster.run("sbatch", "--parsable", "--hold", "--job-name=someone-else",
                         f"--output={slab.root / 'other.out'}", str(script)).stdout.strip()
    other = runs.launch(slab.journal, experiment="count", name="pk2", slurm={"extra": ["--hold"]})
    own = journal_rec(slab, other)["slurm"]["job_id"]
    with Journal(slab.journal).edit_run(other, "slurm") as r:
        r["slurm"] = {**dict(r["slurm"]), "job_id": victim}
    p = slab.labtui("kill", other, check=False)
    assert p.returncode == 1 and "not this run's job" in p.stderr
    assert cluster.run("squeue", "-h", "-j", victim, "-o", "%T").stdout.strip() == "PENDING"
    cluster.run("scancel", victim, own)



@sync
async def test_app_k_on_a_pending_job_cancels_it(slab: Lab, cluster: Cluster):
    """The app's ``k`` on a pending Slurm run: the same core kill as ``labtui kill`` (Pilot)."""
    rid = runs.launch(slab.journal, experiment="count", name="apk", slurm={"extra": ["--hold"]})
    job = journal_rec(slab, rid)["slurm"]["job_id"]
    app = make_app(slab.journal)
    async with app.run_test(size=(120, 40)) as pilot:
        await start(pilot, rid)
        await until(pilot, lambda: app.infos[rid].status == Status.PENDING, what="pending in the app")
        await pilot.press("k")
        await pilot.pause()
        assert isinstance(app.screen, KillDialog), app.said  # not "is not running"
        await pilot.press("enter")
        await until(pilot, lambda: ("information", f"{rid}: cancelled") in app.said, timeout=60,
                    what="cancelled notice")
    assert cluster.run("squeue", "-h", "-t", "all", "-j", job, "-o", "%T").stdout.strip() == "CANCELLED"
    assert runs.get_run(slab.journal, rid).status == Status.CANCELLED
