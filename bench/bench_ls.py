"""``labtui ls`` on a big lab; prints figures.

    python bench/bench_ls.py [--runs 1000] [--rows 3000] [--dir DIR] [--repeat 3]

A journal of N finished runs, each with a real folder (metrics.jsonl of ``--rows`` lines,
output.log; some runs failed with a traceback, some hold a NaN or a loss cliff), none cached
(an imported lab).  Times ``labtui ls`` (a fresh CLI process, start included, bytecode cached
as an installed package has it; wall and CPU):

- cold: the first call on the cold lab, as a user gets it (``LABTUI_LS_BUDGET`` default: the
  runs not read within it show ``…``; target < 2 s for 1,000 runs), and how long the
  background fill it starts takes to warm every run;
- warm: calls once the caches are filled (target < 300 ms); their output must equal a
  ``labtui ls --wait`` of the same lab;
- wait: ``labtui ls --wait`` with every cache deleted (``LABTUI_LS_FILL=0``): the cost of
  reading 1,000 runs (what every first ``ls`` paid before the budget).

``--repeat N`` builds a fresh lab N times and prints the median and range of each figure (the
``--wait`` figure: the first lab only).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYC = Path(tempfile.gettempdir()) / "labtui-bench-ls-pyc"  # bytecode cached, as installed


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


def _env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "LABTUI_LS_BUDGET",
                                                           "LABTUI_LS_FILL")}
    env.update(PYTHONPATH=str(ROOT), PYTHONPYCACHEPREFIX=str(PYC), **extra)
    return env


def ls(journal: Path, *args: str, **env: str) -> tuple[float, float, str, str]:
    """(wall s, CPU s, stdout, stderr) of one ``labtui ls``."""
    c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "tui.cli", "ls", "--journal", str(journal), *args],
                       capture_output=True, text=True, env=_env(**env), cwd=journal.parent)
    dt = time.perf_counter() - t
    c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode:
        raise SystemExit(r.stderr)
    return dt, (c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime), r.stdout, r.stderr


def fill_running(journal: Path) -> bool:
    try:
        fd = os.open(journal.parent / "logs" / ".metrics-fill.lock", os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)


def uncache(root: Path) -> None:
    for d in (p for p in (root / "logs").iterdir() if p.is_dir()):
        for name in (".flags-cache", ".metrics-cache"):
            (d / name).unlink(missing_ok=True)


def once(base: Path, runs: int, rows: int, full: bool = True) -> dict[str, float]:
    t = time.perf_counter()
    j = make_lab(base, runs, rows)
    print(f"built {runs} runs x {rows} metric rows in {time.perf_counter() - t:.1f}s ({base})")
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import tui.cli"], env=_env(), check=True)
    imp = time.perf_counter() - t
    fig: dict[str, float] = {"import": imp}
    wall, cpu, out, err = ls(j)
    unread = sum(1 for line in out.splitlines()[1:] if line.rstrip().endswith("…"))
    fig.update(cold=wall, cold_cpu=cpu, unread=unread)
    print(f"python -c 'import tui.cli': {imp * 1000:.0f} ms")
    print(f"labtui ls, cold (default budget): {wall * 1000:.0f} ms wall, {cpu * 1000:.0f} ms CPU; "
          f"{len(out.splitlines()) - 1} rows, {unread} not read yet (…)  (target < 2000 ms)")
    if err:
        print(f"  stderr: {err.strip()}")
    t = time.perf_counter()
    deadline = t + 1800
    # ls does not wait for the fill's start-up: first its lock taken, then released
    while unread and not fill_running(j) and time.perf_counter() < t + 30:
        time.sleep(0.02)
    while unread and fill_running(j) and time.perf_counter() < deadline:
        time.sleep(0.2)
    fig["fill"] = time.perf_counter() - t
    if unread:
        print(f"background fill done {fig['fill']:.1f}s after that ls returned")
    warm = [ls(j) for _ in range(3)]
    _, _, listing, _ = ls(j, "--wait")
    assert all(o == listing and not e for _, _, o, e in warm), "warm output differs from ls --wait"
    fig["warm"] = statistics.median(w for w, _, _, _ in warm)
    fig["warm_cpu"] = statistics.median(c for _, c, _, _ in warm)
    print(f"labtui ls, warm: {', '.join(f'{w * 1000:.0f}' for w, _, _, _ in warm)} ms wall "
          f"(CPU {', '.join(f'{c * 1000:.0f}' for _, c, _, _ in warm)} ms)  (target < 300 ms)")
    if not full:
        return fig
    uncache(base)
    wall, cpu, out, _ = ls(j, "--wait", LABTUI_LS_FILL="0")
    assert out == listing, "ls --wait on the uncached lab differs"
    fig.update(wait=wall, wait_cpu=cpu)
    flags = sum(1 for line in out.splitlines()[1:] if line.rstrip().endswith("traceback") or "@" in line)
    print(f"labtui ls --wait, no caches: {wall * 1000:.0f} ms wall, {cpu * 1000:.0f} ms CPU ({flags} rows with flags)")
    return fig


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--rows", type=int, default=3000)
    ap.add_argument("--dir")
    ap.add_argument("--repeat", type=int, default=1)
    a = ap.parse_args()
    figs = []
    for i in range(a.repeat):
        base = Path(a.dir) / f"lab{i}" if a.dir else Path(tempfile.mkdtemp(prefix="labtui-bench-ls-"))
        figs.append(once(base, a.runs, a.rows, full=i == 0))  # the full read: first lab only (minutes)
        if not a.dir:
            shutil.rmtree(base, ignore_errors=True)
    if a.repeat > 1:
        print(f"over {a.repeat} labs: median (min-max)")
        for k in figs[0]:
            v = [f[k] for f in figs if k in f]
            unit = ("{:.0f}", "") if k == "unread" else ("{:.0f}", " ms")
            scale = 1 if k == "unread" else 1000
            med = unit[0].format(statistics.median(v) * scale)
            print(f"  {k:9} {med}{unit[1]} ({unit[0].format(min(v) * scale)}-{unit[0].format(max(v) * scale)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
