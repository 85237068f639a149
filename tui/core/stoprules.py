"""Stop rules: a run that stops itself when a metric says so (``--stop-when``, ``--stop-on``,
``--max-time`` and the template keys ``stop_when``, ``stop_on``, ``max_time``).

THE parser (one-line :class:`UserError` naming the bad value, at launch) and THE evaluation
(:class:`Checker`, pure: series in, the reason a rule fired out).  The run's shim evaluates the
rules (``tui.core.watch``) from the same incremental metric reading the app uses; the stop
itself is a kill (``tui.core.runs.kill``) that records the rule, so the trainer saves.

Rules::

    val_voe < 0.2                 # <, <=, >, >= on any parsed metric
    val_voe < 0.2 for 3 evals     # patience: the condition holds at 3 consecutive points
    nan                           # NaN/inf in a loss-like metric (goal "min", or the main metric)
    plateau:val_loss:5            # no improvement in 5 evals; direction from goals.goal_of
    plateau:score:5:max           # ... or given
    max_time = 8h                 # s, m, h, d (1h30m too)

A metric is matched by its exact name, else by the last ``/`` part of a series name
(``val/loss`` for ``loss`` when no series is called ``loss``).
"""

from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from .errors import UserError
from .status import Status
from .metrics.flags import main_metric
from .metrics.goals import GOALS, goal_of, lower_is_better

OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_WHEN_RE = re.compile(r"^\s*(?P<metric>[^\s<>=]+)\s*(?P<op><=|>=|<|>)\s*(?P<value>[^\s]+)"
                      r"(?:\s+for\s+(?P<n>\d+)\s+evals?)?\s*$")
_DUR_RE = re.compile(r"(\d+(?:\.\d+)?|\.\d+)\s*([smhd])")
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
WHEN_HELP = "expected METRIC < NUMBER (<, <=, >, >=), optionally followed by 'for N evals'"
ON_HELP = "expected nan or plateau:METRIC:N (optionally :min or :max)"
TIME_HELP = "expected a duration such as 90s, 30m, 8h, 2d or 1h30m"


@dataclass(frozen=True)
class Threshold:
    metric: str
    op: str
    value: float
    evals: int = 1  # patience: consecutive points where it holds

    def text(self) -> str:
        return f"{self.metric} {self.op} {fmt_num(self.value)}" + (
            f" for {self.evals} evals" if self.evals > 1 else "")


@dataclass(frozen=True)
class Plateau:
    metric: str
    evals: int
    goal: str

    def text(self) -> str:
        return f"plateau:{self.metric}:{self.evals}:{self.goal}"


@dataclass(frozen=True)
class StopRules:
    thresholds: tuple[Threshold, ...] = ()
    nan: bool = False
    plateaus: tuple[Plateau, ...] = ()
    max_time: float | None = None  # seconds since the trainer started

    def __bool__(self) -> bool:
        return bool(self.thresholds or self.nan or self.plateaus or self.max_time)

    def describe(self) -> str:
        """One readable line (the journal's ``stop`` field): ``val_voe < 0.2; nan; max-time 8h``."""
        parts = [t.text() for t in self.thresholds]
        if self.nan:
            parts.append("nan")
        parts += [p.text() for p in self.plateaus]
        if self.max_time:
            parts.append(f"max-time {fmt_duration(self.max_time)}")
        return "; ".join(parts)

    def to_json(self) -> dict:
        """What ``spec.json`` holds (``from_json`` parses it back with the same parser)."""
        on = (["nan"] if self.nan else []) + [p.text() for p in self.plateaus]
        return {"when": [t.text() for t in self.thresholds], "on": on, "max_time": self.max_time}

    @classmethod
    def from_json(cls, d: Any) -> "StopRules":
        if not isinstance(d, dict):
            return cls()
        return parse_rules(d.get("when") or [], d.get("on") or [], d.get("max_time"))

    @classmethod
    def from_line(cls, line: Any, where: str = "stop rules") -> "StopRules":
        """The rules of one :meth:`describe` line (the journal's ``stop``, the app's new-run
        form): ``val_voe < 0.2 for 3 evals; nan; plateau:val_loss:5; max-time 8h``."""
        when: list[str] = []
        on: list[str] = []
        max_time = None
        for part in str(line or "").split(";"):
            part = part.strip()
            if part.startswith("max-time "):
                max_time = part[len("max-time "):]
            elif part == "nan" or part.startswith("plateau:"):
                on.append(part)
            elif part:
                when.append(part)
        return parse_rules(when, on, max_time, where=(where, where, where))


# --------------------------------------------------------------------------- parsing

def fmt_num(v: float) -> str:
    return f"{v:.6g}"


def fmt_duration(seconds: float) -> str:
    """``28800`` → ``8h``, ``5400`` → ``1h30m``, ``2.5`` → ``2.5s``."""
    s = float(seconds)
    if s != int(s) or s < 60:
        return f"{s:g}s"
    s = int(s)
    out = ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if s >= size:
            out += f"{s // size}{unit}"
            s %= size
    return out


def _bad(where: str, text: Any, why: str) -> UserError:
    """``bad --max-time '8': ...``, or ``experiment 'x': bad max_time '8': ...`` for a template."""
    prefix, _sep, key = where.rpartition(": ")
    return UserError(f"{prefix + ': ' if prefix else ''}bad {key} {text!r}: {why}")


def parse_duration(text: Any, where: str = "--max-time") -> float:
    """``8h`` → 28800.0 (``s m h d``, summed: ``1h30m``); a TOML number is seconds."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        if math.isfinite(text) and text > 0:
            return float(text)
        raise _bad(where, text, TIME_HELP)
    if not isinstance(text, str):
        raise _bad(where, text, TIME_HELP)
    t = text.strip().lower()
    pos, total = 0, 0.0
    for m in _DUR_RE.finditer(t):
        if t[pos:m.start()].strip():
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if not t or t[pos:].strip() or total <= 0 or not math.isfinite(total):
        raise _bad(where, text, TIME_HELP)
    return total


def parse_when(text: Any, where: str = "--stop-when") -> Threshold:
    m = _WHEN_RE.match(text) if isinstance(text, str) else None
    if m is None:
        raise _bad(where, text, WHEN_HELP)
    try:
        value = float(m.group("value"))
    except ValueError:
        raise _bad(where, text, f"{m.group('value')!r} is not a number") from None
    if not math.isfinite(value):
        raise _bad(where, text, "the threshold must be a finite number")
    n = int(m.group("n") or 1)
    if n < 1:
        raise _bad(where, text, "'for N evals' needs N >= 1")
    return Threshold(m.group("metric"), m.group("op"), value, n)


def parse_on(text: Any, goals: Mapping[str, str] | None = None, where: str = "--stop-on"):
    """``nan`` → True; ``plateau:METRIC:N[:min|max]`` → :class:`Plateau`."""
    if not isinstance(text, str):
        raise _bad(where, text, ON_HELP)
    t = text.strip()
    if t.lower() == "nan":
        return True
    parts = t.split(":")
    if parts[0].lower() != "plateau" or len(parts) not in (3, 4) or not parts[1].strip():
        raise _bad(where, text, ON_HELP)
    metric = parts[1].strip()
    try:
        n = int(parts[2])
    except ValueError:
        n = 0
    if n < 1:
        raise _bad(where, text, "N (evals without improvement) must be an integer >= 1")
    goal = parts[3].strip().lower() if len(parts) == 4 else goal_of(metric, goals)
    if goal not in GOALS:
        raise _bad(where, text, f"is a higher or a lower {metric} better? add :min or :max, or set "
                   "goals in [experiments.NAME.metrics]")
    return Plateau(metric, n, goal)


def _strings(v: Any, what: str) -> list:
    if v is None:
        return []
    if isinstance(v, str):
        return [v]
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        return list(v)
    raise UserError(f"{what} must be a string or a list of strings, not {v!r}")


def parse_rules(when: Iterable[str] = (), on: Iterable[str] = (), max_time: Any = None,
                goals: Mapping[str, str] | None = None, where: tuple[str, str, str] =
                ("--stop-when", "--stop-on", "--max-time")) -> StopRules:
    thresholds = tuple(parse_when(w, where[0]) for w in when)
    nan, plateaus = False, []
    for o in on:
        r = parse_on(o, goals, where[1])
        if r is True:
            nan = True
        else:
            plateaus.append(r)
    mt = parse_duration(max_time, where[2]) if max_time is not None else None
    return StopRules(thresholds, nan, tuple(plateaus), mt)


def for_launch(tmpl: Mapping | None, experiment: str | None, when: Iterable[str] | None = None,
               on: Iterable[str] | None = None, max_time: str | None = None) -> StopRules:
    """The rules of a new run: its template's (``stop_when``, ``stop_on``, ``max_time``) plus
    the command line's (``--max-time`` replaces the template's)."""
    tmpl = tmpl or {}
    goals = {}
    metrics_cfg = tmpl.get("metrics")
    if isinstance(metrics_cfg, dict) and isinstance(metrics_cfg.get("goals"), dict):
        goals = {k: v for k, v in metrics_cfg["goals"].items() if v in GOALS}
    exp = f"experiment {experiment!r}"
    t = parse_rules(_strings(tmpl.get("stop_when"), f"{exp}: stop_when"),
                    _strings(tmpl.get("stop_on"), f"{exp}: stop_on"), tmpl.get("max_time"), goals,
                    (f"{exp}: stop_when", f"{exp}: stop_on", f"{exp}: max_time"))
    c = parse_rules(list(when or ()), list(on or ()), max_time, goals)
    return StopRules(t.thresholds + c.thresholds, t.nan or c.nan, t.plateaus + c.plateaus,
                     c.max_time if c.max_time is not None else t.max_time)


# --------------------------------------------------------------------------- evaluation

def find_series(series: Mapping, metric: str):
    """The series a rule means: exact name, else the one series whose last ``/`` part it is."""
    s = series.get(metric)
    if s is not None:
        return s
    hits = [v for k, v in series.items() if k.rsplit("/", 1)[-1] == metric]
    return hits[0] if len(hits) == 1 else None


def _fmt_x(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.4g}"


def _value(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    return fmt_num(v) if math.isfinite(v) else ("inf" if v > 0 else "-inf")


@dataclass
class _Pos:
    i: int = 0                 # next point to judge
    count: int = 0             # consecutive points where a threshold held / evals since the best
    best: float | None = None
    best_x: float | None = None


@dataclass
class Checker:
    """Judges each new point of the rules' metrics once, in order (a poll that brings many
    points still stops at the first one where a rule holds).  ``check`` → the reason, or None."""

    rules: StopRules
    started: float                      # time.time() when the trainer started
    goals: Mapping[str, str] = field(default_factory=dict)
    pos: dict = field(default_factory=dict)

    def _new(self, key: Any, s) -> tuple[_Pos, int]:
        p = self.pos.get(key)
        if p is None or len(s) < p.i:  # first look, or the log was rewritten: start over
            p = self.pos[key] = _Pos()
        return p, len(s)

    def check(self, series: Mapping, x_axis: str, now: float) -> str | None:
        axis = x_axis if x_axis in ("step", "epoch") else "line"
        for k, t in enumerate(self.rules.thresholds):
            s = find_series(series, t.metric)
            if s is None:
                continue
            p, n = self._new(("t", k), s)
            cmp = OPS[t.op]
            while p.i < n:
                v, x = s.y[p.i], s.x[p.i]
                p.i += 1
                p.count = p.count + 1 if math.isfinite(v) and cmp(v, t.value) else 0
                if p.count >= t.evals:
                    return (f"{t.metric} {_value(v)} {t.op} {fmt_num(t.value)}"
                            + (f" for {t.evals} evals" if t.evals > 1 else "") + f" at {axis} {_fmt_x(x)}")
        if self.rules.nan:
            names = list(series)
            main = main_metric(names)
            for name in names:
                if name != main and not lower_is_better(name, self.goals):
                    continue
                s = series[name]
                p, n = self._new(("nan", name), s)
                while p.i < n:
                    v, x = s.y[p.i], s.x[p.i]
                    p.i += 1
                    if not math.isfinite(v):
                        return f"{name} {_value(v)} at {axis} {_fmt_x(x)}"
        for k, pl in enumerate(self.rules.plateaus):
            s = find_series(series, pl.metric)
            if s is None:
                continue
            p, n = self._new(("p", k), s)
            better = operator.lt if pl.goal == "min" else operator.gt
            while p.i < n:
                v, x = s.y[p.i], s.x[p.i]
                p.i += 1
                if math.isfinite(v) and (p.best is None or better(v, p.best)):
                    p.best, p.best_x, p.count = v, x, 0
                    continue
                p.count += 1
                if p.best is not None and p.count >= pl.evals:
                    return (f"{pl.metric} plateau: no improvement on {fmt_num(p.best)} "
                            f"({axis} {_fmt_x(p.best_x)}) in {pl.evals} evals, at {axis} {_fmt_x(x)}")
        if self.rules.max_time and now - self.started >= self.rules.max_time:
            last = _last_x(series)
            return (f"max time {fmt_duration(self.rules.max_time)} reached"
                    + (f" at {axis} {_fmt_x(last)}" if last is not None else ""))
        return None


def _last_x(series: Mapping) -> float | None:
    name = main_metric(list(series))
    s = series.get(name) if name is not None else None
    n = len(s) if s is not None else 0
    return s.x[n - 1] if n else None


def stop_reason(info) -> str | None:
    """Why a run (``runs.RunInfo``) was stopped by a rule: its ``exit.json``'s ``stopped``, else
    the journal's ``stop_reason``; None for a run that did not end ``stopped``."""
    if info.status != Status.STOPPED:
        return None
    why = (info.exit_record or {}).get("stopped") or info.extra.get("stop_reason")
    return str(why) if why else None
