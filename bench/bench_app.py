"""Benchmark of the labtui app; prints figures.

    python bench/bench_app.py [--dir DIR] [--runs 200] [--log-lines 10000000] [--quick]

1. time to first full paint: 200-run journal, logs holding 10M lines in total, cache warm
   (metrics caches written by a previous open, files in the page cache);
2. key press to redraw with 20 overlaid runs x 100,000 points (`y`: log scale);
3. CPU of an idle app polling at 1 Hz (headless, 15 s);
4. bytes written to a real terminal (a pty) per second while nothing changes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import pty
import select
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tui.core import fsio  # noqa: E402


def make_lab(root: Path, runs: int, log_lines: int, metric_rows: int, prefix: str = "r") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    per = log_lines // runs
    line = "epoch 3: 47%|####7     | 470/1000 [00:12<00:13, 38.1it/s, loss=0.4213]\r" \
           "step 1234 loss 0.4213 lr 0.0003\n"
    log = (line * (per // 2)).encode()
    rows = []
    for s in range(metric_rows):
        loss = 2 * math.exp(-s / (metric_rows / 4)) + 0.1 + 0.02 * math.sin(s)
        rows.append(json.dumps({"step": s * 10, "epoch": s / 100, "time": 1.7e9 + s, "loss": round(loss, 6),
                                "acc": round(1 - loss / 3, 5)}))
    metrics = ("\n".join(rows) + "\n").encode()
    text = ['[experiments.e]\ncommand = "python train.py --lr {lr}"\nparams = { lr = 1e-3, steps = %d }\n\n'
            % (metric_rows * 10)]
    for i in range(runs):
        rid = f"{prefix}{i}"
        d = root / "logs" / rid
        d.mkdir(parents=True, exist_ok=True)
        (d / "output.log").write_bytes(log)
        (d / "metrics.jsonl").write_bytes(metrics)
        fsio.write_json_atomic(d / "exit.json", {"code": 0, "signal": None,
                                                  "ended": "2026-05-13T10:00:00+00:00", "killed": False})
        text.append(f'[runs.{rid}]\nexperiment = "e"\ncommand = "python train.py"\n'
                    f'params = {{ lr = {1e-3 * (1 + i % 7)}, steps = {metric_rows * 10} }}\n'
                    f'status = "finished"\nstarted = 2026-05-13T08:00:00+00:00\n'
                    f'ended = 2026-05-13T10:00:00+00:00\nexit_code = 0\n\n')
    (root / "experiments.toml").write_text("".join(text))
    return root / "experiments.toml"


class NoGpu:
    def latest(self):
        return None

    def history(self, i):
        return []


async def first_paint(journal: Path, size=(160, 48)) -> tuple[float, int]:
    from tui.app.app import LabApp

    t0 = time.perf_counter()
    app = LabApp(journal, gpu_source=NoGpu(), poll_interval=1.0)
    async with app.run_test(size=size) as pilot:
        while app.polls == 0 or app.loading:
            await asyncio.sleep(0.005)
        await pilot.pause()
        t = time.perf_counter() - t0
        n = app.query_one("#runs").row_count
        assert all(app.summaries.get(r.id) and app.summaries[r.id].last is not None for r in app.run_list)
    return t, n


async def keypress(journal: Path, n_overlay: int) -> dict:
    from tui.app.app import LabApp

    app = LabApp(journal, gpu_source=NoGpu(), poll_interval=1.0)
    out = {}
    async with app.run_test(size=(160, 48)) as pilot:
        while app.polls == 0 or app.loading:
            await asyncio.sleep(0.01)
        ids = [r.id for r in app.run_list][:n_overlay]
        app.marked[:] = ids
        app.poller.priority = tuple(ids)
        await asyncio.sleep(2.5)
        while app.loading:
            await asyncio.sleep(0.01)
        app.refresh_plot()
        await pilot.pause()
        plot = app.query_one("#plot")
        pts = sum(len(c.xs) for c in plot.curves)
        out["points"] = pts
        times = []
        for key in ("y", "y", "e", "y", "y", "E", "y", "y"):
            b = plot.builds
            t0 = time.perf_counter()
            await pilot.press(key)
            while plot.builds == b:
                if time.perf_counter() - t0 > 60:
                    raise SystemExit(f"no rebuild within 60 s after pressing {key!r}")
                await asyncio.sleep(0.001)
            times.append(time.perf_counter() - t0)
        out["press_ms"] = [round(t * 1000, 1) for t in times]
        # what pilot.press itself costs (its settling waits), with a key bound to nothing
        t0 = time.perf_counter()
        for _ in range(5):
            await pilot.press("f19")
        out["idle_press_ms"] = round((time.perf_counter() - t0) / 5 * 1000, 1)
        # the work alone: settings change + rebuild of the plot text
        t0 = time.perf_counter()
        for _ in range(5):
            app.action_log_scale()
            plot._build(plot.size.width, plot.size.height)
        out["build_ms"] = round((time.perf_counter() - t0) / 5 * 1000, 1)
    return out


async def idle_cpu(journal: Path, seconds: float) -> tuple[float, float, float]:
    """(% of a core while the deferred loss-cliff checks run, seconds they took, % once idle)."""
    from tui.app.app import LabApp

    app = LabApp(journal, gpu_source=NoGpu(), poll_interval=1.0)
    async with app.run_test(size=(160, 48)):
        while app.polls == 0 or app.loading:
            await asyncio.sleep(0.01)
        c0, w0 = time.process_time(), time.perf_counter()
        while app.poller.cliff_due and time.perf_counter() - w0 < 300:
            await asyncio.sleep(0.1)
        settle_s = time.perf_counter() - w0
        settle_cpu = (time.process_time() - c0) / max(settle_s, 1e-9) * 100
        await asyncio.sleep(2)
        c0 = time.process_time()
        w0 = time.perf_counter()
        await asyncio.sleep(seconds)
        return settle_cpu, settle_s, (time.process_time() - c0) / (time.perf_counter() - w0) * 100


def tty_bytes(journal: Path, seconds: float) -> tuple[float, int]:
    """Run `labtui` in a pty (160x48); bytes/s written once the first paint settled."""
    import fcntl
    import struct
    import termios

    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "xterm-256color"
        os.environ["PYTHONPATH"] = str(ROOT)
        os.environ.pop("LABTUI_FAKE_GPUS", None)
        os.chdir(journal.parent)
        os.execv(sys.executable, [sys.executable, "-m", "tui.cli", "--journal", str(journal)])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 48, 160, 0, 0))
    os.kill(pid, 28)  # SIGWINCH

    def drain(t):
        n = 0
        end = time.monotonic() + t
        while time.monotonic() < end:
            r, _, _ = select.select([fd], [], [], 0.1)
            if r:
                try:
                    n += len(os.read(fd, 65536))
                except OSError:
                    break
        return n

    first = drain(15.0)  # start-up, first paint and the deferred cliff checks
    n = drain(seconds)
    os.write(fd, b"q")
    drain(1.5)
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
    return n / seconds, first


def tty_keys(journal: Path, n_mark: int) -> list[float]:
    """In a real pty (160x48): mark ``n_mark`` runs, then time each key press until the
    terminal output of its redraw has been written (the last byte before 40 ms of quiet)."""
    import fcntl
    import struct
    import termios

    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "xterm-256color"
        os.environ["PYTHONPATH"] = str(ROOT)
        os.chdir(journal.parent)
        os.execv(sys.executable, [sys.executable, "-m", "tui.cli", "--journal", str(journal)])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 48, 160, 0, 0))
    os.kill(pid, 28)  # SIGWINCH

    def quiet_after(t0: float, quiet: float = 0.04, limit: float = 10.0) -> float:
        last = None
        while time.perf_counter() - t0 < limit:
            r, _, _ = select.select([fd], [], [], quiet)
            if not r:
                if last is not None:
                    return last - t0
                continue
            try:
                os.read(fd, 1 << 16)
            except OSError:
                break
            last = time.perf_counter()
        return float("nan")

    def settle(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            r, _, _ = select.select([fd], [], [], 0.1)
            if r:
                try:
                    os.read(fd, 1 << 16)
                except OSError:  # the app has exited
                    return

    settle(10.0)
    for _ in range(n_mark):
        os.write(fd, b" ")
        settle(0.15)
        os.write(fd, b"\x1b[B")  # down
        settle(0.15)
    settle(8.0)  # every overlaid run's curve loaded
    times = []
    for key in b"yyyyyy":
        settle(1.2)  # between polls
        t0 = time.perf_counter()
        os.write(fd, bytes([key]))
        times.append(quiet_after(t0) * 1000)
    os.write(fd, b"q")
    settle(1.5)
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
    return times


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir")
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--log-lines", type=int, default=10_000_000)
    ap.add_argument("--metric-rows", type=int, default=5000)
    ap.add_argument("--quick", action="store_true", help="smaller data, shorter idle window")
    ap.add_argument("--only", action="append", choices=["paint", "keypress", "idle", "tty"],
                    help="run only these parts (repeatable)")
    a = ap.parse_args()
    parts = set(a.only or ["paint", "keypress", "idle", "tty"])
    if a.quick:
        a.runs, a.log_lines, a.metric_rows = 50, 500_000, 2000
    base = Path(a.dir) if a.dir else Path(tempfile.mkdtemp(prefix="labtui-bench-"))
    print(f"lab in {base}")

    t = time.perf_counter()
    j1 = base / "big" / "experiments.toml"
    if parts - {"keypress"}:
        if not j1.exists():
            j1 = make_lab(base / "big", a.runs, a.log_lines, a.metric_rows)
        print(f"built {a.runs} runs, {a.log_lines:,} log lines, {a.runs * a.metric_rows:,} metric rows "
              f"in {time.perf_counter() - t:.1f}s")
    if "paint" in parts:
        cold, n = asyncio.run(first_paint(j1))
        print(f"first full paint, cold metrics cache (parses every metrics.jsonl): {cold:.2f}s ({n} rows)")
        warm = min(asyncio.run(first_paint(j1))[0] for _ in range(3))
        print(f"first full paint, cache warm: {warm:.3f}s  (target < 1 s)")
    if "keypress" in parts:
        keypress_part(a, base)
    if "idle" in parts:
        idle_part(a, j1)
    if "tty" in parts:
        tty_part(a, j1)
    if not a.dir:
        shutil.rmtree(base, ignore_errors=True)
    return 0


def keypress_part(a, base: Path) -> None:
    j2 = base / "overlay" / "experiments.toml"
    if not j2.exists():
        j2 = make_lab(base / "overlay", 20, 20 * 1000, 10_000 if a.quick else 100_000, prefix="o")
    kp = asyncio.run(keypress(j2, 20))
    tk = tty_keys(j2, 20)
    print(f"key press -> redraw written to a real terminal (pty 160x48, 20 overlaid runs, key y): "
          f"{', '.join(f'{t:.0f}' for t in tk)} ms")
    print(f"key press -> plot redrawn, 20 runs x {10_000 if a.quick else 100_000:,} points "
          f"({kp['points']:,} points held): press-to-rebuild {kp['press_ms']} ms "
          f"(keys y y e y y E y y: EMA 0.6 on for the 3rd-5th), "
          f"rebuild alone {kp['build_ms']} ms  (target < 50 ms); pilot.press of an unbound key "
          f"{kp['idle_press_ms']} ms")


def idle_part(a, j1: Path) -> None:
    secs = 5.0 if a.quick else 15.0
    settle_cpu, settle_s, cpu = asyncio.run(idle_cpu(j1, secs))
    print(f"after opening: deferred loss-cliff checks of {a.runs} runs took {settle_s:.0f}s "
          f"at {settle_cpu:.0f}% of a core")
    print(f"idle app polling at 1 Hz ({a.runs} runs): {cpu:.2f}% of a core over {secs:g}s  (target < 3%)")


def tty_part(a, j1: Path) -> None:
    secs = 5.0 if a.quick else 15.0
    bps, first = tty_bytes(j1, secs)
    print(f"bytes to the terminal while nothing changes: {bps:.0f} B/s over {secs:g}s "
          f"(first paint wrote {first:,} B)")


if __name__ == "__main__":
    sys.exit(main())
