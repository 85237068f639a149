"""`labtui gpus [--json] [--watch] [--kill PID]`: GPUs, their processes (named by run) and the host."""

from __future__ import annotations

import json
import os
import sys
import time



class _LazyGpus:
    """tui.core.gpus, imported on first use: building the CLI parser must stay cheap."""

    def __getattr__(self, name):
        from tui.core import gpus

        return getattr(gpus, name)


G = _LazyGpus()
from tui.core.errors import UserError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "gpus", help="GPUs, who holds them (runs named), host CPU/RAM",
        description="Show each GPU, the processes holding GPU memory (labtui runs named, the rest "
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
    p.add_argument("--source", choices=["auto", "nvml", "none", "fake"], default="auto",
                   help=argparse_suppress())
    if not any("--journal" in a.option_strings for a in p._actions):
        p.add_argument("--journal", default=None, help="experiments.toml (default: $LABTUI_JOURNAL or ./experiments.toml)")
    p.set_defaults(func=handler)


def argparse_suppress():
    import argparse
    return argparse.SUPPRESS


def _runs_provider(args):
    path = getattr(args, "journal", None) or os.environ.get("LABTUI_JOURNAL") or "experiments.toml"
    if not os.path.exists(path):
        return None
    try:
        from tui.core.journal import Journal
    except ImportError:
        return None
    try:
        return G.journal_runs(Journal(path))
    except Exception:  # noqa: BLE001 - the journal is optional here: tags find runs anyway
        return None


def handler(args) -> int:
    source = G.make_source(args.source, runs_provider=_runs_provider(args))
    if args.kill is not None:
        print(G.kill_foreign(args.kill, source=source, grace=args.grace))
        return 0
    if not args.watch:
        snap = source.sample()
        print(json.dumps(snap.to_dict(), indent=2) if args.json else render(snap))
        return 0
    sampler = G.Sampler(source, interval=args.interval)
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


def main(argv=None) -> int:  # `python -m tui.cmd_gpus` until tui/cli.py wires it in
    import argparse
    ap = argparse.ArgumentParser(prog="labtui")
    sub = ap.add_subparsers(dest="cmd", required=True)
    register(sub)
    args = ap.parse_args(["gpus", *(sys.argv[1:] if argv is None else argv)])
    try:
        return args.func(args)
    except UserError as e:
        print(f"labtui: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
