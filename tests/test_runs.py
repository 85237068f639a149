"""Runs with real processes, real signals and real files (issue: foundation)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import psutil
import pytest

from tui.core import fsio, procs, runs
from tui.core.journal import Journal

from .conftest import PROGS, ROOT, cli_env, wait_for


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def shims_of(run_dir) -> list[psutil.Process]:
    """The live processes marked as the shim of the run in ``run_dir`` (procs.SHIM_ENV)."""
    out = []
    for p in psutil.process_iter():
        try:
            if p.status() != psutil.STATUS_ZOMBIE and p.environ().get(procs.SHIM_ENV) == str(run_dir):
                out.append(p)
        except psutil.Error:
            pass
    return out


def trainer_pid(lab, run_id: str) -> int:
    """The trainer's pid from the journal (it can print before its shim has recorded it)."""
    assert wait_for(lambda: runs.get_run(lab.journal, run_id).pid is not None), "no pid recorded"
    return runs.get_run(lab.journal, run_id).pid


def test_failed_run_keeps_every_line_and_exit_code(lab):
    r = lab.labtui("run", "--name", "t500", "--", sys.executable, str(PROGS / "count.py"),
                   "--n", "500", "--code", "3", check=True)
    assert "started t500" in r.stdout
    assert lab.wait_status("t500", "failed") == "failed"
    info = runs.get_run(lab.journal, "t500")
    assert info.exit_code == 3
    lines = (lab.run_dir("t500") / "output.log").read_text().splitlines()
    assert lines == [f"line {i} loss={1.0 / i:.4f}" for i in range(1, 501)]
    # The shim recorded the end in the journal itself, with no labtui process watching.
    assert wait_for(lambda: Journal(lab.journal).read()["runs"]["t500"].get("exit_code") == 3)
    rec = Journal(lab.journal).read()["runs"]["t500"]
    assert rec["status"] == "failed" and rec["ended"] >= rec["started"]


def test_experiment_template_params_and_env(lab):
    lab.journal.write_text(lab.journal.read_text() + (
        "\n[experiments.env]\n"
        "command = \"python -c 'import os,sys; print(os.environ[\\\"LABTUI_RUN_ID\\\"], "
        "os.environ[\\\"LABTUI_RUN_DIR\\\"], os.environ.get(\\\"CUDA_VISIBLE_DEVICES\\\"), "
        "os.environ[\\\"PYTHONUNBUFFERED\\\"], os.getpgid(0) == os.getpid(), sys.argv[1:])' {word}\"\n"
        "params = { word = \"hello world\" }\n"))
    lab.labtui("run", "env", "--set", "word=two words", "--gpus", "none", check=True)
    lab.wait_status("env_1", "finished")
    out = (lab.run_dir("env_1") / "output.log").read_text().strip()
    assert out == f"env_1 {lab.run_dir('env_1')}  1 True ['two words']"
    rec = Journal(lab.journal).read()["runs"]["env_1"]
    assert rec["params"] == {"word": "two words"} and rec["gpus"] == []
    assert rec["experiment"] == "env"
    # Generated ids count up and are never reused, even after a run is removed from the journal.
    lab.labtui("run", "count", check=True)
    lab.labtui("run", "count", check=True)
    text = lab.journal.read_text()
    assert "[runs.count_1]" in text and "[runs.count_2]" in text
    start = text.index("[runs.count_2]")
    lab.journal.write_text(text[:start])
    lab.labtui("run", "count", check=True)
    assert "count_3" in Journal(lab.journal).read()["runs"]


def test_dropped_ssh_link_run_survives(lab, tmp_path):
    """`labtui run` from a shell in a tmux pane; the whole tmux server dies (SIGHUP)."""
    if shutil.which("tmux") is None:
        pytest.fail("tmux is required (.ci/run installs it)")
    sock = f"labtui-test-{os.getpid()}"
    env = cli_env()
    cmd = (f"cd {lab.root} && {sys.executable} -m tui.cli run --name drop -- "
           f"{sys.executable} {PROGS / 'count.py'} --n 60 --delay 0.05; sleep 60")
    subprocess.run(["tmux", "-L", sock, "new-session", "-d", "-x", "80", "-y", "24", cmd],
                   check=True, env=env)
    try:
        assert wait_for(lambda: (lab.run_dir("drop") / "state.json").exists() and
                        "pid" in (fsio.read_json(lab.run_dir("drop") / "state.json") or {}), timeout=20)
        pid = fsio.read_json(lab.run_dir("drop") / "state.json")["pid"]
        shell = int(subprocess.run(["tmux", "-L", sock, "display-message", "-p", "#{pane_pid}"], check=True,
                                   capture_output=True, text=True).stdout)
        # The pane's processes get SIGHUP when the server goes: the link drop.
        subprocess.run(["tmux", "-L", sock, "kill-server"], check=True)
        wait_for(lambda: gone(shell), "the pane's shell to die with the terminal", 30)
        assert not gone(pid), "the run died with the terminal"
    finally:
        subprocess.run(["tmux", "-L", sock, "kill-server"], capture_output=True)
    assert lab.wait_status("drop", "finished", timeout=30) == "finished"
    lines = (lab.run_dir("drop") / "output.log").read_text().splitlines()
    assert len(lines) == 60 and lines[-1].startswith("line 60 ")
    # The shim itself records the end in the journal (exit.json first, then the journal).
    assert wait_for(lambda: Journal(lab.journal).read()["runs"]["drop"]["status"] == "finished")


def test_kill_graceful_trainer_saves_and_is_killed(lab):
    lab.labtui("run", "--name", "g", "--", sys.executable, str(PROGS / "graceful.py"), check=True)
    assert wait_for(lambda: "ready" in (lab.run_dir("g") / "output.log").read_text())
    t0 = time.monotonic()
    r = lab.labtui("kill", "g", "--grace", "20", "--reason", "trans_matrix computed wrong", check=True)
    assert time.monotonic() - t0 < 10
    assert "g: killed" in r.stdout
    assert (lab.run_dir("g") / "saved").read_text() == "ok"
    info = runs.get_run(lab.journal, "g")
    assert info.status == "killed" and info.exit_code == 130
    assert [n["text"] for n in info.notes] == ["killed: trans_matrix computed wrong"]
    assert "saved checkpoint" in (lab.run_dir("g") / "output.log").read_text()


def test_kill_stubborn_trainer_escalates_to_sigkill(lab):
    lab.labtui("run", "--name", "s", "--", sys.executable, str(PROGS / "stubborn.py"), check=True)
    assert wait_for(lambda: "ready" in (lab.run_dir("s") / "output.log").read_text())
    pid = trainer_pid(lab, "s")
    t0 = time.monotonic()
    r = lab.labtui("kill", "s", "--grace", "0.5", check=True)
    took = time.monotonic() - t0
    assert 1.0 <= took < 15, took
    assert "SIGINT" in r.stderr and "SIGTERM" in r.stderr and "SIGKILL" in r.stderr
    assert gone(pid)
    info = runs.get_run(lab.journal, "s")
    assert info.status == "killed" and info.signal == "SIGKILL"
    assert (lab.run_dir("s") / "output.log").read_text().count("ignoring") == 2


def test_kill_reaches_ranks_in_their_own_sessions(lab):
    lab.labtui("run", "--name", "ddp", "--", sys.executable, str(PROGS / "ranks.py"), check=True)
    ranks_file = lab.run_dir("ddp") / "ranks.txt"
    assert wait_for(lambda: ranks_file.exists() and ranks_file.read_text().strip())
    ranks = [int(x) for x in ranks_file.read_text().split()]
    root = trainer_pid(lab, "ddp")
    for pid in ranks:  # really in other sessions than the trainer's
        assert os.getsid(pid) != os.getsid(root)
    lab.labtui("kill", "ddp", "--grace", "0.3", check=True)
    assert all(gone(p) for p in [root, *ranks])
    assert list(procs.tagged_processes("ddp", procs.lab_id(lab.journal))) == []
    assert runs.get_run(lab.journal, "ddp").status == "killed"


def test_kill_now(lab):
    lab.labtui("run", "--name", "n", "--", sys.executable, str(PROGS / "graceful.py"), check=True)
    assert wait_for(lambda: "ready" in (lab.run_dir("n") / "output.log").read_text())
    lab.labtui("kill", "n", "--now", check=True)
    info = runs.get_run(lab.journal, "n")
    assert info.status == "killed" and info.signal == "SIGKILL"
    assert not (lab.run_dir("n") / "saved").exists()


def test_shim_killed_run_is_never_running_forever(lab):
    lab.labtui("run", "--name", "orphan", "--", sys.executable, str(PROGS / "count.py"),
               "--n", "30", "--delay", "0.05", check=True)
    state = fsio.read_json(lab.run_dir("orphan") / "state.json")
    os.kill(state["shim_pid"], signal.SIGKILL)
    # Re-attached honestly: the trainer itself is still alive, so it is running...
    assert runs.get_run(lab.journal, "orphan").status == "running"
    # ...and once it ends with no shim to write exit.json, the run is lost, not running.
    # (The shim too: a SIGKILL waits for the end of an uninterruptible write, e.g. its fsync on a
    # loaded disk, and until then the shim is alive and the run rightly running.)
    assert wait_for(lambda: gone(state["pid"]) and gone(state["shim_pid"]), timeout=20)
    assert runs.get_run(lab.journal, "orphan").status == "lost"
    lab.labtui("ls", check=True)
    assert Journal(lab.journal).read()["runs"]["orphan"]["status"] == "lost"


def test_lost_when_machine_rebooted(lab):
    """A run whose shim and trainer vanished without exit.json (as after a reboot)."""
    j = Journal(lab.journal)
    lab.labtui("run", "--name", "r", "--", "sleep", "30", check=True)
    assert wait_for(lambda: "pid" in (fsio.read_json(lab.run_dir("r") / "state.json") or {}))
    state = fsio.read_json(lab.run_dir("r") / "state.json")
    # Simulate the reboot: both processes die at once, nobody writes exit.json.
    os.kill(state["shim_pid"], signal.SIGKILL)
    os.kill(state["pid"], signal.SIGKILL)
    assert wait_for(lambda: gone(state["pid"]) and gone(state["shim_pid"])), state
    info = runs.get_run(j, "r")
    assert info.status == "lost", (info, state, fsio.read_json(lab.run_dir("r") / "exit.json"))
    r = lab.labtui("ls", "--json", check=True)
    assert json.loads(r.stdout)["runs"][0]["status"] == "lost", r.stdout


def test_pid_reuse_is_never_mistaken_for_the_run(lab):
    stranger = subprocess.Popen(["sleep", "60"])
    try:
        ctime = procs.create_time(stranger.pid)
        lab.journal.write_text(lab.journal.read_text() + (
            "\n[runs.old]\n"
            'command = "python train.py"\n'
            'status = "running"\n'
            "started = 2026-05-12T21:03:11+08:00\n"
            f"pid = {stranger.pid}\n"
            f"create_time = {ctime - 1000.0}\n"))
        (lab.root / "logs" / "old").mkdir(parents=True)
        fsio.write_json_atomic(lab.run_dir("old") / "state.json", {
            "shim_pid": 999999, "shim_create": 1.0, "pid": stranger.pid, "create_time": ctime - 1000.0})
        assert runs.get_run(lab.journal, "old").status == "lost"
        r = lab.labtui("kill", "old", "--grace", "0.1")
        assert r.returncode == 1 and "not running" in r.stderr
        # Same pid AND create time, but no run tag: still never signalled.
        fsio.write_json_atomic(lab.run_dir("old") / "state.json", {
            "shim_pid": 999999, "shim_create": 1.0, "pid": stranger.pid, "create_time": ctime})
        lab.journal.write_text(lab.journal.read_text().replace('status = "lost"', 'status = "running"'))
        assert runs.get_run(lab.journal, "old").status == "running"
        r = lab.labtui("kill", "old", "--grace", "0.1")
        assert stranger.poll() is None, "an untagged process was signalled"
        # ... and, as it still runs, no end is recorded (issue 13.5): one line, run still live.
        assert r.returncode == 1 and f"still running (pid {stranger.pid})" in r.stderr, r.stderr
        assert not (lab.run_dir("old") / "exit.json").exists()
    finally:
        stranger.kill()
        stranger.wait()


def test_resume_chain(lab):
    j = Journal(lab.journal)
    lab.journal.write_text(lab.journal.read_text() + (
        "\n[experiments.echo]\n"
        "command = \"python -c 'import os; print(os.environ.get(\\\"LABTUI_RESUME_FROM\\\"))' {lr}\"\n"
        "params = { lr = 0.001 }\n"))
    lab.labtui("run", "echo", "--name", "training_11", check=True)
    lab.wait_status("training_11", "finished")
    r = lab.labtui("resume", "training_11")
    assert r.returncode == 1 and "no complete checkpoint" in r.stderr and "--from" in r.stderr
    ck = lab.run_dir("training_11") / "checkpoints"
    (ck / "step-100").mkdir(parents=True)
    (ck / "step-200").mkdir()
    (ck / "step-300.tmp").mkdir()  # a save that crashed: never used
    (ck / "latest").write_text("step-200\n")
    lab.labtui("resume", "training_11", "--set", "lr=1e-4", check=True)
    lab.wait_status("training_11.1", "finished")
    rec = j.read()["runs"]["training_11.1"]
    assert rec["parent"] == "training_11" and rec["resume_step"] == 200
    assert rec["params"] == {"lr": 1e-4}
    assert (lab.run_dir("training_11.1") / "output.log").read_text().strip() == str((ck / "step-200").resolve())
    # `latest` pointing nowhere: the newest complete step-N is used instead.
    ck2 = lab.run_dir("training_11.1") / "checkpoints"
    (ck2 / "step-250").mkdir(parents=True)
    (ck2 / "latest").write_text("step-999\n")
    lab.labtui("resume", "training_11.1", check=True)
    lab.wait_status("training_11.2", "finished")
    assert runs.lineage(j, "training_11.2") == ["training_11", "training_11.1", "training_11.2"]
    assert j.read()["runs"]["training_11.2"]["resume_step"] == 250
    # --from a checkpoint of another run
    lab.labtui("resume", "training_11", "--from", str(ck / "step-100"), check=True)
    assert j.read()["runs"]["training_11.3"]["resumed_from"] == str((ck / "step-100").resolve())
    r = lab.labtui("resume", "training_11", "--from", "/nonexistent/ckpt")
    assert r.returncode == 1 and "/nonexistent/ckpt" in r.stderr
    r = lab.labtui("ls", check=True)
    assert "└ training_11.1" in r.stdout


def test_notes_tags_verdict(lab):
    lab.labtui("run", "count", check=True)
    lab.labtui("note", "count_1", "converging?", "训练 loss cliff [bold]x[/]", check=True)
    lab.labtui("tag", "count_1", "ttur", "ablation", check=True)
    lab.labtui("tag", "count_1", "--verdict", "keep", check=True)
    info = runs.get_run(lab.journal, "count_1")
    assert [n["text"] for n in info.notes] == ["converging? 训练 loss cliff [bold]x[/]"]
    assert info.notes[0]["at"] is not None
    assert info.tags == ["ttur", "ablation"] and info.verdict == "keep"
    assert lab.journal.read_text().startswith("# test lab\n[experiments.count]  # counts lines\n")
    r = lab.labtui("tag", "count_1", "bad tag")
    assert r.returncode == 1 and "bad tag" in r.stderr


def test_concurrent_writers_lose_nothing(lab):
    lab.labtui("run", "count", check=True)
    procs_ = [subprocess.Popen([sys.executable, str(PROGS / "noter.py"), str(lab.journal), "count_1",
                                f"w{w}", "25"], env=cli_env()) for w in range(8)]
    for p in procs_:
        assert p.wait(timeout=120) == 0
    info = runs.get_run(lab.journal, "count_1")
    texts = sorted(n["text"] for n in info.notes)
    assert texts == sorted(f"w{w}-{i}" for w in range(8) for i in range(25))
    assert lab.journal.read_text().startswith("# test lab\n[experiments.count]  # counts lines\n")


def test_writer_killed_at_random_points_never_corrupts(lab):
    import random

    lab.labtui("run", "count", check=True)
    rng = random.Random(7)
    j = Journal(lab.journal)
    seen = 0
    def notes() -> list:
        return j.read()["runs"]["count_1"].get("notes", [])

    for _ in range(50):
        p = subprocess.Popen([sys.executable, str(PROGS / "noter.py"), str(lab.journal), "count_1",
                              "k", "1000"], env=cli_env())
        # Killed at a random point of its writing (not of its start-up: on a loaded box a
        # fixed delay would kill every writer while Python imports, and nothing is tested).
        wait_for(lambda: len(notes()) > seen, "the writer's first note")  # noqa: B023 - seen is read now
        time.sleep(rng.uniform(0.0, 0.2))  # the random kill point, not a wait for anything
        p.kill()
        p.wait()
        data = j.read()  # parses after every kill
        now = data["runs"]["count_1"].get("notes", [])
        assert len(now) > seen, "a note that was written is gone"
        seen = len(now)
        assert "count" in data["experiments"]
    leftovers = [f for f in os.listdir(lab.root) if f.endswith(".tmp")]
    assert len(leftovers) <= 50  # temp files of killed writers are harmless and never read


def test_bad_input_one_line_errors_and_journal_unchanged(lab):
    before = lab.journal.read_bytes()
    cases = [
        (["show", "nope"], "unknown run 'nope'"),
        (["run", "nope"], "unknown experiment 'nope'; known: count"),
        (["run", "count", "--name", "../x"], "invalid run id '../x'"),
        (["run", "count", "--name", "/etc"], "invalid run id '/etc'"),
        (["run", "count", "--name", ""], "invalid run id ''"),
        (["run", "count", "--set", "typo=1"], "has no param 'typo'"),
        (["run", "count", "--set", "novalue"], "expected KEY=VALUE"),
        (["note", "nope", "x"], "unknown run 'nope'"),
    ]
    for args, msg in cases:
        r = lab.labtui(*args)
        assert r.returncode == 1, (args, r.stderr)
        assert msg in r.stderr, (args, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert lab.journal.read_bytes() == before
    assert not (lab.root / "logs").exists()
    # Missing placeholder param.
    lab.journal.write_text(lab.journal.read_text() + '\n[experiments.gap]\ncommand = "python x.py --lr {lr}"\n')
    before = lab.journal.read_bytes()
    r = lab.labtui("run", "gap")
    assert r.returncode == 1 and "needs param 'lr'" in r.stderr and "--set lr=" in r.stderr
    assert lab.journal.read_bytes() == before
    # Usage error: exit 2.
    assert lab.labtui("kill").returncode == 2


def test_gpu_index_that_does_not_exist_is_refused(lab, tmp_path):
    fake = tmp_path / "gpus.json"
    fake.write_text(json.dumps(_fake_gpus(2)))
    before = lab.journal.read_bytes()
    r = lab.labtui("run", "count", "--gpus", "0,7", env={"LABTUI_FAKE_GPUS": str(fake)})
    assert r.returncode == 1 and "7" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert lab.journal.read_bytes() == before
    lab.labtui("run", "count", "--gpus", "1", env={"LABTUI_FAKE_GPUS": str(fake)}, check=True)
    lab.wait_status("count_1", "finished")
    assert Journal(lab.journal).read()["runs"]["count_1"]["gpus"] == [1]


def _fake_gpus(n: int):
    """The fake GPU source's file format (see docs/gpus.md)."""
    from tui.core import gpus

    return gpus.fake_file_example(n) if hasattr(gpus, "fake_file_example") else {
        "snapshots": [{"gpus": [{"index": i, "name": "Fake GPU", "memory_total": 80 << 30,
                                 "memory_used": 0} for i in range(n)], "processes": []}]}


def test_malformed_journal_is_never_rewritten(lab):
    bad = b"# my notes\n[runs.training_8]\nstatus = \"running\"\nnotes = [\"converging?\"\n"
    lab.journal.write_bytes(bad)
    for args in (["ls"], ["note", "training_8", "x"], ["run", "--", "true"], ["show", "training_8"]):
        r = lab.labtui(*args)
        assert r.returncode == 1, args
        line = r.stderr.strip()
        assert len(line.splitlines()) == 1
        assert f"{lab.journal}:4:" in line or f"{lab.journal}:5:" in line, line
        assert lab.journal.read_bytes() == bad
    assert not (lab.root / "logs").exists()


def test_unknown_keys_and_comments_survive_writes(lab):
    lab.journal.write_text(
        "# my lab journal\n\n"
        "[experiments.count]  # the counting one\n"
        f'command = "python {PROGS / "count.py"} --n {{n}}"\n'
        "params = { n = 3 }  # small\n"
        "owner = \"wei\"  # unknown key, kept\n\n"
        "# runs below\n")
    lab.labtui("run", "count", check=True)
    lab.wait_status("count_1", "finished")
    lab.labtui("note", "count_1", "ok", check=True)
    text = lab.journal.read_text()
    assert text.startswith(
        "# my lab journal\n\n[experiments.count]  # the counting one\n")
    assert "params = { n = 3 }  # small\n" in text and 'owner = "wei"  # unknown key, kept' in text
    assert "# runs below" in text


def test_log_verb_tail_and_safety(lab):
    script = "print('\\x1b[31mred\\x1b[0m [bold]x[/]'); print('a\\rb\\rfinal'); [print(i) for i in range(10)]"
    lab.labtui("run", "--name", "l", "--", sys.executable, "-c", script, check=True)
    lab.wait_status("l", "finished")
    r = lab.labtui("log", "l", "-n", "3", check=True)
    assert r.stdout == "7\n8\n9\n"
    r = lab.labtui("log", "l", check=True)  # not a tty: raw bytes
    assert "\x1b[31mred" in r.stdout
    from tui.core.text import terminal_safe

    assert terminal_safe("\x1b[31mred\x1b[0m [bold]x[/]") == "red [bold]x[/]"
    assert terminal_safe("a\rb\rfinal") == "final"
    assert terminal_safe("evil\x1b]0;title\x07 \x07bell") == "evil ^Gbell"


def test_log_follow_ends_with_the_run(lab):
    lab.labtui("run", "--name", "f", "--", sys.executable, str(PROGS / "count.py"), "--n", "20",
               "--delay", "0.05", "--code", "3", check=True)
    r = lab.labtui("log", "f", "-f", check=True, timeout=30)
    assert r.stdout.count("\n") == 20
    assert r.stderr.strip().splitlines()[-1] == "labtui: f failed (exit 3)"


def test_core_never_imports_textual():
    code = ("import sys, tui.core.journal, tui.core.runs, tui.core.shim, tui.core.procs, "
            "tui.core.text, tui.core.gpus, tui.core.metrics, tui.core.config, tui.cli, tui.cli.runs; "
            "print('textual' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=cli_env(), cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
    import re

    for f in (ROOT / "tui" / "core").rglob("*.py"):
        assert not re.search(r"^\s*(from|import)\s+textual", f.read_text(), re.M), f


def test_app_refuses_missing_or_broken_journal_in_one_line(tmp_path):
    from .conftest import Lab

    lab = Lab(tmp_path)
    r = lab.labtui()
    assert r.returncode == 1 and "no journal at" in r.stderr and "labtui demo" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    bad = b"[runs.x]\nstatus = \n"
    lab.journal.write_bytes(bad)
    r = lab.labtui()
    assert r.returncode == 1 and f"{lab.journal}:2:" in r.stderr
    assert lab.journal.read_bytes() == bad


def test_kill_while_starting_leaves_nothing_behind(lab):
    for i in range(3):
        rid = runs.launch(lab.journal, command=["sleep", "60"], name=f"early{i}", wait=False)
        assert runs.kill(lab.journal, rid, grace=0.2) == "killed"
        assert list(procs.tagged_processes(rid, procs.lab_id(lab.journal))) == []
        assert runs.get_run(lab.journal, rid).status == "killed"
        # The shim never leaves a trainer behind after the kill, however late it started it:
        # once no shim of this run is left, nothing can start one.
        wait_for(lambda: not shims_of(lab.run_dir(rid)), f"{rid}'s shim to end", 30)
        assert list(procs.tagged_processes(rid, procs.lab_id(lab.journal))) == []


def test_detached_kill_finishes_without_its_caller(lab):
    """The app's kill runs in a detached process: it escalates to SIGKILL even if the app quits."""
    lab.labtui("run", "--name", "det", "--", sys.executable, str(PROGS / "stubborn.py"), check=True)
    assert wait_for(lambda: "ready" in (lab.run_dir("det") / "output.log").read_text())
    p = runs.start_kill(lab.journal, "det", grace=0.3, reason="quit mid-kill")
    assert os.getsid(p.pid) != os.getsid(0)  # its own session: survives the terminal and the app
    assert p.wait(timeout=30) == 0
    assert runs.kill_outcome(lab.journal, "det") == "killed"
    info = runs.get_run(lab.journal, "det")
    assert info.status == "killed" and info.signal == "SIGKILL"
    assert [n["text"] for n in info.notes] == ["killed: quit mid-kill"]
    log = (lab.run_dir("det") / "kill.log").read_text()
    assert "SIGINT" in log and "SIGTERM" in log and "SIGKILL" in log
    import pytest

    with pytest.raises(runs.UserError, match="not running"):
        runs.start_kill(lab.journal, "det")
