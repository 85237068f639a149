"""Metric direction: THE rule for whether higher or lower is better (``goal_of``), and the
per-metric final/best values built on it (``metric_stats``, ``finals``).

``goal_of(name, goals)``: ``"max"``, ``"min"`` or ``None`` (unknown: no "best" is claimed).
``goals`` are the experiment's ``[experiments.X.metrics] goals = { psnr = "max" }`` (an exact
metric name, else its last ``/`` part, e.g. ``psnr`` for ``val/psnr``); otherwise the defaults
by name below.  The app's table and compare view, ``ls --json``/``show --json`` and the flag
rules' "lower is better" (cliffs) all ask this function.
"""

from __future__ import annotations

import math
import re
from typing import Mapping

from ..errors import UserError
from ._numeric import as_np, numpy

GOALS = ("max", "min")
_TOKENS = re.compile(r"[^a-z0-9]+")
# a lower-is-better word wins over a higher-is-better one (``fid_score``, ``top1_err``, ``psnr_loss``)
_MIN = re.compile(r"(?:.*loss|loss.*|err[a-z]?|errs|error|errors|.*error|perplexity|ppl|bpc|bpd|wer|cer|"
                  r"fid\d*|swd|epe|mse|mae|rmse|nll|mape|regret|distortion)$")
_MAX = re.compile(r"(?:acc|acc\d+|accuracy|.*acc|.*accuracy|f1|f\d|fb1|f1score|precision|prec\d*|recall|"
                  r"rec\d+|auc|auroc|auprc|roc|map|map\d*|ap|ap\d+|aps|apm|apl|miou|iou|mdice|dice|psnr|"
                  r"ssim|msssim|bleu\d*|rouge\w*|meteor|cider|reward|rewards|rew|return|returns|ret|"
                  r"score|scores|top\d+|ndcg|mrr|hits?\d*|fps|throughput|r2|ious|modes|win|wins|winrate|"
                  r"success|exact|em)$")
_RATE = re.compile(r"(?:[_/ ]per[_ ]?s(?:ec(?:ond)?)?|/s(?:ec)?|it/s|its/s|samples/s)$", re.IGNORECASE)


def goal_of(name: str, goals: Mapping[str, str] | None = None) -> str | None:
    """``"max"`` (higher is better), ``"min"`` (lower is better) or ``None`` (unknown)."""
    if goals:
        g = goals.get(name)
        if g is None:
            g = goals.get(name.rsplit("/", 1)[-1])
        if g in GOALS:
            return g
    if _RATE.search(name):
        return "max"
    low = name.lower()
    tokens = [t for t in _TOKENS.split(low) if t]
    if any(_MIN.match(t) for t in tokens):
        return "min"
    if any(_MAX.match(t) for t in tokens):
        return "max"
    return None


def lower_is_better(name: str, goals: Mapping[str, str] | None = None) -> bool:
    return goal_of(name, goals) == "min"


def goals_from_config(cfg, where: str) -> dict[str, str]:
    """``goals = { name = "max" | "min" }`` from a metrics table (UserError when malformed)."""
    if cfg is None:
        return {}
    if not isinstance(cfg, dict) or not all(isinstance(k, str) and v in GOALS for k, v in cfg.items()):
        raise UserError(f'{where}: metrics.goals must be a table of name = "max" or "min"')
    return dict(cfg)


def metric_stats(series: Mapping) -> dict[str, list]:
    """Per metric ``[last, step, min, min_step, max, max_step]`` over its finite values (the
    first x where the extreme happened); None entries when the series has no finite value."""
    out: dict[str, list] = {}
    np = numpy()
    for name, s in series.items():
        n = len(s)
        if np is not None and n > 64:
            y, x = as_np(s.y[:n]), as_np(s.x[:n])
            idx = np.flatnonzero(np.isfinite(y))
            if not len(idx):
                out[name] = [None] * 6
                continue
            fy = y[idx]
            i_lo, i_hi, i_last = idx[int(fy.argmin())], idx[int(fy.argmax())], idx[-1]
            out[name] = [float(y[i_last]), float(x[i_last]), float(y[i_lo]), float(x[i_lo]),
                         float(y[i_hi]), float(x[i_hi])]
            continue
        y, x = s.y, s.x
        last = step = lo = hi = lo_x = hi_x = None
        for i in range(n):
            v = y[i]
            if not math.isfinite(v):
                continue
            last, step = v, x[i]
            if lo is None or v < lo:
                lo, lo_x = v, x[i]
            if hi is None or v > hi:
                hi, hi_x = v, x[i]
        out[name] = [last, step, lo, lo_x, hi, hi_x]
    return out


def best_of(row: list, goal: str | None) -> tuple[float | None, float | None]:
    """(best, x of best) of a ``metric_stats`` row for a goal; (None, None) when unknown."""
    if goal == "min":
        return row[2], row[3]
    if goal == "max":
        return row[4], row[5]
    return None, None


def finals(stats: Mapping[str, list], goals: Mapping[str, str] | None = None) -> dict[str, dict]:
    """``{"loss": {"last": .., "step": .., "best": .., "best_step": ..}}`` (JSON output)."""
    out = {}
    for name, row in stats.items():
        if name == "epoch":
            continue
        best, bx = best_of(row, goal_of(name, goals))
        out[name] = {"last": row[0], "step": row[1], "best": best, "best_step": bx}
    return out
