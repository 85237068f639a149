"""Restarts (issue 12): a log whose step (epoch) counter starts again after a new config dump or
start banner holds several attempts.  The curve is the latest attempt; the earlier ones stay
reachable (``segments``, ``labtui metrics --attempt N``); a resume in the same log drops the
points computed past its checkpoint.  Samples are in the formats real trainers print."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tui.core.metrics import LogMetrics, parse_file

ROOT = Path(__file__).resolve().parent.parent

# an argparse trainer run twice into the same file (`python train.py ... >> train.log`)
TWO_RUNS = """\
Namespace(lr=0.001, batch_size=64, epochs=3, seed=1, data='./data')
step 0 | loss 2.3010 | lr 0.001
step 100 | loss 1.2044 | lr 0.001
step 200 | loss 0.8123 | lr 0.001
step 300 | loss 0.6021 | lr 0.001
Namespace(lr=0.0003, batch_size=64, epochs=3, seed=2, data='./data')
step 0 | loss 2.2950 | lr 0.0003
step 100 | loss 1.5001 | lr 0.0003
step 200 | loss 1.1002 | lr 0.0003
"""


def _write(tmp_path: Path, text: str, name: str = "train.log") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_a_new_config_dump_then_step_zero_is_a_new_attempt(tmp_path):
    m = parse_file(_write(tmp_path, TWO_RUNS))
    assert m.x_axis == "step"
    loss = m.series["loss"]
    assert list(loss.x) == [0, 100, 200] and list(loss.y) == [2.2950, 1.5001, 1.1002]  # no zig-zag
    assert list(m.series["lr"].y) == [0.0003] * 3
    assert len(m.segments) == 1
    first = m.segments[0]["loss"]
    assert list(first.x) == [0, 100, 200, 300] and first.y[-1] == 0.6021
    joined = m.all_attempts()["loss"]
    assert list(joined.y) == [2.3010, 1.2044, 0.8123, 0.6021, 2.2950, 1.5001, 1.1002]


def test_hf_trainer_arguments_block_then_a_plain_banner(tmp_path):
    text = (
        "TrainingArguments(\n_n_gpu=1,\nlearning_rate=5e-05,\nmax_steps=30,\n)\n"
        "{'loss': 2.5, 'learning_rate': 4e-05, 'epoch': 0.1}\n"
        "{'loss': 2.1, 'learning_rate': 3e-05, 'epoch': 0.2}\n"
        "{'loss': 1.9, 'learning_rate': 2e-05, 'epoch': 0.3}\n"
        "***** Running training *****\n"
        "{'loss': 2.6, 'learning_rate': 4e-05, 'epoch': 0.1}\n"
        "{'loss': 2.0, 'learning_rate': 3e-05, 'epoch': 0.2}\n")
    m = parse_file(_write(tmp_path, text))
    assert m.x_axis == "epoch"
    assert list(m.series["loss"].y) == [2.6, 2.0]
    assert [list(s["loss"].y) for s in m.segments] == [[2.5, 2.1, 1.9]]


def test_a_drop_without_banner_and_a_per_epoch_counter_are_not_restarts(tmp_path):
    # the counter restarts every epoch (with a separator line): the epoch went up, same attempt
    per_epoch = "".join(f"==========\nEpoch {e} iter {i} loss {1.0 / (e * 10 + i + 1):.4f}\n"
                        for e in (1, 2) for i in (0, 50, 100))
    m = parse_file(_write(tmp_path, per_epoch))
    assert m.segments == [] and len(m.series["loss"]) == 6
    # no banner between: the points stay as written (nothing is guessed)
    plain = "step 10 loss 0.9\nstep 20 loss 0.8\nstep 10 loss 0.7\nstep 20 loss 0.6\n"
    m = parse_file(_write(tmp_path, plain, "b.log"))
    assert m.segments == [] and list(m.series["loss"].x) == [10, 20, 10, 20]


def test_a_resume_in_the_same_log_drops_the_points_past_its_checkpoint(tmp_path):
    text = ("Namespace(lr=0.1, batch_size=32, seed=0)\n"
            + "".join(f"iter {i} loss {10 - i / 100:.2f}\n" for i in range(100, 600, 100))
            + "Resuming from checkpoint_300.pt\n"
            + "".join(f"iter {i} loss {8 - i / 100:.2f}\n" for i in range(300, 700, 100)))
    m = parse_file(_write(tmp_path, text))
    loss = m.series["loss"]
    assert list(loss.x) == [100, 200, 300, 400, 500, 600]
    assert list(loss.y) == [9.0, 8.0, 5.0, 4.0, 3.0, 2.0]
    assert m.segments == []


def test_attempts_survive_incremental_reads_and_the_cache(tmp_path):
    log = tmp_path / "output.log"
    cache = tmp_path / ".metrics-cache"
    lines = TWO_RUNS.splitlines(keepends=True)
    log.write_text("".join(lines[:5]), encoding="utf-8")
    m = LogMetrics(log, cache_path=cache)
    m.poll()
    assert m.segments == [] and len(m.series["loss"]) == 4
    with open(log, "a", encoding="utf-8") as f:
        f.write("".join(lines[5:]))
    m.poll()
    m.save_cache()
    again = LogMetrics(log, cache_path=cache)
    assert again.poll() is False  # the cache was loaded: nothing new to read, nothing re-parsed
    assert again.tail.offset == log.stat().st_size and list(again.series["loss"].y) == [2.2950, 1.5001, 1.1002]
    assert [list(s["loss"].y) for s in again.segments] == [[2.3010, 1.2044, 0.8123, 0.6021]]


def test_real_log_of_three_models_run_one_after_the_other():
    """tests/data/corpus/resnet_compare.md: ResNet-50, -34 then -18, 100 epochs each."""
    m = parse_file(ROOT / "tests/data/corpus/resnet_compare.md")
    assert len(m.segments) == 2
    assert [len(s["train Loss"]) for s in m.segments] == [100, 100]
    assert m.segments[0]["train Loss"].y[0] == 2.4752      # resnet-50, epoch 1
    assert len(m.series["train Loss"]) == 100 and m.series["train Loss"].y[-1] == 0.2335
    assert list(m.series["train Loss"].x) == [float(e) for e in range(1, 101)]


def test_cli_metrics_shows_the_latest_attempt_and_any_other_on_request(tmp_path):
    log = _write(tmp_path, TWO_RUNS)
    env = dict(os.environ, PYTHONPATH=str(ROOT), LABTUI_HOME=str(tmp_path / "home"))

    def run(*extra):
        return subprocess.run([sys.executable, "-m", "tui.cli", "metrics", str(log), "--json", *extra],
                              capture_output=True, text=True, env=env, timeout=120)

    r = run()
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["metrics"]["loss"]["y"] == [2.2950, 1.5001, 1.1002]
    assert "2 attempts" in r.stderr and "--attempt" in r.stderr
    r = run("--attempt", "1")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["metrics"]["loss"]["y"] == [2.3010, 1.2044, 0.8123, 0.6021]
    r = run("--attempt", "3")
    assert r.returncode != 0 and "2 attempt" in r.stderr
