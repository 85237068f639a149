"""The lab's queue: runs that wait their turn (GPU memory, ``--after``) in their own shim.

A queued run is recorded as ``queued`` (journal: ``status``, ``queued`` time and a ``queue``
table of its conditions) and its detached shim is started at once; the shim calls
:func:`wait_turn` before it starts the trainer.  Nothing else needs to stay open.

Every claim happens under the lab's queue lock (``logs/.queue.lock``, an ``flock``): with it
held, a shim re-reads the journal, checks its conditions (:func:`evaluate`), picks GPUs, writes
them and ``starting`` to ``spec.json`` and the journal, and leaves the queue.  So two waiting
runs never take the same GPU, and a run that was cancelled meanwhile never starts.

The order (``logs/queue.json``, written atomically under the lock) is first-in-first-out per
lab, and editable (:func:`move`).  **The FIFO rule**: a run R that wants GPUs may claim only
when no run E earlier in the order is still waiting for GPUs that R could take, where E is
armed (its shim lives), E's ``--after`` conditions hold already, and the GPUs E could use
(its explicit indices, or every GPU for ``auto``) overlap R's.  A run that wants no GPU
never waits for the order; a run that is not armed (its shim died) never holds up the queue.

Each queued run's shim holds an exclusive ``flock`` on its run folder's ``shim.lock`` for its
whole life; whoever spawns a shim takes it first and hands it over (:func:`spawn_locked`), so
a run is never armed twice, and :func:`rearm` (after a reboot, called when a labtui
process reconciles) starts a new shim only when no shim holds it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import fcntl
import json
import os
import re
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from .. import procs
from ..checkpoints import newest, run_checkpoints
from ..errors import UserError
from ..fsio import read_json, write_atomic
from ..gpus import GpuSnapshot, busy_gpus, make_source, parse_gpus
from ..gpus import fmt as gpu_fmt
from ..journal import Journal, JournalError, UnknownRun
from ..journal import now as _now
from ..rundir import QUEUE_FILE, QUEUE_LOCK, RunDir
from ..status import ACTIVE, Status
from .model import RunInfo, as_journal, list_runs

POLL_S = 0.3                 # a waiting shim looks again this often (a run starts within ~0.5 s)
DEFAULT_MIN_FREE = 2 << 30   # bytes of free GPU memory a queued run needs by default (2 GiB)
INIT_SENTINEL = "@LABTUI_INIT_FROM@"  # a pipeline stage's {init_from}, filled in when it starts
LOCK_FD_ENV = "LABTUI_SHIM_LOCK_FD"   # the shim lock's fd handed to a new shim (never to a trainer)
REARM_AFTER_S = 30.0         # a queued run without any shim record this long is re-armed too

_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT])(?:I?B)?\s*$", re.IGNORECASE)
_UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


# --------------------------------------------------------------------------- conditions

def parse_size(value: Any, what: str = "--min-free-mem") -> int:
    """``20G``, ``20000M``, ``1.5GiB`` -> bytes (binary units); a one-line UserError otherwise."""
    m = _SIZE_RE.match(value) if isinstance(value, str) else None
    if m is None:
        raise UserError(f"{what}: {value!r} is not a memory size (use e.g. 20G or 20000M)")
    return int(float(m.group(1)) * _UNITS[m.group(2).upper()])


def parse_after(value: Any) -> list[str]:
    """``RUN[,RUN]`` (or a list) with an optional ``:finished`` each -> ``["lab3", "lab4:finished"]``."""
    items = value if isinstance(value, (list, tuple)) else str(value or "").split(",")
    out = []
    for item in items:
        run_id, sep, cond = str(item).strip().partition(":")
        if not run_id:
            continue
        if sep and cond != "finished":
            raise UserError(f"--after {item!r}: use RUN or RUN:finished")
        out.append(run_id + (":finished" if sep else ""))
    return out


def _after_items(q: dict) -> list[tuple[str, bool]]:
    return [(a.partition(":")[0], a.endswith(":finished")) for a in (q.get("after") or []) if isinstance(a, str)]


def conditions(gpus: Any, min_free_mem: int | None, after: list[str]) -> dict:
    """The ``queue`` table of a queued run's journal record (and its spec)."""
    q: dict = {}
    req = parse_gpus(gpus)
    if req is not None:
        q["gpus"] = gpus if isinstance(gpus, str) else list(req.indices)
        if req.kind != "cpu":
            q["min_free_mem"] = int(min_free_mem if min_free_mem is not None else DEFAULT_MIN_FREE)
    if after:
        q["after"] = list(after)
    return q


def _queue_table(info: RunInfo) -> dict:
    q = info.extra.get("queue")
    return q if isinstance(q, dict) else {}


# --------------------------------------------------------------------------- lab files, locks

def _files(j: Journal) -> tuple[Path, Path]:
    return j.logs_dir / QUEUE_FILE, j.logs_dir / QUEUE_LOCK


@contextlib.contextmanager
def lab_lock(journal: Journal | str | None) -> Iterator[None]:
    """The lab-wide queue lock (every claim, cancel, move and re-arm happens under it)."""
    j = as_journal(journal)
    _order, lock = _files(j)
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def read_order(journal: Journal | str | None) -> list[str]:
    data = read_json(_files(as_journal(journal))[0]) or {}
    order = data.get("order")
    return [r for r in order if isinstance(r, str)] if isinstance(order, list) else []


def _write_order(j: Journal, order: list[str]) -> None:
    path = _files(j)[0]
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps({"order": order}, indent=1) + "\n")


def enqueue(journal: Journal | str | None, run_id: str) -> None:
    """Append a run to the lab's order (launch calls it once the run is recorded as queued)."""
    j = as_journal(journal)
    with lab_lock(j):
        order = [r for r in read_order(j) if r != run_id]
        _write_order(j, order + [run_id])


def _leave(j: Journal, run_id: str) -> None:
    """(Under the lock.) Drop a run from the order file."""
    order = read_order(j)
    if run_id in order:
        _write_order(j, [r for r in order if r != run_id])


def shim_lock(run_dir: RunDir) -> int | None:
    """Take the run's shim lock (non-blocking): its fd, or None when a shim holds it already."""
    fd = os.open(run_dir.shim_lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def hold_shim_lock(run_dir: RunDir) -> int | None:
    """(In the shim.) The lock handed over by the spawner (``$LABTUI_SHIM_LOCK_FD``), else taken
    now; None when another shim of this run holds it (this shim must then leave at once)."""
    given = os.environ.pop(LOCK_FD_ENV, None)
    if given is not None and given.isdigit():
        fd = int(given)
        try:
            os.set_inheritable(fd, False)  # never passed on to the trainer
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # ours already: a no-op
            return fd
        except OSError:
            pass
    return shim_lock(run_dir)


def armed(run_dir: RunDir) -> bool:
    """Does the run's shim live (pure: ``state.json``'s shim pid and create time)?"""
    state = run_dir.read_state()
    return procs.matching_process(state.get("shim_pid"), state.get("shim_create")) is not None


def holds_place(r: RunInfo, t: float | None = None) -> bool:
    """Does a queued run keep its place in the order: its shim lives, or was just launched and
    has not recorded itself yet?"""
    if armed(r.rundir):
        return True
    q = r.extra.get("queued")
    fresh = isinstance(q, dt.datetime) and (t if t is not None else time.time()) - q.timestamp() < REARM_AFTER_S
    return fresh and not r.rundir.read_state()


# --------------------------------------------------------------------------- the verdict

@dataclasses.dataclass
class Verdict:
    action: str                     # "start" | "wait" | "cancel"
    reasons: list[str]              # what it waits for, or why it is cancelled
    gpus: list[int] | None = None   # the GPUs it may take (start)
    warning: str | None = None


def positions(j: Journal, infos: Iterable[RunInfo]) -> dict[str, int]:
    """Queued runs -> their 1-based place: the order file's, then any it lacks by queue time."""
    queued = [r for r in infos if r.status == Status.QUEUED]
    order = {rid: i for i, rid in enumerate(read_order(j))}
    far = len(order)

    def key(r: RunInfo):
        t = r.extra.get("queued")
        ts = t.timestamp() if isinstance(t, dt.datetime) else 0.0
        return (order.get(r.id, far), ts, r.id)

    return {r.id: i + 1 for i, r in enumerate(sorted(queued, key=key))}


def _after_state(info: RunInfo, by_id: dict[str, RunInfo]) -> tuple[str, list[str]]:
    """("ok" | "wait" | "cancel", reasons) of a run's --after conditions."""
    waits, cancel = [], []
    for other_id, need_finish in _after_items(_queue_table(info)):
        other = by_id.get(other_id)
        if other is None:
            cancel.append(f"after {other_id}: no such run")
        elif other.status in ACTIVE:
            waits.append(f"after {other_id} ({other.status})")
        elif need_finish and other.status != Status.FINISHED:
            how = f"exit {other.exit_code}" if other.exit_code is not None else (other.signal or "")
            cancel.append(f"after {other_id}:finished: {other_id} {other.status}"
                          + (f" ({how})" if how else ""))
    if cancel:
        return "cancel", cancel
    return ("wait", waits) if waits else ("ok", [])


def _candidates(q: dict, all_gpus: list[int]) -> set[int] | None:
    """The GPUs a run could use (None: it wants none)."""
    req = parse_gpus(q.get("gpus"))
    if req is None or req.kind == "cpu":
        return None
    return set(req.indices) if req.kind == "indices" else set(all_gpus)


def evaluate(j: Journal, info: RunInfo, infos: list[RunInfo], order: dict[str, int],
             sample: Callable[[], GpuSnapshot], armed_fn: Callable[[RunInfo], bool] = holds_place,
             ) -> Verdict:
    """May this queued run start now?  ``order``: :func:`positions`; ``sample``: a GPU snapshot."""
    by_id = {r.id: r for r in infos}
    state, reasons = _after_state(info, by_id)
    if state != "ok":
        return Verdict(state, reasons)
    q = _queue_table(info)
    req = parse_gpus(q.get("gpus"))
    if req is None or req.kind == "cpu":
        return Verdict("start", [], None if req is None else [])
    snap = sample()
    if not snap.ok:
        return Verdict("start", [], [], f"{snap.reason or 'no NVIDIA GPU'}; running on CPU")
    all_gpus = sorted(g.index for g in snap.gpus)
    mine = _candidates(q, all_gpus) or set()
    pos = order.get(info.id, len(order) + 1)
    for other in infos:
        opos = order.get(other.id)
        if other.id == info.id or opos is None or opos >= pos or not armed_fn(other):
            continue
        if _after_state(other, by_id)[0] != "ok":
            continue
        theirs = _candidates(_queue_table(other), all_gpus)
        if theirs and theirs & mine:
            return Verdict("wait", [f"behind {other.id} (#{opos}, waiting for GPU "
                                    f"{','.join(map(str, sorted(theirs & mine)))})"])
    min_free = q.get("min_free_mem", DEFAULT_MIN_FREE)
    holders: dict[int, str] = {}
    for r in infos:
        if r.alive and r.id != info.id:
            for g in busy_gpus([r]):
                holders.setdefault(g, r.id)
    for p in snap.processes:
        if p.run_id and p.run_id != info.id:
            holders.setdefault(p.gpu, p.run_id)
    free, why = [], []
    for g in snap.gpus:
        if g.index not in mine:
            continue
        if g.lost or g.error:
            why.append(f"GPU {g.index}: {g.error or 'lost'}")
        elif g.index in holders:
            why.append(f"GPU {g.index}: used by {holders[g.index]}")
        elif not isinstance(g.mem_total, (int, float)) or not isinstance(g.mem_used, (int, float)):
            why.append(f"GPU {g.index}: memory n/a")
        elif g.mem_total - g.mem_used < min_free:
            why.append(f"GPU {g.index}: {gpu_fmt(g.mem_total - g.mem_used, 'B')} free "
                       f"< {gpu_fmt(min_free, 'B')}")
        else:
            free.append(g)
    if req.kind == "indices":
        missing = [i for i in req.indices if i not in all_gpus]
        if missing:
            return Verdict("cancel", [f"GPU {','.join(map(str, missing))} does not exist"])
        if len(free) == len(req.indices):
            return Verdict("start", [], list(req.indices))
        return Verdict("wait", why)
    free.sort(key=lambda g: (g.mem_used, g.index))
    if len(free) >= req.count:
        return Verdict("start", [], [g.index for g in free[:req.count]])
    need = "a GPU" if req.count == 1 else f"{req.count} GPUs"
    return Verdict("wait", [f"{need} with {gpu_fmt(min_free, 'B')} free ({len(free)} now)"] + why)


def relevant(data: dict) -> dict:
    """``data`` with only the runs a queue decision reads: those not recorded as ended (queued,
    starting, running, ...) and the runs their ``--after`` names.  A waiting shim looks several
    times a second: it must not read every run folder of a 10,000-run journal each time."""
    all_runs = data.get("runs") or {}
    keep = set()
    for rid, rec in all_runs.items():
        st = Status.parse(rec.get("status")) if isinstance(rec, dict) else None
        if st is None or st in ACTIVE:
            keep.add(rid)
            q = rec.get("queue") if isinstance(rec, dict) else None
            if isinstance(q, dict):
                keep.update(a.partition(":")[0] for a in q.get("after") or [] if isinstance(a, str))
    return {**data, "runs": {rid: rec for rid, rec in all_runs.items() if rid in keep}}


def gpu_sampler(j: Journal) -> Callable[[], GpuSnapshot]:
    """A fresh sample each call (the fake source's file is re-read: tests rewrite it)."""
    lab = procs.lab_id(j.path)
    return lambda: make_source("auto", lab=lab).sample()


# --------------------------------------------------------------------------- the shim's wait

def _iso_now() -> str:
    return _now().isoformat()


def _cancel_locked(j: Journal, info: RunInfo, reason: str) -> None:
    """(Under the lock.) Record a queued run as cancelled: exit.json, the journal, the order."""
    rd = info.rundir
    ended = _now()
    rd.write_exit({"code": None, "signal": None, "ended": ended.isoformat(), "killed": False,
                   "cancelled": reason})
    with contextlib.suppress(UnknownRun):
        with j.edit_run(info.id, "status") as rec:
            rec["status"] = str(Status.CANCELLED)
            rec["ended"] = ended
            rec["cancel_reason"] = reason
    _leave(j, info.id)


def _fill_init(value: Any, ckpt: str) -> Any:
    if isinstance(value, str):
        return value.replace(INIT_SENTINEL, ckpt)
    if isinstance(value, list):
        return [_fill_init(v, ckpt) for v in value]
    if isinstance(value, dict):
        return {k: _fill_init(v, ckpt) for k, v in value.items()}
    return value


def _claim(j: Journal, rd: RunDir, spec: dict, run_id: str, say: Callable[[str], None],
           last: list) -> dict | str | None:
    """(Under the lock.) One look: the new spec to start, "gone" (not ours to start: cancelled,
    started, removed) or None (keep waiting)."""
    if rd.has_exit():
        return "gone"
    data = j.read()
    if run_id not in (data.get("runs") or {}):
        say(f"run {run_id} is not in {j.path}; not started")
        return "gone"
    infos = list_runs(j, relevant(data))
    info = next((r for r in infos if r.id == run_id), None)
    if info is None or info.status != Status.QUEUED:
        status = data["runs"][run_id].get("status") if info is None else info.status
        say(f"run {run_id} is {status}, not queued; this shim leaves")
        return "gone"
    verdict = evaluate(j, info, infos, positions(j, infos), gpu_sampler(j))
    if verdict.action == "wait":
        text = "; ".join(verdict.reasons)
        if text != last[0]:
            say(f"waiting: {text}")
            last[0] = text
        return None
    if verdict.action == "cancel":
        reason = "; ".join(verdict.reasons)
        say(f"cancelled: {reason}")
        _cancel_locked(j, info, reason)
        return "gone"
    new = dict(spec)
    fields: dict = {"status": str(Status.STARTING), "started": _now()}
    deferred = spec.get("init_from_run")
    if deferred:
        ck = None
        other = next((r for r in infos if r.id == deferred), None)
        if other is not None:
            ck = newest(run_checkpoints(data, other))
        if ck is None:
            reason = f"init-from {deferred}: no complete checkpoint"
            say(f"cancelled: {reason}")
            _cancel_locked(j, info, reason)
            return "gone"
        path = str(ck.path.resolve())
        new = _fill_init(new, path)
        fields.update(init_from=deferred, init_checkpoint=path,
                      command=_fill_init(str((data["runs"][run_id]).get("command", "")), path))
    if verdict.warning:
        say(f"warning: {verdict.warning}")
    if verdict.gpus is not None:
        new["gpus"] = fields["gpus"] = verdict.gpus
    rd.write_spec(new)
    with j.edit_run(run_id, "status") as rec:
        for k, v in fields.items():
            rec[k] = v
    _leave(j, run_id)
    say("starting" + (f" on GPU {','.join(map(str, verdict.gpus))}" if verdict.gpus else ""))
    return new


def wait_turn(rd: RunDir, spec: dict, say: Callable[[str], None],
              poll: float = POLL_S) -> dict | None:
    """(In the shim, before the trainer starts.) Wait until the run may start and claim it: the
    spec to start (GPUs and a deferred init-from filled in), or None when it must not start
    (cancelled, or started by someone else)."""
    j = Journal(spec["journal"])
    run_id = spec["run_id"]
    last = [""]
    while True:
        try:
            with lab_lock(j):
                got = _claim(j, rd, spec, run_id, say, last)
        except (JournalError, OSError) as e:  # a journal being edited badly: look again later
            got = None
            text = f"cannot check the queue: {e}"
            if text != last[0]:
                say(text)
                last[0] = text
        if got == "gone":
            return None
        if isinstance(got, dict):
            return got
        time.sleep(poll)


# --------------------------------------------------------------------------- editing the queue

def _queued(j: Journal, run_id: str) -> tuple[RunInfo, list[RunInfo]]:
    data = j.read()
    rel = relevant(data)
    if run_id in (data.get("runs") or {}):
        rel["runs"][run_id] = data["runs"][run_id]
    infos = list_runs(j, rel)
    info = next((r for r in infos if r.id == run_id), None)
    if info is None:
        known = [r.id for r in infos if r.status == Status.QUEUED]
        raise UserError(f"unknown run {run_id!r}; queued: {', '.join(known) or 'none'}")
    if info.status != Status.QUEUED:
        raise UserError(f"run {run_id!r} is not queued (status: {info.status})")
    return info, infos


def cancel(journal: Journal | str | None, run_id: str, reason: str | None = None) -> None:
    """Cancel a queued run: it becomes ``cancelled`` (exit.json ``{"cancelled": reason}``) and
    its shim leaves without starting it.  UserError if it is not queued (any more)."""
    j = as_journal(journal)
    with lab_lock(j):
        info, _infos = _queued(j, run_id)
        _cancel_locked(j, info, reason or "cancelled")


def move(journal: Journal | str | None, run_id: str, to: int) -> int:
    """Move a queued run to place ``to`` (1-based, clamped); returns its new place."""
    j = as_journal(journal)
    with lab_lock(j):
        _info, infos = _queued(j, run_id)
        pos = positions(j, infos)
        ids = sorted(pos, key=pos.get)
        ids.remove(run_id)
        to = max(1, min(int(to), len(ids) + 1))
        ids.insert(to - 1, run_id)
        _write_order(j, ids)
        return to


@dataclasses.dataclass
class Entry:
    """One queued run as ``labtui queue`` shows it."""
    id: str
    position: int
    experiment: str | None
    conditions: dict
    armed: bool
    waits: list[str]
    pipeline: str | None = None

    def to_json(self) -> dict:
        return {"id": self.id, "position": self.position, "experiment": self.experiment,
                "conditions": self.conditions, "armed": self.armed, "waits": self.waits,
                "pipeline": self.pipeline}


def view(journal: Journal | str | None, infos: list[RunInfo] | None = None,
         sample: Callable[[], GpuSnapshot] | None = None) -> list[Entry]:
    """The queue in order, with what each run waits for now (a GPU sample is taken once)."""
    j = as_journal(journal)
    if infos is None:
        infos = list_runs(j)
    pos = positions(j, infos)
    snap: list = []
    base = sample or gpu_sampler(j)

    def once() -> GpuSnapshot:
        if not snap:
            snap.append(base())
        return snap[0]

    out = []
    for r in sorted((r for r in infos if r.id in pos), key=lambda r: pos[r.id]):
        is_armed = armed(r.rundir)
        v = evaluate(j, r, infos, pos, once)
        waits = list(v.reasons) if v.action != "start" else ["nothing (starting)"]
        if not is_armed:
            waits.insert(0, "not armed (its shim is gone: any labtui command re-arms it)")
        q = {k: v for k, v in _queue_table(r).items()}
        out.append(Entry(r.id, pos[r.id], r.experiment, q, is_armed, waits,
                         r.extra.get("pipeline") if isinstance(r.extra.get("pipeline"), str) else None))
    return out


# --------------------------------------------------------------------------- re-arming

def spawn_locked(run_dir: RunDir, spawn: Callable[..., None]) -> bool:
    """Take the run's shim lock and start its shim with it (``spawn(run_dir, lock_fd)``); False
    when a shim already holds the lock (nothing started)."""
    fd = shim_lock(run_dir)
    if fd is None:
        return False
    try:
        spawn(run_dir, fd)
    finally:
        os.close(fd)
    return True


def _needs_arming(r: RunInfo, t: float) -> bool:
    if r.status != Status.QUEUED or armed(r.rundir) or r.rundir.has_exit():
        return False
    if r.rundir.read_state():
        return True  # a shim ran and is gone (a reboot, a kill)
    q = r.extra.get("queued")
    return not isinstance(q, dt.datetime) or t - q.timestamp() > REARM_AFTER_S


def rearm(journal: Journal | str | None, infos: list[RunInfo], spawn: Callable[..., None],
          wait: float = 5.0) -> list[str]:
    """Start a new shim for every queued run whose shim is gone (a reboot); the ids re-armed.

    Under the lab lock, with the run re-read and its shim lock taken before the spawn: two
    labtui processes re-arming at once start one shim, and a run that started meanwhile is
    left alone.  Waits (up to ``wait`` s) until each new shim has recorded itself."""
    t = time.time()
    todo = [r for r in infos if _needs_arming(r, t)]
    if not todo:
        return []
    j = as_journal(journal)
    done, starting = [], []
    with lab_lock(j):
        fresh = {r.id: r for r in list_runs(j, relevant(j.read()))}
        for r in todo:
            now_r = fresh.get(r.id)
            if now_r is None or not _needs_arming(now_r, t):
                continue
            try:
                # False: a shim holds the lock (just re-armed by another labtui, not recorded yet)
                (done if spawn_locked(r.rundir, spawn) else starting).append(r)
            except OSError:
                continue  # reported as "not armed" by whoever lists the queue
    deadline = time.monotonic() + wait
    for r in done + starting:
        while time.monotonic() < deadline and not armed(r.rundir) and not r.rundir.has_exit():
            time.sleep(0.02)
    return [r.id for r in done]
