"""Fewer points for a plot (min/max buckets) and TensorBoard-style EMA smoothing.

Both have numpy fast paths (used when numpy imports) and pure-Python paths with the same
contract; ``plot_points`` is what every plot draws (the app's and ``labtui plot``'s)."""

from __future__ import annotations

import math
from array import array
from typing import Iterable, Sequence

from ._numeric import as_np, numpy


def downsample(x: Sequence[float], y: Sequence[float], k: int) -> tuple[array, array]:
    """At most ``k`` points: per bucket of consecutive points its min and max (in x order);
    the first, last, global min/max and the first non-finite value of each bucket are kept."""
    n = min(len(x), len(y))
    k = max(int(k), 5)  # first, last, min, max and a non-finite point fit
    if n <= k:
        return array("d", x[:n]), array("d", y[:n])
    if numpy() is not None:
        return _downsample_np(x, y, n, k)
    nb = (k - 2) // 3
    idx = {0, n - 1}
    isfin = math.isfinite
    for b in range(nb):
        a0, a1 = b * n // nb, (b + 1) * n // nb
        seg = y[a0:a1]
        fin = [v for v in seg if isfin(v)]
        if len(fin) != len(seg):
            for j, v in enumerate(seg):
                if not isfin(v):
                    idx.add(a0 + j)
                    break
        if fin:
            lo, hi = min(fin), max(fin)
            idx.add(a0 + _index(seg, lo))
            idx.add(a0 + _index(seg, hi))
    order = sorted(idx)
    return array("d", (x[i] for i in order)), array("d", (y[i] for i in order))


def _index(seg, v):
    try:
        return seg.index(v)
    except ValueError:
        return 0


def _downsample_np(x, y, n, k):
    np = numpy()
    xa = np.frombuffer(x, dtype=np.float64, count=n) if isinstance(x, array) else np.asarray(x[:n], float)
    ya = np.frombuffer(y, dtype=np.float64, count=n) if isinstance(y, array) else np.asarray(y[:n], float)
    with np.errstate(all="ignore"):
        allfin = bool(np.isfinite(ya.sum()))  # one pass; an overflowing sum takes the slow path
    fin = None if allfin else np.isfinite(ya)
    nb = (k - 2) // (2 if allfin else 3)
    m = (n // nb) * nb
    sel = [np.array([0, n - 1])]
    yb = ya[:m].reshape(nb, -1)
    if allfin:
        lo = yb.argmin(axis=1)
        hi = yb.argmax(axis=1)
    else:
        yf = np.where(fin[:m], ya[:m], np.nan).reshape(nb, -1)
        with np.errstate(all="ignore"):
            yl = np.where(np.isnan(yf), np.inf, yf)
            yh = np.where(np.isnan(yf), -np.inf, yf)
        lo, hi = yl.argmin(axis=1), yh.argmax(axis=1)
        nf = ~fin[:m].reshape(nb, -1)
        has = nf.any(axis=1)
        sel.append(np.flatnonzero(has) * (m // nb) + nf.argmax(axis=1)[has])
    base = np.arange(nb) * (m // nb)
    sel += [base + lo, base + hi]
    if m < n:  # the remainder bucket
        r = ya[m:]
        if np.isfinite(r).any():
            rr = np.where(np.isfinite(r), r, np.nan)
            sel.append(np.array([m + int(np.nanargmin(rr)), m + int(np.nanargmax(rr))]))
        if not np.isfinite(r).all():
            sel.append(np.array([m + int(np.argmax(~np.isfinite(r)))]))
    order = _sorted_unique(np, np.concatenate(sel))
    if len(order) > k:  # the remainder bucket can push us over by a couple
        must = [0, n - 1]
        if allfin:
            must += [int(ya.argmin()), int(ya.argmax())]
        else:
            if fin.any():
                yf = ya[fin]
                fi = np.flatnonzero(fin)
                must += [int(fi[yf.argmin()]), int(fi[yf.argmax()])]
            if not fin.all():
                must.append(int(np.argmax(~fin)))
        must = _sorted_unique(np, np.array(must))
        rest = np.setdiff1d(order, must, assume_unique=True)
        room = k - len(must)
        if room > 0 and len(rest):
            rest = rest[_sorted_unique(np, np.linspace(0, len(rest) - 1, room).astype(int))]
        else:
            rest = rest[:0]
        order = _sorted_unique(np, np.concatenate((must, rest)))
    return array("d", xa[order].tobytes()), array("d", ya[order].tobytes())


def _sorted_unique(np, a):
    """``np.unique(a)`` for a 1-d integer array, without its first call's cost: numpy 2's
    ``unique`` imports ``numpy.ma`` (~40-120 ms of CPU) on the thread that draws the app's
    first curve."""
    a = np.sort(a)
    if len(a) < 2:
        return a
    keep = np.empty(len(a), dtype=bool)
    keep[0] = True
    np.not_equal(a[1:], a[:-1], out=keep[1:])
    return a[keep]


def ema(y: Iterable[float], weight: float) -> array:
    """Debiased exponential moving average (TensorBoard's smoothing slider, weight in [0, 1));
    non-finite values pass through without disturbing the average."""
    w = min(max(float(weight), 0.0), 0.999999)
    np = numpy() if w else None
    if np is not None:
        ya = as_np(y)
        if len(ya) > 64:
            out = _ema_np(np, ya, w)
            if out is not None:
                return array("d", out.tobytes())
    return _ema_py(y, w)


def _ema_py(y: Iterable[float], w: float) -> array:
    out = array("d")
    last, num = 0.0, 0
    isfin = math.isfinite
    for v in y:
        if not isfin(v):
            out.append(v)
            continue
        last = last * w + (1 - w) * v
        num += 1
        out.append(last / (1 - w ** num) if w else v)
    return out


def _ema_np(np, ya, w: float):
    """``_ema_py`` vectorised: blocks of B points where ``w**-B`` stays below 2**40; within a
    block ``last_i = w**i * (L0 + (1-w) * cumsum(v_j * w**-j))``; one Python step per block
    carries the state.  Agrees with the sequential recurrence to ~1e-11 relative (cumsum rounding)."""
    fin = np.isfinite(ya)
    allfin = bool(fin.all())
    v = ya if allfin else ya[fin]
    m = len(v)
    out_f = np.empty(m)
    if m:
        B = int(min(m, max(1, math.floor(40 * math.log(2) / -math.log(w)))))
        j = np.arange(1, B + 1, dtype=np.float64)
        wp = w ** j                   # w**1 .. w**B
        winv = w ** -j                # w**-1 .. w**-B
        nb = -(-m // B)
        pad = nb * B - m
        vb = (np.concatenate([v, np.zeros(pad)]) if pad else v).reshape(nb, B)
        part = np.cumsum(vb * winv, axis=1)          # zero-start partial sums, scaled
        part *= (1 - w)
        part *= wp                                    # last_i of a block started from 0
        if nb > 1:
            carry = np.empty(nb)
            wB = float(wp[-1])
            L = 0.0
            ends = part[:, -1].tolist()
            for b in range(nb):
                carry[b] = L
                L = ends[b] + wB * L
            part += carry[:, None] * wp[None, :]
        last = part.reshape(-1)[:m]
        num = np.arange(1, m + 1, dtype=np.float64)
        with np.errstate(all="ignore"):
            # 1 - w**n as -expm1(n log w): exact where w**n is near 1, and 50x faster than
            # np.power, which crawls through subnormals once w**n underflows (w=0.6: 6 ms/100k).
            out_f = last / -np.expm1(num * math.log1p(w - 1))
        if not np.isfinite(out_f).all():
            return None  # overflow somewhere: the sequential recurrence decides
    if allfin:
        return out_f
    out = ya.copy()
    out[fin] = out_f
    return out


def plot_points(xs, ys, columns: int) -> tuple[list, list]:
    """The points a plot ``columns`` wide draws: non-finite points dropped, then about two per
    column (``downsample`` with ``k = 2 * columns``); plain lists."""
    np = numpy()
    if np is None:
        pts = [(a, b) for a, b in zip(xs, ys) if math.isfinite(a) and math.isfinite(b)]
        x, y = array("d", (p[0] for p in pts)), array("d", (p[1] for p in pts))
        if len(x) <= max(2 * columns, 5):
            return list(x), list(y)
        dx, dy = downsample(x, y, 2 * columns)
        return list(dx), list(dy)
    x = np.asarray(xs, dtype=float)
    y = np.asarray(ys, dtype=float)
    n = min(len(x), len(y))
    x, y = x[:n], y[:n]
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.all():
        x, y = x[ok], y[ok]
    if len(x) <= max(2 * columns, 5):
        return x.tolist(), y.tolist()
    dx, dy = _downsample_np(np.ascontiguousarray(x), np.ascontiguousarray(y), len(x), 2 * columns)
    return dx.tolist(), dy.tolist()
