"""The queue verb: ``labtui queue [--json]``, ``labtui queue move RUN --to N``,
``labtui queue cancel RUN [--reason R]``."""

from __future__ import annotations

import argparse

from ..core import runs
from ..core.text import inert
from .common import Parser, emit_json, journal, journal_arg


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("queue", help="queued runs: order, what each waits for; move, cancel",
                       description="labtui queue [--json] | labtui queue move RUN --to N | "
                                   "labtui queue cancel RUN [--reason TEXT]")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_queue)
    qs = p.add_subparsers(dest="queue_verb", metavar="ACTION", parser_class=Parser)
    m = qs.add_parser("move", help="move a queued run to place N (1 = next to start)")
    m.add_argument("id")
    m.add_argument("--to", type=int, required=True, metavar="N")
    m.set_defaults(func=cmd_move)
    c = qs.add_parser("cancel", help="cancel a queued run (it never starts)")
    c.add_argument("id")
    c.add_argument("--reason", help="why; recorded in exit.json and the journal")
    c.set_defaults(func=cmd_cancel)
    for q in (m, c):
        journal_arg(q)


def _conditions(q: dict) -> str:
    parts = []
    if "gpus" in q:
        g = q["gpus"]
        parts.append(f"gpus {g if isinstance(g, str) else ','.join(map(str, g))}")
    if "min_free_mem" in q:
        parts.append(f"{runs.queue.gpu_fmt(q['min_free_mem'], 'B')} free")
    if q.get("after"):
        parts.append("after " + ",".join(q["after"]))
    return ", ".join(parts) or "-"


def cmd_queue(args) -> int:
    j = journal(args)
    data = j.read()
    infos = runs.list_runs(j, data)
    runs.reconcile(j, data, infos)  # re-arms queued runs whose shim is gone (a reboot)
    entries = runs.queue.view(j)
    if args.json:
        emit_json({"journal": str(j.path), "queue": [e.to_json() for e in entries]})
        return 0
    if not entries:
        print("no queued runs (queue one: labtui run EXPERIMENT --queue)")
        return 0
    rows = [("#", "ID", "EXPERIMENT", "CONDITIONS", "WAITS FOR")]
    for e in entries:
        rows.append((str(e.position), e.id, e.experiment or "-", _conditions(e.conditions), "; ".join(e.waits)))
    rows = [tuple(inert(c) for c in row) for row in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    return 0


def cmd_move(args) -> int:
    place = runs.queue.move(journal(args), args.id, args.to)
    print(f"{args.id}: #{place}")
    return 0


def cmd_cancel(args) -> int:
    runs.queue.cancel(journal(args), args.id, args.reason)
    print(f"{args.id}: {runs.Status.CANCELLED}")
    return 0
