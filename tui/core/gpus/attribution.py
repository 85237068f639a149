"""Who holds the GPUs: GPU processes mapped to the runs of one lab, per-run CPU/RSS, host figures.

A process belongs to run R of our lab when
- its environment carries ``LABTUI_RUN_ID=R`` and ``LABTUI_LAB`` = our lab (`procs.pid_tag`),
  or carries no ``LABTUI_LAB`` at all (a run started by an older labtui, or by hand);
- or it is a live run's trainer, known from the owner as ``(run_id, pid, create_time)`` (the app's
  poller, the `labtui gpus` CLI: `LiveRun`), pid and create time checked, so a reused pid is not a run;
- or it descends from one of those (nearest tagged or known ancestor wins).
A process tagged with another lab's run is foreign, whatever its ancestors. With no lab given
(`labtui gpus` outside a lab), every run tag names its run.
"""

from __future__ import annotations

import os
import pwd
import time
from typing import Any, Callable, Iterable

import psutil

from ..procs import pid_tag, same_start
from ..text import inert
from .snapshot import NA, GpuProcess, GpuSnapshot, HostInfo, RawGpus, RunUsage, num

LiveRun = tuple[str, int, Any]   # (run id, trainer pid, create time or None)
Tag = tuple[Any, str]            # (lab or None, run id) from a process's environment
PF_KTHREAD = 0x00200000          # /proc/PID/stat flags: a kernel thread


# --------------------------------------------------------------------------- /proc helpers
def proc_stat(pid: int) -> tuple[int, int, int] | None:
    """(ppid, start time in clock ticks, flags) from /proc/PID/stat: one read, cheaper than psutil."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return int(fields[1]), int(fields[19]), int(fields[6])
    except (OSError, ValueError, IndexError):
        return None


def _ppid(pid: int) -> int | None:
    st = proc_stat(pid)
    return st[0] if st else None


def is_kernel_thread(pid: int) -> bool:
    st = proc_stat(pid)
    return st is not None and bool(st[2] & PF_KTHREAD)


def read_tag(pid: int) -> Tag | None:
    """(lab, run id) of a process; None if it carries no run id or cannot be read."""
    lab, run = pid_tag(pid)
    return (lab, run) if run else None


def _user_name(uid: int) -> str:
    try:
        return inert(pwd.getpwuid(uid).pw_name)
    except KeyError:
        return str(uid)


def _short_cmd(p: psutil.Process) -> Any:
    try:
        cmd = p.cmdline()
        s = inert(" ".join(cmd) if cmd else p.name())  # another user's text: never terminal control
    except (psutil.Error, OSError):
        return NA
    return s if len(s) <= 80 else s[:77] + "..."


def live_runs(runs: Iterable[Any]) -> list[LiveRun]:
    """(run id, trainer pid, create time) of the live runs among `runs` (objects with `id`, `alive`,
    `pid`, `create_time`, e.g. RunInfo from a listing): what a sampler's owner hands it."""
    return [(r.id, r.pid, r.create_time) for r in runs
            if getattr(r, "alive", False) and isinstance(getattr(r, "pid", None), int)]


def ours(tag: Tag | None, lab: str | None) -> str | None:
    """The run id of a tag if the run is of our lab (see the module docstring), else None."""
    if tag is None:
        return None
    their_lab, run = tag
    return run if lab is None or their_lab is None or their_lab == lab else None


class ProcScanner:
    """Finds processes tagged with a run and sums each run's CPU/RSS over its tree.

    /proc/PID/environ is fixed after exec, so tags are cached per pid; the cache is dropped
    every `rescan` seconds to be safe against pid reuse. psutil.Process objects are kept across
    samples so cpu_percent() measures the interval since the previous sample.
    """

    def __init__(self, rescan: float = 30.0):
        self._tags: dict[int, Tag | None] = {}
        self._procs: dict[int, psutil.Process] = {}
        self._rescan = rescan
        self._scanned_at = 0.0
        self._children: dict[int, list[int]] | None = None
        self._who: dict[int, tuple] = {}
        self._unsure: set[int] = set()
        self._seen: set[int] = set()
        self._children_at = 0.0

    def tags(self) -> dict[int, Tag]:
        """pid -> (lab, run id) of every tagged process, whatever its lab."""
        now = time.monotonic()
        if now - self._scanned_at > self._rescan:
            self._tags.clear()
            self._who.clear()  # exec keeps pid and start time but may change environ/cmdline
            self._scanned_at = now
        pids = set(psutil.pids())
        for gone in set(self._tags) - pids:
            del self._tags[gone]
        # an untagged pid is read again on the next sample: a child caught between fork and
        # exec still shows its parent's environment
        for pid in (pids - set(self._tags)) | self._unsure:
            self._tags[pid] = read_tag(pid)
        self._unsure = {pid for pid in pids - self._unsure if self._tags.get(pid) is None
                        and pid not in self._seen}
        self._seen = pids
        return {pid: t for pid, t in self._tags.items() if t}

    def children(self, max_age: float = 5.0) -> dict[int, list[int]]:
        """ppid -> child pids of every process, rebuilt at most every `max_age` s (one
        /proc/PID/stat read per process); used only to find untagged descendants of a run."""
        now = time.monotonic()
        if self._children is None or now - self._children_at > max_age:
            children: dict[int, list[int]] = {}
            for pid in list(self._tags):
                ppid = _ppid(pid)
                if ppid is not None:
                    children.setdefault(ppid, []).append(pid)
            self._children, self._children_at = children, now
        return self._children

    def who(self, pid: int, start: int) -> tuple | None:
        """(user, same_user, short command, create_time, tag) of a GPU process, cached per
        (pid, start time) since none of these change during a process's life."""
        hit = self._who.get(pid)
        if hit is not None and hit[0] == start:
            return hit[1]
        try:
            p = psutil.Process(pid)
            uid = p.uids().real
            info = (_user_name(uid), uid == os.getuid(), _short_cmd(p), p.create_time(), read_tag(pid))
        except (psutil.Error, OSError):
            return None
        if len(self._who) > 4096:
            self._who.clear()
        if time.time() - info[3] > 2.0:  # not cached while it may still be before its exec
            self._who[pid] = (start, info)
        return info

    def proc(self, pid: int, create_time: Any = None) -> psutil.Process | None:
        """The live process `pid`; with a `create_time` (a journal's), only if it is that very
        process (``procs.same_start``: nan or a string never matches)."""
        p = self._procs.get(pid)
        try:
            if p is None or not p.is_running():
                p = psutil.Process(pid)
                self._procs[pid] = p
            if create_time is None or create_time is NA:
                return p
            if isinstance(create_time, bool) or not isinstance(create_time, (int, float)) \
                    or not same_start(p.create_time(), create_time):
                return None
            return p
        except (psutil.Error, OSError):
            self._procs.pop(pid, None)
            return None

    def prune(self, keep: Iterable[int]) -> None:
        keep = set(keep)
        for pid in list(self._procs):
            if pid not in keep:
                del self._procs[pid]


def host() -> HostInfo:
    try:
        vm = psutil.virtual_memory()
        l1, l5, l15 = os.getloadavg()
        return HostInfo(cpu_percent=psutil.cpu_percent(None), mem_used=vm.total - vm.available,
                        mem_total=vm.total, load1=round(l1, 2), load5=round(l5, 2),
                        load15=round(l15, 2), cpu_count=psutil.cpu_count() or NA)
    except (psutil.Error, OSError):
        return HostInfo()


# --------------------------------------------------------------------------- the snapshot
def _roots(our_tags: dict[int, str], live_runs: Iterable[LiveRun]) -> dict[str, list[tuple]]:
    """Each run's root processes: the topmost process carrying its tag (as far as /proc can
    tell), then the trainers the owner named (pid + create time, checked later)."""
    roots: dict[str, list[tuple]] = {}
    for run, pid, ct in live_runs:
        if isinstance(run, str) and isinstance(pid, int) and pid > 0:
            roots.setdefault(run, []).append((pid, ct))
    for pid, run in our_tags.items():
        ppid = _ppid(pid)
        if ppid is not None and our_tags.get(ppid) != run:
            roots.setdefault(run, []).append((pid, None))
    return roots


def attribute(raw: RawGpus, scanner: ProcScanner, live_runs: Iterable[LiveRun] = (),
              lab: str | None = None, clock: Callable[[], float] = time.time) -> GpuSnapshot:
    """A full snapshot: the raw GPU state, its processes named by run, per-run usage, the host."""
    tags = scanner.tags()
    our_tags = {pid: run for pid, t in tags.items() if (run := ours(t, lab))}
    # verified root pids -> run id (pid + create time, so a reused pid is not a run)
    root_of: dict[int, str] = {}
    for run, lst in _roots(our_tags, live_runs).items():
        for pid, ct in lst:
            if pid not in root_of and pid not in tags.keys() - our_tags.keys() \
                    and scanner.proc(pid, ct) is not None:
                root_of[pid] = run

    procs: list[GpuProcess] = []
    for rp in raw.procs:
        st = proc_stat(rp.pid)
        who = scanner.who(rp.pid, st[1]) if st else None
        if who is None:
            procs.append(GpuProcess(pid=rp.pid, gpu=rp.gpu, mem_used=num(rp.mem_used), run_id=None,
                                    foreign=True, visible=False))
            continue
        user, same, name, ctime, tag = who
        run = ours(tag, lab) if tag else root_of.get(rp.pid)
        anc, depth = st[0], 0
        while tag is None and run is None and anc and anc > 1 and depth < 64:
            # a descendant of a run: the nearest tagged or known ancestor decides
            if anc in tags:
                run = our_tags.get(anc)
                break
            run = root_of.get(anc)
            ast = proc_stat(anc)
            anc, depth = (ast[0] if ast else 0), depth + 1
        procs.append(GpuProcess(pid=rp.pid, gpu=rp.gpu, mem_used=num(rp.mem_used), run_id=run,
                                foreign=run is None, visible=True, user=user, same_user=same,
                                name=name, create_time=ctime))

    # per-run usage over the whole tree: tagged processes + descendants of the roots
    members: dict[str, set[int]] = {}
    for pid, run in our_tags.items():
        members.setdefault(run, set()).add(pid)
    if root_of:
        children = scanner.children()
        for pid, run in root_of.items():
            tree = members.setdefault(run, set())
            stack, visited = [pid], set()
            while stack:
                q = stack.pop()
                if q in visited:
                    continue
                visited.add(q)
                if q in tags and q not in our_tags:
                    continue  # another lab's run below ours: not part of our run
                tree.add(q)
                stack.extend(children.get(q, ()))
    for gp in procs:
        if gp.run_id:
            members.setdefault(gp.run_id, set())
    runs: dict[str, RunUsage] = {}
    seen: list[int] = []
    for run in sorted(members):
        cpu, rss, alive = 0.0, 0, []
        for pid in sorted(members[run]):
            p = scanner.proc(pid)
            if p is None:
                continue
            try:
                with p.oneshot():
                    cpu += p.cpu_percent(None)
                    rss += p.memory_info().rss
                alive.append(pid)
            except (psutil.Error, OSError):
                continue
        seen.extend(alive)
        mine = [gp for gp in procs if gp.run_id == run]
        gmem = NA if any(gp.mem_used is NA for gp in mine) else sum(gp.mem_used for gp in mine)
        if not alive and not mine:
            continue
        runs[run] = RunUsage(run_id=run, pids=tuple(alive), cpu_percent=round(cpu, 1), rss=rss,
                             gpu_mem=gmem, gpus=tuple(sorted({gp.gpu for gp in mine})))
    scanner.prune(seen + [gp.pid for gp in procs] + list(root_of))
    return GpuSnapshot(ok=raw.ok, reason=raw.reason, gpus=list(raw.gpus), processes=procs,
                       host=raw.host or host(), runs=runs, taken_at=clock())
