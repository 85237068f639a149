"""Detectors on one series: the first non-finite value and the first "loss cliff"."""

from __future__ import annotations

import math
from typing import Sequence

from ._numeric import as_np, numpy
from .series import Series


def first_nonfinite(s: Series) -> float | None:
    y = s.y
    np = numpy() if len(y) > 64 else None
    if np is not None:
        a = np.frombuffer(y, dtype=np.float64, count=len(s))
        bad = ~np.isfinite(a)
        if bad.any():
            return s.x[int(bad.argmax())]
        return None
    isfin = math.isfinite
    for i in range(len(s)):
        if not isfin(y[i]):
            return s.x[i]
    return None


def _median(v: list[float]) -> float:
    v = sorted(v)
    n = len(v)
    return v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2])


def find_cliff(y: Sequence[float], window: int = 50, z: float = 12.0, rel: float = 0.25,
               warmup: int = 20, max_points: int = 20000) -> int | None:
    """Index of the first point departing from the median of the preceding ``window`` points
    by more than ``z`` robust sigmas (1.4826 * MAD) *and* by ``rel`` of the median's size.
    Long series are judged on block medians (at most ``max_points`` blocks), then refined."""
    n = len(y)
    np = numpy() if n > 2 * window else None
    if n > max_points:
        b = -(-n // max_points)
        if np is not None:
            blocks = _block_medians(np, y, n, b)
            j = _cliff_scan_np(np, blocks, window, z, rel, warmup)
            if j is None:
                return None
            ref = [float(v) for v in blocks[max(0, j - window):j] if v == v]
        else:
            blocks = []
            for i in range(0, n, b):
                seg = [v for v in y[i:i + b] if math.isfinite(v)]
                blocks.append(_median(seg) if seg else None)
            j = _cliff_scan(blocks, window, z, rel, warmup)
            if j is None:
                return None
            ref = [v for v in blocks[max(0, j - window):j] if v is not None]
        med = _median(ref)
        for i in range(j * b, min(n, (j + 1) * b)):
            if math.isfinite(y[i]) and abs(y[i] - med) > rel * max(abs(med), 1e-12):
                return i
        return j * b
    if np is not None:
        return _cliff_scan_np(np, as_np(y)[:n], window, z, rel, warmup)
    fin = [v if math.isfinite(v) else None for v in y]
    return _cliff_scan(fin, window, z, rel, warmup)


def _block_medians(np, y, n: int, b: int):
    """Median of the finite values of each block ``y[i:i+b]`` (NaN where none), as ``_median``."""
    a = as_np(y)[:n]
    nb = -(-n // b)
    v = np.full(nb * b, np.nan)
    v[:n] = a
    v[~np.isfinite(v)] = np.nan
    v = np.sort(v.reshape(nb, b), axis=1)        # NaNs sort last
    c = b - np.isnan(v).sum(axis=1)               # finite values per block
    rows = np.arange(nb)
    hi = v[rows, np.minimum(c // 2, b - 1)]
    lo = v[rows, np.maximum(c // 2 - 1, 0)]
    med = np.where(c % 2 == 1, hi, 0.5 * (lo + hi))
    med[c == 0] = np.nan
    return med


def _cliff_scan_np(np, v, window: int, z: float, rel: float, warmup: int) -> int | None:
    """``_cliff_scan`` over a float array (NaN/inf = skipped): the first ``window`` finite
    values run the exact Python scan, the rest are judged on sliding windows in chunks."""
    fin = np.isfinite(v)
    idx = np.flatnonzero(fin)
    f = v[idx]
    m = len(f)
    head = _cliff_scan(f[:window].tolist(), window, z, rel, warmup)
    if head is not None:
        return int(idx[head])
    if m <= window or warmup > window:
        return None
    wins = np.lib.stride_tricks.sliding_window_view(f, window)         # wins[p] = f[p:p+window]; judges f[p+window]
    zk = z * 1.4826
    step = 4096
    for p0 in range(0, m - window, step):
        p1 = min(m - window, p0 + step)
        w = wins[p0:p1]
        med = _row_median(np, w)
        mad = _row_median(np, np.abs(w - med[:, None]))
        val = f[p0 + window:p1 + window]
        d = np.abs(val - med)
        hit = (d > zk * mad) & (d > rel * np.maximum(np.abs(med), 1e-12)) & (d > 1e-12)
        if hit.any():
            return int(idx[p0 + window + int(hit.argmax())])
    return None


def _row_median(np, w):
    """Median of each row, as ``_median`` computes it (``0.5 * (a + b)`` for an even count)."""
    k = w.shape[1]
    h = k // 2
    p = np.sort(w, axis=1)  # faster than np.partition / np.median for short rows
    if k % 2:
        return p[:, h]
    return 0.5 * (p[:, h - 1] + p[:, h])


def _cliff_scan(v: list, window: int, z: float, rel: float, warmup: int) -> int | None:
    recent: list[float] = []
    for i, val in enumerate(v):
        if val is None:
            continue
        if len(recent) >= warmup:
            med = _median(recent)
            mad = _median([abs(r - med) for r in recent])
            d = abs(val - med)
            if d > z * 1.4826 * mad and d > rel * max(abs(med), 1e-12) and d > 1e-12:
                return i
        recent.append(val)
        if len(recent) > window:
            recent.pop(0)
    return None
