#!/usr/bin/env python3
"""Foundation benchmarks: `labtui ls` on a 1,000-run journal, launch latency, shim memory.

    python bench/bench_core.py

Targets: ls < 300 ms wall (CLI start included); `labtui run` → trainer running < 500 ms;
shim resident memory < 25 MB.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tui.core import fsio  # noqa: E402


def env() -> dict:
    e = dict(os.environ)
    # An installed labtui has compiled bytecode (pip compiles at install): measure that, not
    # a fresh compile of every module on each start.
    e.pop("PYTHONDONTWRITEBYTECODE", None)
    e["PYTHONPATH"] = str(ROOT) + (os.pathsep + e["PYTHONPATH"] if e.get("PYTHONPATH") else "")
    return e


def labtui(lab: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tui.cli", "--journal", str(lab / "experiments.toml"), *args],
                          capture_output=True, text=True, env=env(), cwd=lab)


def make_journal(lab: Path, n: int) -> None:
    parts = ["# benchmark lab\n[experiments.gan]\n"
             'command = "python -m trainers.gan --g-lr {g_lr} --d-lr {d_lr} --batch-size {batch_size}"\n'
             "params = { g_lr = 1e-4, d_lr = 4e-4, batch_size = 4 }\n"]
    for i in range(1, n + 1):
        parent = f'parent = "training_{i - 1}"\n' if i % 5 == 0 else ""
        status = ("finished", "failed", "killed")[i % 3]
        parts.append(
            f"\n[runs.training_{i}]\nexperiment = \"gan\"\n{parent}"
            f'command = "python -m trainers.gan --g-lr 0.0001 --d-lr 0.0004 --batch-size 4"\n'
            "params = { g_lr = 1e-4, d_lr = 4e-4, batch_size = 4 }\n"
            f'gpus = [{i % 8}]\nstatus = "{status}"\n'
            "started = 2026-05-12T21:03:11+08:00\nended = 2026-05-13T09:41:02+08:00\n"
            f"pid = {100000 + i}\ncreate_time = 1778000000.5\nexit_code = {0 if status == 'finished' else 1}\n"
            "notes = [\n    { at = 2026-05-12T22:00:00+08:00, text = \"converging, keep going\" },\n"
            "    { at = 2026-05-13T08:00:00+08:00, text = \"loss cliff after step 803250\" },\n]\n"
            'tags = ["ttur", "ablation"]\n')
    (lab / "experiments.toml").write_text("".join(parts))


def bench_ls(lab: Path, n: int = 1000, repeat: int = 7) -> None:
    make_journal(lab, n)
    labtui(lab, "ls")  # warm the page cache and .pyc files
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        r = labtui(lab, "ls")
        times.append(time.perf_counter() - t0)
        assert r.returncode == 0, r.stderr
        assert r.stdout.count("\n") == n + 1
    times_json = []
    for _ in range(3):
        t0 = time.perf_counter()
        labtui(lab, "ls", "--json")
        times_json.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    bare = time.perf_counter() - t0
    print(f"ls, {n}-run journal: median {1000 * statistics.median(times):.0f} ms, "
          f"min {1000 * min(times):.0f} ms (target < 300 ms; bare python start {1000 * bare:.0f} ms); "
          f"ls --json median {1000 * statistics.median(times_json):.0f} ms")


def bench_launch(lab: Path, repeat: int = 7) -> None:
    (lab / "experiments.toml").write_text("# launch bench\n")
    lat, rss, uss = [], [], []
    for i in range(repeat):
        t0 = time.time()
        r = labtui(lab, "run", "--name", f"l{i}", "--", "sh", "-c", "date +%s.%N; sleep 3")
        cli_done = time.time()
        assert r.returncode == 0, r.stderr
        log = lab / "logs" / f"l{i}" / "output.log"
        deadline = time.time() + 10
        while time.time() < deadline and not log.read_text().strip():
            time.sleep(0.005)
        started = float(log.read_text().split()[0])
        lat.append(started - t0)
        state = fsio.read_json(lab / "logs" / f"l{i}" / "state.json")
        shim = psutil.Process(state["shim_pid"])
        mi = shim.memory_full_info()
        rss.append(mi.rss / 2**20)
        uss.append(mi.uss / 2**20)
        _ = cli_done
    print(f"launch, `labtui run` start → trainer running: median {1000 * statistics.median(lat):.0f} ms, "
          f"max {1000 * max(lat):.0f} ms (target < 500 ms)")
    print(f"shim memory while its trainer runs: RSS median {statistics.median(rss):.1f} MB "
          f"(USS {statistics.median(uss):.1f} MB) (target < 25 MB)")
    for i in range(repeat):
        labtui(lab, "kill", f"l{i}", "--now")


def main() -> None:
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as d:
        bench_ls(Path(d))
    with tempfile.TemporaryDirectory() as d:
        bench_launch(Path(d))


if __name__ == "__main__":
    main()
