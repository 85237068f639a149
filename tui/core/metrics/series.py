"""A metric series (compact ``array('d')`` columns), the parsers' shared sink, and the
on-disk series cache (``RunDir.METRICS_CACHE``): a JSON header followed by raw arrays."""

from __future__ import annotations

import json
import math
import os
import struct
from array import array
from typing import Callable

from ..fsio import write_atomic
from ._numeric import numpy

CACHE_MAGIC = b"LTMC2\n"


class Series:
    """One metric: parallel compact arrays ``x``, ``y``, ``wall`` (unix seconds), all ``array('d')``."""

    __slots__ = ("name", "x", "y", "wall")

    def __init__(self, name: str, x=None, y=None, wall=None):
        self.name = name
        self.x = x if x is not None else array("d")
        self.y = y if y is not None else array("d")
        self.wall = wall if wall is not None else array("d")

    def __len__(self) -> int:
        return min(len(self.x), len(self.y), len(self.wall))

    def __repr__(self) -> str:
        return f"Series({self.name!r}, {len(self)} points)"

    def put(self, x: float, y: float, wall: float, per_step: bool) -> None:
        """Add a point; with ``per_step`` a point at the same x as the last one replaces it (a
        later print or row of a step wins: one value per step on the step axis)."""
        n = len(self.x)
        if per_step and n and self.x[n - 1] == x:
            self.y[n - 1] = y
            self.wall[n - 1] = wall
        else:
            self.x.append(x)
            self.y.append(y)
            self.wall.append(wall)

    def copy(self) -> "Series":
        n = len(self)
        return Series(self.name, self.x[:n], self.y[:n], self.wall[:n])

    def digest(self, tail: int = 50) -> "Series":
        """A few points that every summary of this series reads the same: the first point, the
        last ``tail`` (rates look at the last 50), the first minimum and first maximum of the
        finite y and the last finite y.  What a program holds of a series it does not draw."""
        n = len(self)
        if n <= tail + 4:
            return self.copy()
        keep = {0, *range(n - tail, n)}
        np = numpy()
        if np is not None:
            y = np.frombuffer(self.y, dtype=np.float64, count=n)
            idx = np.flatnonzero(np.isfinite(y))
            if len(idx):
                fy = y[idx]
                keep.update((int(idx[int(fy.argmin())]), int(idx[int(fy.argmax())]), int(idx[-1])))
        else:
            lo = hi = last = None
            for i in range(n):
                v = self.y[i]
                if not math.isfinite(v):
                    continue
                last = i
                if lo is None or v < self.y[lo]:
                    lo = i
                if hi is None or v > self.y[hi]:
                    hi = i
            keep.update(i for i in (lo, hi, last) if i is not None)
        order = sorted(keep)
        return Series(self.name, *(array("d", (col[i] for i in order)) for col in (self.x, self.y, self.wall)))



class Sink:
    """Parser state shared by the text, JSON-lines and CSV readers."""

    kind = "base"
    last_traceback: str | None = None   # the text parser keeps the log's last traceback

    def __init__(self):
        self.series: dict[str, Series] = {}
        self.axis: str | None = None
        self.last_step: float | None = None
        self.last_epoch: float | None = None
        self.line_no = 0          # metric lines seen
        self.user_names: set[str] = set()

    def get(self, name: str) -> Series:
        s = self.series.get(name)
        if s is None:
            s = self.series[name] = Series(name)
        return s

    def state(self) -> dict:
        return {"axis": self.axis, "last_step": self.last_step, "last_epoch": self.last_epoch,
                "line_no": self.line_no, "user_names": sorted(self.user_names)}

    def set_state(self, st: dict) -> None:
        self.axis = st.get("axis")
        self.last_step = st.get("last_step")
        self.last_epoch = st.get("last_epoch")
        self.line_no = st.get("line_no", 0)
        self.user_names = set(st.get("user_names", ()))



def write_series_cache(path: str | os.PathLike, header: dict, series: dict[str, Series]) -> None:
    """Write ``header`` (JSON; ``series`` = [[name, n], ...] is added) and each series' x, y,
    wall as raw doubles, atomically (``fsio.write_atomic``)."""
    names = list(series)
    hdr = dict(header, series=[[k, len(series[k])] for k in names])
    blob = json.dumps(hdr).encode()
    parts = [CACHE_MAGIC, struct.pack("<I", len(blob)), blob]
    for k in names:
        s = series[k]
        n = len(s)
        for a in (s.x, s.y, s.wall):
            parts.append((a if len(a) == n else a[:n]).tobytes())
    write_atomic(path, b"".join(parts))


def read_series_cache(path: str | os.PathLike, accept: Callable[[dict], bool]
                      ) -> tuple[dict, dict[str, Series]] | None:
    """(header, series) from a cache file whose header ``accept`` approves; None for a
    missing, foreign, stale or damaged file (never raises for bad content)."""
    try:
        with open(path, "rb") as f:
            if f.read(len(CACHE_MAGIC)) != CACHE_MAGIC:
                return None
            (hl,) = struct.unpack("<I", f.read(4))
            hdr = json.loads(f.read(hl))
            if not isinstance(hdr, dict) or not accept(hdr):
                return None
            out: dict[str, Series] = {}
            for name, n in hdr["series"]:
                cols = []
                for _ in range(3):
                    a = array("d")
                    a.fromfile(f, n)
                    cols.append(a[:])  # a slice is allocated exactly (fromfile over-allocates)
                out[name] = Series(name, *cols)
    except (OSError, ValueError, KeyError, EOFError, struct.error, TypeError):
        return None
    return hdr, out
