"""Benchmark the GPU sampler: cost of one sample (8 fake GPUs; real NVML or the none path) and the
CPU the sampler thread uses at 1 s. Prints figures.  python bench/bench_gpus.py [--seconds 20]"""

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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tui.core import gpus as G  # noqa: E402

GiB = 1024 ** 3


def fake_file(n_gpus: int, pids: list[int]) -> Path:
    gpus = [{"index": i, "name": "NVIDIA H100 80GB HBM3", "uuid": f"GPU-{i:08d}", "util": (i * 13) % 100,
             "mem_used": (i + 1) * GiB, "mem_total": 80 * GiB, "temperature": 40 + i, "power_draw": 300.0,
             "power_limit": 700.0, "mig_mode": False} for i in range(n_gpus)]
    procs = [{"pid": pid, "gpu": k % n_gpus, "mem_used": 10 * GiB} for k, pid in enumerate(pids)]
    f = Path(tempfile.mkdtemp()) / "gpus.json"
    f.write_text(json.dumps({"snapshots": [{"ok": True, "gpus": gpus, "processes": procs}]}))
    return f


def time_samples(src: G.GpuSource, n: int) -> tuple[float, float, float]:
    src.sample()  # warm caches (tag scan, Process objects)
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        src.sample()
        ts.append((time.perf_counter() - t) * 1000)
    ts.sort()
    return statistics.median(ts), ts[int(0.95 * (len(ts) - 1))], ts[-1]


def thread_cpu(src: G.GpuSource, seconds: float, interval: float = 1.0) -> tuple[float, int]:
    s = G.Sampler(src, interval=interval)
    s.start()
    time.sleep(0.05)
    tid = s._thread.native_id
    stat = Path(f"/proc/self/task/{tid}/stat")

    def ticks():
        f = stat.read_text().rsplit(")", 1)[1].split()
        return int(f[11]) + int(f[12])  # utime + stime (fields 14, 15)

    c0, t0 = ticks(), time.monotonic()
    time.sleep(seconds)
    c1, t1 = ticks(), time.monotonic()
    n = s.samples
    s.stop()
    hz = os.sysconf("SC_CLK_TCK")
    return (c1 - c0) / hz / (t1 - t0) * 100, n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--n", type=int, default=200)
    a = ap.parse_args()
    print(f"host: {os.cpu_count()} CPUs, {len(os.listdir('/proc'))} /proc entries, python {sys.version.split()[0]}")

    env = {k: v for k, v in os.environ.items() if k != G.RUN_TAG}
    kids = [subprocess.Popen(["sleep", "120"], env=dict(env, LABTUI_RUN_ID=f"bench_{i % 4}"))
            for i in range(8)]
    kids += [subprocess.Popen(["sleep", "120"], env=env) for _ in range(4)]
    time.sleep(2.5)  # steady state: per-process identity is cached once a process is 2 s old
    try:
        fake = G.FakeSource(fake_file(8, [k.pid for k in kids]))
        med, p95, mx = time_samples(fake, a.n)
        snap = fake.sample()
        print(f"sample(), fake 8 GPUs, {len(snap.processes)} GPU processes, {len(snap.runs)} runs: "
              f"median {med:.2f} ms, p95 {p95:.2f} ms, max {mx:.2f} ms")
        fake0 = G.FakeSource(fake_file(8, []))
        med, p95, mx = time_samples(fake0, a.n)
        print(f"sample(), fake 8 GPUs, no GPU processes (same runs): median {med:.2f} ms, p95 {p95:.2f} ms, max {mx:.2f} ms")

        t = time.perf_counter()
        real = G.make_source("auto")
        t_init = (time.perf_counter() - t) * 1000
        label = "NVML" if isinstance(real, G.NvmlSource) else f"none path ({real.sample().reason})"
        print(f"make_source('auto') (NVML init): {t_init:.1f} ms -> {type(real).__name__}")
        med, p95, mx = time_samples(real, a.n)
        print(f"sample(), real source = {label}: median {med:.2f} ms, p95 {p95:.2f} ms, max {mx:.2f} ms")

        cpu, n = thread_cpu(G.FakeSource(fake_file(8, [k.pid for k in kids])), a.seconds)
        print(f"sampler thread at 1 s, fake 8 GPUs + 12 procs, {a.seconds:.0f} s: {cpu:.3f}% of one core ({n} samples)")
        cpu, n = thread_cpu(G.make_source("auto"), a.seconds)
        print(f"sampler thread at 1 s, real source ({type(real).__name__}), {a.seconds:.0f} s: {cpu:.3f}% of one core ({n} samples)")
    finally:
        for k in kids:
            k.kill()
            k.wait()


if __name__ == "__main__":
    main()
