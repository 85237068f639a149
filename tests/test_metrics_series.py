"""Downsampling, smoothing, flags, stitching of resumed runs, run_flags and the CLI verbs."""

import json
import math
import os
import random
import subprocess
import sys
import time
from array import array
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from tui.core import metrics as M
from tui.core.metrics import _numeric, flags as F, points as D
from tui.core.journal import Journal

ROOT = Path(__file__).resolve().parents[1]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64),
                          st.floats(-10, 10)), min_size=1, max_size=3000), st.integers(4, 300))
def test_downsample_keeps_extremes_first_last(ys, k):
    x = array("d", range(len(ys)))
    y = array("d", ys)
    dx, dy = M.downsample(x, y, k)
    assert len(dx) == len(dy) <= max(k, 5)
    assert list(dx) == sorted(dx)
    assert dx[0] == 0 and dx[-1] == len(ys) - 1
    fin = [v for v in ys if math.isfinite(v)]
    if fin:
        assert min(fin) in dy and max(fin) in dy
    if any(not math.isfinite(v) for v in ys):
        assert any(not math.isfinite(v) for v in dy)


def test_downsample_tiny_k_with_nonfinite():
    y = array("d", [1.0, 0.0, 2.0, math.nan, 1.5, 0.5, 1.0])
    dx, dy = M.downsample(array("d", range(7)), y, 4)
    assert len(dx) <= 5 and dx[0] == 0 and dx[-1] == 6 and 0.0 in dy and 2.0 in dy
    assert any(math.isnan(v) for v in dy)


def test_downsample_pure_python_matches_contract(monkeypatch):
    monkeypatch.setattr(_numeric, "_np", None)
    y = array("d", [math.sin(i / 50) for i in range(10000)])
    y[5000] = math.nan
    y[7000] = 50.0
    dx, dy = M.downsample(array("d", range(10000)), y, 160)
    assert len(dx) <= 160 and 50.0 in dy and any(math.isnan(v) for v in dy)
    assert dx[0] == 0 and dx[-1] == 9999


def test_ema():
    assert list(M.ema([1, 1, 1], 0.9)) == pytest.approx([1, 1, 1])
    out = M.ema([0, 10, math.nan, 10], 0.5)
    assert out[0] == 0 and math.isnan(out[2]) and 0 < out[1] < 10 and out[3] > out[1]
    assert list(M.ema([3, 4], 0.0)) == [3, 4]


def test_main_metric():
    assert M.main_metric(["lr", "val_loss", "Loss_DI", "acc"]) == "Loss_DI"
    assert M.main_metric(["lr", "val_loss"]) == "val_loss"
    assert M.main_metric(["acc"]) == "acc"
    assert M.main_metric([]) is None


def _series(ys, x0=0):
    return M.Series("loss", array("d", [x0 + i for i in range(len(ys))]), array("d", ys),
                    array("d", [0.0] * len(ys)))


def _flags(s):
    return M.evaluate({s.name: s}, status="finished", alive=False, last_output=None)


def test_flags_nonfinite_and_cliff():
    rnd = random.Random(0)
    ys = [2.0 - i * 0.001 + rnd.uniform(-0.02, 0.02) for i in range(500)]
    assert _flags(_series(ys)) == M.RunFlags()  # noisy but smooth: no flag
    ys2 = ys[:300] + [v + 5 for v in ys[300:]]
    ys2[400] = math.inf
    f = _flags(_series(ys2, 1000))
    assert f.cliff_at == 1300 and f.nan_at == 1400


def test_cliff_long_series_block_medians():
    n = 200_000
    ys = array("d", (1.0 + 0.01 * math.sin(i) for i in range(n)))
    for i in range(150_000, n):
        ys[i] += 3.0
    i = M.find_cliff(ys)
    assert i is not None and abs(i - 150_000) < 20


def test_silence():
    assert M.silence(1000.0, True, 1000.0 + 12 * 60) == 720
    assert M.silence(1000.0, False, 1000.0 + 12 * 60) is None
    assert M.silence(1000.0, True, 1000.0 + 60) is None


def _lab(tmp_path, runs):
    j = Journal(tmp_path / "experiments.toml")
    lines = ['[experiments.gan]\ncommand = "python gan.py"\n',
             '[experiments.gan.metrics]\npatterns = [\'D=(?P<d_loss>\\S+)\']\n']
    for rid, rec in runs.items():
        lines.append(f"[runs.{json.dumps(rid)}]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in rec.items()))
    (tmp_path / "experiments.toml").write_text("".join(lines))
    return j


def _write(j, rid, steps, fn=lambda s: 1.0 / (s + 1), extra=""):
    d = j.run_dir(rid)
    d.mkdir(parents=True, exist_ok=True)
    (d / "output.log").write_text(extra + "".join(f"step {s} loss {fn(s):.6f} D={s}\n" for s in steps))


def test_stitched_lineage_cuts_at_resume_points(tmp_path):
    j = _lab(tmp_path, {"training_11": {"experiment": "gan", "status": "failed"},
                        "training_11.1": {"experiment": "gan", "parent": "training_11", "resume_step": 100},
                        "training_11.2": {"experiment": "gan", "parent": "training_11.1"}})
    _write(j, "training_11", range(0, 150, 10))          # ran past its last checkpoint (100)
    _write(j, "training_11.1", range(100, 230, 10))      # resumed at 100, died after 220
    _write(j, "training_11.2", range(200, 300, 10))      # resumed (no resume_step) at its first step 200
    st_ = M.stitched(j, "training_11.2")
    assert st_.runs == ["training_11", "training_11.1", "training_11.2"]
    assert st_.resume_points == [("training_11.1", 100.0), ("training_11.2", 200.0)]
    assert list(st_.series["loss"].x) == [float(s) for s in range(0, 300, 10)]
    assert list(st_.series["d_loss"].y) == [float(s) for s in range(0, 300, 10)]  # experiment pattern used
    assert st_.x_axis == "step"


def test_stitched_child_restarting_at_zero_is_shifted(tmp_path):
    j = _lab(tmp_path, {"a": {"experiment": "gan"}, "a.1": {"experiment": "gan", "parent": "a", "resume_step": 50}})
    _write(j, "a", range(0, 80, 10))
    _write(j, "a.1", range(0, 30, 10))
    s = M.stitched(j, "a.1").series["loss"]
    assert list(s.x) == [0, 10, 20, 30, 40, 50, 60, 70]


def test_run_flags(tmp_path):
    j = _lab(tmp_path, {"r": {"experiment": "gan", "status": "failed", "exit_code": 1},
                        "live": {"experiment": "gan", "status": "running"}})
    rnd = random.Random(1)
    vals = {s: 1.0 + rnd.uniform(-0.01, 0.01) for s in range(0, 2000)}
    for s in range(1500, 2000):
        vals[s] += 10
    vals[1800] = math.nan
    _write(j, "r", range(0, 2000), fn=lambda s: vals[s])
    with open(j.run_dir("r") / "output.log", "a") as f:
        f.write("Traceback (most recent call last):\n  File \"gan.py\", line 3\nRuntimeError: boom\n")
    assert M.run_flags(j, "r") == ["NaN@1800", "cliff@1500", "traceback"]
    _write(j, "live", range(0, 10))
    old = time.time() - 13 * 60
    os.utime(j.run_dir("live") / "output.log", (old, old))
    assert M.run_flags(j, "live") == ["silent 13m"]
    assert M.run_flags(j, "live", alive=False) == []


def cli(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "tui.cli", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=60)


def test_cli_metrics_json_csv_pattern_and_plot(tmp_path):
    log = ROOT / "tests" / "data" / "logs" / "gan_epoch.log"
    r = cli("metrics", str(log), "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["x_axis"] == "epoch" and doc["metrics"]["Loss_DI"]["y"] == [0.25, 0.2409, 0.15]
    assert doc["metrics"]["Loss_perception"]["y"][-1] is None  # NaN -> null
    r = cli("metrics", str(log), "--csv")
    assert r.stdout.splitlines()[0] == "metric,epoch,value" and "Loss_GI," in r.stdout
    r = cli("metrics", str(log), "--json", "--pattern", r"Loss_GI: (?P<gi>\S+)", "--no-defaults")
    assert list(json.loads(r.stdout)["metrics"]) == ["gi"]
    r = cli("metrics", str(log), "--pattern", "Loss_GI: (?P<gi>")
    assert r.returncode == 1 and "bad metrics pattern" in r.stderr
    r = cli("plot", str(log), "--width", "80", "--height", "15", "--metric", "Loss_DI")
    assert r.returncode == 0 and "Loss_DI" in r.stdout and "\x1b" not in r.stdout
    r = cli("plot", str(log), "--metric", "nope")
    assert r.returncode == 1 and "no metric" in r.stderr


def test_cli_run_id_via_journal(tmp_path):
    j = _lab(tmp_path, {"r1": {"experiment": "gan", "status": "finished"}})
    _write(j, "r1", range(3))
    r = cli("metrics", "r1", "--json", "--journal", str(tmp_path / "experiments.toml"))
    assert r.returncode == 0, r.stderr
    assert set(json.loads(r.stdout)["metrics"]) == {"loss", "D", "d_loss"}
    r = cli("metrics", "nope", "--journal", str(tmp_path / "experiments.toml"))
    assert r.returncode == 1 and "no run or file" in r.stderr


def _flag_lab(tmp_path):
    j = _lab(tmp_path, {"r": {"experiment": "plain", "status": "failed", "exit_code": 1}})
    d = j.run_dir("r")
    d.mkdir(parents=True)
    rnd = random.Random(2)
    rows = [{"step": s, "loss": 1.0 + rnd.uniform(-0.01, 0.01)} for s in range(600)]
    (d / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (d / "output.log").write_text("training\n")
    return j, d, rows


def test_run_flags_cache_written_and_used(tmp_path, monkeypatch):
    j, d, _rows = _flag_lab(tmp_path)
    assert M.run_flags(j, "r") == []
    assert (d / M.FLAGS_CACHE).exists()
    calls = []
    monkeypatch.setattr(F, "_metric_flags", lambda *a: calls.append(a) or (None, None, {}))
    assert M.run_flags(j, "r") == []
    assert calls == []  # unchanged files: the cache answers
    # rewritten in place, same size, mtime restored: the ctime still tells
    st = os.stat(d / "metrics.jsonl")
    (d / "metrics.jsonl").write_bytes((d / "metrics.jsonl").read_bytes())
    os.utime(d / "metrics.jsonl", ns=(st.st_atime_ns, st.st_mtime_ns))
    M.run_flags(j, "r")
    assert len(calls) == 1


def test_run_flags_cache_never_stale(tmp_path):
    j, d, rows = _flag_lab(tmp_path)
    assert M.run_flags(j, "r") == []
    with open(d / "metrics.jsonl", "a") as f:  # appended: size changes
        f.write(json.dumps({"step": 600, "loss": float("nan")}).replace("NaN", '"nan"') + "\n")
        f.write('{"step": 601, "loss": NaN}\n')
    assert M.run_flags(j, "r") == ["NaN@601"]
    # replaced by a file of the same size with the old mtime restored (rsync): inode differs
    st = os.stat(d / "metrics.jsonl")
    text = (d / "metrics.jsonl").read_text().replace('"loss": NaN', '"loss": 1.0')
    text = text[:-1] + " " * (st.st_size - len(text.encode()) - 1) + "\n"
    (d / "new.jsonl").write_text(text)
    os.utime(d / "new.jsonl", ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(d / "new.jsonl", d / "metrics.jsonl")
    assert os.stat(d / "metrics.jsonl").st_size == st.st_size
    assert M.run_flags(j, "r") == []
    # a traceback appended to the log of the failed run
    with open(d / "output.log", "a") as f:
        f.write("Traceback (most recent call last):\n  File \"t.py\", line 1\nValueError: x\n")
    assert M.run_flags(j, "r") == ["traceback"]
    # a cliff appears
    with open(d / "metrics.jsonl", "a") as f:
        f.write("".join(json.dumps({"step": 700 + i, "loss": 9.0}) + "\n" for i in range(30)))
    assert M.run_flags(j, "r") == ["cliff@700", "traceback"]


def test_run_flags_corrupt_cache_ignored(tmp_path):
    j, d, _rows = _flag_lab(tmp_path)
    with open(d / "metrics.jsonl", "a") as f:
        f.write('{"step": 900, "loss": Infinity}\n')
    want = M.run_flags(j, "r")
    assert want == ["NaN@900"]
    for junk in (b"", b"\xff\xfe garbage", b"[1, 2]", b'{"v": 1, "sig": 3}', b'{"v": 1}',
                 b'{"v": 99, "sig": null, "nan": null}'):
        (d / M.FLAGS_CACHE).write_bytes(junk)
        assert M.run_flags(j, "r") == want
    # a cache claiming other findings under a wrong key is not believed
    doc = json.loads((d / M.FLAGS_CACHE).read_text())
    doc["sig"][-1] = [1, 2, 3, 4, 5]
    doc["nan"] = 5.0
    (d / M.FLAGS_CACHE).write_text(json.dumps(doc))
    assert M.run_flags(j, "r") == want


def test_find_cliff_numpy_matches_python(monkeypatch):
    rnd = random.Random(5)
    cases = []
    for n in (30, 120, 700, 5000, 30000):
        ys = [1.0 + rnd.uniform(-0.01, 0.01) for _ in range(n)]
        c = rnd.randrange(n)
        for i in range(c, n):
            ys[i] += rnd.choice([0.2, 3.0])
        for _ in range(5):
            ys[rnd.randrange(n)] = rnd.choice([math.nan, math.inf])
        cases.append(array("d", ys))
        cases.append(array("d", [rnd.gauss(0, 1) for _ in range(n)]))
    got = [M.find_cliff(y) for y in cases] + [M.find_cliff(y, max_points=1000) for y in cases]
    monkeypatch.setattr(_numeric, "_np", None)
    want = [M.find_cliff(y) for y in cases] + [M.find_cliff(y, max_points=1000) for y in cases]
    assert got == want and any(v is not None for v in want)


@pytest.mark.parametrize("w", [0.1, 0.6, 0.9, 0.99, 0.999999])
def test_ema_numpy_matches_python(w):
    rnd = random.Random(7)
    ys = [2 * math.exp(-i / 5000) + rnd.uniform(-0.05, 0.05) for i in range(20000)]
    for i in range(0, 20000, 997):
        ys[i] = [math.nan, math.inf][i % 2]
    got = M.ema(array("d", ys), w)
    want = D._ema_py(ys, w)
    assert len(got) == len(want)
    for a, b in zip(got, want):
        if math.isfinite(b):
            # float rounding differs between the vectorised and the scalar recurrence; at
            # w=0.999999 the bias correction 1/(1-w**t) amplifies it to ~1e-11.
            assert abs(a - b) <= 1e-9 * max(1, abs(b))
        else:
            assert a == b or (math.isnan(a) and math.isnan(b))
