"""Pictures of curves with matplotlib (Agg: no display): the app's curves, on paper.

The same curves as the app's plot: a run's resumed lineage stitched into one curve
(``metrics.lineage_curve``), EMA with the raw line faint behind it, log scale, x by
step / epoch / time, resume points marked.  Each run gets one colour AND one line style, so
the runs stay apart for colour-blind readers and in greyscale print.

matplotlib is an optional extra (``pip install labtui[report]``): it is imported inside
:func:`figure_to_file` only (a heavy import that only pictures need).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from ..errors import UserError
from ..lineage import chain
from ..metrics import RunMetrics, downsample, ema, lineage_curve, patterns_for_run
from ..metrics._numeric import numpy

COLORS = ("#0072b2", "#e69f00", "#009e73", "#d55e00", "#cc79a7", "#56b4e9", "#f0e442", "#000000")
STYLES = ("-", "--", ":", "-.", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 3)))
AXES = ("step", "epoch", "time")
WIDTH, HEIGHT, DPI = 1000, 600, 100   # default picture size in pixels
MAX_POINTS = 2000                     # per curve after downsampling (min/max buckets)


@dataclass
class Curve:
    label: str
    xs: Sequence[float]
    ys: Sequence[float]
    marks: Sequence[float] = field(default_factory=list)   # resume points (x)


def style(i: int) -> tuple[str, object]:
    """(colour, line style) of the i-th run: both change from one run to the next."""
    return COLORS[i % len(COLORS)], STYLES[i % len(STYLES)]


def run_curves(metrics: Mapping[str, object], runs: Mapping[str, object], ids: Sequence[str],
               metric: str, axis: str = "step") -> list[Curve]:
    """One stitched curve per run id (``metrics``: id -> a polled ``RunMetrics`` for every run of
    each lineage; ``runs``: the journal's runs table).  Runs without the metric are left out."""
    out = []
    for rid in ids:
        xs, ys, marks = lineage_curve(metrics, runs, rid, metric, axis, memo=None)
        if len(xs):
            out.append(Curve(rid, xs, ys, list(marks)))
    return out


def load_metrics(journal, data: Mapping, ids: Sequence[str],
                 into: dict | None = None) -> dict[str, RunMetrics]:
    """Polled ``RunMetrics`` of every run of each id's lineage (root..id), by id (``into``
    reused and extended).  Caches are saved, so the next reader starts from them."""
    runs = data.get("runs") or {}
    out = {} if into is None else into
    for rid in ids:
        for c in chain(runs, rid):
            if c in out:
                continue
            try:
                pats = patterns_for_run(data, c)
            except UserError:
                pats = None
            rm = RunMetrics(journal.run_dir(c), pats)
            rm.poll()
            rm.save_cache()
            out[c] = rm
    return out


def _prepared(c: Curve, smooth: float, log: bool, k: int):
    np = numpy()
    xs = np.asarray(c.xs, dtype=np.float64)
    ys = np.asarray(c.ys, dtype=np.float64)
    n = min(len(xs), len(ys))
    xs, ys = xs[:n], ys[:n]
    ok = np.isfinite(xs) & np.isfinite(ys)
    if log:
        ok &= ys > 0
    xs, ys = xs[ok], ys[ok]
    raw = downsample(xs, ys, k) if len(xs) > k else (xs, ys)
    sm = None
    if smooth and len(ys):
        sm = downsample(xs, np.asarray(ema(ys, smooth), dtype=np.float64), k) if len(xs) > k \
            else (xs, np.asarray(ema(ys, smooth), dtype=np.float64))
    return raw, sm


def _xvalues(xs, axis: str):
    if axis != "time":
        return xs
    np = numpy()
    return np.asarray(xs, dtype=np.float64).astype("datetime64[s]") if len(xs) else xs


def figure_to_file(panels: Sequence[tuple[str, Sequence[Curve]]], out: str | Path, *, axis: str = "step",
                   smooth: float = 0.0, log: bool = False, width: int = WIDTH, height: int = HEIGHT,
                   dpi: int = DPI, title: str | None = None) -> Path:
    """Draw ``panels`` ([(metric, curves), ...], stacked) into ``out`` (.png or .svg), exactly
    ``width`` x ``height`` pixels.  SVG groups are named ``series-<panel>-<i>`` (the drawn
    curve), ``raw-<panel>-<i>`` (the faint raw line under an EMA) and ``resume-...``."""
    out = Path(out)
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in ("png", "svg"):
        raise UserError(f"{out}: pictures are .png or .svg")
    if axis not in AXES:
        raise UserError(f"x axis must be one of {', '.join(AXES)}")
    try:  # deferred: matplotlib is heavy and optional; only pictures need it
        import matplotlib
        matplotlib.use("Agg", force=True)
        from matplotlib.figure import Figure
    except ImportError:
        raise UserError("pictures need matplotlib: pip install 'labtui[report]'") from None
    fig = Figure(figsize=(width / dpi, height / dpi), dpi=dpi)
    # fixed margins (in pixels), not a layout engine: it would draw every picture twice
    fig.subplots_adjust(left=75 / width, right=1 - 15 / width, bottom=55 / height,
                        top=1 - (40 if title else 15) / height, hspace=0.25 * len(panels))
    axes = fig.subplots(len(panels), 1, squeeze=False)[:, 0] if panels else []
    k = max(200, min(MAX_POINTS, width))
    for p, (ax, (metric, curves)) in enumerate(zip(axes, panels)):
        drawn = 0
        for i, c in enumerate(curves):
            color, ls = style(i)
            (rx, ry), sm = _prepared(c, smooth, log, k)
            if not len(rx):
                continue
            drawn += 1
            if sm is not None:
                ax.plot(_xvalues(rx, axis), ry, color=color, alpha=0.25, linewidth=0.8,
                        gid=f"raw-{p}-{i}")
                x, y = sm
            else:
                x, y = rx, ry
            ax.plot(_xvalues(x, axis), y, color=color, linestyle=ls, linewidth=1.6, label=c.label,
                    gid=f"series-{p}-{i}")
            for j, m in enumerate(c.marks):
                if m is not None and math.isfinite(m):
                    ax.axvline(_xvalues([m], axis)[0], color=color, linestyle=(0, (1, 2)), linewidth=1.0,
                               alpha=0.7, gid=f"resume-{p}-{i}-{j}")
        if log and drawn:
            ax.set_yscale("log")
        ax.set_ylabel(metric + (" (log)" if log else ""))
        ax.grid(True, alpha=0.3)
        if drawn:
            # a fixed corner: "best" would search every point of every curve
            ax.legend(fontsize="small", loc="upper right", ncols=max(1, min(4, drawn // 8 + 1)))
        else:
            ax.text(0.5, 0.5, "no points", ha="center", va="center", transform=ax.transAxes)
    if len(axes):
        xlabel = {"step": "step", "epoch": "epoch", "time": "time"}[axis]
        if smooth:
            xlabel += f"   (EMA {smooth:g}, raw faint; dotted verticals: resumed)"
        axes[-1].set_xlabel(xlabel)
    if title:
        fig.suptitle(title)
    out.parent.mkdir(parents=True, exist_ok=True)
    # metadata: no dates or versions in the file, so the same curves give the same bytes
    meta = {"Date": None} if fmt == "svg" else {"Software": None}
    fig.savefig(out, format=fmt, dpi=dpi, metadata=meta)
    return out
