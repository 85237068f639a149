"""The queue (tui.core.runs.queue): queued runs wait in their own detached shim for GPU memory
and --after, claim GPUs under the lab lock, survive their launcher, are re-armed after a
"reboot" exactly once; pipelines.  Real processes; the only fake is the GPU source
(LABTUI_FAKE_GPUS, a file the tests rewrite to free memory)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from tui.core import runs
from tui.core.journal import Journal
from tui.core.rundir import RunDir

from .conftest import PROGS, cli_env, end_runs, wait_for

GIB = 1 << 30
TOTAL = 80 * GIB


def write_gpus(path: Path, *used_gib: float) -> None:
    """The fake GPU file: one GPU per value, with that much memory in use (of 80 GiB)."""
    snap = {"gpus": [{"index": i, "name": "Fake GPU", "mem_total": TOTAL, "mem_used": int(u * GIB)}
                     for i, u in enumerate(used_gib)]}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(snap))
    os.replace(tmp, path)  # a shim never reads half a file


def shim_log(lab, rid: str) -> str:
    try:
        return RunDir(lab.run_dir(rid)).shim_log.read_text()
    except OSError:
        return ""


def shims_of(run_dir: Path) -> list[psutil.Process]:
    """Live shim processes of one run (by their command line)."""
    out = []
    for p in psutil.process_iter(["cmdline", "status"]):
        cmd = p.info["cmdline"] or []
        if "tui.core.shim" in cmd and str(run_dir) in cmd and p.info["status"] != psutil.STATUS_ZOMBIE:
            out.append(p)
    return out


@pytest.fixture
def qlab(lab, tmp_path):
    """The conftest lab plus a slow template, a fake GPU file and a teardown that leaves no
    waiting shim or running trainer behind."""
    lab.gpus = tmp_path / "gpus.json"
    write_gpus(lab.gpus, 79)
    lab.env = {"LABTUI_FAKE_GPUS": str(lab.gpus)}
    with open(lab.journal, "a", encoding="utf-8") as f:
        f.write("[experiments.slow]\n"
                'command = "python {prog} --n {n} --delay 0.05"\n'
                f'params = {{ prog = "{PROGS / "count.py"}", n = 100000 }}\n')
    lab.q = lambda *a, check=True: lab.labtui(*a, env=lab.env, check=check)
    yield lab
    end_runs(lab.journal)
    for r in runs.list_runs(lab.journal):
        wait_for(lambda: not shims_of(r.run_dir), f"{r.id}'s shim to leave", 30)


def queue_json(lab) -> list[dict]:
    return json.loads(lab.q("queue", "--json").stdout)["queue"]


def test_queued_behind_a_full_gpu_starts_when_memory_frees(qlab):
    lab = qlab
    r = lab.q("run", "count", "--queue", "--gpus", "auto", "--min-free-mem", "20G")
    assert "queued count_1 (#1)" in r.stdout
    rec = Journal(lab.journal).read()["runs"]["count_1"]
    assert rec["status"] == "queued" and "started" not in rec and "queued" in rec
    assert rec["queue"] == {"gpus": "auto", "min_free_mem": 20 * GIB}
    wait_for(lambda: "waiting:" in shim_log(lab, "count_1"), "the shim to wait")
    [e] = queue_json(lab)
    assert e["id"] == "count_1" and e["position"] == 1 and e["armed"] is True
    assert any("GPU 0: 1.0 GiB free < 20.0 GiB" in w for w in e["waits"]), e["waits"]
    ls = lab.q("ls").stdout
    assert "queued #1" in ls, ls
    d = json.loads(lab.q("ls", "--json").stdout)["runs"][0]
    assert d["status"] == "queued" and d["queue_position"] == 1 and d["queue"]["gpus"] == "auto"
    assert "T" in d["queued"] and d["started"] is None
    assert not RunDir(lab.run_dir("count_1")).log.exists()  # the trainer has not started
    assert "#1; see labtui queue" in lab.q("show", "count_1").stdout

    write_gpus(lab.gpus, 10)
    lab.wait_status("count_1", "finished", timeout=60)
    rec = Journal(lab.journal).read()["runs"]["count_1"]
    assert rec["gpus"] == [0] and "started" in rec
    assert "starting on GPU 0" in shim_log(lab, "count_1")
    assert queue_json(lab) == []


def test_two_queued_runs_and_one_free_gpu_exactly_one_starts(qlab):
    lab = qlab
    write_gpus(lab.gpus, 0)
    lab.q("run", "slow", "--queue", "--gpus", "auto")
    lab.q("run", "slow", "--queue", "--gpus", "auto")
    first = lab.wait_status("slow_1", "running")
    assert first == "running"
    # slow_2 looked after slow_1 had claimed GPU 0, and waits: GPU 0 is slow_1's.
    wait_for(lambda: "used by slow_1" in shim_log(lab, "slow_2"), "slow_2 to wait for slow_1's GPU")
    assert runs.get_run(lab.journal, "slow_2").status == runs.Status.QUEUED
    assert not RunDir(lab.run_dir("slow_2")).log.exists()
    # A second GPU frees: slow_2 takes it, never GPU 0.
    write_gpus(lab.gpus, 0, 0)
    lab.wait_status("slow_2", "running")
    got = {rid: Journal(lab.journal).read()["runs"][rid]["gpus"] for rid in ("slow_1", "slow_2")}
    assert got == {"slow_1": [0], "slow_2": [1]}


def test_after_a_failed_run_cancels_finished_and_plain_after_starts(qlab):
    lab = qlab
    lab.q("run", "slow")
    lab.q("run", "count", "--after", "slow_1:finished")
    lab.q("run", "count", "--after", "slow_1")
    wait_for(lambda: "after slow_1 (running)" in shim_log(lab, "count_1"), "count_1 to wait")
    assert [e["id"] for e in queue_json(lab)] == ["count_1", "count_2"]
    runs.kill(lab.journal, "slow_1", now=True)  # the predecessor does not finish
    assert lab.wait_status("count_1", "cancelled") == "cancelled"
    ex = RunDir(lab.run_dir("count_1")).read_exit()
    assert ex["cancelled"].startswith("after slow_1:finished: slow_1 killed"), ex
    # exit.json is written first, then the journal (the same lock-held cancel)
    rec = wait_for(lambda: (r := Journal(lab.journal).read()["runs"]["count_1"]).get("cancel_reason") and r,
                   "the journal to record the cancel")
    assert rec["cancel_reason"] == ex["cancelled"] and rec["status"] == "cancelled"
    assert f"cancelled    {ex['cancelled']}" in lab.q("show", "count_1").stdout
    assert not RunDir(lab.run_dir("count_1")).log.exists()
    lab.wait_status("count_2", "finished")  # plain --after: started once slow_1 ended
    # Unknown run / bad condition: one line, nothing recorded.
    before = lab.journal.read_bytes()
    r = lab.q("run", "count", "--after", "nope", check=False)
    assert r.returncode == 1 and "unknown run 'nope'" in r.stderr
    r = lab.q("run", "count", "--after", "slow_1:started", check=False)
    assert r.returncode == 1 and "RUN:finished" in r.stderr
    r = lab.q("run", "count", "--queue", "--min-free-mem", "lots", check=False)
    assert r.returncode == 1 and "memory size" in r.stderr
    assert lab.journal.read_bytes() == before


def test_queue_move_cancel_and_kill_of_a_queued_run(qlab):
    lab = qlab
    for _ in range(3):
        lab.q("run", "slow", "--queue", "--gpus", "0")
    assert [e["id"] for e in queue_json(lab)] == ["slow_1", "slow_2", "slow_3"]
    assert lab.q("queue", "move", "slow_3", "--to", "1").stdout.strip() == "slow_3: #1"
    assert [(e["id"], e["position"]) for e in queue_json(lab)] == [("slow_3", 1), ("slow_1", 2), ("slow_2", 3)]
    text = lab.q("queue").stdout
    assert "behind slow_3" in text, text  # FIFO: slow_1 waits behind the run now first

    rd = lab.run_dir("slow_1")
    wait_for(lambda: shims_of(rd), "slow_1's shim")
    lab.q("queue", "cancel", "slow_1", "--reason", "wrong lr")
    assert RunDir(rd).read_exit()["cancelled"] == "wrong lr"
    assert runs.get_run(lab.journal, "slow_1").status == runs.Status.CANCELLED
    wait_for(lambda: not shims_of(rd), "the cancelled run's shim to leave")
    r = lab.q("queue", "cancel", "slow_1", check=False)
    assert r.returncode == 1 and "not queued (status: cancelled)" in r.stderr

    r = lab.q("kill", "slow_2", "--reason", "not needed")  # kill of a queued run = cancel
    assert "slow_2: cancelled" in r.stdout
    assert RunDir(lab.run_dir("slow_2")).read_exit()["cancelled"] == "not needed"
    assert [e["id"] for e in queue_json(lab)] == ["slow_3"]

    write_gpus(lab.gpus, 0)
    lab.wait_status("slow_3", "running")
    for rid in ("slow_1", "slow_2"):
        assert not RunDir(lab.run_dir(rid)).log.exists()


def test_the_shim_outlives_its_launcher_process_group(qlab):
    lab = qlab
    cmd = (f"{sys.executable} -m tui.cli --journal {lab.journal} run count --queue --gpus auto "
           "&& echo queued > launched && exec sleep 600")
    p = subprocess.Popen(["sh", "-c", cmd], cwd=lab.root, env=cli_env(lab.env), start_new_session=True)
    try:
        wait_for(lambda: (lab.root / "launched").exists(), "the launch", 60)
        os.killpg(p.pid, signal.SIGKILL)
        p.wait(10)
        assert runs.get_run(lab.journal, "count_1").status == runs.Status.QUEUED
        write_gpus(lab.gpus, 0)
        lab.wait_status("count_1", "finished")
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
def test_the_queue_survives_the_app_and_tmux_kill_server(qlab):
    lab = qlab
    sock = f"labtui-queue-{os.getpid()}"
    env = cli_env({**lab.env, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TERM": "xterm-256color"})

    def tmux(*args):
        return subprocess.run(["tmux", "-L", sock, "-f", "/dev/null", *args], capture_output=True,
                              text=True, env=env, timeout=30)

    cli = f"{sys.executable} -m tui.cli --journal {lab.journal}"
    tmux("-u", "new-session", "-d", "-s", "q", "-x", "100", "-y", "30",
         f"cd {lab.root} && {cli} run count --queue --gpus auto && {cli}; sleep 60")
    try:
        screen = wait_for(lambda: (s := tmux("capture-pane", "-p", "-t", "q").stdout) and "queued #1" in s and s,
                          "the app to show the queued run", 60, 0.2)
        assert "count_1" in screen
    finally:
        tmux("kill-server")
    assert runs.get_run(lab.journal, "count_1").status == runs.Status.QUEUED
    write_gpus(lab.gpus, 0)
    lab.wait_status("count_1", "finished")


def test_rearm_after_the_shim_is_killed_starts_the_run_exactly_once(qlab):
    lab = qlab
    lab.q("run", "count", "--queue", "--gpus", "auto")
    rd = RunDir(lab.run_dir("count_1"))
    [shim] = wait_for(lambda: shims_of(rd.path), "the shim")
    wait_for(lambda: rd.read_state().get("shim_pid") == shim.pid, "state.json")
    shim.kill()  # a reboot, as far as the run can tell
    shim.wait(10)
    assert not runs.queue.armed(rd)
    [e] = runs.queue.view(lab.journal)
    assert e.armed is False and e.waits[0].startswith("not armed")

    # Two labtui processes reconcile at once: one new shim.
    ps = [subprocess.Popen([sys.executable, "-m", "tui.cli", "--journal", str(lab.journal), "ls"],
                           cwd=lab.root, env=cli_env(lab.env), stdout=subprocess.PIPE, text=True)
          for _ in range(2)]
    outs = [p.communicate(timeout=60)[0] for p in ps]
    assert all("queued #1" in o and "not armed" not in o for o in outs), outs
    assert len(shims_of(rd.path)) == 1
    assert rd.read_state()["shim_pid"] != shim.pid

    write_gpus(lab.gpus, 0)
    lab.wait_status("count_1", "finished")
    assert rd.log.read_text().count("line 1 ") == 1  # the trainer ran once
    assert shim_log(lab, "count_1").count("starting on GPU") == 1


def test_two_stage_pipeline_starts_stage_two_from_stage_ones_checkpoint(qlab):
    lab = qlab
    prog = PROGS / "stage_style.py"
    with open(lab.journal, "a", encoding="utf-8") as f:
        f.write("[experiments.first]\n"
                f'command = "python {prog} --stage 1 --save {{run_dir}}/weights.json"\n'
                'checkpoints = ["{run_dir}/weights.json"]\n'
                "[experiments.second]\n"
                f'command = "python {prog} --stage 2 --pretrained {{init_from}} --save {{run_dir}}/weights.json"\n'
                'checkpoints = ["{run_dir}/weights.json"]\n'
                "[pipelines.two]\n"
                'stages = ["first", "second"]\n')
    r = lab.q("run", "two")
    assert "queued pipeline two_1: first_1 -> second_1" in r.stdout, r.stdout
    lab.wait_status("second_1", "finished", timeout=60)
    data = Journal(lab.journal).read()["runs"]
    ck = str((lab.run_dir("first_1") / "weights.json").resolve())
    assert data["second_1"]["init_from"] == "first_1" and data["second_1"]["init_checkpoint"] == ck
    assert f"--pretrained {ck}" in data["second_1"]["command"]
    assert "loaded stages [1]" in (lab.run_dir("second_1") / "output.log").read_text()
    assert json.loads((lab.run_dir("second_1") / "weights.json").read_text()) == {"stages": [1, 2]}
    for k, rid in enumerate(("first_1", "second_1"), 1):
        assert (data[rid]["pipeline"], data[rid]["pipeline_id"], data[rid]["pipeline_stage"]) == ("two", "two_1", k)
    assert data["second_1"]["queue"] == {"after": ["first_1:finished"]}
