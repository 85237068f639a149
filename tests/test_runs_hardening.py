"""Runs core: pure listing, never the wrong process, never a lost outcome (issue 13 items 1-3, 5-7
and a missing run folder of 9), with real processes."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys

import psutil
import pytest

from tui.core import fsio, procs, runs
from tui.core.journal import Journal

from .conftest import ROOT, Lab, cli_env, wait_for


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


# --------------------------------------------------------------------------- 13.2 nested launches

def _nested(lab: Lab, child: str, then: str) -> list[str]:
    """A driver command that launches run ``child`` with labtui, then runs ``then``; the child
    waits until the file ``go`` exists in the lab, then exits 0."""
    wait_go = "while [ ! -e go ]; do sleep 0.05; done"
    launch = f"{sys.executable} -m tui.cli --journal {lab.journal} run --name {child} -- sh -c '{wait_go}'"
    return ["sh", "-c", f"{launch} && {then}"]


def test_run_launched_from_a_run_is_its_own_run(lab):
    lab.labtui("run", "--name", "driver", "--", *_nested(lab, "child", "true"), check=True)
    assert lab.wait_status("driver", "finished") == "finished"
    child_pid = trainer_pid(lab, "child")
    env = psutil.Process(child_pid).environ()
    assert env[procs.RUN_TAG] == "child" and env[procs.RUN_DIR_ENV] == str(lab.run_dir("child"))
    child_shim = state(lab, "child")["shim_pid"]
    assert procs.SHIM_ENV not in env and procs.RUN_TAG not in psutil.Process(child_shim).environ()
    # The driver's shim (a subreaper that adopted the child's shim) has ended and left it alone.
    driver_shim = state(lab, "driver")["shim_pid"]
    assert wait_for(lambda: not alive(driver_shim)), "the driver's shim never ended"
    assert alive(child_pid) and alive(child_shim)
    assert runs.get_run(lab.journal, "child").status == "running"
    # The child ends as it would have alone, recorded by its own shim.
    (lab.root / "go").touch()
    assert lab.wait_status("child", ("failed", "finished", "killed", "lost")) == "finished"
    assert wait_for(lambda: Journal(lab.journal).read()["runs"]["child"]["status"] == "finished")


def test_killing_a_driver_run_leaves_the_run_it_launched(lab):
    lab.labtui("run", "--name", "driver", "--", *_nested(lab, "child", "exec sleep 120"), check=True)
    assert wait_for(lambda: (lab.run_dir("child") / "state.json").exists()
                    and state(lab, "child").get("pid")), "the driver never launched child"
    child_pid = trainer_pid(lab, "child")
    driver_pid = trainer_pid(lab, "driver")
    assert wait_for(lambda: psutil.Process(driver_pid).name() == "sleep")  # the launch returned
    try:
        lab.labtui("kill", "driver", "--grace", "1", check=True)
        assert runs.get_run(lab.journal, "driver").status == "killed"
        assert alive(child_pid), "killing the driver killed the run it launched"
        assert runs.get_run(lab.journal, "child").status == "running"
    finally:
        lab.labtui("kill", "child", "--now")
    assert runs.get_run(lab.journal, "child").status == "killed"


# --------------------------------------------------------------------------- 13.3 reaped pid

_FORWARD_AFTER_REAP = """
import os, signal, subprocess
from tui.core.shim import Trainer
p = subprocess.Popen(["sleep", "60"])
t = Trainer(p.pid)
assert t.forward(signal.SIGTERM)
status = t.wait()
p.returncode = 0
assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM, status
assert t.pid is None
assert not t.forward(signal.SIGTERM) and not t.forward(signal.SIGINT)
print("ok")
"""


def test_shim_forgets_the_trainer_pid_before_reaping_it():
    """Unit level, in a process of its own (waitid reaps any child of the process it runs in)."""
    r = subprocess.run([sys.executable, "-c", _FORWARD_AFTER_REAP], capture_output=True, text=True,
                       env=cli_env(), cwd=ROOT, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


def _spawn_with_pid(pid: int, argv: list[str]) -> subprocess.Popen | None:
    """A process that gets ``pid`` (free again), chosen through ns_last_pid; None if it cannot."""
    for _ in range(200):
        try:
            fd = os.open("/proc/sys/kernel/ns_last_pid", os.O_WRONLY)
            try:
                os.write(fd, str(pid - 1).encode())
            finally:
                os.close(fd)
        except OSError:
            return None
        p = subprocess.Popen(argv)
        if p.pid == pid:
            return p
        p.kill()
        p.wait()
    return None


def test_shim_never_signals_a_reaped_trainer_pid(lab):
    """The trainer ended, the journal cannot be written (the shim retries), a bystander reuses
    the trainer's pid, and the shim gets SIGTERM: the bystander must not get it."""
    if not os.access("/proc/sys/kernel/ns_last_pid", os.W_OK):
        pytest.skip("choosing a pid needs CAP_SYS_ADMIN (ns_last_pid); the unit test above covers it")
    lab.labtui("run", "--name", "r", "--", "sleep", "120", check=True)
    pid = trainer_pid(lab, "r")
    shim = state(lab, "r")["shim_pid"]
    good = lab.journal.read_bytes()
    lab.journal.write_bytes(good + b"\n[runs.broken\n")  # the shim's journal update now fails
    bystander = None
    try:
        os.kill(pid, signal.SIGKILL)
        assert wait_for(lambda: (lab.run_dir("r") / "exit.json").exists()), "no exit.json"
        assert wait_for(lambda: "journal update failed" in
                        (lab.run_dir("r") / "shim.log").read_text()), "the shim is not retrying"
        bystander = _spawn_with_pid(pid, ["sleep", "120"])
        if bystander is None:
            pytest.skip(f"could not start a process with pid {pid}")
        os.kill(shim, signal.SIGTERM)  # handled while it waits to retry
        lab.journal.write_bytes(good)
        assert wait_for(lambda: not alive(shim), timeout=60), "the shim did not finish"
        assert bystander.poll() is None, "the shim signalled the process that reused its trainer's pid"
    finally:
        if b"[runs.broken" in lab.journal.read_bytes():
            lab.journal.write_bytes(good)
        if bystander is not None:
            bystander.kill()
            bystander.wait()
    assert Journal(lab.journal).read()["runs"]["r"]["signal"] == "SIGKILL"


# --------------------------------------------------------------------------- 13.5 verify the end

def _untagged(go) -> list[str]:
    """A trainer that drops its run tag (``exec env -i``) and exits 0 once the file ``go`` exists."""
    loop = f"while [ ! -e {go} ]; do sleep 0.05; done"
    return ["sh", "-c", f"exec env -i PATH=/usr/bin:/bin /bin/sh -c '{loop}'"]


def test_kill_of_a_trainer_that_dropped_its_tag_records_nothing(tmp_path):
    a, b = make_lab(tmp_path / "lab_a"), make_lab(tmp_path / "lab_b")
    go = tmp_path / "go"
    b.labtui("run", "--name", "x", "--", "sleep", "120", check=True)
    a.labtui("run", "--name", "x", "--", *_untagged(go), check=True)
    pid, pid_b = trainer_pid(a, "x"), trainer_pid(b, "x")
    assert wait_for(lambda: procs.RUN_TAG not in psutil.Process(pid).environ()), "the tag was never dropped"
    try:
        for _ in range(2):  # the run stays live: a second kill is allowed (and says the same)
            r = a.labtui("kill", "x", "--grace", "0.5")
            assert r.returncode == 1, (r.stdout, r.stderr)
            assert r.stderr.count("\n") == 1 and f"still running (pid {pid})" in r.stderr, r.stderr
            assert alive(pid)
            assert not (a.run_dir("x") / "exit.json").exists(), "exit.json claims an end that did not happen"
            assert runs.get_run(a.journal, "x").status == "running"
        assert alive(pid_b) and runs.get_run(b.journal, "x").status == "running"
        # It then ends on its own, exit 0: finished, not "killed" (no kill signal ever landed).
        go.touch()
        assert a.wait_status("x", ("finished", "failed", "killed", "lost")) == "finished"
        assert wait_for(lambda: Journal(a.journal).read()["runs"]["x"]["status"] == "finished")
    finally:
        go.touch()
        b.labtui("kill", "x", "--now")
    assert runs.get_run(b.journal, "x").status == "killed"


# --------------------------------------------------------------------------- 13.7 CLI kill outlives its terminal

@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGKILL])
def test_cli_kill_goes_on_when_the_cli_dies_mid_grace(tmp_path, sig):
    a, b = make_lab(tmp_path / "lab_a"), make_lab(tmp_path / "lab_b")
    stubborn = ["sh", "-c", 'trap "echo saving" INT TERM; while :; do sleep 0.05; done']
    b.labtui("run", "--name", "x", "--", *stubborn, check=True)
    a.labtui("run", "--name", "x", "--", *stubborn, check=True)
    pid, pid_b = trainer_pid(a, "x"), trainer_pid(b, "x")
    with open(tmp_path / "cli.out", "wb") as out:
        cli = subprocess.Popen([sys.executable, "-m", "tui.cli", "--journal", str(a.journal), "kill", "x",
                                "--grace", "2"], cwd=a.root, env=cli_env(), stdout=out, stderr=out,
                               stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        # Mid-grace: the SIGINT has landed (the trainer says so) and the trainer shrugged it off.
        assert wait_for(lambda: "saving" in (a.run_dir("x") / "output.log").read_text()), "no SIGINT landed"
        assert "signalled" in (fsio.read_json(a.run_dir("x") / "kill.json") or {})
        assert cli.poll() is None, (tmp_path / "cli.out").read_text()
        os.kill(cli.pid, sig)  # the SSH link drops
        cli.wait(30)
        # An ended status (not "lost": seen once, for a moment, on a box under stress-ng while the
        # detached killer went on: the run must end "killed", and a "lost" that stays fails here
        # with what the run folder says)
        rd = a.run_dir("x")
        end = a.wait_status("x", ("finished", "failed", "killed"), timeout=60, why=lambda: {
            f: (rd / f).read_text() if (rd / f).exists() else None
            for f in ("state.json", "exit.json", "kill.json", "kill.log", "shim.log")})
        assert end == "killed"
        assert not alive(pid)
        assert list(procs.tagged_processes("x", procs.lab_id(a.journal))) == []
        assert wait_for(lambda: Journal(a.journal).read()["runs"]["x"]["status"] == "killed")
        assert wait_for(lambda: "result: killed" in (a.run_dir("x") / "kill.log").read_text())
        assert alive(pid_b) and runs.get_run(b.journal, "x").status == "running"
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait()
        a.labtui("kill", "x", "--now")
        b.labtui("kill", "x", "--now")
    assert runs.get_run(b.journal, "x").status == "killed"


def test_cli_kill_reports_through_the_detached_killer(lab):
    """The foreground CLI prints the killer's progress and its outcome, as before."""
    lab.labtui("run", "--name", "r", "--", "sleep", "120", check=True)
    r = lab.labtui("kill", "r", "--grace", "5", check=True)
    assert r.stdout.startswith("r: killed (") and "sending SIGINT to r" in r.stderr, (r.stdout, r.stderr)
    assert "result: killed" in (lab.run_dir("r") / "kill.log").read_text()
    r = lab.labtui("kill", "r")
    assert r.returncode == 1 and r.stderr.strip() == "labtui: run 'r' is not running (status: killed)"


# --------------------------------------------------------------------------- 9 missing run folder

def test_kill_of_a_run_whose_folder_is_missing_changes_nothing(lab):
    lab.labtui("run", "--name", "r", "--", "sleep", "120", check=True)
    pid = trainer_pid(lab, "r")
    shim = state(lab, "r")["shim_pid"]
    assert lab.wait_status("r", "running") == "running"
    assert wait_for(lambda: Journal(lab.journal).read()["runs"]["r"].get("pid") == pid)
    shutil.rmtree(lab.run_dir("r"))
    before = lab.journal.read_bytes()
    try:
        r = lab.labtui("kill", "r", "--grace", "1")
        assert r.returncode == 1 and r.stdout == "", (r.stdout, r.stderr)
        assert r.stderr.count("\n") == 1 and "folder" in r.stderr and "missing" in r.stderr, r.stderr
        assert "nothing was changed" in r.stderr
        assert lab.journal.read_bytes() == before
        assert alive(pid) and not lab.run_dir("r").exists()
    finally:
        os.kill(pid, signal.SIGKILL)
    # Its shim has no folder to write exit.json in: it records the end in the journal, and ends.
    assert wait_for(lambda: not alive(shim)), "the shim never ended"
    assert Journal(lab.journal).read()["runs"]["r"]["signal"] == "SIGKILL"


# --------------------------------------------------------------------------- 13.6 disk full

def _fill(folder) -> None:
    """Fill the file system of ``folder`` to the last byte."""
    with open(folder / "filler", "wb", buffering=0) as f:
        for chunk in (1 << 16, 1 << 12, 1):
            try:
                while True:
                    f.write(b"\0" * chunk)
            except OSError as e:
                assert e.errno == errno.ENOSPC, e
    with pytest.raises(OSError):
        with open(folder / "probe", "wb", buffering=0) as f:
            f.write(b"x")


@pytest.fixture
def small_disk(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {r.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def test_disk_full_never_loses_an_outcome_and_cli_says_one_line(small_disk, tmp_path):
    lab = make_lab(small_disk / "lab")
    go = tmp_path / "go"  # outside the small disk
    lab.labtui("run", "--name", "r", "--", "sh", "-c", f"while [ ! -e {go} ]; do sleep 0.05; done",
               check=True)
    pid = trainer_pid(lab, "r")
    shim = state(lab, "r")["shim_pid"]
    assert wait_for(lambda: Journal(lab.journal).read()["runs"]["r"].get("status") == "running")
    try:
        _fill(small_disk)
        before = lab.journal.read_bytes()
        for args in (("note", "r", "hello"), ("tag", "r", "t1"), ("run", "--name", "r2", "--", "true")):
            r = lab.labtui(*args)
            assert r.returncode == 1, (args, r.stdout, r.stderr)
            assert r.stderr.count("\n") == 1 and "disk full" in r.stderr, (args, r.stderr)
            assert r.stderr.rstrip().endswith("nothing was changed"), r.stderr
            assert lab.journal.read_bytes() == before, args
        assert not lab.run_dir("r2").exists(), "a failed launch left its folder behind"
        # The run ends (exit 0) while nothing can be written: its shim holds the outcome.
        go.touch()
        assert wait_for(lambda: not alive(pid)), "the trainer did not end"
        assert alive(shim), "the shim died on the full disk"
        assert runs.get_run(lab.journal, "r").status == "running"  # not lost: its shim lives
        (small_disk / "filler").unlink()
        assert wait_for(lambda: (lab.run_dir("r") / "exit.json").exists(), timeout=60), "exit.json never written"
        assert runs.get_run(lab.journal, "r").status == "finished"
        assert wait_for(lambda: Journal(lab.journal).read()["runs"]["r"].get("status") == "finished", timeout=60)
        assert Journal(lab.journal).read()["runs"]["r"]["exit_code"] == 0
        assert wait_for(lambda: not alive(shim)), "the shim never ended"
        log = (lab.run_dir("r") / "shim.log").read_text()
        assert log.count("writing exit.json failed") <= 2, log  # bounded noise
        # Space is back: the same launch now works, with the id the failed one did not take.
        lab.labtui("run", "--name", "r2", "--", "true", check=True)
    finally:
        go.touch()
        try:
            (small_disk / "filler").unlink()
        except FileNotFoundError:
            pass
        for p in (pid, shim):
            if alive(p):
                os.kill(p, signal.SIGKILL)
