"""Throughput of labtui's trainers and the cost of one checkpoint save (prints figures).

    python bench/bench_trainers.py [--steps 300] [--threads 1] [--devices cpu,cuda]

Each trainer runs as a real process (``python -m trainers.X``) with its default model and batch
size, no evaluation, and a checkpoint every --steps/3 steps. Steps/s are the trainer's own
``*_per_s`` figures (training time only) averaged after a warm-up window; the save cost is the
``save_seconds`` each checkpoint records in its meta.json (torch.save + fsync of state.pt), plus
its size. CUDA rows appear when torch sees a GPU.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TRAINERS = ["gan", "charlm", "cnn"]


def bench_one(name: str, device: str, steps: int, threads: int) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
        out = Path(tmp) / "run"
        log_every = max(1, steps // 10)
        cmd = [sys.executable, "-m", f"trainers.{name}", "--out", str(out), "--steps", str(steps),
               "--log-every", str(log_every), "--eval-every", "0", "--ckpt-every", str(max(1, steps // 3)),
               "--keep", "10", "--device", device, "--threads", str(threads)]
        if name == "charlm":
            cmd += ["--sample-chars", "0"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("LABTUI_")}
        t0 = time.perf_counter()
        p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if p.returncode != 0:
            raise SystemExit(f"{name} on {device} failed ({p.returncode}):\n{p.stderr[-2000:]}")
        rows = [json.loads(l) for l in (out / "metrics.jsonl").read_text().splitlines()]
        rate_key = next(k for k in rows[0] if k.endswith("_per_s"))
        rates = [r[rate_key] for r in rows[1:]] or [rows[0][rate_key]]  # first window = warm-up
        metas = [json.loads(m.read_text()) for m in sorted((out / "checkpoints").glob("step-*/meta.json"))]
        saves = [m["save_seconds"] for m in metas]
        first_loss_key = next(k for k in rows[0] if k.startswith("loss"))
        return {
            "trainer": name, "device": device, "rate_key": rate_key,
            "rate": statistics.median(rates),
            "steps_per_s": statistics.median(rates) / (
                _tokens_per_step(cmd) if rate_key == "tokens_per_s" else 1),
            "save_ms": 1000 * statistics.median(saves), "ckpt_kb": metas[-1]["bytes"] / 1024,
            "wall": wall, "loss": (rows[0][first_loss_key], rows[-1][first_loss_key], first_loss_key),
        }


def _tokens_per_step(cmd: list[str]) -> int:
    # charlm reports tokens/s; its defaults are --batch-size 16 --block 64
    from trainers import charlm
    a = charlm.build_parser().parse_args(cmd[3:])
    return a.batch_size * a.block


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--devices", default="cpu,cuda" if torch.cuda.is_available() else "cpu")
    a = ap.parse_args()
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, threads {a.threads}, "
          f"{a.steps} steps per run, load average {os.getloadavg()[0]:.2f}")
    if torch.cuda.is_available():
        print(f"CUDA: {torch.cuda.get_device_name(0)}")
    print(f"{'trainer':8} {'device':6} {'steps/s':>9} {'native rate':>22} {'save ms':>8} "
          f"{'ckpt KB':>8} {'wall s':>7}  loss first -> last")
    for dev in a.devices.split(","):
        for name in TRAINERS:
            r = bench_one(name, dev, a.steps, a.threads)
            l0, l1, lk = r["loss"]
            print(f"{name:8} {dev:6} {r['steps_per_s']:9.1f} {r['rate']:14.1f} {r['rate_key'][:-6] + '/s':>7} "
                  f"{r['save_ms']:8.1f} {r['ckpt_kb']:8.0f} {r['wall']:7.1f}  {lk} {l0:.3f} -> {l1:.3f}",
                  flush=True)


if __name__ == "__main__":
    main()
