"""GPU attribution by (lab, run id), live runs handed to the sampler by its owner (never read from the
journal by the gpus package), with real processes. The only fake is the GPU source."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil

from tui.app.model import Poller
from tui.core import gpus as G
from tui.core import runs
from tui.core import procs as P
from tui.core.journal import Journal

from .conftest import Lab
from .test_gpus import GiB, child_of, fake_gpu, write_fake
from .test_gpus import procs_fixture  # noqa: F401  (the `procs` fixture)

ROOT = Path(__file__).resolve().parents[1]


def two_labs(tmp_path):
    a, b = Lab(tmp_path / "a"), Lab(tmp_path / "b")
    for lab in (a, b):
        lab.root.mkdir()
        lab.journal.write_text("# lab\n")
    return a, b


def test_other_labs_run_is_foreign(tmp_path, procs):
    """13.1: run ids repeat in every lab: `labtui gpus` in lab A must not call lab B's twin_1 its own."""
    a, b = two_labs(tmp_path)
    mine = procs.start(["sleep", "60"], run_id="twin_1", lab=P.lab_id(a.journal))
    theirs = procs.start(["sleep", "60"], run_id="twin_1", lab=P.lab_id(b.journal))
    fake = write_fake(tmp_path, [{"gpus": [fake_gpu(0, 30)], "processes": [
        {"pid": mine.pid, "gpu": 0, "mem_used": 10 * GiB}, {"pid": theirs.pid, "gpu": 0, "mem_used": 20 * GiB}]}])
    env = {G.FAKE_ENV: str(fake)}
    snap = json.loads(a.labtui("gpus", "--json", env=env, check=True).stdout)
    assert {p["pid"]: (p["run_id"], p["foreign"]) for p in snap["processes"]} == {
        mine.pid: ("twin_1", False), theirs.pid: (None, True)}
    assert snap["runs"]["twin_1"]["pids"] == [mine.pid] and snap["runs"]["twin_1"]["gpu_mem"] == 10 * GiB
    out = a.labtui("gpus", env=env, check=True).stdout.splitlines()
    row = {int(line.split()[0]): line for line in out if line.split() and line.split()[0].isdigit()
           and int(line.split()[0]) in (mine.pid, theirs.pid)}
    assert "twin_1" in row[mine.pid] and "foreign" in row[theirs.pid] and "twin_1" not in row[theirs.pid]
    # and the other way round from lab B
    snap = json.loads(b.labtui("gpus", "--json", env=env, check=True).stdout)
    assert {p["pid"]: p["run_id"] for p in snap["processes"]} == {mine.pid: None, theirs.pid: "twin_1"}
    # `--kill` refuses a run's process of another lab as well (a run is stopped with `labtui kill`)
    r = a.labtui("gpus", "--kill", str(theirs.pid), env=env)
    assert r.returncode == 1 and "labtui run twin_1 of lab" in r.stderr and str(b.journal) in r.stderr, r.stderr
    assert theirs.poll() is None


def test_lab_rules_in_core(tmp_path, procs):
    lab_a, lab_b = str(tmp_path / "a.toml"), str(tmp_path / "b.toml")
    ours = procs.start(["sleep", "60"], run_id="r", lab=lab_a)
    other = procs.start(["sh", "-c", "sleep 60 & wait"], run_id="r", lab=lab_b)
    other_kid = child_of(other.pid)
    legacy = procs.start(["sleep", "60"], run_id="old_1")               # no lab tag (an older labtui)
    fake = write_fake(tmp_path, [{"gpus": [fake_gpu(0)], "processes": [
        {"pid": p, "gpu": 0, "mem_used": GiB} for p in (ours.pid, other_kid, legacy.pid)]}])
    snap = G.make_source("fake", fake_path=fake, lab=lab_a).sample()
    assert [snap.process(p).run_id for p in (ours.pid, other_kid, legacy.pid)] == ["r", None, "old_1"]
    assert snap.runs["r"].pids == (ours.pid,) and snap.runs["old_1"].pids == (legacy.pid,)
    # another lab's tagged process is not ours even when it descends from one of our runs' roots
    ct = psutil.Process(other.pid).create_time()
    snap = G.make_source("fake", fake_path=fake, lab=lab_a).sample(runs=[("x", other.pid, ct)])
    assert snap.process(other_kid).run_id is None
    # no lab known (`labtui gpus` outside a lab): every run tag names its run
    snap = G.make_source("fake", fake_path=fake).sample()
    assert [snap.process(p).run_id for p in (ours.pid, other_kid, legacy.pid)] == ["r", "r", "old_1"]


def test_sampler_takes_live_runs_from_its_owner(tmp_path, procs):
    untagged = procs.start(["sleep", "60"])
    ct = psutil.Process(untagged.pid).create_time()
    fake = write_fake(tmp_path, [{"gpus": [fake_gpu(0)], "processes": [{"pid": untagged.pid, "gpu": 0,
                                                                       "mem_used": GiB}]}])
    s = G.Sampler(G.FakeSource(fake), interval=1.0)
    assert s.tick().process(untagged.pid).run_id is None
    s.set_runs([("exp_4", untagged.pid, ct)])
    snap = s.tick()
    assert snap.process(untagged.pid).run_id == "exp_4" and snap.runs["exp_4"].pids == (untagged.pid,)
    s.set_runs([("exp_4", untagged.pid, ct - 100)])                    # a reused pid is not the run
    assert s.tick().process(untagged.pid).run_id is None
    s.set_runs([])
    assert s.tick().process(untagged.pid).run_id is None


def test_app_poller_hands_live_runs_to_the_sampler(lab, tmp_path):
    """The app's Poller pushes the live runs of each poll; the sampler reads no journal itself."""
    # a trainer that drops every tag (env -i): known only from the journal's pid + create time
    rid = runs.launch(lab.journal, command=["env", "-i", "sleep", "60"], name="untagged")
    deadline = time.monotonic() + 15
    while not (info := runs.get_run(lab.journal, rid)).pid and time.monotonic() < deadline:
        time.sleep(0.02)   # the shim records the trainer's pid
    try:
        assert info.pid and info.alive, info
        fake = write_fake(tmp_path, [{"gpus": [fake_gpu(0)], "processes": [{"pid": info.pid, "gpu": 0,
                                                                           "mem_used": GiB}]}])
        sampler = G.Sampler(G.make_source("fake", fake_path=fake, lab=P.lab_id(lab.journal)))
        assert sampler.tick().process(info.pid).run_id is None          # nothing handed over yet
        Poller(Journal(lab.journal), sampler).poll()
        assert sampler.tick().process(info.pid).run_id == rid
    finally:
        trainer = P.matching_process(info.pid, info.create_time)
        if trainer is not None:
            trainer.kill()    # (`labtui kill` waits ~10 s for the run tag this trainer dropped)
        lab.wait_status(rid, ("failed", "killed", "finished", "lost"))


def test_gpus_package_never_imports_runs_or_the_journal():
    """No runs <-> gpus cycle: the gpus package is given live runs as plain data."""
    pkg = ROOT / "tui" / "core" / "gpus"
    files = sorted(pkg.glob("*.py"))
    assert files and (pkg / "__init__.py") in files
    for f in files:
        for node in ast.walk(ast.parse(f.read_text())):
            mods = []
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = "tui.core.gpus" if node.level == 1 else "tui.core" if node.level == 2 else ""
                mod = ".".join(x for x in (base, node.module or "") if x)
                mods = [mod] + [f"{mod}.{a.name}" for a in node.names]
            for m in mods:
                assert not m.startswith(("tui.core.runs", "tui.core.journal", "textual", "tui.app",
                                         "tui.cli", "tui.cmd_")), (f.name, m)
    code = "import sys, tui.core.gpus; print(sorted(m for m in sys.modules if m.startswith('tui.')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)), check=True).stdout
    assert "tui.core.runs" not in out and "tui.core.journal" not in out, out
