"""Structured metric files: JSON lines (``metrics.jsonl``, any ``*.jsonl`` of dicts), metrics CSV/TSV and
Hugging Face ``trainer_state.json`` (one JSON document rewritten at each checkpoint)."""

from __future__ import annotations

import csv
import json

from .rules import CLOCK_KEYS, PARTS_RE, denied
from .series import Sink


def _flatten(obj: dict, prefix: str, out: dict) -> None:
    for k, v in obj.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict):
            _flatten(v, name + "/", out)
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out[name] = float(v)


STEP_KEYS = ("global_step", "iteration", "iter")
NOT_SERIES_PARTS = {"eta"}   # countdowns in JSON lines (detectron2's eta_seconds)


def _not_series(name: str) -> bool:
    """A countdown or a clock since the start, never a curve (JSON lines and CSV columns alike)."""
    low = name.lower()
    return bool(set(PARTS_RE.split(low)) & NOT_SERIES_PARTS) or low in CLOCK_KEYS   # when there is no ``step`` (detectron2: iteration)
UNIX_1973 = 1e8    # a "time" at least this is a unix time; below, a duration


class JsonlParser(Sink):
    """``metrics.jsonl`` (our trainers) and any ``*.jsonl`` of dicts: exact keys; ``step`` (else
    ``global_step``/``iteration``/``iter``) and a unix ``time`` are not series, ``epoch`` is the x
    axis when there is no step, else an ``epoch`` series beside the metrics."""

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
            if step is None:
                for k in STEP_KEYS:
                    if k in vals:
                        step = vals.pop(k)
                        break
            epoch = vals.pop("epoch", None)
            for k in [k for k in vals if _not_series(k)]:
                del vals[k]
            wall = vals.get("time")
            if wall is not None and wall >= UNIX_1973:  # a unix time; else a duration (detectron2's s/iter)
                del vals["time"]
            else:
                wall = None
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


# --------------------------------------------------------------------------- CSV / TSV

X_COLUMNS = (("step", "step"), ("global_step", "step"), ("iteration", "step"), ("iter", "step"),
             ("total/steps", "step"), ("time/total_timesteps", "step"), ("total_timesteps", "step"),
             ("timesteps", "step"), ("epoch", "epoch"))   # baselines, SB3 and ES loggers name their x so
NOT_SERIES = ("step", "global_step", "time", "timestamp", "")


class CsvParser(Sink):
    """A metrics CSV/TSV read incrementally (lines as ``LogTail`` hands them): Lightning's
    ``metrics.csv`` (sparse rows: a blank cell is no point, not a zero), Keras ``CSVLogger``,
    Ultralytics ``results.csv`` (padded headers), Stable-Baselines ``monitor.csv`` (a
    ``#{"t_start": ...}`` first line: its ``t`` column is seconds since then, x the total
    timesteps, the running sum of ``l``).  x is the ``step`` column, else ``epoch``, else the
    row number (on the step axis a later row of the same step wins); an ``epoch`` column is a series too (the app's
    epoch x axis maps x through it); ``time``/``timestamp`` give the wall time."""

    kind = "csv"

    def __init__(self, delimiter: str | None = None):
        super().__init__()
        self.delimiter = delimiter      # None: from the header (a tab and no comma: TSV)
        self.header: list[str] | None = None
        self.t_start: float | None = None

    def state(self) -> dict:
        st = super().state()
        st.update(delimiter=self.delimiter, header=self.header, t_start=self.t_start)
        return st

    def set_state(self, st: dict) -> None:
        super().set_state(st)
        self.delimiter, self.header, self.t_start = st["delimiter"], st["header"], st["t_start"]
        if self.header is not None:
            self._plan()

    def _plan(self) -> None:
        low = [h.lower() for h in self.header]
        self._xi, self.axis = -1, "line"
        for cand, ax in X_COLUMNS:
            if cand in low:
                self._xi, self.axis = low.index(cand), ax
                break
        self._ti = next((low.index(c) for c in ("time", "timestamp") if c in low), -1)
        self._li = -1
        skip = NOT_SERIES
        if self.t_start is not None and "t" in low:  # Stable-Baselines monitor: t since t_start
            self._ti = low.index("t")
            skip = NOT_SERIES + ("t",)
            if self._xi < 0 and "l" in low:  # x: total timesteps (the sum of episode lengths)
                self._li, self.axis = low.index("l"), "step"
                self.last_step = self.last_step or 0.0
        self._cols = [(i, h) for i, h in enumerate(self.header) if low[i] not in skip
                      and not (i == self._xi and self.axis == "step")
                      and not _not_series(h) and not denied(h)]

    def _row(self, line: str) -> list[str]:
        return next(csv.reader([line], delimiter=self.delimiter or ","), [])

    def feed(self, lines: list[str], w0: float, w1: float) -> bool:
        changed = False
        for line in lines:
            if not line.strip():
                if self.header is not None:
                    self.line_no += 1
                continue
            if self.header is None:
                if line.startswith("#"):  # Stable-Baselines monitor.csv: #{"t_start": ..., "env_id": ...}
                    try:
                        meta = json.loads(line[1:])
                        self.t_start = float(meta.get("t_start"))
                    except (ValueError, TypeError, AttributeError):
                        pass
                    continue
                if self.delimiter is None:
                    self.delimiter = "\t" if "\t" in line and "," not in line else ","
                self.header = [h.strip() for h in self._row(line)]
                self._plan()
                continue
            self.line_no += 1
            changed |= self._add(self._row(line), w1)
        return changed

    def _add(self, row: list[str], wall: float) -> bool:
        xi = self._xi
        try:
            if self._li >= 0:
                x = self.last_step = (self.last_step or 0.0) + float(row[self._li])
            else:
                x = float(row[xi]) if xi >= 0 else float(self.line_no)
        except (ValueError, IndexError):
            return False
        w = wall
        ti = self._ti
        if ti >= 0 and ti < len(row):
            try:
                w = float(row[ti]) + (self.t_start or 0.0)
            except ValueError:
                pass
        changed = False
        same = self.axis == "step"
        for i, name in self._cols:
            if i < len(row):
                cell = row[i].strip()
                if not cell:
                    continue  # sparse rows (Lightning: train and val steps alternate)
                try:
                    v = float(cell)
                except ValueError:
                    continue
                self.get(name).put(x, v, w, same)  # one value per step: a later row wins
                changed = True
        return changed



# --------------------------------------------------------------------------- HF trainer_state.json

HF_SUMMARY_KEYS = ("train_runtime", "total_flos")  # the last entry: the run's totals, not a point


class HfStateParser(Sink):
    """Hugging Face ``trainer_state.json``: the whole document is read again each time it changes
    (``LogMetrics`` restarts the tail; the Trainer rewrites it at every save).  Each
    ``log_history`` entry is a point at its ``step``: ``loss``/``learning_rate``/``grad_norm``
    and the ``eval_*`` entries; ``epoch`` is a series beside them; the final summary entry
    (``train_runtime``, ``total_flos``...) and the document's own fields (``best_metric``,
    ``global_step``, ``max_steps``...) are not series."""

    kind = "hfstate"
    whole = True   # the reader feeds the whole file again on every change

    def __init__(self):
        super().__init__()
        self.buf: list[str] = []

    def feed(self, lines: list[str], w0: float, w1: float) -> bool:
        self.buf.extend(lines)
        try:
            doc = json.loads("\n".join(self.buf))
        except ValueError:
            return False  # not complete yet
        self.buf = []
        hist = doc.get("log_history") if isinstance(doc, dict) else None
        if not isinstance(hist, list):
            return False
        self.series = {}
        self.axis = "step"
        self.line_no = 0
        for entry in hist:
            if not isinstance(entry, dict) or any(k in entry for k in HF_SUMMARY_KEYS):
                continue
            vals: dict[str, float] = {}
            _flatten(entry, "", vals)
            step = vals.pop("step", None)
            if step is None or not vals:
                continue
            self.last_step = step
            self.line_no += 1
            if "epoch" in vals:
                self.last_epoch = vals["epoch"]
            for k, v in vals.items():
                self.get(k).put(step, v, w1, True)
        return True
