"""Stop rules (--stop-when, --stop-on nan|plateau, --max-time, template keys): parsed at launch
with one-line errors, judged by the run's own shim from its metrics, and a run stopped by one
is stopped gracefully (its trainer saves) and recorded ``stopped`` with the rule and value.

Real shims, trainers and signals; the pure parts (parser, Checker) are tested directly.
"""

from __future__ import annotations

import json
import re
import sys
import time

import pytest

from tui.core.errors import UserError
from tui.core.journal import Journal
from tui.core.metrics import Series
from tui.core.rundir import RunDir, checkpoint_step
from tui.core.stoprules import (Checker, StopRules, fmt_duration, parse_duration, parse_on,
                                parse_rules, parse_when)

from .conftest import PROGS, end_runs, wait_for

PY = sys.executable
VALUES = PROGS / "values.py"
LAB = f"""\
[experiments.cnn]
command = "python -m trainers.cnn --steps 100000 --width 4 --batch-size 16 --warmup 3 --log-every 5 --eval-every 10 --ckpt-every 0 --threads 1"

[experiments.vals]
command = "{PY} {VALUES} loss 3 2 1 --end"
stop_when = ["loss < -1", "loss > 100 for 2 evals"]
stop_on = "nan"
max_time = "1h"

[experiments.timed]
command = "{PY} {VALUES} loss 1"
max_time = 2

[experiments.bad]
command = "{PY} {VALUES} loss 1"
max_time = "soon"
"""


@pytest.fixture
def slab(lab):
    lab.journal.write_text(LAB, encoding="utf-8")
    yield lab
    end_runs(lab.journal)


def values_run(lab, name: str, *flags: str, values=("1",), metric="loss"):
    args = ["run", "--name", name, *flags, "--", PY, str(VALUES), metric, *values]
    lab.labtui(*args, check=True)


def record(lab, run_id: str) -> dict:
    """The run's journal record once its end is written there (the shim writes exit.json first)."""
    def ended():
        rec = Journal(lab.journal).read()["runs"][run_id]
        return rec if rec.get("status") not in ("starting", "running") else None
    return wait_for(ended, f"{run_id}'s end in the journal")


# --------------------------------------------------------------------------- real runs

def test_stop_when_stops_a_real_trainer_at_the_first_eval_where_it_holds(slab):
    slab.labtui("run", "cnn", "--stop-when", "val_loss < 2.0", check=True)
    assert slab.wait_status("cnn_1", "stopped", timeout=120) == "stopped"
    rd = RunDir(slab.run_dir("cnn_1"))
    rows = [json.loads(ln) for ln in rd.metrics.read_text().splitlines() if ln.strip()]
    evals = [(r["step"], r["val_loss"]) for r in rows if "val_loss" in r]
    first = next(i for i, (_s, v) in enumerate(evals) if v < 2.0)
    assert first > 0 and all(v >= 2.0 for _s, v in evals[:first])  # it did not hold before
    step, value = evals[first]
    reason = f"val_loss {value:.6g} < 2 at step {step}"
    ex = rd.read_exit()
    assert ex["stopped"] == reason and ex["killed"] is False and ex["code"] == 130
    assert rd.read_kill()["rule"] == reason
    # the trainer saved on the stop (--ckpt-every 0: it saves only at the end or on a stop)
    ck = rd.latest_checkpoint()
    assert ck is not None and checkpoint_step(ck) >= step
    rec = record(slab, "cnn_1")
    assert rec["status"] == "stopped" and rec["stop_reason"] == reason and rec["stop"] == "val_loss < 2"
    shown = json.loads(slab.labtui("show", "cnn_1", "--json", check=True).stdout)
    assert shown["status"] == "stopped" and shown["stop_reason"] == reason
    listed = json.loads(slab.labtui("ls", "--json", check=True).stdout)["runs"]
    assert [r["stop_reason"] for r in listed] == [reason]
    text = slab.labtui("show", "cnn_1", check=True).stdout
    assert f"stopped      {reason}" in text and "stop rules   val_loss < 2" in text


def test_stop_on_nan_plateau_and_max_time(slab):
    t0 = time.monotonic()
    values_run(slab, "nan", "--stop-on", "nan", values=("1", "0.5", "0.4", "nan", "0.3"))
    values_run(slab, "flat", "--stop-on", "plateau:val_loss:3", metric="val_loss",
               values=("1", "0.8", "0.9", "0.85", "0.81", "0.7"))
    values_run(slab, "slow", "--max-time", "2s", values=("1", "0.9"))
    # (max-time: " at step 2" unless a loaded machine took 2 s to start the script at all)
    want = {"nan": r"loss NaN at step 4",
            "flat": r"val_loss plateau: no improvement on 0\.8 \(step 2\) in 3 evals, at step 5",
            "slow": r"max time 2s reached( at step 2)?"}
    for rid, reason in want.items():
        assert slab.wait_status(rid, "stopped", timeout=60) == "stopped"
        rd = RunDir(slab.run_dir(rid))
        assert re.fullmatch(reason, rd.read_exit()["stopped"]), rid
        assert record(slab, rid)["stop_reason"] == rd.read_exit()["stopped"]
        assert (rd.path / "saved").read_text() == "ok"  # stopped by SIGINT: it saved
    assert time.monotonic() - t0 >= 2.0
    assert record(slab, "slow")["stop"] == "max-time 2s"


def test_template_rules_that_never_fire_leave_the_run_finished(slab):
    slab.labtui("run", "vals", check=True)
    assert slab.wait_status("vals_1", ("finished", "stopped", "failed"), timeout=60) == "finished"
    rec = record(slab, "vals_1")
    assert rec["stop"] == "loss < -1; loss > 100 for 2 evals; nan; max-time 1h"
    assert "stop_reason" not in rec
    assert "stopped" not in RunDir(slab.run_dir("vals_1")).read_exit()
    spec = RunDir(slab.run_dir("vals_1")).read_spec()
    assert StopRules.from_json(spec["stop"]).describe() == rec["stop"]
    # a template's max_time in seconds (a TOML number) stops its run
    slab.labtui("run", "timed", check=True)
    assert slab.wait_status("timed_1", "stopped", timeout=60) == "stopped"
    assert record(slab, "timed_1")["stop_reason"].startswith("max time 2s reached")


def test_a_rule_signal_that_never_landed_leaves_a_finished_run_finished(slab, tmp_path):
    """A rule that fires as the trainer ends on its own: kill.json names the rule but no signal
    landed (no ``signalled``): the run ended by itself and reads finished (like a kill)."""
    go = tmp_path / "go"
    args = ["run", "--name", "race2", "--", PY, str(VALUES), "loss", "1", "--end", "--wait-for", str(go)]
    slab.labtui(*args, check=True)
    rd = RunDir(slab.run_dir("race2"))
    wait_for(lambda: rd.read_state().get("pid"), "race2 started")
    rd.write_kill({"requested": "2026-01-01T00:00:00+00:00", "reason": None, "mode": "graceful",
                   "rule": "loss 0.1 < 0.2 at step 9"})
    go.write_text("x")
    assert slab.wait_status("race2", ("finished", "stopped", "killed"), timeout=60) == "finished"
    assert "stopped" not in rd.read_exit()


@pytest.mark.parametrize("args, message", [
    (["--stop-when", "loss ~ 3"], "labtui: bad --stop-when 'loss ~ 3': expected METRIC < NUMBER"),
    (["--stop-when", "loss < lots"], "labtui: bad --stop-when 'loss < lots': 'lots' is not a number"),
    (["--stop-on", "plateau:foo:3"], "labtui: bad --stop-on 'plateau:foo:3': is a higher or a lower foo better?"),
    (["--stop-on", "plateau:loss:x"], "labtui: bad --stop-on 'plateau:loss:x': N (evals without improvement)"),
    (["--stop-on", "inf"], "labtui: bad --stop-on 'inf': expected nan or plateau:METRIC:N"),
    (["--max-time", "8"], "labtui: bad --max-time '8': expected a duration such as 90s"),
])
def test_bad_rules_are_one_line_errors_and_nothing_starts(slab, args, message):
    p = slab.labtui("run", "cnn", *args)
    assert p.returncode == 1
    assert p.stderr.startswith(message) and p.stderr.count("\n") == 1
    assert "runs" not in Journal(slab.journal).read() and not slab.run_dir("cnn_1").exists()


def test_bad_template_rule_names_the_experiment(slab):
    p = slab.labtui("run", "bad")
    assert p.returncode == 1
    assert p.stderr == ("labtui: experiment 'bad': bad max_time 'soon': expected a duration such as "
                        "90s, 30m, 8h, 2d or 1h30m\n")


# --------------------------------------------------------------------------- pure parts

def series(name: str, ys, x0: int = 1) -> Series:
    s = Series(name)
    for i, y in enumerate(ys):
        s.put(x0 + i, float(y), 0.0, True)
    return s


def test_parsing():
    assert parse_when("val_voe<0.2") == parse_when(" val_voe <  0.2 ")
    t = parse_when("val/psnr >= 31.5 for 3 evals")
    assert (t.metric, t.op, t.value, t.evals) == ("val/psnr", ">=", 31.5, 3)
    assert parse_on("NaN") is True
    assert parse_on("plateau:val_loss:5").goal == "min"
    assert parse_on("plateau:val_acc:5").goal == "max"
    assert parse_on("plateau:foo:5:max").goal == "max"
    assert parse_on("plateau:foo:5", {"foo": "min"}).goal == "min"
    assert parse_duration("8h") == 28800 and parse_duration("1h30m") == 5400
    assert parse_duration("2.5s") == 2.5 and parse_duration("2d") == 172800
    assert fmt_duration(5400) == "1h30m" and fmt_duration(2.5) == "2.5s" and fmt_duration(28800) == "8h"
    for bad in ("x", "x <", "< 3", "x < nan", "x < inf", "x < 1 for 0 evals", "x < 1 for evals"):
        with pytest.raises(UserError):
            parse_when(bad)
    for bad in ("", "0s", "-1h", "8", "h8", "8h extra", "1e400s"):
        with pytest.raises(UserError):
            parse_duration(bad)
    rules = parse_rules(["a < 1 for 2 evals"], ["nan", "plateau:loss:4"], "90m")
    assert StopRules.from_json(json.loads(json.dumps(rules.to_json()))) == rules
    assert rules.describe() == "a < 1 for 2 evals; nan; plateau:loss:4:min; max-time 1h30m"
    assert not StopRules() and not StopRules.from_json(None)


def test_checker_judges_every_point_once_in_order():
    rules = parse_rules(["val_loss < 0.5 for 2 evals"])
    c = Checker(rules, started=0.0)
    s = series("val_loss", [0.9, 0.4, 0.6, 0.45])  # held once, broke, held once
    assert c.check({"val_loss": s}, "step", 1.0) is None
    s.put(5, 0.3, 0.0, True)
    s.put(6, 0.1, 0.0, True)  # two new points in one poll: fires at the first where it holds
    assert c.check({"val_loss": s}, "step", 2.0) == "val_loss 0.3 < 0.5 for 2 evals at step 5"
    # a series matched by its last '/' part; epochs as the axis
    c = Checker(parse_rules(["psnr >= 30"]), 0.0)
    assert c.check({"val/psnr": series("val/psnr", [29, 31])}, "epoch", 0) == "psnr 31 >= 30 at epoch 2"
    # a rewritten log (shorter series) is judged again from its start
    c = Checker(parse_rules(["loss < 0.5"]), 0.0)
    assert c.check({"loss": series("loss", [1, 1, 1])}, "step", 0) is None
    assert c.check({"loss": series("loss", [0.4])}, "step", 0) == "loss 0.4 < 0.5 at step 1"


def test_checker_nan_watches_losses_and_the_main_metric_only():
    c = Checker(parse_rules([], ["nan"]), 0.0)
    good = series("loss", [1, 0.5])
    assert c.check({"loss": good, "acc": series("acc", [0.1, float("nan")])}, "step", 0) is None
    good.put(3, float("inf"), 0.0, True)
    assert c.check({"loss": good}, "step", 0) == "loss inf at step 3"
    c = Checker(parse_rules([], ["nan"]), 0.0)
    assert c.check({"psnr": series("psnr", [20, float("nan")])}, "step", 0) == "psnr NaN at step 2"


def test_checker_plateau_and_max_time():
    c = Checker(parse_rules([], ["plateau:acc:2"]), 0.0)
    assert c.check({"acc": series("acc", [0.1, 0.2, 0.3, 0.25])}, "step", 0) is None
    assert c.check({"acc": series("acc", [0.1, 0.2, 0.3, 0.25, float("nan")])}, "step", 0) == \
        "acc plateau: no improvement on 0.3 (step 3) in 2 evals, at step 5"
    c = Checker(parse_rules([], [], "1m"), started=100.0)
    assert c.check({}, "step", 159.0) is None
    assert c.check({}, "step", 160.0) == "max time 1m reached"


def test_the_app_detail_view_shows_the_reason_and_the_rules(tmp_path):
    import io

    from rich.console import Console

    from tui.app.model import display_info
    from tui.app.screens.detail import info_table
    from tui.core.runs.model import run_info
    from tui.core.status import Status

    rec = {"experiment": "cnn", "command": "x", "status": "stopped", "stop": "val_loss < 0.2; nan"}
    ex = {"code": 130, "signal": None, "killed": False, "stopped": "val_loss 0.187 < 0.2 at step 5200\x1b[2J"}
    info = display_info(run_info(Journal(tmp_path / "experiments.toml"), "r1", rec, Status.STOPPED, ex))
    con = Console(width=100, record=True, file=io.StringIO(), color_system=None)
    con.print(info_table(info, [], None))
    text = con.export_text()
    assert " stopped      val_loss 0.187 < 0.2 at step 5200^[[2J" in text
    assert " stop rules   val_loss < 0.2; nan" in text
