"""RunInfo and the pure listing: what the journal and the run folders say, never written back.

A run's truth lives in files: the journal entry (what was asked, notes), the shim's
``state.json`` (pids + create times), ``kill.json`` (a labtui kill was asked) and
``exit.json`` (how it ended).  :func:`list_runs` and :func:`get_run` read them (and ``/proc``)
into :class:`RunInfo` objects; they never write.  Writing the live status back into the
journal is :func:`tui.core.runs.reconcile`'s job, called on purpose.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import os
import time
from pathlib import Path
from typing import Any, Iterable

from .. import lineage as _lineage
from ..errors import UserError
from ..journal import Journal, validate_run_id
from ..rundir import RunDir
from ..slurm import slurm_view
from ..status import LIVE, Status
from .live import live_status


@dataclasses.dataclass
class RunInfo:
    id: str
    experiment: str | None
    status: Status
    command: str
    params: dict
    gpus: list | None
    pid: int | None
    create_time: float | None
    started: dt.datetime | None
    ended: dt.datetime | None
    exit_code: int | None
    signal: str | None
    parent: str | None
    resumed_from: str | None
    resume_step: int | None
    notes: list
    tags: list
    verdict: str | None
    run_dir: Path
    extra: dict = dataclasses.field(default_factory=dict)
    # exit.json as read for this listing (None if absent): what reconcile writes back.
    exit_record: dict | None = dataclasses.field(default=None, repr=False, compare=False)
    # Fields of the journal record with the wrong type: {field: one-line message}.  The field
    # reads as empty/unknown; the run is still listed.
    problems: dict = dataclasses.field(default_factory=dict)
    # A Slurm run's job (job_id, partition, nodes, state, reason, requeued, note: "slurm: not
    # responding"); None for a local run.
    slurm: dict | None = None

    @property
    def alive(self) -> bool:
        return self.status in LIVE

    @property
    def rundir(self) -> RunDir:
        return RunDir(self.run_dir)

    def to_json(self) -> dict:
        def iso(t):
            return t.isoformat() if isinstance(t, (dt.datetime, dt.date)) else t

        return {
            "id": self.id,
            "experiment": self.experiment,
            "status": str(self.status),
            "command": self.command,
            "params": _jsonable(self.params),
            "gpus": self.gpus,
            "pid": self.pid,
            "started": iso(self.started),
            "ended": iso(self.ended),
            "exit_code": self.exit_code,
            "signal": self.signal,
            "parent": self.parent,
            "resumed_from": self.resumed_from,
            "resume_step": self.resume_step,
            "notes": [{"at": iso(n.get("at")), "text": n.get("text", "")} for n in self.notes],
            "tags": list(self.tags),
            "verdict": self.verdict,
            "run_dir": str(self.run_dir),
            "slurm": self.slurm,
        }


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (dt.datetime, dt.date, dt.time)):
        return v.isoformat()
    return v


# --------------------------------------------------------------------------- reading records

def as_journal(journal: Journal | str | os.PathLike | None) -> Journal:
    return journal if isinstance(journal, Journal) else Journal(journal)


def unknown(kind: str, name: str, known: Iterable[str]) -> str:
    """``unknown run 'x'; known: a, b`` (the last dozen), or ``... (there are none yet)``."""
    known = list(known)
    if not known:
        return f"unknown {kind} {name!r} (there are none yet)"
    shown = ", ".join(known[-12:]) + (" ..." if len(known) > 12 else "")
    return f"unknown {kind} {name!r}; known: {shown}"


def _notes(raw: Any) -> list[dict]:
    if isinstance(raw, str):
        raw = [raw]  # one note written by hand without brackets
    out = []
    for n in raw or []:
        if isinstance(n, dict):
            at = n.get("at")
            out.append({"at": at if isinstance(at, dt.datetime) else None, "text": str(n.get("text", ""))})
        else:  # a plain string written by hand
            out.append({"at": None, "text": str(n)})
    return out


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _finite(v: Any) -> bool:
    return (_int(v) or isinstance(v, float)) and math.isfinite(v)


def _opt(check):
    return lambda v: v is None or check(v)


# field -> (accepts the value, what it must be).  Anything else reads as empty/unknown.
_TYPES = {
    "experiment": (_opt(lambda v: isinstance(v, str)), "a string"),
    "command": (_opt(lambda v: isinstance(v, str)), "a string"),
    "params": (_opt(lambda v: isinstance(v, dict)), "a table of params"),
    "gpus": (_opt(lambda v: isinstance(v, list) and all(_int(g) or isinstance(g, str) for g in v)),
             "a list of GPU indices"),
    "pid": (_opt(lambda v: _int(v) and v > 0), "a process id"),
    "create_time": (_opt(_finite), "a finite number (seconds)"),
    "started": (_opt(lambda v: isinstance(v, dt.datetime)), "a date-time"),
    "ended": (_opt(lambda v: isinstance(v, dt.datetime)), "a date-time"),
    "exit_code": (_opt(_int), "an integer"),
    "signal": (_opt(lambda v: isinstance(v, (str, int)) and not isinstance(v, bool)), "a signal name"),
    "parent": (_opt(lambda v: isinstance(v, str)), "a run id"),
    "resumed_from": (_opt(lambda v: isinstance(v, str)), "a path"),
    "resume_step": (_opt(_int), "an integer"),
    "notes": (_opt(lambda v: isinstance(v, (str, list))
                   and all(isinstance(n, (str, dict)) for n in (v if isinstance(v, list) else []))),
              "a list of notes"),
    "tags": (_opt(lambda v: isinstance(v, str) or (isinstance(v, list) and all(isinstance(t, str) for t in v))),
             "a list of tags"),
    "verdict": (_opt(lambda v: isinstance(v, str)), "a string"),
    "status": (_opt(lambda v: isinstance(v, str)), "a status word"),
}


_FAST = {f: (str,) for f in ("experiment", "command", "parent", "resumed_from", "verdict", "status")}
_FAST.update(params=(dict,), started=(dt.datetime,), ended=(dt.datetime,), exit_code=(int,), resume_step=(int,),
             signal=(str, int))


def checked(journal: Journal, run_id: str, rec: dict) -> tuple[dict, dict[str, str]]:
    """``rec`` with every field of the wrong type dropped, and ``{field: one-line problem}``."""
    problems = {}
    for field, v in rec.items():
        if type(v) in _FAST.get(field, ()):
            continue  # the common, right type: no deeper check needed
        spec = _TYPES.get(field)
        if spec is None:
            continue
        ok, want = spec
        if not ok(v):
            problems[field] = (f"{journal.path}: run {run_id}, field {field}: must be {want}, "
                               f"not {repr(v)[:60]}")
    if not problems:
        return rec, problems
    return {k: v for k, v in rec.items() if k not in problems}, problems


def parse_iso(s: Any) -> dt.datetime | None:
    if isinstance(s, dt.datetime):
        return s
    if isinstance(s, str):
        try:
            return dt.datetime.fromisoformat(s)
        except ValueError:
            return None
    return None


_KNOWN = frozenset({"experiment", "command", "params", "gpus", "pid", "create_time", "started", "ended",
                    "exit_code", "signal", "parent", "resumed_from", "resume_step", "notes", "tags",
                    "verdict", "status"})


def run_info(journal: Journal, run_id: str, rec: dict, status: Status,
             exit_info: dict | None, problems: dict | None = None, run_dir: Path | None = None) -> RunInfo:
    """A :class:`RunInfo` from a (:func:`checked`) journal record, its live status and ``exit.json``."""
    if problems is None:
        rec, problems = checked(journal, run_id, rec)
    ended = rec.get("ended")
    exit_code = rec.get("exit_code")
    sig = rec.get("signal")
    if exit_info is not None:
        ended = parse_iso(exit_info.get("ended")) or ended
        exit_code = exit_info.get("code")
        sig = exit_info.get("signal")
    tags = rec.get("tags") or []
    return RunInfo(
        id=run_id,
        experiment=rec.get("experiment"),
        status=status,
        command=str(rec.get("command", "")),
        params=dict(rec.get("params") or {}),
        gpus=rec.get("gpus"),
        pid=rec.get("pid"),
        create_time=rec.get("create_time"),
        started=rec.get("started"),
        ended=ended,
        exit_code=exit_code,
        signal=sig,
        parent=rec.get("parent"),
        resumed_from=rec.get("resumed_from"),
        resume_step=rec.get("resume_step"),
        notes=_notes(rec.get("notes")),
        tags=[str(t) for t in tags] if isinstance(tags, list) else [str(tags)],
        verdict=rec.get("verdict"),
        run_dir=run_dir if run_dir is not None else journal.logs_dir / run_id,
        extra={k: v for k, v in rec.items() if k not in _KNOWN},
        exit_record=exit_info,
        problems=problems,
        slurm=slurm_view(rec, status, exit_info),
    )


# --------------------------------------------------------------------------- pure listing

def list_runs(journal: Journal | str | None = None, data: dict | None = None) -> list[RunInfo]:
    """Every run in journal order, with its live status.  Pure: never writes the journal."""
    j = as_journal(journal)
    if data is None:
        data = j.read()
    out = []
    t = time.time()
    logs = j.logs_dir
    for run_id, rec in (data.get("runs") or {}).items():
        try:
            validate_run_id(run_id)
        except UserError:
            continue  # a hand-written entry with an unsafe id: never touch files for it
        rec, problems = checked(j, run_id, rec)
        run_dir = logs / run_id
        status, exit_info = live_status(rec, RunDir(run_dir), t)
        out.append(run_info(j, run_id, rec, status, exit_info, problems, run_dir))
    return out


def get_run(journal: Journal | str | None, run_id: str, data: dict | None = None) -> RunInfo:
    """One run with its live status (UserError naming the known ones if it does not exist)."""
    j = as_journal(journal)
    if data is None:
        data = j.read()
    runs = data.get("runs") or {}
    if run_id not in runs:
        raise UserError(unknown("run", run_id, runs))
    validate_run_id(run_id)
    rec, problems = checked(j, run_id, runs[run_id])
    status, exit_info = live_status(rec, RunDir(j.logs_dir / run_id))
    return run_info(j, run_id, rec, status, exit_info, problems)


def lineage(journal: Journal | str | None, run_id: str, data: dict | None = None) -> list[str]:
    """Parent chain from the root to ``run_id`` (cycles in a hand-edited journal are cut)."""
    runs = (data if data is not None else as_journal(journal).read()).get("runs") or {}
    return _lineage.chain(runs, run_id)


tree_order = _lineage.tree_order
