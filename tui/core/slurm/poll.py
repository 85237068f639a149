"""What Slurm says about the lab's jobs: ONE batched ``squeue`` per refresh for every job of this
user (cached ~2 s, so a listing of any number of runs asks once), ``sacct`` (batched, cached) for
jobs that left squeue; where accounting is disabled, ``squeue --states=all`` is the fallback: it
keeps ended jobs (state, reason, node) for the controller's ``MinJobAge`` (300 s by default), which
is what ``scontrol show job`` would report too.  A Slurm that does not answer raises
:class:`SlurmDown` (cached as well: a dead controller costs one timeout per refresh, not per run).
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time

from . import cmd

CACHE_S = 2.0          # one squeue per refresh
ACCT_RETRY_S = 300.0   # accounting disabled: ask sacct again after this long
SEP = "\x1f"           # between fields: never in a job name or comment a user typed

# base Slurm states (the first word of "CANCELLED by 1000")
PENDING_STATES = frozenset({"PENDING", "REQUEUED", "REQUEUE_FED", "REQUEUE_HOLD", "RESV_DEL_HOLD",
                            "CONFIGURING", "SUSPENDED", "RESIZING", "SPECIAL_EXIT", "STAGE_OUT"})
RUNNING_STATES = frozenset({"RUNNING", "COMPLETING", "SIGNALING", "STOPPED"})


@dataclasses.dataclass(frozen=True)
class Job:
    job_id: str
    state: str           # base state word: PENDING RUNNING COMPLETED CANCELLED FAILED TIMEOUT ...
    reason: str = ""     # Slurm's reason (Priority, Resources, Dependency, ...), "" for None
    nodes: str = ""
    name: str = ""
    comment: str = ""
    source: str = "squeue"

    @property
    def pending(self) -> bool:
        return self.state in PENDING_STATES

    @property
    def running(self) -> bool:
        return self.state in RUNNING_STATES

    @property
    def ended(self) -> bool:
        return not self.pending and not self.running


def _base_state(s: str) -> str:
    return (s.split() or [""])[0].rstrip("+").upper()


def _clean(v: str) -> str:
    v = v.strip()
    return "" if v in ("None", "(null)", "N/A", "n/a") else v


class _Poller:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.snap: tuple[float, str, dict[str, Job] | SlurmDownResult] | None = None
        self.acct: dict[str, tuple[float, Job | None]] = {}
        self.acct_off_until = 0.0
        self.missing: dict[str, float] = {}  # job ids squeue no longer lists, asked recently

    def squeue(self) -> dict[str, Job]:
        conf = os.environ.get("SLURM_CONF", "")
        t = time.monotonic()
        with self.lock:
            if self.snap is not None and t - self.snap[0] < CACHE_S and self.snap[1] == conf:
                got = self.snap[2]
                if isinstance(got, SlurmDownResult):
                    raise cmd.SlurmDown(got.msg)
                return got
        fmt = SEP.join(("%i", "%T", "%r", "%N", "%j", "%k"))
        try:
            p = cmd.run(["squeue", "--noheader", "--states=all", "--me", "-o", fmt])
            if p.returncode != 0:
                raise cmd.SlurmDown(f"squeue: {cmd.one_line(p.stderr) or p.returncode}")
        except cmd.SlurmDown as e:
            with self.lock:
                self.snap = (time.monotonic(), conf, SlurmDownResult(str(e)))
            raise
        jobs = {}
        for line in p.stdout.splitlines():
            f = line.split(SEP)
            if len(f) < 6:
                continue
            job = Job(f[0].strip(), _base_state(f[1]), _clean(f[2]), _clean(f[3]), f[4].strip(),
                      SEP.join(f[5:]).strip())
            jobs[job.job_id] = job
        with self.lock:
            self.snap = (time.monotonic(), conf, jobs)
        return jobs

    def sacct(self, job_id: str) -> Job | None:
        """An ended job squeue no longer lists (batched with the others missing lately)."""
        t = time.monotonic()
        with self.lock:
            hit = self.acct.get(job_id)
            if hit is not None and (hit[1] is not None or t - hit[0] < CACHE_S):
                return hit[1]
            if t < self.acct_off_until:
                return None
            self.missing[job_id] = t
            self.missing = {j: at for j, at in self.missing.items() if t - at < 30.0}
            ids = sorted(self.missing)
        p = cmd.run(["sacct", "--noheader", "--parsable2", "--allocations", "--jobs", ",".join(ids),
                     "--format=JobIDRaw,State,Reason,NodeList,JobName"])
        found: dict[str, Job] = {}
        if p.returncode != 0:
            if "disabled" in p.stderr.lower() or "accounting" in p.stderr.lower():
                with self.lock:
                    self.acct_off_until = time.monotonic() + ACCT_RETRY_S
            return None
        for line in p.stdout.splitlines():
            f = line.split("|")
            if len(f) >= 5:
                found[f[0]] = Job(f[0], _base_state(f[1]), _clean(f[2]), _clean(f[3]), f[4], "", "sacct")
        with self.lock:
            for j in ids:
                job = found.get(j)
                self.acct[j] = (time.monotonic(), job)
                if job is not None:
                    self.missing.pop(j, None)
        return found.get(job_id)

    def reset(self) -> None:
        with self.lock:
            self.snap = None
            self.acct.clear()
            self.missing.clear()
            self.acct_off_until = 0.0


@dataclasses.dataclass(frozen=True)
class SlurmDownResult:
    msg: str


_POLLER = _Poller()


def job(job_id: str, fresh: bool = False) -> Job | None:
    """What Slurm says about one job (None: Slurm no longer knows it); SlurmDown if it did not
    answer.  Served from the one batched poll; ``fresh`` asks again now (a kill deciding)."""
    if not job_id:
        return None
    if fresh:
        forget()
    jobs = _POLLER.squeue()
    if job_id in jobs:
        return jobs[job_id]
    return _POLLER.sacct(job_id)


def forget() -> None:
    """Drop the cached poll (after a submit or a scancel: the next look asks Slurm)."""
    with _POLLER.lock:
        _POLLER.snap = None
