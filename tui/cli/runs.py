"""Headless verbs on runs: run ls show log kill resume note tag."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from ..core import lsfill, runs
from ..core.checkpoints import run_checkpoints, run_cwd, template_of
from ..core.fsio import write_atomic
from ..core.gitinfo import run_code_differs
from ..core.errors import UserError
from ..core.journal import Journal
from ..core.metrics import LogTail, last_lines_offset, logged_config, run_flags
from ..core.rundir import RunDir
from ..core.stoprules import stop_reason
from ..core.slurm import describe as describe_slurm
from ..core.text import age, inert, terminal_safe
from .common import emit_json, journal_given, journal_path
from .progress import tty_progress


def _warn(msg: str) -> None:
    print(f"labtui: warning: {msg}", file=sys.stderr)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="launch a run from an experiment template or any command",
                       description="labtui run EXPERIMENT [--set k=v ...] | labtui run [--name ID] -- CMD ARGS...")
    p.add_argument("experiment", nargs="?", help="experiment template in the journal")
    p.add_argument("--set", dest="sets", action="append", metavar="KEY=VALUE", default=[],
                   help="override a template param (repeatable)")
    p.add_argument("--gpus", help="GPU indices (0,1), 'auto' or 'none'")
    p.add_argument("--name", help="run id (letters, digits, . _ -); default EXPERIMENT_N")
    p.add_argument("--cwd", metavar="DIR", help="working folder of the run (default: the template's "
                   "cwd, else the lab folder; for -- COMMAND the folder you are in)")
    p.add_argument("--init-from", metavar="RUN[:CHECKPOINT]",
                   help="start from another run's checkpoint ({init_from}, $LABTUI_INIT_FROM; not a resume)")
    p.add_argument("--stop-when", action="append", metavar="RULE", default=[],
                   help="stop the run (gracefully) when a metric crosses a threshold: "
                        "'val_loss < 0.2' (<, <=, >, >=; 'for 3 evals' patience); repeatable")
    p.add_argument("--stop-on", action="append", metavar="RULE", default=[],
                   help="stop on 'nan' (NaN/inf in a loss) or 'plateau:METRIC:N' (no improvement in N "
                        "evals); repeatable")
    p.add_argument("--max-time", metavar="DURATION", help="stop after this long: 90m, 8h, 2d")
    p.add_argument("--on", choices=("local", "slurm"),
                   help="where the run's shim runs (default: slurm when the template has a slurm table)")
    p.add_argument("--queue", action="store_true", default=None,
                   help="wait for free GPUs (and --after) instead of refusing; see docs/queue.md")
    p.add_argument("--after", metavar="RUN[,RUN]",
                   help="queue until these runs ended (RUN:finished: only if it finished with exit 0)")
    p.add_argument("--min-free-mem", metavar="SIZE",
                   help="free GPU memory a queued run needs, e.g. 20G (default: the template's gpu_mem, else 2G)")
    p.add_argument("--json", action="store_true", help="print the new run as JSON")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("init", help="create a commented experiments.toml here (or in DIR)")
    p.add_argument("dir", nargs="?", default=".")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("checkpoints", help="list a run's checkpoints (newest first)")
    p.add_argument("id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_checkpoints)

    p = sub.add_parser("ls", help="list runs with live status")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--status", action="append", choices=runs.STATUSES, help="only runs in this status")
    p.add_argument("--wait", action="store_true",
                   help="read every run's metrics before printing (default: those that fit in "
                        f"${lsfill.BUDGET_ENV} seconds, {lsfill.DEFAULT_BUDGET:g}; the rest show …)")
    p.set_defaults(func=cmd_ls)

    p = sub.add_parser("show", help="everything about one run")
    p.add_argument("id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("log", help="print (or follow) a run's output.log")
    p.add_argument("id")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing until the run ends")
    p.add_argument("-n", "--lines", type=int, metavar="N", help="only the last N lines")
    p.add_argument("--raw", action="store_true", help="bytes as written (escape sequences included)")
    p.set_defaults(func=cmd_log)

    p = sub.add_parser("kill", help="stop a run: SIGINT, grace, SIGTERM, grace, SIGKILL")
    p.add_argument("id")
    p.add_argument("--grace", type=float, default=runs.DEFAULT_GRACE, metavar="S",
                   help=f"seconds to wait after SIGINT and after SIGTERM (default {runs.DEFAULT_GRACE:g})")
    p.add_argument("--term", action="store_true", help="start with SIGTERM instead of SIGINT")
    p.add_argument("--now", action="store_true", help="SIGKILL every process of the run at once")
    p.add_argument("--reason", help="why; recorded as a note")
    p.set_defaults(func=cmd_kill)

    p = sub.add_parser("resume", help="start a new run continuing ID from its latest checkpoint")
    p.add_argument("id")
    p.add_argument("--set", dest="sets", action="append", metavar="KEY=VALUE", default=[])
    p.add_argument("--from", dest="from_path", metavar="CKPT",
                   help="checkpoint to resume from: a step (803250), a name (checkpoint-500) or a path "
                        "(see labtui checkpoints ID)")
    p.add_argument("--gpus")
    p.add_argument("--name")
    p.add_argument("--queue", action="store_true", default=None,
                   help="wait for free GPUs (and --after) instead of refusing; see docs/queue.md")
    p.add_argument("--after", metavar="RUN[,RUN]",
                   help="queue until these runs ended (RUN:finished: only if it finished with exit 0)")
    p.add_argument("--min-free-mem", metavar="SIZE", help="free GPU memory a queued run needs, e.g. 20G")
    p.add_argument("--stop-when", action="append", metavar="RULE", default=[],
                   help="as for labtui run; replaces the thresholds the run carries from ID")
    p.add_argument("--stop-on", action="append", metavar="RULE", default=[],
                   help="as for labtui run; replaces the nan/plateau rules carried from ID")
    p.add_argument("--max-time", metavar="DURATION", help="as for labtui run; replaces ID's max-time")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_resume)

    p = sub.add_parser("note", help="add a timestamped note to a run")
    p.add_argument("id")
    p.add_argument("text", nargs="+")
    p.set_defaults(func=cmd_note)

    p = sub.add_parser("tag", help="add (or --remove) tags; --verdict sets the verdict")
    p.add_argument("id")
    p.add_argument("tags", nargs="*")
    p.add_argument("--remove", action="store_true")
    p.add_argument("--verdict", choices=list(runs.VERDICTS) + ["none"])
    p.set_defaults(func=cmd_tag)


def _journal(args) -> Journal:
    return Journal(journal_path(args))


# ----------------------------------------------------------------------------- run

NO_JOURNAL = ("no experiments.toml in {here} or any folder above it; create one with `labtui init` "
              "(or name one with --journal PATH / $LABTUI_JOURNAL)")

JOURNAL_TEMPLATE = """\
# labtui journal: experiment templates and (written by labtui) the runs.
# Edit freely: labtui keeps comments and order.  Docs: docs/trainers.md
#
# [experiments.nano]
# cwd = "~/src/nanoGPT"                       # where the command runs (relative to this file, or absolute)
# command = "python train.py config/train_shakespeare_char.py --out_dir={run_dir} --learning_rate={lr}"
# params = { lr = 1e-3 }                      # --set lr=3e-4 overrides; types are checked
# env = { WANDB_MODE = "offline" }            # values may use {param} {run_id} {run_dir}
# checkpoints = ["{run_dir}/ckpt.pt"]         # globs relative to cwd; labtui's own layout is the default
# [experiments.nano.resume]                   # how `labtui resume` continues a run of this template
# set = { init_from = "resume" }              # or: args = "--resume_from_checkpoint {resume_from}"
"""


def cmd_init(args) -> int:
    path = Path(args.dir).expanduser().absolute() / "experiments.toml"
    if path.exists():
        raise UserError(f"{path} already exists")
    if not path.parent.is_dir():
        raise UserError(f"{path.parent}: no such folder")
    write_atomic(path, JOURNAL_TEMPLATE)
    print(f"created {path}")
    return 0


def cmd_run(args) -> int:
    tail = getattr(args, "command_tail", None)
    cmd = list(tail or [])
    experiment = args.experiment
    if experiment is not None and tail is not None:
        raise UserError("give either an experiment or -- COMMAND, not both")
    if tail is not None and not cmd:
        raise UserError("nothing to run after --")
    params = runs.parse_sets(args.sets)
    if experiment is None and not cmd:
        raise UserError("nothing to run: labtui run EXPERIMENT, or labtui run -- COMMAND ARGS...")
    if experiment is None and params:
        raise UserError("--set needs an experiment template")
    if not journal_given(args):
        raise UserError(NO_JOURNAL.format(here=Path.cwd()))
    j = _journal(args)
    cwd = args.cwd
    if cwd is None and experiment is None:
        cwd = os.getcwd()  # `labtui run -- CMD` runs where it was typed
    t0 = time.monotonic()
    if experiment is not None and experiment not in (j.read().get("experiments") or {}) \
            and experiment in runs.pipeline.pipelines(j.read()):
        return _run_pipeline(j, args, params)
    run_id = runs.launch(j, experiment=experiment, command=cmd or None, params=params,
                         gpus=args.gpus, name=args.name, warn=_warn, cwd=cwd,
                         init_from=args.init_from, stop_when=args.stop_when, stop_on=args.stop_on,
                         max_time=args.max_time, on=args.on, queue=args.queue, after=args.after,
                         min_free_mem=args.min_free_mem)
    return _report_started(j, run_id, t0, args.json)


def _run_pipeline(j: Journal, args, params: dict) -> int:
    if params or args.name or args.init_from or args.cwd:
        raise UserError("a pipeline takes no --set, --name, --init-from or --cwd (set them in its stages' templates)")
    inst, ids = runs.launch_pipeline(j, args.experiment, gpus=args.gpus, min_free_mem=args.min_free_mem,
                                     after=args.after, warn=_warn)
    if args.json:
        emit_json({"pipeline": args.experiment, "pipeline_id": inst,
                   "runs": [runs.get_run(j, r).to_json() for r in ids]})
        return 0
    print(f"queued pipeline {inst}: {' -> '.join(ids)}; see labtui queue")
    return 0


def cmd_checkpoints(args) -> int:
    j = _journal(args)
    data = j.read()
    r = runs.get_run(j, args.id, data)
    cks = run_checkpoints(data, r)
    if args.json:
        emit_json({"run": r.id, "checkpoints": [c.to_json() for c in reversed(cks)]})
        return 0
    if not cks:
        print(f"{r.id}: no checkpoints (looked in {r.rundir.checkpoints_dir}"
              + (" and the template's checkpoints globs)" if template_of(data, r.experiment).get("checkpoints") else ")"))
        return 0
    _print_checkpoints(cks, "")
    return 0


def _print_checkpoints(cks, indent: str) -> None:
    t = time.time()
    rows = [(indent + "STEP", "AGE", "", "PATH")]
    for c in reversed(cks):
        mark = "newest" if c.newest else ("writing" if not c.complete else "")
        rows.append((indent + ("-" if c.step is None else str(c.step)), age(t - c.mtime), mark, str(c.path)))
    _table(rows)


def _extra_json(r: runs.RunInfo) -> dict:
    """The launch records beyond RunInfo's own fields: cwd, init-from, git, stop rules, queue."""
    d = {k: r.extra.get(k) for k in ("cwd", "init_from", "init_checkpoint", "git", "stop", "queue", "queued",
                                     "cancel_reason", "pipeline", "pipeline_id", "pipeline_stage")}
    if hasattr(d["queued"], "isoformat"):
        d["queued"] = d["queued"].isoformat()
    d["stop_reason"] = stop_reason(r)
    return d


def _report_started(j: Journal, run_id: str, t0: float, as_json: bool) -> int:
    info = runs.get_run(j, run_id)
    if as_json:
        emit_json(info.to_json())
        return 0
    if info.status == runs.Status.QUEUED:
        pos = runs.queue.positions(j, runs.list_runs(j)).get(run_id)
        print(f"queued {run_id} (#{pos}); see labtui queue")
        return 0
    state = info.rundir.read_state()
    pid = state.get("pid")
    where = f"pid {pid}" if pid else info.status
    if info.slurm is not None:
        where = f"Slurm job {info.slurm.get('job_id')}, {info.status}"
    print(f"started {run_id} ({where}, {1000 * (time.monotonic() - t0):.0f} ms); "
          f"log: labtui log {run_id} -f")
    return 0


# ----------------------------------------------------------------------------- ls / show

def _flags(j: Journal, info: runs.RunInfo, data: dict | None = None,
           into: dict | None = None) -> list[str]:
    """The run's flag words; ``into`` receives its metrics' last/step/best/best_step."""
    try:
        if not info.run_dir.is_dir():
            return []
        with tty_progress():  # a first read of a large log says how far it got (a terminal only)
            return run_flags(j, info.id, alive=info.alive, data=data, status=info.status, into=into)
    except UserError:
        return []
    except Exception as e:  # a strange log must never break the listing
        return [f"flags error: {type(e).__name__}"]


def cmd_ls(args) -> int:
    j = _journal(args)
    data = j.read()
    infos = runs.list_runs(j, data)
    runs.reconcile(j, data, infos)  # ls records in the journal the runs that ended unwatched
    places = runs.queue.positions(j, infos)
    if args.status:
        infos = [r for r in infos if r.status in args.status]
    reads = _ls_reads(j, infos, data, args.wait)
    if args.json:
        out = []
        for r in infos:
            d = r.to_json()
            d.update(_extra_json(r))
            d["queue_position"] = places.get(r.id)
            got = reads[r.id]
            d["metrics_read"] = got.read  # False: metrics and flags are null (not read yet), not empty
            d["metrics"] = got.metrics
            d["flags"] = got.flags
            out.append(d)
        emit_json({"journal": str(j.path), "runs": out})
        return 0
    if not infos:
        print(f"no runs yet in {j.path} (start one: labtui run EXPERIMENT)")
        return 0
    rows = [("ID", "EXPERIMENT", "STATUS", "GPUS", "AGE", "EXIT", "NOTES", "FLAGS")]
    t = time.time()
    for depth, r in runs.tree_order(infos):
        rid = ("  " * (depth - 1) + "└ " if depth else "") + r.id
        started = r.started.timestamp() if r.started else None
        exit_s = "" if r.alive else (r.signal or ("" if r.exit_code is None else str(r.exit_code)))
        gpus = "cpu" if r.gpus == [] else ("" if r.gpus is None else ",".join(map(str, r.gpus)))
        if r.slurm is not None:  # a Slurm job: its node (its GPUs are the job's allocation)
            gpus = "slurm ?" if r.slurm.get("note") else (f"@{r.slurm['nodes']}" if r.slurm.get("nodes") else "slurm")
        rows.append((
            rid, r.experiment or "-", _status_word(r, places), gpus,
            age(t - started) if started else "", exit_s, str(len(r.notes)) if r.notes else "",
            " ".join((reads[r.id].flags if reads[r.id].read else [NOT_READ_CELL])
                     + ([f"bad:{','.join(r.problems)}"] if r.problems else [])),
        ))
    _table(rows)
    for r in infos:  # a run with a field of the wrong type: listed, its problem said in one line each
        for problem in r.problems.values():
            print(terminal_safe(problem), file=sys.stderr)
    return 0


NOT_READ_CELL = "…"  # a run whose metrics ls did not read (never a partial value)


def _ls_reads(j: Journal, infos: list, data: dict, wait: bool) -> dict:
    """Each run's flags and last/best (``lsfill.read_runs``): all with ``wait``, else within the
    budget; one stderr line says how many were not read (and starts the lab's background fill)."""
    budget = None if wait else lsfill.budget_from_env()
    with tty_progress():  # --wait, or a first read of a large log, says how far it got (a terminal only)
        reads = lsfill.read_runs(j, infos, data, budget)
    unread = sum(1 for g in reads.values() if not g.read)
    if unread:
        filling = lsfill.start_fill(j) or lsfill.fill_running(j)
        print(f"labtui: metrics of {unread} of {len(infos)} runs not read yet (shown as {NOT_READ_CELL}"
              + ("; reading them in the background" if filling else "")
              + "); `labtui ls --wait` reads them all now", file=sys.stderr)
    return reads


def _status_word(r: runs.RunInfo, places: dict) -> str:
    """``queued #2`` (``, not armed`` when its shim is gone) for a queued run, else the status."""
    if r.id not in places:
        return str(r.status)
    return f"queued #{places[r.id]}" + ("" if runs.queue.armed(r.rundir) else ", not armed")


def _table(rows: list[tuple[str, ...]]) -> None:
    rows = [tuple(inert(c) for c in row) for row in rows]  # journal data: shown, never obeyed
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())


def cmd_show(args) -> int:
    j = _journal(args)
    data = j.read()
    r = runs.get_run(j, args.id, data)
    cks = run_checkpoints(data, r)
    ck = next((c.path for c in cks if c.newest), None)
    differs = _code_differs(data, r)
    if args.json:
        d = r.to_json()
        d.update(_extra_json(r))
        d["lineage"] = runs.lineage(j, r.id, data)
        d["latest_checkpoint"] = str(ck) if ck else None
        d["checkpoints"] = [c.to_json() for c in reversed(cks)]
        d["code_differs"] = differs
        d["logged_config"] = [{"name": n, "values": v} for n, v in logged_config(r.rundir.log)]
        d["metrics"] = {}
        d["flags"] = _flags(j, r, into=d["metrics"])
        emit_json(d)
        return 0
    line = lambda k, v: print(f"{k:<13}{inert(str(v))}")  # noqa: E731  (journal data: shown, never obeyed)
    line("run", r.id)
    line("experiment", r.experiment or "-")
    line("status", r.status + ("" if r.alive else _exit_text(r)))
    if stop_reason(r):
        line("stopped", stop_reason(r))
    if r.extra.get("stop"):
        line("stop rules", r.extra["stop"])
    line("command", r.command)
    if r.params:
        line("params", ", ".join(f"{k}={v}" for k, v in r.params.items()))
    for name, vals in logged_config(r.rundir.log):  # the config dumps the trainer printed
        print(f"logged config  {inert(name + ': ' + ', '.join(f'{k}={v}' for k, v in vals.items()))}")
    line("gpus", "cpu" if r.gpus == [] else ("-" if r.gpus is None else ",".join(map(str, r.gpus))))
    chain = runs.lineage(j, r.id, data)
    if len(chain) > 1:
        line("lineage", " → ".join(chain))
    if r.resumed_from:
        line("resumed from", r.resumed_from)
    if r.status == runs.Status.QUEUED:
        pos = runs.queue.positions(j, runs.list_runs(j, data)).get(r.id)
        line("queue", f"#{pos}" + ("" if runs.queue.armed(r.rundir) else ", not armed") + "; see labtui queue")
    if r.extra.get("cancel_reason"):
        line("cancelled", r.extra["cancel_reason"])
    if r.extra.get("pipeline_id"):
        line("pipeline", f"{r.extra['pipeline_id']} stage {r.extra.get('pipeline_stage', '?')}")
    if r.extra.get("init_from"):
        line("init from", f"{r.extra['init_from']} ({r.extra.get('init_checkpoint') or '?'})")
    line("started", r.started or "-")
    if r.ended:
        line("ended", r.ended)
    if r.pid:
        line("pid", r.pid)
    if r.slurm is not None:
        line("slurm", describe_slurm(r.slurm))
    line("folder", r.run_dir)
    line("cwd", run_cwd(r))
    git = r.extra.get("git")
    if isinstance(git, dict) and git.get("commit"):
        line("code", f"commit {str(git['commit'])[:12]} on {git.get('branch', '?')}"
             + (f", dirty ({git.get('files', '?')} files; {r.rundir.code_diff})" if git.get("dirty") else ""))
    if differs:
        line("", differs)
    for c in reversed(cks):
        mark = " (newest)" if c.newest else (" (writing)" if not c.complete else "")
        line("checkpoint", f"{'-' if c.step is None else c.step}  {c.path}{mark}")
    flags = _flags(j, r)
    if flags:
        line("flags", " ".join(flags))
    if r.tags:
        line("tags", " ".join(r.tags))
    if r.verdict:
        line("verdict", r.verdict)
    for n in r.notes:
        line("note", f"[{n['at'] or '?'}] {n['text']}")
    return 0


def _code_differs(data: dict, r: runs.RunInfo) -> str | None:
    """Against the run this one continues (or was initialised from)."""
    return run_code_differs(r, lambda other: ((data.get("runs") or {}).get(other) or {}).get("git"))


def _exit_text(r: runs.RunInfo) -> str:
    if r.signal:
        return f" (signal {r.signal})"
    if r.exit_code is not None:
        return f" (exit {r.exit_code})"
    return ""


# ----------------------------------------------------------------------------- log

def cmd_log(args) -> int:
    j = _journal(args)
    r = runs.get_run(j, args.id)
    path = RunDir(r.run_dir).log
    raw = args.raw or not sys.stdout.isatty()
    out = sys.stdout.buffer
    offset = 0
    if path.exists() and args.lines is not None:
        offset = last_lines_offset(path, args.lines)
    tail = LogTail(path, offset=offset)  # core's one log tail: follows truncation like tail -F
    pending = b""

    def emit(data: bytes, final: bool = False) -> None:
        nonlocal pending
        if raw:
            out.write(data)
            out.flush()
            return
        data = pending + data
        lines = data.split(b"\n")
        pending = b"" if final else lines.pop()
        for ln in lines:
            out.write(terminal_safe(ln.decode("utf-8", "replace")).encode("utf-8") + b"\n")
        out.flush()

    status = tail.check()[0]
    while True:
        if status == "reset":
            emit(b"", final=True)
            print(f"labtui: {path}: file truncated", file=sys.stderr)
        if status in ("grown", "reset"):
            tail.read_bytes(emit)
        if not args.follow:
            break
        if not runs.get_run(j, args.id).alive:
            # One last read: the run may have written its final lines as it ended.
            status = tail.check()[0]
            if status in ("grown", "reset"):
                continue
            break
        time.sleep(0.25)
        status = tail.check()[0]
    if pending:
        emit(b"", final=True)
    if args.follow:  # say how it ended (stderr: stdout stays the log, byte for byte with --raw)
        r = runs.get_run(j, args.id)
        print(f"labtui: {args.id} {r.status}{_exit_text(r)}", file=sys.stderr)
    return 0


# ----------------------------------------------------------------------------- kill / resume

def cmd_kill(args) -> int:
    j = _journal(args)
    mode = "now" if args.now else ("term" if args.term else "graceful")
    t0 = time.monotonic()
    cancelled = runs.cancel_queued(j, args.id, args.reason)  # a queued run's kill is a cancel
    if cancelled is not None:
        print(f"{args.id}: {cancelled} ({time.monotonic() - t0:.1f} s)")
        return 0
    # The escalation runs in the detached killer (like the app's): a closed terminal or a
    # dropped SSH link ends this process, never the kill half-way.
    try:
        status = runs.kill_detached(j, args.id, grace=args.grace, mode=mode, reason=args.reason,
                                    progress=lambda m: print(terminal_safe(m), file=sys.stderr))
    except KeyboardInterrupt:
        print(f"labtui: the kill of {args.id} goes on in the background "
              f"(its log: {terminal_safe(str(RunDir(j.run_dir(args.id)).kill_log))})", file=sys.stderr)
        return 130
    print(f"{args.id}: {status} ({time.monotonic() - t0:.1f} s)")
    return 0


def cmd_resume(args) -> int:
    j = _journal(args)
    t0 = time.monotonic()
    new = runs.resume(j, args.id, params=runs.parse_sets(args.sets), from_path=args.from_path,
                      gpus=args.gpus, name=args.name, warn=_warn, queue=args.queue, after=args.after,
                      min_free_mem=args.min_free_mem, stop_when=args.stop_when, stop_on=args.stop_on,
                      max_time=args.max_time)
    return _report_started(j, new, t0, args.json)


def cmd_note(args) -> int:
    j = _journal(args)
    runs.add_note(j, args.id, " ".join(args.text))
    return 0


def cmd_tag(args) -> int:
    j = _journal(args)
    if not args.tags and args.verdict is None:
        raise UserError("give tags to add (or --remove), or --verdict")
    if args.tags:
        tags = runs.add_tags(j, args.id, args.tags, remove=args.remove)
        print(f"{args.id}: tags {' '.join(tags) if tags else '(none)'}")
    if args.verdict is not None:
        runs.set_verdict(j, args.id, None if args.verdict == "none" else args.verdict)
    return 0
