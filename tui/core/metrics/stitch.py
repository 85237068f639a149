"""THE stitching rule: a resumed run's curve continues its parent's.

For each child of a lineage (root .. run, ``tui.core.lineage.chain``) the takeover x ``r`` is
the child's ``resume_step`` (journal), else the child's first x (over all its series).  Every
earlier run's points after ``r`` are dropped (they were computed past the checkpoint the
child resumed from); the point at ``r`` itself is kept (the checkpoint holds the state after
step ``r``, the child logs from the next one) unless the child logs ``r`` itself; a child that restarted counting below ``r`` is shifted onto it (one
shift for all its series); ``r`` is a resume mark.  A child with no ``resume_step`` and no
points yet changes nothing.

Two views of the rule:
- ``stitched(journal, run_id)`` -> ``Stitched``: every metric as one ``Series`` (the CLI's
  ``labtui metrics --stitch``), with ``resume_points`` = ``[(run_id, r), ...]``.
- ``lineage_curve(data, runs, run_id, metric, axis)`` -> ``(xs, ys, marks)`` numpy arrays for a
  plot, x by ``step`` (the run's own x), ``epoch`` (steps mapped through each run's ``epoch``
  series) or ``time`` (wall clock); memoised while no run of the chain changed.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from typing import Any, Mapping, NamedTuple, Sequence

from ..lineage import chain
from ._numeric import numpy
from .patterns import as_journal, patterns_for_run
from .series import Series
from .sources import RunMetrics


class Part(NamedTuple):
    """One run of a lineage as the stitcher sees it."""

    run_id: str
    series: Mapping[str, Series] | None
    resume_step: Any = None           # the run's journal ``resume_step`` (ignored for the root)


@dataclass
class Stitched:
    series: dict[str, Series]
    x_axis: str
    resume_points: list[tuple[str, float]] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)


def takeover(part: Part) -> tuple[float | None, float]:
    """(r, shift) of a child: where it takes over and how far its own x moves (0 or more)."""
    ser = part.series or {}
    first = min((s.x[0] for s in ser.values() if len(s)), default=None)
    rs = part.resume_step
    r = float(rs) if isinstance(rs, (int, float)) and not isinstance(rs, bool) else first
    if r is None:
        return None, 0.0
    shift = (r - first) if first is not None and first < r else 0.0
    return r, shift


def _segments(parts: Sequence[Part], metric: str):
    """([(x, y, wall, epoch_series, shift), ...] numpy views/copies after the cuts, marks)."""
    np = numpy()
    segs: list[tuple] = []
    marks: list[float] = []
    for i, p in enumerate(parts):
        ser = p.series or {}
        shift = 0.0
        if i > 0:
            r, shift = takeover(p)
            if r is None:
                continue
            # The checkpoint holds the state after step r: earlier runs keep their point at r
            # unless this child logs r itself (its own first x of this metric, after its shift).
            own = ser.get(metric)
            logs_r = own is not None and len(own) > 0 and own.x[0] + shift <= r
            side = "left" if logs_r else "right"
            cut = []
            for x, y, w, ep, sh in segs:
                k = int(np.searchsorted(x, r, side=side))
                cut.append((x[:k], y[:k], w[:k], ep, sh))
            segs = cut
            marks.append(r)
        s = ser.get(metric)
        if s is None or not len(s):
            continue
        n = len(s)
        x = np.frombuffer(s.x, dtype=np.float64, count=n)
        if shift:
            x = x + shift
        segs.append((x, np.frombuffer(s.y, dtype=np.float64, count=n),
                     np.frombuffer(s.wall, dtype=np.float64, count=n), ser.get("epoch"), shift))
    return segs, marks


def stitch_curve(parts: Sequence[Part], metric: str, axis: str = "step"):
    """(xs, ys, marks) of one metric over a lineage; ``axis`` is ``step``, ``epoch`` or ``time``."""
    np = numpy()
    segs, marks = _segments(parts, metric)
    if not segs:
        return [], [], []
    steps = np.concatenate([sg[0] for sg in segs])
    if axis == "step":
        xs = steps
    elif axis == "time":
        xs = np.concatenate([sg[2] for sg in segs])
        if marks:
            marks = [float(np.interp(m, steps, xs)) for m in marks]
    else:  # epoch: each run's steps mapped onto its own epoch series (its own, unshifted x)
        mapped = []
        for x, _y, _w, ep, sh in segs:
            if ep is not None and len(ep) >= 2:
                ex = np.frombuffer(ep.x, dtype=np.float64, count=len(ep))
                ey = np.frombuffer(ep.y, dtype=np.float64, count=len(ep))
                mapped.append(np.interp(x - sh if sh else x, ex, ey))
            else:
                mapped.append(np.full(len(x), np.nan))
        xs = np.concatenate(mapped)
        if marks and np.isfinite(xs).any():
            ok = np.isfinite(xs)
            marks = [float(np.interp(m, steps[ok], xs[ok])) for m in marks]
    ys = np.concatenate([sg[1] for sg in segs])
    return xs, ys, marks


# --------------------------------------------------------------------------- the app's view

def _resume_step(rec: Any) -> Any:
    if isinstance(rec, Mapping):
        return rec.get("resume_step")
    return getattr(rec, "resume_step", None)


class CurveMemo:
    """Keeps the last result per (run, metric, axis) while its signature holds."""

    def __init__(self, size: int = 256):
        self.size = size
        self._d: dict = {}

    def get(self, key, sig, held, compute):
        hit = self._d.get(key)
        if hit is not None and hit[0] == sig:
            return hit[2]
        res = compute()
        self._d.pop(key, None)
        self._d[key] = (sig, held, res)  # held: the objects whose ids are in sig stay alive
        while len(self._d) > self.size:
            self._d.pop(next(iter(self._d)))
        return res

    def clear(self) -> None:
        self._d.clear()


CURVES = CurveMemo()


def lineage_curve(data: Mapping[str, Any], runs: Mapping[str, Any], run_id: str, metric: str,
                  axis: str = "step", memo: CurveMemo | None = CURVES):
    """One curve for a (resumed) run: ``stitch_curve`` over ``chain(runs, run_id)``.

    ``data``: id -> an object with ``.series`` and ``.version`` (the app's ``RunData``, a
    ``RunMetrics``); ``runs``: id -> record with ``parent``/``resume_step`` (``RunInfo`` or a
    journal table).  Memoised: while no run of the chain got new data (same objects and
    versions, same resume steps) the same arrays are returned (callers must not modify them),
    so a plot's per-curve caches hold."""
    if run_id not in runs:
        return [], [], []
    ids = chain(runs, run_id)
    held = tuple(data.get(c) for c in ids)
    parts = [Part(c, getattr(d, "series", None), _resume_step(runs[c])) for c, d in zip(ids, held)]
    if memo is None:
        return stitch_curve(parts, metric, axis)
    sig = tuple((p.run_id, id(d), getattr(d, "version", None), p.resume_step) for p, d in zip(parts, held))
    return memo.get((run_id, metric, axis), sig, held, lambda: stitch_curve(parts, metric, axis))


# --------------------------------------------------------------------------- the CLI's view

def stitched(journal, run_id: str, metrics: dict[str, RunMetrics] | None = None) -> Stitched:
    """Every metric over the lineage root..run_id as one Series each.  ``metrics`` may hold
    already-polled RunMetrics by id (reused, polled, and new ones added)."""
    j = as_journal(journal)
    data = j.read()
    runs = data.get("runs") or {}
    ids = chain(runs, run_id)
    parts: list[Part] = []
    axis = None
    readers = []
    for rid in ids:
        rm = (metrics or {}).get(rid)
        if rm is None:
            rm = RunMetrics(j.run_dir(rid), patterns_for_run(data, rid))
            if metrics is not None:
                metrics[rid] = rm
        rm.poll()
        readers.append(rm)
    names: dict[str, None] = {}
    for rid, rm in zip(ids, readers):
        with rm.lock:
            ser = rm.snapshot()
            if axis is None and ser:
                axis = rm.x_axis
        names.update(dict.fromkeys(ser))
        parts.append(Part(rid, ser, _resume_step(runs.get(rid) or {})))
    points = []
    for p in parts[1:]:
        r, _shift = takeover(p)
        if r is not None:
            points.append((p.run_id, r))
    out: dict[str, Series] = {}
    np = numpy()
    for k in names:
        segs, _marks = _segments(parts, k)
        cols = [np.concatenate([sg[c] for sg in segs]) if segs else np.zeros(0) for c in range(3)]
        out[k] = Series(k, *(array("d", c.tobytes()) for c in cols))
    return Stitched(out, axis or "line", points, ids)
