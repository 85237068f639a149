"""One flag rule set for `ls`, `show`, `--json` and the app; one stitcher; one log tail for `log -f`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from array import array
from pathlib import Path

from tests.conftest import cli_env, wait_for
from tests.snapshot_tests.labdata import NOW, clock, no_gpu, standard_lab
from tests.test_app import SIZE, settle, sync
from tui.app.app import LabApp
from tui.app.model import Poller
from tui.core import metrics as M
from tui.core.journal import Journal

ROOT = Path(__file__).resolve().parents[1]


def _log(lab, rid: str) -> str:
    try:
        return (lab.run_dir(rid) / "output.log").read_text()
    except OSError:
        return ""


# A trainer that, like many, prints the KeyboardInterrupt traceback and exits 130 on SIGINT.
INTERRUPTIBLE = r"""
import sys, time, traceback
print("step 1 loss 0.5", flush=True)
print("step 2 loss 0.4", flush=True)
print("ready", flush=True)
try:
    while True:
        time.sleep(0.05)
except KeyboardInterrupt:
    traceback.print_exc()
    sys.exit(130)
"""

CRASH = "print('step 1 loss 0.5'); print('step 2 loss 0.4'); raise RuntimeError('boom')"


def test_killed_run_traceback_is_not_a_flag_anywhere(lab):
    """Bug: `tb`/`traceback` showed on every run labtui killed (the KeyboardInterrupt traceback
    of the kill itself); a failed run's traceback still shows, in the CLI and the app alike."""
    lab.labtui("run", "--name", "k", "--", sys.executable, "-c", INTERRUPTIBLE, check=True)
    lab.labtui("run", "--name", "crash", "--", sys.executable, "-c", CRASH, check=True)
    wait_for(lambda: "ready" in _log(lab, "k"), "k ready")
    lab.labtui("kill", "k", "--grace", "10", check=True)
    assert lab.wait_status("k", "killed") == "killed"
    assert lab.wait_status("crash", "failed") == "failed"
    assert "KeyboardInterrupt" in _log(lab, "k") and "RuntimeError: boom" in _log(lab, "crash")

    doc = json.loads(lab.labtui("ls", "--json", check=True).stdout)
    flags = {r["id"]: r["flags"] for r in doc["runs"]}
    assert flags["k"] == [] and flags["crash"] == ["traceback"]
    assert json.loads(lab.labtui("show", "k", "--json", check=True).stdout)["flags"] == []
    assert "traceback" in lab.labtui("show", "crash", check=True).stdout
    ls = {line.split()[0]: line for line in lab.labtui("ls", check=True).stdout.splitlines()[1:]}
    assert "traceback" not in ls["k"] and ls["crash"].rstrip().endswith("traceback")

    # the app's poll applies the same rules to the same runs
    # (a poll reads runs within its time budget: on a loaded box one poll may read one run only)
    poller, short = Poller(Journal(lab.journal)), {}
    for _ in range(100):
        short.update({rd.run_id: rd.flags.short() for rd in poller.poll().updates})
        if {"k", "crash"} <= short.keys():
            break
    assert short["k"] == [] and short["crash"] == ["tb"]


def _set_output_age(root: Path, rid: str, seconds: float) -> None:
    for name in ("output.log", "metrics.jsonl"):
        p = root / "logs" / rid / name
        if p.exists():
            os.utime(p, (NOW - seconds, NOW - seconds))


@sync
async def test_silent_means_ten_minutes_in_the_app_and_the_cli(tmp_path, monkeypatch):
    """Bug: the app called a live run silent after 5 minutes, `ls` after 10."""
    monkeypatch.chdir(tmp_path)
    lab_ = standard_lab(tmp_path)
    try:
        for minutes, silent in ((7, False), (11, True)):
            _set_output_age(tmp_path, "training_11.2", minutes * 60)
            app = LabApp(lab_.journal, clock=clock, gpu_source=no_gpu(), poll_interval=0.2,
                         theme="textual-dark")
            async with app.run_test(size=SIZE) as pilot:
                await settle(pilot)
                assert ("silent" in app.state.flags("training_11.2")) is silent, minutes
            cli = M.run_flags(Journal(lab_.journal), "training_11.2", now=NOW)
            assert cli == ([f"silent {minutes}m"] if silent else []), cli
    finally:
        lab_.close()


def test_silence_threshold_is_one_constant():
    assert M.SILENT_AFTER == 600.0
    assert M.silence(0.0, True, M.SILENT_AFTER - 1) is None
    assert M.silence(0.0, True, M.SILENT_AFTER) == M.SILENT_AFTER
    fl = M.with_silence(M.RunFlags(nan_at=3.0), 0.0, True, 11 * 60)
    assert fl.labels() == ["NaN@3", "silent 11m"] and fl.short() == ["NaN", "silent"]
    assert M.with_silence(fl, 0.0, False, 11 * 60) == M.RunFlags(nan_at=3.0)


# --------------------------------------------------------------------------- one stitcher

def _chain_lab(tmp_path: Path) -> Journal:
    (tmp_path / "experiments.toml").write_text(
        '[runs.a]\nstatus = "killed"\n'
        '[runs."a.1"]\nparent = "a"\nresume_step = 50\nstatus = "killed"\n'
        '[runs."a.2"]\nparent = "a.1"\nstatus = "finished"\n')
    j = Journal(tmp_path / "experiments.toml")
    rows = {"a": range(0, 80, 10), "a.1": range(0, 40, 10), "a.2": range(90, 130, 10)}
    for rid, steps in rows.items():
        d = j.run_dir(rid)
        d.mkdir(parents=True)
        with open(d / "metrics.jsonl", "w") as f:
            for s in steps:
                f.write(json.dumps({"step": s, "epoch": s / 20, "loss": 1 / (s + 1), "time": 1e9 + s}) + "\n")
                if s % 20 == 0:
                    f.write(json.dumps({"step": s, "val_loss": 2 / (s + 1)}) + "\n")
    return j


def _epochs(s):
    return M.Series("epoch", s.x[:], array("d", (v / 20 for v in s.x)), s.wall[:])


def test_app_curve_and_cli_stitch_are_one_rule(tmp_path):
    j = _chain_lab(tmp_path)
    st = M.stitched(j, "a.2")
    # a cut at 50; a.1 restarted at 0 and is shifted onto 50 (all its series alike); a.2 takes over at 90
    assert st.resume_points == [("a.1", 50.0), ("a.2", 90.0)]
    assert list(st.series["loss"].x) == [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120]
    assert list(st.series["val_loss"].x) == [0, 20, 40, 50, 70, 100, 120]
    runs = j.read()["runs"]
    readers = {rid: M.RunMetrics(j.run_dir(rid)) for rid in runs}
    for rm in readers.values():
        rm.poll()
    for metric in ("loss", "val_loss"):
        xs, ys, marks = M.lineage_curve(readers, runs, "a.2", metric, "step")
        assert list(xs) == list(st.series[metric].x) and list(ys) == list(st.series[metric].y)
        assert marks == [50.0, 90.0]
    # epoch axis: each run's own steps through its own epoch series (a.1's unshifted x)
    parts = [M.stitch.Part(rid, {**readers[rid].series, "epoch": _epochs(readers[rid].series["loss"])},
                           runs[rid].get("resume_step")) for rid in ("a", "a.1", "a.2")]
    xs, _ys, marks = M.stitch_curve(parts, "loss", "epoch")
    assert list(xs) == [0, 0.5, 1, 1.5, 2, 0, 0.5, 1, 1.5, 4.5, 5, 5.5, 6]
    assert marks == [0.0, 4.5]  # where each child's own curve starts
    # time axis: wall times; marks mapped onto them
    xs, _ys, marks = M.lineage_curve(readers, runs, "a.2", "loss", "time")
    assert xs[0] == 1e9 and marks[-1] == 1e9 + 90


def test_lineage_curve_memo_holds_until_a_run_changes(tmp_path):
    j = _chain_lab(tmp_path)
    runs = j.read()["runs"]
    readers = {rid: M.RunMetrics(j.run_dir(rid)) for rid in runs}
    for rm in readers.values():
        rm.poll()
    memo = M.stitch.CurveMemo()
    a = M.lineage_curve(readers, runs, "a.2", "loss", memo=memo)
    assert M.lineage_curve(readers, runs, "a.2", "loss", memo=memo) is a
    with open(j.run_dir("a.2") / "metrics.jsonl", "a") as f:
        f.write(json.dumps({"step": 130, "loss": 0.001}) + "\n")
    assert readers["a.2"].poll()
    b = M.lineage_curve(readers, runs, "a.2", "loss", memo=memo)
    assert b is not a and b[0][-1] == 130


# --------------------------------------------------------------------------- one log tail

TRUNCATER = r"""
import os, sys, time
log = os.path.join(os.environ["LABTUI_RUN_DIR"], "output.log")
for i in range(5):
    print(f"a{i} " + "x" * 200, flush=True)
go = sys.argv[1]
deadline = time.monotonic() + 60
while not os.path.exists(go) and time.monotonic() < deadline:
    time.sleep(0.02)
os.truncate(log, 0)
for i in range(3):
    print(f"b{i}", flush=True)
"""


def test_log_follow_goes_on_through_truncation(lab, tmp_path):
    """Bug: `labtui log -f` stopped printing when the log was truncated (it kept the old offset)."""
    go = tmp_path / "go"
    lab.labtui("run", "--name", "t", "--", sys.executable, "-c", TRUNCATER, str(go), check=True)
    p = subprocess.Popen([sys.executable, "-m", "tui.cli", "--journal", str(lab.journal), "log", "t", "-f"],
                         cwd=lab.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=cli_env())
    try:
        seen = []
        for line in p.stdout:  # blocks until `log -f` printed the first part
            seen.append(line.split()[0])
            if seen[-1] == "a4":
                break
        go.touch()
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert seen == ["a0", "a1", "a2", "a3", "a4"]
    assert out.split() == ["b0", "b1", "b2"]
    assert "truncated" in err and err.strip().splitlines()[-1] == "labtui: t finished (exit 0)"


def test_follower_tail_starts_near_the_end_and_restarts_on_rewrite(tmp_path):
    p = tmp_path / "output.log"
    p.write_bytes(b"".join(b"line %d\n" % i for i in range(1000)) + b"bar 1\rbar 2\rpartial")
    t = M.LogTail(p, eol=M.EOL_NL, start_tail=100)
    lines, reset = t.lines()
    assert not reset and lines[-1] == "line 999" and lines[0].startswith("line 9")
    assert sum(len(x) + 1 for x in lines) <= 100  # the line cut by the start is dropped
    with open(p, "ab") as f:
        f.write(b" done\n")
    assert t.lines() == (["bar 1\rbar 2\rpartial done"], False)  # \r stays inside a line here
    # rewritten in place, bigger, same inode: the first bytes differ -> start over (near the end)
    p.write_bytes(b"".join(b"new %d\n" % i for i in range(2000)))
    lines, reset = t.lines()
    assert reset and lines[-1] == "new 1999" and len(lines) < 20
    assert t.lines() == ([], False)
    os.unlink(p)
    assert t.lines() == ([], False)
    p.write_bytes(b"again\n")
    assert t.lines() == (["again"], True)


def test_last_lines_offset(tmp_path):
    p = tmp_path / "f.log"
    p.write_bytes(b"a\nb\nc\n")
    assert p.read_bytes()[M.last_lines_offset(p, 2):] == b"b\nc\n"
    assert M.last_lines_offset(p, 10) == 0 and M.last_lines_offset(p, 0) == 6
    p.write_bytes(b"a\nb\nc")
    assert p.read_bytes()[M.last_lines_offset(p, 1):] == b"c"
