"""`labtui demo`: real runs of the bundled trainers, a resume chain, and --stop."""

from __future__ import annotations

import subprocess
import sys
import time

from tui.core import procs, runs
from tui.core.journal import Journal
from tui.app.app import reopen_command
from tui.core.demo import JOURNAL_TEMPLATE, first_selected

from .conftest import ROOT, cli_env


def test_shipped_journal_is_the_demo_template():
    assert (ROOT / "experiments.toml").read_text(encoding="utf-8") == JOURNAL_TEMPLATE
    data = Journal(ROOT / "experiments.toml").read()
    assert set(data["experiments"]) == {"gan", "charlm", "cnn"}
    assert "runs" not in data


def test_demo_starts_an_ablation_and_a_resume_then_stops(tmp_path):
    lab = tmp_path / "demo"
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "tui.cli", "demo", str(lab), "--no-app"],
                       capture_output=True, text=True, env=cli_env(), cwd=tmp_path, timeout=240)
    assert r.returncode == 0, r.stderr
    j = Journal(lab / "experiments.toml")
    try:
        infos = {i.id: i for i in runs.list_runs(j)}
        assert set(infos) == {"gan-ttur", "gan-ttur.1", "gan-no-r1", "gan-high-lr"}
        assert infos["gan-ttur"].status == "finished"
        assert infos["gan-ttur.1"].parent == "gan-ttur"
        assert infos["gan-ttur.1"].resume_step == 200
        assert infos["gan-no-r1"].params["r1"] == 0
        for rid in ("gan-ttur.1", "gan-no-r1", "gan-high-lr"):
            assert infos[rid].alive, (rid, infos[rid].status)
        # Moving curves: every live run has written metrics.
        deadline = time.monotonic() + 60
        live = ("gan-ttur.1", "gan-no-r1", "gan-high-lr")

        def has_metrics(rid):
            p = lab / "logs" / rid / "metrics.jsonl"
            return p.exists() and p.stat().st_size > 0

        while time.monotonic() < deadline and not all(map(has_metrics, live)):
            time.sleep(0.2)
        assert [rid for rid in live if not has_metrics(rid)] == []
        print(f"demo ready in {time.monotonic() - t0:.1f} s")
    finally:
        s = subprocess.run([sys.executable, "-m", "tui.cli", "demo", str(lab), "--stop"],
                           capture_output=True, text=True, env=cli_env(), cwd=tmp_path, timeout=120)
    assert s.returncode == 0, s.stderr
    after = {i.id: i.status for i in runs.list_runs(j)}
    assert after == {"gan-ttur": "finished", "gan-ttur.1": "killed", "gan-no-r1": "killed",
                     "gan-high-lr": "killed"}
    for rid in after:
        assert list(procs.tagged_processes(rid, procs.lab_id(j.path))) == []  # this lab: other labs run demos too
    # A graceful stop lets each trainer save: the killed runs can be resumed.
    ck = runs.latest_checkpoint(lab / "logs" / "gan-no-r1")
    assert ck is not None and runs.checkpoint_step(ck) > 0


def test_demo_on_a_folder_with_runs_reopens_it_and_launches_nothing(tmp_path):
    lab = tmp_path / "demo"
    lab.mkdir()
    (lab / "experiments.toml").write_text(
        JOURNAL_TEMPLATE + '\n[runs.gan-ttur]\nexperiment = "gan"\ncommand = "python -m trainers.gan"\n'
        'status = "finished"\nstarted = 2026-05-13T08:00:00+00:00\nended = 2026-05-13T08:10:00+00:00\n',
        encoding="utf-8")
    before = (lab / "experiments.toml").read_bytes()
    r = subprocess.run([sys.executable, "-m", "tui.cli", "demo", str(lab), "--no-app"],
                       capture_output=True, text=True, env=cli_env(), cwd=tmp_path, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "has 1 run(s) already: reopening it" in r.stderr and "--fresh" in r.stderr
    assert (lab / "experiments.toml").read_bytes() == before  # no run launched
    assert not (lab / "logs").exists()


def test_demo_selects_a_moving_run_first():
    class I:
        def __init__(self, rid, alive, command="python -m trainers.gan"):
            self.id, self.alive, self.command = rid, alive, command

    stops = I("gan-ttur", True, "python -m trainers.gan --stop-at 200")
    assert first_selected([stops, I("gan-no-r1", True), I("gan-high-lr", True)]) == "gan-no-r1"
    assert first_selected([I("old", False), stops]) == "gan-ttur"       # the only running one
    assert first_selected([I("old", False), I("older", False)]) == "old"
    assert first_selected([]) is None


def test_quitting_names_the_exact_command_that_reopens_this_journal(tmp_path):
    lab = tmp_path / "my lab"
    lab.mkdir()
    j = lab / "experiments.toml"
    assert reopen_command(j, cwd=lab, env={}) == "labtui"
    assert reopen_command("experiments.toml", cwd=lab, env={}) == "labtui"
    # from another folder, or when $LABTUI_JOURNAL names another file, plain `labtui` would
    # open a different journal: the command names this one (quoted for the shell)
    assert reopen_command(j, cwd=tmp_path, env={}) == f"labtui --journal '{j}'"
    assert reopen_command(j, cwd=lab, env={"LABTUI_JOURNAL": "/elsewhere/x.toml"}) == f"labtui --journal '{j}'"
    assert reopen_command(j, cwd=tmp_path, env={"LABTUI_JOURNAL": str(j)}) == "labtui"
