"""``labtui report`` on a big lab; prints figures.

    python bench/bench_report.py [--runs 200] [--points 100000] [--experiments 10] [--dir DIR]

A journal of N ended runs (finished, some failed with a traceback, some killed with a reason,
a note each) spread over E experiments, each run with a metrics.jsonl of ``--points`` lines
(loss and acc; the files are hard links of three blobs, so the lab stays small on disk; each
run still parses its own).  Times ``labtui report`` (a fresh CLI process, start included):
the first call (parses every run and writes the metric caches) and a warm call after it
(target < 10 s): the diary, a comparison table per experiment and 2 overlay pictures each.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def make_lab(root: Path, runs: int, points: int, experiments: int) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    blobs = []
    for variant in range(3):
        rows = []
        for s in range(points):
            loss = (2 + variant) * math.exp(-s / (points / 4)) + 0.1 + 0.01 * math.sin(s / 7)
            rows.append('{"step": %d, "loss": %.6g, "acc": %.6g}' % (s * 10, loss, 1 - loss / 3))
        p = root / f"blob{variant}.jsonl"
        p.write_text("\n".join(rows) + "\n")
        blobs.append(p)
    log = b"".join(b"step %d loss 0.42\n" % s for s in range(50))
    tb = log + b'Traceback (most recent call last):\n  File "train.py", line 9\nRuntimeError: CUDA OOM\n'
    text = [f'[experiments.e{e}]\ncommand = "python train.py --lr {{lr}}"\nparams = {{ lr = 1e-3 }}\n\n'
            for e in range(experiments)]
    for i in range(runs):
        rid = f"r{i}"
        d = root / "logs" / rid
        d.mkdir(parents=True, exist_ok=True)
        kind = "failed" if i % 10 == 3 else ("killed" if i % 10 == 7 else "finished")
        os.link(blobs[i % 3], d / "metrics.jsonl")
        (d / "output.log").write_bytes(tb if kind == "failed" else log)
        day, hour = 1 + i // 24, i % 24
        ended = f"2026-05-{day:02d}T{hour:02d}:50:00"
        (d / "exit.json").write_text(json.dumps({"code": 1 if kind == "failed" else (None if kind == "killed" else 0),
                                                 "signal": "SIGINT" if kind == "killed" else None,
                                                 "ended": ended, "killed": kind == "killed"}))
        if kind == "killed":
            (d / "kill.json").write_text(json.dumps({"reason": f"plateau after {i} tries"}))
        text.append(f'[runs.{rid}]\nexperiment = "e{i % experiments}"\ncommand = "python train.py --lr {i}"\n'
                    f'params = {{ lr = {1e-3 * (1 + i % 7)}, seed = {i % 3} }}\nstatus = "{kind}"\n'
                    f'started = 2026-05-{day:02d}T{hour:02d}:00:00\nended = {ended}\n'
                    + (f'exit_code = {1 if kind == "failed" else 0}\n' if kind != "killed" else 'signal = "SIGINT"\n')
                    + f'notes = [{{ at = 2026-05-{day:02d}T{hour:02d}:30:00, text = "note <b>{i}</b>" }}]\n\n')
    (root / "experiments.toml").write_text("".join(text))
    return root / "experiments.toml"


def report(journal: Path, out: Path) -> float:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "tui.cli", "--journal", str(journal), "report", "--out", str(out)],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--experiments", type=int, default=10)
    ap.add_argument("--dir", type=Path)
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_report_")) if a.dir is None else a.dir
    try:
        t = time.perf_counter()
        journal = make_lab(tmp / "lab", a.runs, a.points, a.experiments)
        print(f"lab: {a.runs} runs x {a.points} points, {a.experiments} experiments "
              f"({time.perf_counter() - t:.1f} s to write)")
        out = tmp / "report"
        cold = report(journal, out)
        print(f"labtui report, first (parses every run, writes the caches): {cold:.2f} s")
        warm = report(journal, out)
        n_img = len(list((out / "img").glob("*.png")))
        size = (out / "report.md").stat().st_size
        print(f"labtui report, warm: {warm:.2f} s (target < 10 s); {n_img} pictures, report.md {size} bytes")
    finally:
        if a.dir is None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
