"""``labtui metrics SOURCE`` and ``labtui plot SOURCE``: series of a run or of any log file."""

from __future__ import annotations

import argparse
import csv
import json
import math
import shutil
import sys
from pathlib import Path

from ..core import metrics as M
from ..core.errors import UserError
from ..core.metrics import ANSI_RE
from ..core.metrics import Series, downsample, ema, main_metric
from ..core.report.plot import AXES, Curve, HEIGHT, WIDTH, figure_to_file, load_metrics, run_curves
from ..core.text import inert
from .common import journal
from .progress import tty_progress


def register(sub) -> None:
    p = sub.add_parser("metrics", help="print the metric series of a run id or a log file",
                       description="Parse a run's metrics (metrics.jsonl, a metrics CSV or "
                                   "output.log) or any log file; test a pattern with --pattern.")
    _source_args(p)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--json", action="store_true", help='{"metrics": {name: {"x": [...], "y": [...]}}, "x_axis": name}')
    g.add_argument("--csv", action="store_true", help="long CSV: metric,<x axis>,value")
    p.add_argument("--wall", action="store_true", help="include wall times (unix seconds)")
    p.set_defaults(func=cmd_metrics)

    p = sub.add_parser("plot", help="draw a run's or a log file's metrics in the terminal",
                       description="A quick plotext chart over SSH without opening the app.")
    _source_args(p)
    p.add_argument("--metric", "-m", action="append", metavar="NAME",
                   help="metric to draw (repeatable; default: the main loss)")
    p.add_argument("--last", type=int, metavar="N", help="only the last N points of each series")
    p.add_argument("--width", type=int, help="chart width (default: terminal; --out: pixels, 1000)")
    p.add_argument("--height", type=int, help="chart height (default: terminal, at most 30; --out: "
                                              "pixels, 600 per metric)")
    p.add_argument("--smooth", type=float, default=0.0, metavar="W", help="EMA weight in [0,1)")
    p.add_argument("--out", metavar="FILE", help="save a picture (.png or .svg, matplotlib) instead")
    p.add_argument("more", nargs="*", metavar="RUN", help="with --out: more run ids drawn over the first")
    p.add_argument("--x", dest="x_axis", choices=AXES, default="step", help="with --out: x axis of run ids")
    p.add_argument("--log", action="store_true", help="with --out: log scale")
    p.set_defaults(func=cmd_plot)


def _source_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", metavar="SOURCE", help="a run id, a run folder or a log file")
    p.add_argument("--pattern", action="append", metavar="REGEX",
                   help="extra regex with named groups (repeatable), e.g. 'Loss_D: (?P<loss_d>\\S+)'")
    p.add_argument("--no-defaults", action="store_true",
                   help="with --pattern: only the given patterns, not the default parser")
    p.add_argument("--stitch", action="store_true", help="run id: join the resumed lineage into one curve")
    p.add_argument("--attempt", type=int, metavar="N",
                   help="a log that restarts: attempt N (1 = the first; default: the latest)")


def load(args) -> tuple[dict, str, list]:
    """(series, x_axis, resume_points) for a SOURCE."""
    with tty_progress():  # a cold read of a large log says how far it got (a terminal only)
        return _load(args)


def _load(args) -> tuple[dict, str, list]:
    cli = None
    if args.pattern:
        cli = M.Patterns([(None, p) for p in args.pattern], defaults=not args.no_defaults,
                         where="--pattern")
    src = Path(args.source)
    if src.is_file():
        lm = M.parse_file(src, cli)
        if getattr(lm, "note", None):
            print(f"labtui: {lm.note}", file=sys.stderr)
        return _attempt(args, lm), lm.x_axis, []
    if src.is_dir():
        rm = M.RunMetrics(src, cli)
        rm.poll()
        rm.save_cache()
        _notes(rm)
        return _attempt(args, rm), rm.x_axis, []
    j = journal(args)
    data = j.read()
    if args.source not in (data.get("runs") or {}):
        raise UserError(f"no run or file named {args.source!r}")
    if args.stitch and cli is None:
        st = M.stitched(j, args.source)
        return st.series, st.x_axis, st.resume_points
    pats = cli if cli is not None else M.patterns_for_run(data, args.source)
    rm = M.RunMetrics(j.run_dir(args.source), pats)
    rm.poll()
    rm.save_cache()
    _notes(rm)
    return _attempt(args, rm), rm.x_axis, []


def _attempt(args, m) -> dict:
    """The series of the attempt asked for (``--attempt N``), else the latest; a log that
    restarted says so on stderr."""
    segs = m.segments
    n = getattr(args, "attempt", None)
    if n is None:
        if segs:
            print(f"labtui: this log holds {len(segs) + 1} attempts (it restarted); showing the latest "
                  f"(--attempt 1..{len(segs) + 1} for another)", file=sys.stderr)
        return m.series
    if not 1 <= n <= len(segs) + 1:
        raise UserError(f"--attempt {n}: this log holds {len(segs) + 1} attempt(s)")
    return segs[n - 1] if n <= len(segs) else m.series


def _notes(rm) -> None:
    """One line per source that could not be read (a TensorBoard file without tensorboard)."""
    for note in rm.notes:
        print(f"labtui: {note}", file=sys.stderr)


def _num(v: float):
    if math.isfinite(v):
        return int(v) if v.is_integer() and abs(v) < 2 ** 53 else v
    return None if math.isnan(v) else ("inf" if v > 0 else "-inf")


def cmd_metrics(args) -> int:
    series, axis, points = load(args)
    out = sys.stdout
    if args.json:
        doc = {"metrics": {}, "x_axis": axis}
        for k, s in series.items():
            n = len(s)
            d = {"x": [_num(v) for v in s.x[:n]], "y": [_num(v) for v in s.y[:n]]}
            if args.wall:
                d["wall"] = list(s.wall[:n])
            doc["metrics"][k] = d
        if points:
            doc["resume_points"] = [{"run": r, "x": _num(x)} for r, x in points]
        json.dump(doc, out)
        out.write("\n")
        return 0
    if args.csv:
        w = csv.writer(out)
        w.writerow(["metric", axis, "value"] + (["wall"] if args.wall else []))
        for k, s in series.items():
            for i in range(len(s)):
                w.writerow([k, repr(_num(s.x[i])), repr(s.y[i])] + ([s.wall[i]] if args.wall else []))
        return 0
    if not series:
        out.write("no metrics found\n")
        return 0
    width = max(len(k) for k in series)
    out.write(f"{'metric':<{width}}  {'points':>8}  {'last ' + axis:>12}  {'last':>12}  {'min':>12}  {'max':>12}\n")
    for k, s in series.items():
        n = len(s)
        fin = [v for v in s.y[:n] if math.isfinite(v)]
        lo = f"{min(fin):.6g}" if fin else "-"
        hi = f"{max(fin):.6g}" if fin else "-"
        out.write(f"{k:<{width}}  {n:>8}  {s.x[n - 1]:>12.6g}  {s.y[n - 1]:>12.6g}  {lo:>12}  {hi:>12}\n")
    return 0


def render(series: dict, names: list[str], axis: str, width: int, height: int,
           smooth: float = 0.0, resume_points=()) -> str:
    """A plotext chart as a string (series downsampled to ~2 points per column)."""
    import plotext as plt  # deferred: a heavy import only `labtui plot` needs

    plt.clear_figure()
    plt.plotsize(width, height)
    plt.theme("clear")
    for name in names:
        s = series[name]
        # No copies of the full arrays: downsample reads up to the shorter of x and y.
        y = ema(s.y, smooth) if smooth else s.y
        x, y = downsample(s.x, y, width)
        fin = [(a, b) for a, b in zip(x, y) if math.isfinite(b)]
        if fin:
            plt.plot([a for a, _ in fin], [b for _, b in fin], label=name, marker="braille")
    for _, x in resume_points:
        plt.vline(x)
    plt.xlabel(axis)
    return plt.build()


def cmd_plot(args) -> int:
    if args.out:
        return plot_to_file(args)
    if args.more:
        raise UserError("several runs are drawn into a picture: add --out FILE.png")
    series, axis, points = load(args)
    names = _chosen_metrics(args, list(series), args.source)
    if args.last:
        series = {k: Series(k, s.x[-args.last:], s.y[-args.last:], s.wall[-args.last:])
                  for k, s in series.items() if k in names}
    cols, rows = shutil.get_terminal_size((100, 30))
    text = render(series, names, axis, args.width or cols, args.height or min(rows - 2, 30),
                  args.smooth, points)
    if not sys.stdout.isatty():
        text = ANSI_RE.sub("", text)
    sys.stdout.write(text + "\n")
    return 0


def _chosen_metrics(args, have: list[str], where: str) -> list[str]:
    """The metrics to draw: ``--metric`` (each must exist) or the main one; one-line errors."""
    if not have:
        raise UserError(f"no metrics found in {where}")
    names = args.metric or [main_metric(have)]
    missing = [n for n in names if n not in have]
    if missing:
        raise UserError(f"no metric {missing[0]!r}; have: {', '.join(have)}")
    return names


def plot_to_file(args) -> int:
    """``plot ... --out FILE``: run ids as the app draws them (stitched lineages, one colour and
    line style each); a log file or a run folder as its own series."""
    if not 0 <= args.smooth < 1:
        raise UserError("--smooth is an EMA weight in [0,1)")
    ids = [args.source] + list(args.more)
    j = journal(args)
    data = j.read()
    runs = data.get("runs") or {}
    if args.more or (args.source in runs and not args.pattern):
        for rid in ids:
            if rid not in runs:
                raise UserError(f"no run named {rid!r}")
        mets = load_metrics(j, data, ids)
        names = _chosen_metrics(args, list(dict.fromkeys(k for rid in ids for k in mets[rid].series)),
                                ", ".join(ids))
        panels = [(n, run_curves(mets, runs, ids, n, args.x_axis)) for n in names]
        label = args.x_axis
    else:
        series, label, _points = load(args)
        names = _chosen_metrics(args, list(series), args.source)
        panels = [(n, [Curve(Path(args.source).name, series[n].x, series[n].y)]) for n in names]
        label = "step"
    if args.last:
        panels = [(n, [Curve(c.label, c.xs[-args.last:], c.ys[-args.last:],
                             [m for m in c.marks if len(c.xs) > args.last and m >= c.xs[-args.last]])
                       for c in curves]) for n, curves in panels]
    path = figure_to_file(panels, args.out, axis=label, smooth=args.smooth, log=args.log,
                          width=args.width or WIDTH, height=args.height or HEIGHT * len(panels))
    print(f"wrote {inert(str(path))}")
    return 0
