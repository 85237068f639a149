"""`labtui gpus [--json] [--watch] [--kill PID]`: GPUs, their processes (named by run) and the host."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from tui.core import gpus as G
from tui.core import procs
from tui.core.errors import UserError
from tui.core.journal import Journal, JournalError
from tui.core.runs import list_runs


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "gpus", help="GPUs, who holds them (runs named), host CPU/RAM",
        description="Show each GPU, the processes holding GPU memory (this lab's runs named, the rest "
                    "marked foreign) and host CPU/memory/load. Set LABTUI_FAKE_GPUS=<file.json> "
                    "to replay a scripted snapshot sequence.")
    p.add_argument("--json", action="store_true", help="print the snapshot as JSON")
    p.add_argument("--watch", action="store_true", help="refresh until Ctrl-C")
    p.add_argument("--interval", type=float, default=1.0, metavar="S", help="--watch refresh period (1 s)")
    p.add_argument("--count", type=int, default=None, metavar="N", help="--watch: stop after N refreshes")
    p.add_argument("--kill", type=int, default=None, metavar="PID",
                   help="kill a foreign GPU process of yours (not a run's: use `labtui kill RUN`)")
    p.add_argument("--grace", type=float, default=5.0, metavar="S",
                   help="--kill: seconds between SIGTERM and SIGKILL (0: SIGKILL at once)")
    p.add_argument("--any-user", action="store_true",
                   help="--kill: allow another user's process (root only; never pid 1 or a kernel thread)")
    p.add_argument("--source", choices=["auto", "nvml", "none", "fake"], default="auto",
                   help=argparse.SUPPRESS)
    p.set_defaults(func=handler)


def _journal(args) -> Journal | None:
    """This lab's journal if there is one: `labtui gpus` works outside a lab too."""
    path = getattr(args, "journal", None) or os.environ.get("LABTUI_JOURNAL") or "experiments.toml"
    return Journal(path) if os.path.isfile(path) else None


def _live_runs(journal: Journal | None) -> list:
    """This lab's live runs, listed once per refresh; none if the journal cannot be read
    (run tags still name the runs)."""
    if journal is None:
        return []
    try:
        return G.live_runs(list_runs(journal))
    except (JournalError, UserError, OSError):
        return []


def handler(args) -> int:
    journal = _journal(args)
    lab = procs.lab_id(journal.path) if journal is not None else None
    source = G.make_source(args.source, lab=lab)
    if args.kill is not None:
        snap = source.sample(_live_runs(journal))
        print(G.kill_foreign(args.kill, snapshot=snap, grace=args.grace, any_user=args.any_user, lab=lab))
        return 0
    if not args.watch:
        snap = source.sample(_live_runs(journal))
        print(json.dumps(snap.to_dict(), indent=2) if args.json else render(snap))
        return 0
    sampler = G.Sampler(source, interval=args.interval)
    sampler.set_runs(_live_runs(journal))
    shown = 0
    tty = sys.stdout.isatty()
    try:
        sampler.start()
        last = None
        while args.count is None or shown < args.count:
            snap = sampler.latest()
            if snap is not None and snap is not last:
                last = snap
                if args.json:
                    print(json.dumps(snap.to_dict()), flush=True)
                else:
                    if tty:
                        sys.stdout.write("\x1b[H\x1b[2J")
                    print(render(snap, history=sampler), flush=True)
                shown += 1
                sampler.set_runs(_live_runs(journal))  # for the next refresh
            time.sleep(min(0.1, args.interval / 4))
    except KeyboardInterrupt:
        pass
    finally:
        sampler.stop()
    return 0


_SPARK = "▁▂▃▄▅▆▇█"


def _spark(values, width=20) -> str:
    vals = [v for v in values][-width:]
    return "".join(" " if v is G.NA or v is None else _SPARK[min(7, int(v) * 8 // 101)] for v in vals)


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]


def render(snap: G.GpuSnapshot, history: G.Sampler | None = None) -> str:
    f = G.fmt
    out: list[str] = []
    if not snap.ok:
        out.append(snap.reason or "no NVIDIA GPU")
    elif snap.gpus:
        rows = [["GPU", "NAME", "UTIL", "MEMORY", "TEMP", "POWER", "MIG"] + (["UTIL (history)"] if history else [])]
        for g in snap.gpus:
            if g.lost or g.error:
                rows.append([str(g.index), f(g.name), "LOST" if g.lost else "ERROR", "", "", "", ""]
                            + ([""] if history else []))
                continue
            mig = "n/a" if g.mig_mode is G.NA else ("on" if g.mig_mode else "off")
            row = [str(g.index), f(g.name), f(g.util, "%"),
                   f"{f(g.mem_used, 'B')} / {f(g.mem_total, 'B')}", f(g.temperature, "C"),
                   f"{f(g.power_draw)} / {f(g.power_limit, ' W')}", mig]
            if history:
                row.append(_spark([u for _, u, _ in history.history(g.index)]))
            rows.append(row)
        out += _table(rows)
        out += [f"GPU {g.index}: {g.error}" for g in snap.gpus if g.error]
    if snap.processes:
        out.append("")
        rows = [["PID", "GPU", "MEMORY", "USER", "RUN", "COMMAND"]]
        for p in sorted(snap.processes, key=lambda p: (p.gpu, p.pid)):
            owner = p.run_id or ("foreign (not visible here)" if not p.visible else "foreign")
            rows.append([str(p.pid), str(p.gpu), f(p.mem_used, "B"), f(p.user), owner, f(p.name)])
        out += _table(rows)
    elif snap.ok:
        out.append("no GPU processes")
    h = snap.host
    out.append("")
    out.append(f"host: cpu {f(h.cpu_percent, '%')} of {f(h.cpu_count)} cores, "
               f"mem {f(h.mem_used, 'B')} / {f(h.mem_total, 'B')}, load {f(h.load1)} {f(h.load5)} {f(h.load15)}")
    for run, u in sorted(snap.runs.items()):
        gp = f", gpu mem {f(u.gpu_mem, 'B')} on GPU {','.join(map(str, u.gpus))}" if u.gpus else ""
        out.append(f"run {run}: cpu {u.cpu_percent:.0f}%, rss {f(u.rss, 'B')}, {len(u.pids)} processes{gp}")
    return "\n".join(out)
