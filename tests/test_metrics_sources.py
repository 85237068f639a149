"""Metric files beside the log: discovery (run folder, working folder, declared globs), incremental
CSV/TSV reads, merging, and TensorBoard event files (written with tensorboard's own writer)."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path


from tui.core.metrics import Patterns, RunMetrics
from tui.core.metrics.files import metric_files
from tui.core.rundir import RunDir

ROOT = Path(__file__).resolve().parents[1]


def make_run(tmp_path, cwd=None, run_id="r1"):
    """A lab-like layout: <lab>/logs/<id>/spec.json naming the working folder."""
    lab = tmp_path / "lab"
    run = lab / "logs" / run_id
    run.mkdir(parents=True)
    spec = {"run_id": run_id, "argv": ["x"]}
    if cwd is not None:
        spec["cwd"] = str(cwd)
    (run / "spec.json").write_text(json.dumps(spec))
    return run


def vals(m, name):
    s = m.series[name]
    return list(s.x), list(s.y)


def test_csv_is_read_incrementally_and_a_partial_row_waits(tmp_path):
    run = make_run(tmp_path)
    p = run / "metrics.csv"
    p.write_text("epoch,step,train_loss,val_loss\n0,10,0.9,\n0,20,0.8")
    m = RunMetrics(run)
    assert m.poll()
    assert vals(m, "train_loss") == ([10.0], [0.9])       # the row without its newline waits
    with open(p, "a") as f:
        f.write(",\n0,20,,0.7\n1,30,0.6,\n")
    assert m.poll()
    assert vals(m, "train_loss") == ([10.0, 20.0, 30.0], [0.9, 0.8, 0.6])
    assert vals(m, "val_loss") == ([20.0], [0.7])           # blank cells are no points, not zeros
    assert m._readers[p].tail.offset == p.stat().st_size   # read by byte offset, not re-read
    assert not m.poll()


def test_tsv_declared_with_placeholders(tmp_path):
    work = tmp_path / "work"
    run = make_run(tmp_path, cwd=work, run_id="exp-7")
    out = work / "out" / "exp-7"
    out.mkdir(parents=True)
    (out / "scores.tsv").write_text("step\tloss\tacc\n1\t0.5\t0.1\n2\t0.4\t0.2\n")
    other = work / "out" / "exp-8"
    other.mkdir(parents=True)
    (other / "scores.tsv").write_text("step\tloss\n1\t9\n2\t9\n")
    pats = Patterns.from_config({"files": ["out/{run_id}/*.tsv"]}, "experiment e")
    m = RunMetrics(run, pats)
    m.poll()
    assert m.sources == [out / "scores.tsv"]
    assert vals(m, "loss") == ([1.0, 2.0], [0.5, 0.4]) and m.x_axis == "step"


def test_working_folder_files_modified_while_the_run_ran(tmp_path):
    work = tmp_path / "work"
    (work / "runs" / "detect" / "train").mkdir(parents=True)
    (work / "data").mkdir()
    stale = work / "data" / "train.jsonl"                 # a dataset: older than the run
    stale.write_text('{"step": 1, "label": 3}\n{"step": 2, "label": 4}\n')
    old = time.time() - 3600
    os.utime(stale, (old, old))
    run = make_run(tmp_path, cwd=work)
    # another run's folder inside the working folder (the lab) is never taken
    sibling = run.parent / "r0"
    sibling.mkdir()
    (sibling / "results.csv").write_text("epoch,loss\n0,5\n1,4\n")
    res = work / "runs" / "detect" / "train" / "results.csv"
    res.write_text("      epoch,   train/box_loss,  metrics/mAP50(B)\n"
                   "          1,           1.2215,           0.39845\n"
                   "          2,           1.1926,           0.52313\n")
    m = RunMetrics(run)
    m.poll()
    assert m.sources == [res]
    assert vals(m, "metrics/mAP50(B)") == ([1.0, 2.0], [0.39845, 0.52313])
    assert m.x_axis == "epoch"


def test_sources_merge_and_clashes_take_the_file_stem(tmp_path):
    run = make_run(tmp_path)
    (run / "metrics.jsonl").write_text('{"step": 1, "loss": 3}\n{"step": 2, "loss": 2}\n')
    m = RunMetrics(run)
    m.poll()
    assert sorted(m.series) == ["loss"]
    lo = run / "lightning_logs" / "version_0"
    lo.mkdir(parents=True)
    (lo / "metrics.csv").write_text("step,loss,val_acc\n1,2.5,\n1,,0.5\n2,1.5,0.6\n")
    deadline = time.monotonic() + 10
    while "val_acc" not in m.series and time.monotonic() < deadline:
        m.poll()     # a file that appears later joins in
    assert sorted(m.series) == ["loss", "metrics/loss", "val_acc"]
    assert vals(m, "loss") == ([1.0, 2.0], [3.0, 2.0])           # the primary keeps the plain name
    assert vals(m, "metrics/loss") == ([1.0, 2.0], [2.5, 1.5])
    assert vals(m, "val_acc") == ([1.0, 2.0], [0.5, 0.6])
    assert m.source == run / "metrics.jsonl"


def test_text_log_is_the_source_only_without_metric_files(tmp_path):
    run = make_run(tmp_path)
    (run / "output.log").write_text("step 1 loss 3\nstep 2 loss 2\n")
    assert metric_files(RunDir(run)) == []
    m = RunMetrics(run)
    m.poll()
    assert m.source == run / "output.log" and vals(m, "loss") == ([1.0, 2.0], [3.0, 2.0])


def test_stable_baselines_monitor(tmp_path):
    run = make_run(tmp_path)
    (run / "0.monitor.csv").write_text('#{"t_start": 1700000000.5, "env_id": "CartPole-v1"}\n'
                                       "r,l,t\n14.0,14,0.02\n23.0,23,0.04\n")
    m = RunMetrics(run)
    m.poll()
    assert sorted(m.series) == ["l", "r"]
    assert vals(m, "r") == ([14.0, 37.0], [14.0, 23.0])
    assert list(m.series["r"].wall) == [1700000000.52, 1700000000.54]


# --------------------------------------------------------------------------- TensorBoard

def write_events(logdir: Path, points, close=True):
    """Scalars through tensorboard's own event-file writer (the format TF and torch write)."""
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter
    w = EventFileWriter(str(logdir))
    for step, tag, v in points:
        summ = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, simple_value=v)])
        w.add_event(event_pb2.Event(step=step, wall_time=1700000000.0 + step, summary=summ))
    w.flush()
    if close:
        w.close()
    return w


def test_tensorboard_event_file(tmp_path):
    import tensorboard  # noqa: F401  (the test extra installs it: missing fails, never skips)
    run = make_run(tmp_path)
    tb = run / "tb"
    tb.mkdir()
    w = write_events(tb, [(1, "train/loss", 0.5), (1, "lr", 0.1), (2, "train/loss", 0.25)], close=False)
    m = RunMetrics(run)
    m.poll()
    assert m.x_axis == "step" and m.notes == []
    assert vals(m, "train/loss") == ([1.0, 2.0], [0.5, 0.25])
    assert list(m.series["lr"].wall) == [1700000001.0]
    from tensorboard.compat.proto import event_pb2, summary_pb2
    summ = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag="train/loss", simple_value=0.125)])
    w.add_event(event_pb2.Event(step=3, wall_time=1700000003.0, summary=summ))
    w.close()
    deadline = time.monotonic() + 10
    while len(m.series["train/loss"]) < 3 and time.monotonic() < deadline:
        m.poll()     # only the new records are read
    assert vals(m, "train/loss") == ([1.0, 2.0, 3.0], [0.5, 0.25, 0.125])


MISSING = r"""
import sys
sys.modules["tensorboard"] = None   # as if the package were not installed
from tui.cli import main
sys.exit(main(["metrics", sys.argv[1]]))
"""


def test_tensorboard_missing_is_one_clear_line(tmp_path):
    import tensorboard  # noqa: F401  (the test extra installs it: missing fails, never skips)
    run = make_run(tmp_path)
    write_events(run, [(1, "loss", 0.5), (2, "loss", 0.4)])
    (run / "metrics.csv").write_text("step,acc\n1,0.5\n2,0.6\n")
    p = subprocess.run([sys.executable, "-c", MISSING, str(run)], capture_output=True, text=True,
                       timeout=120, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert p.returncode == 0, p.stderr
    notes = [ln for ln in p.stderr.splitlines() if "tensorboard" in ln]
    assert len(notes) == 1 and "not installed" in notes[0] and "labtui[tensorboard]" in notes[0]
    assert "Traceback" not in p.stderr
    assert "acc" in p.stdout
