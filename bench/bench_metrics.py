"""Metrics benchmark: prints figures (run: python bench/bench_metrics.py [--lines N]).

1. first parse of a generated mixed log (lines/s, MB/s) vs ``grep -c`` with a comparable pattern
   (wall and CPU time; the series hash must not change when the parser is only made faster)
2. re-open from the parsed-series cache
3. downsample + plotext render of 8 series x 1,000,000 points at 160x40
4. resident memory per point of series re-opened from the cache
"""

import argparse
import gc
import hashlib
import math
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from array import array
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tui.core import metrics as M  # noqa: E402
from tui.core.metrics import _numeric  # noqa: E402


def gen_log(path: Path, n: int) -> None:
    rnd = random.Random(0)
    shapes = [
        "===> Epoch[{e}]({b}/500):  Loss_DI: {a:.4f} Loss_GI: {c:.4f} Loss_perception: {d:.4f} lr_g = 0.0001000\n",
        "step={s} loss={a:.5f} lr = {lr:.3e} grad_norm={c:.3f} time 35.2ms\n",
        "{{'loss': {a:.4f}, 'learning_rate': {lr:.3e}, 'epoch': {e}.{b}}}\n",
        "\x1b[32mINFO\x1b[0m iter {s}: train loss {a:.4f}, val loss {d:.4f} \u635f\u5931\n",
        "Epoch {e}:  45%|\u2588\u2588\u2588\u2588\u258c     | {b}/500 [00:10<00:12, 45.00it/s, loss={a:.3f}]\n",
        "/opt/conda/lib/python3.11/site-packages/torch/utils/data.py:554: UserWarning: This DataLoader will create 8 workers\n",
        "Saving checkpoint to runs/exp3/epoch_{e}.pt\n",
    ]
    weights = [30, 25, 15, 15, 10, 3, 2]
    with open(path, "w") as f:
        buf = []
        for i in range(n):
            sh = rnd.choices(shapes, weights)[0]
            buf.append(sh.format(e=i // 500, b=i % 500, s=i, a=1 / (1 + i * 1e-4) + rnd.random() * 0.01,
                                 c=rnd.random(), d=rnd.random() * 5, lr=1e-4))
            if len(buf) == 10000:
                f.write("".join(buf))
                buf = []
        f.write("".join(buf))


def series_hash(series) -> str:
    """A digest of every series' name, x and y (wall times depend on the file's mtime): the parse
    is the same before and after an optimisation iff the digest is."""
    h = hashlib.sha256()
    for name in sorted(series):
        s = series[name]
        h.update(name.encode() + b"\0")
        h.update(array("d", s.x).tobytes())
        h.update(array("d", s.y).tobytes())
    return h.hexdigest()[:16]


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=1_000_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as td:
        run = Path(td) / "run"
        run.mkdir()
        log = run / "output.log"
        gen_log(log, args.lines)
        size = log.stat().st_size
        print(f"log: {args.lines:,} lines, {size / 1e6:.1f} MB (numpy for downsampling: {_numeric.numpy() is not None})")
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        out = subprocess.run(["grep", "-cE", r"[A-Za-z_]+ ?[:=] ?[-+]?[0-9.]+", str(log)],
                             capture_output=True, text=True)
        tg = time.perf_counter() - t
        ru2 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cg = ru2.ru_utime + ru2.ru_stime - ru.ru_utime - ru.ru_stime
        t, c = time.perf_counter(), time.process_time()
        rm = M.RunMetrics(run)
        rm.poll()
        tp, cp = time.perf_counter() - t, time.process_time() - c
        rm.save_cache()
        pts = sum(len(s) for s in rm.series.values())
        print(f"grep -cE: {tg:.3f} s ({out.stdout.strip()} matching lines)")
        print(f"first parse: {tp:.2f} s = {args.lines / tp:,.0f} lines/s, {size / 1e6 / tp:.1f} MB/s, "
              f"{len(rm.series)} series, {pts:,} points; ratio to grep: {tg / tp:.3f}")
        print(f"CPU time (a steadier figure on a shared box): grep {cg:.3f} s, first parse {cp:.2f} s; "
              f"ratio {cg / cp:.3f}")
        print(f"series hash: {series_hash(rm.series)}")
        del rm
        gc.collect()
        t = time.perf_counter()
        rm2 = M.RunMetrics(run)
        rm2.poll()
        tc = time.perf_counter() - t
        print(f"re-open from cache: {tc * 1000:.1f} ms")

        # memory per point: series re-opened from the cache (traced Python allocations)
        del rm2
        gc.collect()
        import tracemalloc

        tracemalloc.start()
        rm3 = M.RunMetrics(run)
        rm3.poll()
        cur = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        pts = sum(len(s) for s in rm3.series.values())
        r0 = rss()
        print(f"resident memory: {cur / max(pts, 1):.1f} bytes/point ({pts:,} points, x+y+wall doubles; "
              f"process RSS {r0 / 1e6:.0f} MB)")

    # downsample + render: 8 series x 1M points
    n = 1_000_000
    xs = array("d", range(n))
    series = {}
    for j in range(8):
        y = array("d", (math.exp(-i / 2e5) * (j + 1) + (i % 97) * 1e-3 for i in range(n)))
        series[f"loss_{j}"] = M.Series(f"loss_{j}", xs, y, xs)
    import plotext as plt  # noqa: F401

    from tui.cli.metrics import render

    render(series, list(series)[:1], "step", 160, 40)  # warm plotext imports
    best = math.inf
    for _ in range(3):
        t = time.perf_counter()
        render(series, list(series), "step", 160, 40)
        best = min(best, time.perf_counter() - t)
    t = time.perf_counter()
    for s in series.values():
        M.downsample(s.x, s.y, 320)
    td_ = time.perf_counter() - t
    import plotext

    pts = [M.downsample(s.x, s.y, 160) for s in series.values()]
    tp = math.inf
    for _ in range(3):
        t = time.perf_counter()
        plotext.clear_figure()
        plotext.plotsize(160, 40)
        plotext.theme("clear")
        for (dx, dy), name in zip(pts, series):
            plotext.plot(dx.tolist(), dy.tolist(), label=name, marker="braille")
        plotext.xlabel("step")
        plotext.build()
        tp = min(tp, time.perf_counter() - t)
    print(f"downsample + plotext render 8 x 1,000,000 points at 160x40: {best * 1000:.1f} ms "
          f"(downsample alone {td_ * 1000:.1f} ms, plotext alone on the downsampled points "
          f"{tp * 1000:.1f} ms)")


if __name__ == "__main__":
    main()
