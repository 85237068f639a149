"""`labtui gpus` (table, JSON, watch) and `labtui gpus --kill PID` with real processes."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tui.core import gpus as G
from tui.core import runs
from tui.core.errors import UserError

from .conftest import PROGS
from .test_gpus import GiB, fake_gpu, write_fake
from .test_gpus import procs_fixture  # noqa: F401  (the `procs` fixture)

ROOT = Path(__file__).resolve().parents[1]


def labtui(*args, fake=None, timeout=30):
    env = {k: v for k, v in os.environ.items() if k not in (G.FAKE_ENV, G.RUN_TAG, G.LAB_TAG)}
    env["PYTHONPATH"] = str(ROOT)
    if fake:
        env[G.FAKE_ENV] = str(fake)
    return subprocess.run([sys.executable, "-m", "tui.cli", "gpus", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def gone(p: subprocess.Popen, timeout=5.0) -> bool:
    try:
        p.wait(timeout)
        return True
    except subprocess.TimeoutExpired:
        return False


def test_cli_table_json_and_watch(tmp_path, procs):
    run_p = procs.start(["sleep", "60"], run_id="exp_7")
    other = procs.start(["sleep", "60"])
    fake = write_fake(tmp_path, [{"gpus": [fake_gpu(0, 20, util=u), fake_gpu(1, util=0)], "processes": [
        {"pid": run_p.pid, "gpu": 0, "mem_used": 20 * GiB}, {"pid": other.pid, "gpu": 1, "mem_used": GiB}]}
        for u in (10, 90)])
    r = labtui(fake=fake)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[:4] == ["GPU", "NAME", "UTIL", "MEMORY"]
    assert any(l.split()[:2] == ["0", "NVIDIA"] and "20.0 GiB / 80.0 GiB" in l for l in lines)
    assert any(l.split()[:2] == [str(run_p.pid), "0"] and "exp_7" in l for l in lines)   # run named
    assert any(l.split()[:2] == [str(other.pid), "1"] and "foreign" in l for l in lines)
    assert any(l.startswith("run exp_7:") for l in lines) and any(l.startswith("host: cpu") for l in lines)

    j = json.loads(labtui("--json", fake=fake).stdout)
    assert j["ok"] is True and {p["pid"]: p["run_id"] for p in j["processes"]} == {run_p.pid: "exp_7", other.pid: None}

    w = labtui("--watch", "--json", "--interval", "0.1", "--count", "3", fake=fake)
    utils = [json.loads(l)["gpus"][0]["util"] for l in w.stdout.splitlines()]
    assert w.returncode == 0 and utils == [10, 90, 10]


def test_cli_without_gpus():
    r = labtui()
    if "NVIDIA GPU" not in r.stdout:
        pytest.skip("this machine has GPUs")
    assert r.returncode == 0 and r.stdout.startswith("no NVIDIA GPU: ") and "host: cpu" in r.stdout
    assert json.loads(labtui("--json").stdout)["ok"] is False


def test_kill_refuses_run_process_and_other_users(tmp_path, procs):
    run_p = procs.start(["sleep", "60"], run_id="exp_8")
    if os.getuid() == 0:
        other = procs.start(["sleep", "60"], user=65534).pid    # nobody
    else:
        other = 1                                                 # init: root's, never ours
    fake = write_fake(tmp_path, [{"gpus": [fake_gpu(0)], "processes": [
        {"pid": run_p.pid, "gpu": 0, "mem_used": GiB}, {"pid": other, "gpu": 0, "mem_used": GiB}]}])
    r = labtui("--kill", str(run_p.pid), fake=fake)
    assert r.returncode == 1 and "belongs to labtui run exp_8: use `labtui kill exp_8`" in r.stderr
    r = labtui("--kill", str(other), "--grace", "0", fake=fake)
    assert r.returncode == 1 and "never signals other users' processes" in r.stderr
    r = labtui("--kill", str(os.getpid()), fake=fake)          # holds no GPU memory
    assert r.returncode == 1 and "not in the GPU process list" in r.stderr
    assert run_p.poll() is None and psutil.pid_exists(other)
    assert len(r.stderr.strip().splitlines()) == 1


def test_kill_same_user_foreign_process(tmp_path, procs):
    hog = procs.start([sys.executable, "-c", "import time; time.sleep(60)"])
    fake = write_fake(tmp_path, [{"gpus": [fake_gpu(0, 20)], "processes": [
        {"pid": hog.pid, "gpu": 0, "mem_used": 20 * GiB}]}])
    r = labtui("--kill", str(hog.pid), "--grace", "3", fake=fake)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"killed PID {hog.pid} (") and "20.0 GiB on GPU 0" in r.stdout
    assert r.stdout.rstrip().endswith("with SIGTERM")
    assert gone(hog) and hog.returncode == -15                # SIGTERM was enough


def test_kill_escalates_and_rechecks_create_time(tmp_path, procs):
    ready = tmp_path / "ready"
    stubborn = procs.start([sys.executable, "-c",
                            "import signal, sys, time; signal.signal(signal.SIGTERM, lambda *a: None); "
                            "open(sys.argv[1], 'w').close(); time.sleep(60)", str(ready)])
    deadline = time.monotonic() + 30
    while not ready.exists():  # its SIGTERM handler is in place only from here on
        assert time.monotonic() < deadline and stubborn.poll() is None, "the stubborn process never got ready"
        time.sleep(0.02)
    src = G.FakeSource(write_fake(tmp_path, [{"gpus": [fake_gpu(0)], "processes": [
        {"pid": stubborn.pid, "gpu": 0, "mem_used": GiB}]}]))
    snap = src.sample()
    # a snapshot whose create time does not match (the pid was reused): nothing is signalled
    gp = snap.process(stubborn.pid)
    stale = dataclasses.replace(snap, processes=[dataclasses.replace(gp, create_time=gp.create_time - 50)])
    assert "nothing signalled" in G.kill_foreign(stubborn.pid, snapshot=stale, grace=0)
    assert stubborn.poll() is None
    msg = G.kill_foreign(stubborn.pid, snapshot=snap, grace=0.5)
    assert "SIGTERM, then SIGKILL" in msg and gone(stubborn)   # (reaped by psutil: our child)
    assert not psutil.pid_exists(stubborn.pid)
    with pytest.raises(UserError, match="not in the GPU process list"):
        G.kill_foreign(os.getpid(), snapshot=snap)


def test_launched_run_ranks_attributed_and_protected(lab, tmp_path):
    """A real run started by tui.core.runs.launch: its torchrun-like ranks (own sessions) on GPUs."""
    rid = runs.launch(lab.journal, command=[sys.executable, str(PROGS / "ranks.py")], name="ranks_1")
    try:
        ranks_txt = lab.run_dir(rid) / "ranks.txt"
        deadline = time.time() + 15
        ranks: list[int] = []
        while len(ranks) < 2 and time.time() < deadline:
            time.sleep(0.05)
            ranks = [int(x) for x in ranks_txt.read_text().split()] if ranks_txt.exists() else []
        assert len(ranks) == 2, (runs.get_run(lab.journal, rid), (lab.run_dir(rid) / "output.log").read_text())
        fake = write_fake(tmp_path, [{"gpus": [fake_gpu(0, 30), fake_gpu(1, 30), fake_gpu(2)], "processes": [
            {"pid": r, "gpu": i, "mem_used": 30 * GiB} for i, r in enumerate(ranks)]}])
        info = runs.get_run(lab.journal, rid)
        snap = G.make_source("fake", fake_path=fake).sample(G.live_runs(runs.list_runs(lab.journal)))
        assert [snap.process(r).run_id for r in ranks] == [rid, rid], (snap.processes, info)
        usage = snap.runs[rid]
        assert info.pid in usage.pids and set(ranks) <= set(usage.pids), (usage, info)
        assert usage.gpus == (0, 1) and usage.gpu_mem == 60 * GiB
        assert G.resolve_gpus("auto", set(), G.FakeSource(fake)) == ([2], None)
        r = lab.labtui("gpus", "--kill", str(ranks[0]), env={G.FAKE_ENV: str(fake)})
        assert r.returncode == 1 and f"use `labtui kill {rid}`" in r.stderr
        assert psutil.pid_exists(ranks[0])
    finally:
        runs.kill(lab.journal, rid, grace=0.5)
