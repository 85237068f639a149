"""Structured metric files: JSON lines (our trainers' ``metrics.jsonl``) and metrics CSVs."""

from __future__ import annotations

import csv
import io
import json

from .series import Series, Sink


def _flatten(obj: dict, prefix: str, out: dict) -> None:
    for k, v in obj.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict):
            _flatten(v, name + "/", out)
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out[name] = float(v)


class JsonlParser(Sink):
    """Our trainers' ``metrics.jsonl``: exact keys; ``step`` and ``time`` are not series, ``epoch``
    is the x axis when there is no step, else an ``epoch`` series beside the metrics."""

    kind = "jsonl"

    def feed(self, lines: list[str], w0: float, w1: float) -> bool:
        changed = False
        loads = json.loads
        for line in lines:
            if not line or line[0] != "{":
                continue
            try:
                obj = loads(line)
            except ValueError:
                continue
            if not isinstance(obj, dict):
                continue
            vals: dict[str, float] = {}
            _flatten(obj, "", vals)
            step = vals.pop("step", None)
            epoch = vals.pop("epoch", None)
            wall = vals.pop("time", None)
            if step is not None:
                self.last_step = step
            if epoch is not None:
                self.last_epoch = epoch
            if self.axis is None:
                self.axis = "step" if step is not None else "epoch" if epoch is not None else "line"
            if not vals:
                continue
            self.line_no += 1
            x = (self.last_step if self.axis == "step" else self.last_epoch if self.axis == "epoch"
                 else None)
            if x is None:
                x = float(self.line_no)
            if wall is None:
                wall = w1
            if epoch is not None:  # kept as a series: the app's epoch x axis maps x through it
                vals["epoch"] = epoch
            for k, v in vals.items():
                s = self.get(k)
                s.x.append(x)
                s.y.append(v)
                s.wall.append(wall)
            changed = True
        return changed


# --------------------------------------------------------------------------- CSV

def parse_csv(text: str, wall: float) -> tuple[dict[str, Series], str]:
    """A metrics CSV (Lightning/Keras CSVLogger, YOLO results.csv): x is step, else epoch, else row."""
    rows = csv.reader(io.StringIO(text))
    try:
        header = [h.strip() for h in next(rows)]
    except StopIteration:
        return {}, "line"
    low = [h.lower() for h in header]
    xi, axis = -1, "line"
    for cand, ax in (("step", "step"), ("global_step", "step"), ("epoch", "epoch")):
        if cand in low:
            xi, axis = low.index(cand), ax
            break
    # an epoch column is kept as a series too (the app's epoch x axis maps x through it)
    skip = {i for i, h in enumerate(low) if h in ("step", "global_step", "time", "timestamp", "")}
    cols = [(i, Series(h)) for i, h in enumerate(header) if i not in skip]
    ti = low.index("time") if "time" in low else low.index("timestamp") if "timestamp" in low else -1
    for r, row in enumerate(rows, 1):
        if not row:
            continue
        try:
            x = float(row[xi]) if xi >= 0 else float(r)
        except (ValueError, IndexError):
            continue
        w = wall
        if ti >= 0:
            try:
                w = float(row[ti])
            except (ValueError, IndexError):
                pass
        for i, s in cols:
            if i < len(row):
                cell = row[i].strip()
                if not cell:
                    continue
                try:
                    v = float(cell)
                except ValueError:
                    continue
                s.x.append(x)
                s.y.append(v)
                s.wall.append(w)
    return {s.name: s for _, s in cols if len(s)}, axis

