"""Metric series for the app: incremental readers (worker side) and the store (UI side).

The worker calls :meth:`SeriesReader.read_new` (byte-offset tail of the run's metric
source); the chunk it returns is posted to the UI thread and appended to a
:class:`RunSeries` there, so the store is only ever mutated by message handlers.

When ``tui.core.metrics`` is present its incremental reader is used (it also parses
plain stdout of foreign trainers); otherwise ``metrics.jsonl`` is tailed here.
"""

from __future__ import annotations

import json
import math
import os
from array import array
from dataclasses import dataclass, field
from pathlib import Path

AXES = ("step", "epoch", "time")


@dataclass
class Chunk:
    """New points of one run since the previous read (plain lists: cheap to post)."""

    run_id: str
    rows: list[dict]
    reset: bool = False  # the file was truncated/replaced: drop what the store holds


class SeriesReader:
    """Reads ``<run_dir>/metrics.jsonl`` from a byte offset; owned by the poll worker."""

    def __init__(self, run_id: str, run_dir: Path):
        self.run_id = run_id
        self.path = Path(run_dir) / "metrics.jsonl"
        self.offset = 0
        self.ino = None
        self._partial = b""

    def read_new(self, max_bytes: int | None = None) -> Chunk | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        reset = False
        if self.ino is not None and (st.st_ino != self.ino or st.st_size < self.offset):
            self.offset, self._partial, reset = 0, b"", True
        self.ino = st.st_ino
        if st.st_size == self.offset and not reset:
            return None
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read(max_bytes if max_bytes else -1)
        self.offset += len(data)
        data = self._partial + data
        cut = data.rfind(b"\n")
        if cut < 0:
            self._partial = data
            return Chunk(self.run_id, [], reset) if reset else None
        self._partial = data[cut + 1:]
        rows = []
        loads = json.loads
        for line in data[:cut].split(b"\n"):
            if not line:
                continue
            try:
                d = loads(line)
            except ValueError:
                continue
            if isinstance(d, dict):
                rows.append(d)
        return Chunk(self.run_id, rows, reset)

    @property
    def done(self) -> bool:
        try:
            return os.stat(self.path).st_size <= self.offset
        except OSError:
            return True


def _f(v) -> float:
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return math.nan
    return math.nan


@dataclass
class RunSeries:
    """Columns of one run: step/epoch/time axes and one array per metric (NaN where absent)."""

    run_id: str
    axes: dict = field(default_factory=lambda: {a: array("d") for a in AXES})
    values: dict = field(default_factory=dict)
    n: int = 0
    version: int = 0
    nonfinite: dict = field(default_factory=dict)  # metric -> first step where NaN/inf appeared

    def clear(self) -> None:
        self.axes = {a: array("d") for a in AXES}
        self.values = {}
        self.n = 0
        self.nonfinite = {}
        self.version += 1

    def extend(self, rows: list[dict]) -> None:
        if not rows:
            return
        ax, vals = self.axes, self.values
        n = self.n
        for d in rows:
            step = d.get("step")
            ax["step"].append(_f(step) if step is not None else float(n))
            ax["epoch"].append(_f(d.get("epoch")))
            ax["time"].append(_f(d.get("time")))
            for k, v in d.items():
                if k in ("step", "epoch", "time") or isinstance(v, (dict, list, type(None))):
                    continue
                x = _f(v)
                if isinstance(v, str) and x != x and v.strip().lower() != "nan":
                    continue  # a text field ("phase": "eval"), not a metric
                col = vals.get(k)
                if col is None:
                    col = vals[k] = array("d", [math.nan]) * n
                if not math.isfinite(x):
                    self.nonfinite.setdefault(k, ax["step"][-1])
                col.append(x)
            n += 1
            for col in vals.values():
                if len(col) < n:
                    col.append(math.nan)
        self.n = n
        self.version += 1

    def metrics(self) -> list[str]:
        return list(self.values)

    def xy(self, metric: str, axis: str = "step") -> tuple[array, array]:
        return self.axes.get(axis, self.axes["step"]), self.values.get(metric, array("d"))

    def last_step(self) -> float | None:
        s = self.axes["step"]
        return s[-1] if s else None
