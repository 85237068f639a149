"""The comparison table of runs: params that differ, then per metric last / best / step of best.

One home for the numbers: each run's metrics are ``show --json``'s ``"metrics"`` (the flag
cache's ``goals.finals``: last, step, best by the metric's goal, best_step), read through
``flags_for_run(..., into=...)``.  Renderings (text, CSV, Markdown, JSON) live in the CLI and
``report.markdown``; this module only builds the table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable

from ..errors import UserError
from ..journal import Journal
from ..metrics import flags_for_run, main_metric
from ..runs import RunInfo, list_runs
from ..runs.model import unknown

FIELDS = ("last", "best", "best_step")
NOT_COMPARED = ("epoch",)


@dataclass
class Row:
    info: RunInfo
    params: dict                      # the differing params only (missing ones absent)
    metrics: dict                     # name -> {"last", "step", "best", "best_step"}
    flags: list = field(default_factory=list)


@dataclass
class Table:
    rows: list[Row]
    params: list[str]                 # differing param names, first-seen order
    metrics: list[str]                # metric names, the main metric first

    def header(self) -> list[str]:
        return (["run", "experiment", "status"] + list(self.params)
                + [f"{m}:{f}" for m in self.metrics for f in FIELDS])

    def values(self, row: Row) -> list[Any]:
        """One row's raw values in ``header()`` order (None where unknown)."""
        out: list[Any] = [row.info.id, row.info.experiment, str(row.info.status)]
        out += [row.params.get(p) for p in self.params]
        for m in self.metrics:
            d = row.metrics.get(m) or {}
            out += [d.get(f) for f in FIELDS]
        return out

    def to_json(self) -> dict:
        return {
            "params": list(self.params),
            "metrics": list(self.metrics),
            "runs": [{"id": r.info.id, "experiment": r.info.experiment, "status": str(r.info.status),
                      "params": r.params, "metrics": {m: r.metrics[m] for m in self.metrics
                                                      if m in r.metrics},
                      "flags": r.flags} for r in self.rows],
        }


def select(journal: Journal, data: dict, infos: list[RunInfo] | None = None, ids: Iterable[str] = (),
           tag: str | None = None, experiment: str | None = None) -> list[RunInfo]:
    """Runs named by id (in that order), else every run; then those with ``tag`` / of ``experiment``."""
    infos = list_runs(journal, data) if infos is None else infos
    by_id = {r.id: r for r in infos}
    ids = list(ids)
    for i in ids:
        if i not in by_id:
            raise UserError(unknown("run", i, by_id))
    out = [by_id[i] for i in dict.fromkeys(ids)] if ids else infos
    if tag is not None:
        out = [r for r in out if tag in r.tags]
    if experiment is not None:
        out = [r for r in out if r.experiment == experiment]
    return out


def run_metrics(journal: Journal, data: dict, info: RunInfo) -> tuple[dict, list[str]]:
    """(``show --json``'s ``"metrics"``, its flags) of one run; empty when it has no folder."""
    into: dict = {}
    if not info.run_dir.is_dir():
        return into, []
    try:
        flags = flags_for_run(journal, info.id, alive=info.alive, data=data, status=info.status,
                              into=into).labels()
    except UserError:
        return {}, []
    return into, flags


def differing(params: list[dict]) -> list[str]:
    """Param names whose values are not all equal (a missing one differs); all of them for one run."""
    names = list(dict.fromkeys(k for p in params for k in p))
    if len(params) <= 1:
        return names
    return [k for k in names if any(p.get(k, _MISSING) != params[0].get(k, _MISSING) for p in params[1:])]


_MISSING = object()


def compare(journal: Journal, infos: list[RunInfo], data: dict | None = None,
            metrics: list[str] | None = None) -> Table:
    data = journal.read() if data is None else data
    per = [run_metrics(journal, data, r) for r in infos]
    pnames = differing([r.params for r in infos])
    if metrics:
        names = list(metrics)
    else:
        seen = list(dict.fromkeys(k for m, _f in per for k in m if k not in NOT_COMPARED))
        main = main_metric(seen)
        names = ([main] if main else []) + [k for k in seen if k != main]
    rows = [Row(r, {k: r.params[k] for k in pnames if k in r.params}, m, f)
            for r, (m, f) in zip(infos, per)]
    return Table(rows, pnames, names)


def fmt(v: Any) -> str:
    """A cell as text: numbers short (``0.1235``, ``1200``), None as ``-``."""
    if v is None:
        return "-"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float):
        if math.isfinite(v) and v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return f"{v:.4g}"
    return str(v)
