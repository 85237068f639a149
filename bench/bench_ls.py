"""``labtui ls`` on a big lab; prints figures.

    python bench/bench_ls.py [--runs 1000] [--rows 3000] [--dir DIR]

A journal of N finished runs, each with a real folder (metrics.jsonl of ``--rows`` lines,
output.log; some runs failed with a traceback, some hold a NaN or a loss cliff).  Times
``labtui ls`` (a fresh CLI process, start included): the first call (computes every run's
flags and writes the caches) and warm calls after it (target < 300 ms).
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


def make_lab(root: Path, runs: int, rows: int) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    plain, nan, cliff = [], [], []
    for s in range(rows):
        loss = 2 * math.exp(-s / (rows / 4)) + 0.1 + 0.002 * math.sin(s)
        r = {"step": s * 10, "epoch": s / 100, "time": 1.7e9 + s, "loss": round(loss, 6), "lr": 3e-4}
        plain.append(json.dumps(r))
        nan.append(json.dumps(dict(r, loss=math.nan) if s == rows // 2 else r))
        cliff.append(json.dumps(dict(r, loss=r["loss"] + (5 if s > rows * 2 // 3 else 0))))
    blobs = [("\n".join(v) + "\n").encode() for v in (plain, nan, cliff)]
    log = b"".join(b"step %d loss 0.42 lr 0.0003\n" % s for s in range(200))
    tb = log + b'Traceback (most recent call last):\n  File "train.py", line 9\nRuntimeError: CUDA OOM\n'
    text = ['[experiments.e]\ncommand = "python train.py --lr {lr}"\nparams = { lr = 1e-3 }\n\n']
    for i in range(runs):
        rid = f"r{i}"
        d = root / "logs" / rid
        d.mkdir(parents=True, exist_ok=True)
        failed = i % 10 == 3
        (d / "metrics.jsonl").write_bytes(blobs[0 if i % 7 else (1 if i % 2 else 2)])
        (d / "output.log").write_bytes(tb if failed else log)
        (d / "exit.json").write_text(json.dumps({"code": 1 if failed else 0, "signal": None,
                                                 "ended": "2026-05-13T10:00:00+00:00", "killed": False}))
        text.append(f'[runs.{rid}]\nexperiment = "e"\ncommand = "python train.py"\n'
                    f'params = {{ lr = {1e-3 * (1 + i % 7)} }}\n'
                    f'status = "{"failed" if failed else "finished"}"\nstarted = 2026-05-13T08:00:00+00:00\n'
                    f'ended = 2026-05-13T10:00:00+00:00\nexit_code = {1 if failed else 0}\n\n')
    (root / "experiments.toml").write_text("".join(text))
    return root / "experiments.toml"


def ls(journal: Path) -> tuple[float, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "tui.cli", "ls", "--journal", str(journal)],
                       capture_output=True, text=True, env=env, cwd=journal.parent)
    dt = time.perf_counter() - t
    if r.returncode:
        raise SystemExit(r.stderr)
    return dt, r.stdout


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--rows", type=int, default=3000)
    ap.add_argument("--dir")
    a = ap.parse_args()
    base = Path(a.dir) if a.dir else Path(tempfile.mkdtemp(prefix="labtui-bench-ls-"))
    t = time.perf_counter()
    j = make_lab(base, a.runs, a.rows)
    print(f"built {a.runs} runs x {a.rows} metric rows in {time.perf_counter() - t:.1f}s ({base})")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import tui.cli"], env=env, check=True)
    print(f"python -c 'import tui.cli': {(time.perf_counter() - t) * 1000:.0f} ms")
    first, out = ls(j)
    flags = sum(1 for line in out.splitlines()[1:] if line.rstrip().endswith(("traceback",)) or "@" in line)
    print(f"labtui ls, first call (computes flags, writes caches): {first * 1000:.0f} ms "
          f"({len(out.splitlines()) - 1} rows, {flags} with flags)")
    warm = [ls(j) for _ in range(3)]
    assert all(o == out for _, o in warm), "warm output differs from the first"
    print(f"labtui ls, warm: best {min(t for t, _ in warm) * 1000:.0f} ms, "
          f"{', '.join(f'{t * 1000:.0f}' for t, _ in warm)} ms  (target < 300 ms)")
    if not a.dir:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
