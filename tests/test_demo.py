"""`labtui demo`: real runs of the bundled trainers, a resume chain, and --stop."""

from __future__ import annotations

import subprocess
import sys
import time

from tui.core import procs, runs
from tui.core.journal import Journal
from tui.core.demo import JOURNAL_TEMPLATE

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
