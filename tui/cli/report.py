"""``labtui compare`` (the comparison table) and ``labtui report`` (a Markdown lab report)."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from ..core.errors import UserError
from ..core.report import table as C
from ..core.report import markdown as MD
from ..core.report import write_report
from ..core.text import inert
from .common import emit_json, journal


def register(sub) -> None:
    p = sub.add_parser("compare", help="compare runs: params that differ, last/best of each metric",
                       description="labtui compare RUN... | --tag T | --experiment E: one row per run "
                                   "(--transpose: one column per run) with the params that differ, "
                                   "then per metric its last value, best value (by the metric's goal) "
                                   "and the step of the best.")
    _selection(p)
    p.add_argument("--metrics", metavar="M1,M2", help="metrics to show (default: all, main first)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--json", action="store_true", help="machine-readable output")
    g.add_argument("--csv", action="store_true", help="CSV (exact values)")
    g.add_argument("--md", action="store_true", help="a Markdown table")
    p.add_argument("--transpose", action="store_true", help="runs as columns")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("report", help="write a Markdown lab report: diary, tables, pictures",
                       description="Writes DIR/report.md and DIR/img/*.png: a dated diary of "
                                   "launches, kills, resumes, failures, notes, tags and verdicts, and "
                                   "per experiment the comparison table and overlay pictures.")
    _selection(p)
    p.add_argument("--since", metavar="DATE", help="first day (YYYY-MM-DD) of the diary")
    p.add_argument("--until", metavar="DATE", help="last day (YYYY-MM-DD) of the diary")
    p.add_argument("--out", metavar="DIR", default="report", help="folder to write (default: ./report)")
    p.add_argument("--no-images", action="store_true", help="tables and diary only (no matplotlib)")
    p.set_defaults(func=cmd_report)


def _selection(p) -> None:
    p.add_argument("runs", nargs="*", metavar="RUN", help="run ids (default: every run)")
    p.add_argument("--tag", help="only runs with this tag")
    p.add_argument("--experiment", help="only runs of this experiment")


def cmd_compare(args) -> int:
    if not args.runs and args.tag is None and args.experiment is None:
        raise UserError("which runs? give run ids, --tag T or --experiment E")
    j = journal(args)
    data = j.read()
    infos = C.select(j, data, ids=args.runs, tag=args.tag, experiment=args.experiment)
    if not infos:
        raise UserError("no run matches")
    wanted = [m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else None
    table = C.compare(j, infos, data, wanted)
    if args.json:
        emit_json(table.to_json())
        return 0
    header = table.header()
    rows = [table.values(r) for r in table.rows]
    if args.csv:
        grid = [header] + [[_csv(v) for v in row] for row in rows]
        w = csv.writer(sys.stdout)
        w.writerows(_t(grid) if args.transpose else grid)
        return 0
    if args.md:
        sys.stdout.write(MD.table(header, rows, transpose=args.transpose))
        return 0
    grid = [header] + [[C.fmt(v) for v in row] for row in rows]
    grid = _t(grid) if args.transpose else grid
    grid = [[inert(c) for c in row] for row in grid]  # journal data: shown, never obeyed
    widths = [max(len(row[i]) for row in grid) for i in range(len(grid[0]))]
    for row in grid:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    return 0


def _t(grid: list[list]) -> list[list]:
    return [list(col) for col in zip(*grid)]


def _csv(v) -> str:
    """Exact values (``repr`` of floats, as ``metrics --csv``); empty when unknown."""
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(int(v)) if v.is_integer() and abs(v) < 2 ** 53 else repr(v)
    return str(v)


def cmd_report(args) -> int:
    j = journal(args)
    out = Path(args.out)
    path = write_report(j, out, ids=args.runs, tag=args.tag, experiment=args.experiment,
                        since=args.since, until=args.until, images=not args.no_images)
    print(f"wrote {inert(str(path))}")
    return 0
