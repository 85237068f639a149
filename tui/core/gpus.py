"""GPU and host monitoring: one sampler, three sources (NVML, none, fake). No textual here.

Public API (the app, the CLI and the run launcher use only this)
-----------------------------------------------------------------
    from tui.core import gpus

    src = gpus.make_source("auto")       # "auto" | "nvml" | "none" | "fake" (fake_path=... or $LABTUI_FAKE_GPUS)
    snap = src.sample()                  # -> GpuSnapshot (blocking, a few ms; never raises for NVML trouble)

    s = gpus.Sampler(src, interval=1.0)  # own daemon thread; keeps the last 10 minutes of history
    s.start()
    s.latest()                           # -> GpuSnapshot | None (None until the first sample); never blocks
    s.history(0)                         # -> deque[(t, util, mem_used)] for GPU 0 (a copy), oldest first
    s.stop()

    gpus.resolve_gpus("auto", busy={0})  # -> ([1], None)  / ([], "warning: ...") / UserError   (run launcher)
    gpus.kill_foreign(pid)               # `labtui gpus --kill PID` (same user, not a run's, pid+create-time checked)

Snapshot dataclasses (frozen; list fields are not to be mutated):
    GpuSnapshot(ok, reason, gpus: list[GpuInfo], processes: list[GpuProcess], host: HostInfo,
                runs: dict[run_id, RunUsage], taken_at: float)
        ok=False means "no NVIDIA GPU" (no driver, no device, NVML failure); `reason` carries NVML's
        message ("NVML Shared Library Not Found"). Host and run usage are sampled either way.
    GpuInfo(index, name, uuid, util, mem_used, mem_total, temperature, power_draw, power_limit,
            mig_mode, lost, error)
        util %, memory in bytes, temperature in degrees C, power in W, mig_mode True/False.
        lost=True: the GPU fell off the bus (NVML GpuIsLost); `error` says so; values are NA.
    GpuProcess(pid, gpu, mem_used, run_id, foreign, visible, user, same_user, name, create_time)
        run_id: the labtui run it belongs to (LABTUI_RUN_ID in /proc/PID/environ, or a descendant of
        a run's trainer), else None and foreign=True. visible=False: the pid is not in our /proc
        (another PID namespace, e.g. inside a container); user/name/create_time are then NA.
    HostInfo(cpu_percent, mem_used, mem_total, load1, load5, load15, cpu_count)
    RunUsage(run_id, pids, cpu_percent, rss, gpu_mem, gpus)   whole process tree of a running run.

NA: every value that NVML (or /proc) cannot give -- not supported, failed, lost, invisible -- is the
one sentinel `gpus.NA` (a str "n/a", falsy; test with `x is NA`). `fmt(x)` renders any field.

Snapshots convert with `snap.to_dict()` (JSON-ready, NA -> null); the fake source reads the same
format, so `labtui gpus --json > f.json` replays with `LABTUI_FAKE_GPUS=f.json`. See docs/gpus.md.
"""

from __future__ import annotations

import atexit
import collections
import dataclasses
import json
import os
import pwd
import signal as _signal
import threading
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import psutil

from tui.core.errors import UserError

__all__ = [
    "NA", "fmt", "GpuInfo", "GpuProcess", "HostInfo", "RunUsage", "GpuSnapshot",
    "GpuSource", "NvmlSource", "NoneSource", "FakeSource", "make_source", "Sampler",
    "resolve_gpus", "kill_foreign", "journal_runs", "snapshot_from_dict", "FAKE_ENV",
]

FAKE_ENV = "LABTUI_FAKE_GPUS"
RUN_TAG = "LABTUI_RUN_ID"
HISTORY_SECONDS = 600.0


# --------------------------------------------------------------------------- the NA sentinel
class _NAType(str):
    """The single "not available" value (like nvitop's NA): a str "n/a" that is falsy."""

    _instance: "_NAType | None" = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls, "n/a")
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "NA"

    def __reduce__(self):
        return (_NAType, ())


NA: Any = _NAType()


def _num(x: Any) -> Any:
    """A JSON/file value -> number or NA (None, "n/a", "N/A" become NA)."""
    if x is None or x is NA or (isinstance(x, str) and x.strip().lower() in ("n/a", "na", "")):
        return NA
    return x


def fmt(value: Any, unit: str = "") -> str:
    """Render a field for people: NA -> "n/a", bytes (unit="B") in GiB/MiB, floats short."""
    if value is NA or value is None:
        return "n/a"
    if unit == "B":
        v = float(value)
        if v >= 1024 ** 3:
            return f"{v / 1024 ** 3:.1f} GiB"
        return f"{v / 1024 ** 2:.0f} MiB"
    if isinstance(value, float):
        return f"{value:.0f}{unit}" if abs(value) >= 10 else f"{value:.1f}{unit}"
    return f"{value}{unit}"


# --------------------------------------------------------------------------- snapshot dataclasses
@dataclass(frozen=True)
class GpuInfo:
    index: int
    name: Any = NA
    uuid: Any = NA
    util: Any = NA            # % (0-100)
    mem_used: Any = NA        # bytes
    mem_total: Any = NA       # bytes
    temperature: Any = NA     # degrees C
    power_draw: Any = NA      # W
    power_limit: Any = NA     # W
    mig_mode: Any = NA        # True / False / NA (not a MIG-capable GPU)
    lost: bool = False        # fell off the bus
    error: str | None = None  # one line when the GPU could not be read at all


@dataclass(frozen=True)
class GpuProcess:
    pid: int
    gpu: int
    mem_used: Any = NA        # bytes
    run_id: str | None = None
    foreign: bool = True      # not part of a labtui run (another user's, or not started by labtui)
    visible: bool = True      # False: pid not in our /proc (other PID namespace / container)
    user: Any = NA
    same_user: Any = NA       # True / False / NA (invisible)
    name: Any = NA            # short command line
    create_time: Any = NA     # psutil create time, for pid-reuse-safe kill


@dataclass(frozen=True)
class HostInfo:
    cpu_percent: Any = NA
    mem_used: Any = NA        # bytes
    mem_total: Any = NA       # bytes
    load1: Any = NA
    load5: Any = NA
    load15: Any = NA
    cpu_count: Any = NA


@dataclass(frozen=True)
class RunUsage:
    run_id: str
    pids: tuple = ()
    cpu_percent: float = 0.0  # sum over the process tree (100 = one core)
    rss: int = 0              # bytes, sum over the process tree
    gpu_mem: Any = 0          # bytes held on GPUs by the run's processes (NA if any is NA)
    gpus: tuple = ()          # GPU indices the run's processes are on


@dataclass(frozen=True)
class GpuSnapshot:
    ok: bool
    reason: str | None
    gpus: list = field(default_factory=list)
    processes: list = field(default_factory=list)
    host: HostInfo = field(default_factory=HostInfo)
    runs: dict = field(default_factory=dict)
    taken_at: float = 0.0

    def gpu(self, index: int) -> GpuInfo | None:
        for g in self.gpus:
            if g.index == index:
                return g
        return None

    def process(self, pid: int) -> GpuProcess | None:
        for p in self.processes:
            if p.pid == pid:
                return p
        return None

    def to_dict(self) -> dict:
        def conv(v):
            if v is NA:
                return None
            if dataclasses.is_dataclass(v):
                return {f.name: conv(getattr(v, f.name)) for f in dataclasses.fields(v)}
            if isinstance(v, (list, tuple)):
                return [conv(x) for x in v]
            if isinstance(v, dict):
                return {k: conv(x) for k, x in v.items()}
            return v
        return conv(self)


# --------------------------------------------------------------------------- raw GPU state
@dataclass
class _RawProc:
    pid: int
    gpu: int
    mem_used: Any = NA


@dataclass
class _Raw:
    ok: bool
    reason: str | None
    gpus: list
    procs: list


# --------------------------------------------------------------------------- /proc helpers
def _read_tag(pid: int) -> str | None:
    """LABTUI_RUN_ID from /proc/PID/environ, None if absent or unreadable."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            data = f.read()
    except OSError:
        return None
    key = RUN_TAG.encode() + b"="
    for item in data.split(b"\0"):
        if item.startswith(key):
            return item[len(key):].decode("utf-8", "replace") or None
    return None


def _stat(pid: int) -> tuple[int, int] | None:
    """(ppid, start time in clock ticks) from /proc/PID/stat: one read, cheaper than psutil."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return int(fields[1]), int(fields[19])
    except (OSError, ValueError, IndexError):
        return None


def _ppid(pid: int) -> int | None:
    st = _stat(pid)
    return st[0] if st else None


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _short_cmd(p: psutil.Process) -> Any:
    try:
        cmd = p.cmdline()
        s = " ".join(cmd) if cmd else p.name()
    except (psutil.Error, OSError):
        return NA
    return s if len(s) <= 80 else s[:77] + "..."


RunsProvider = Callable[[], "dict[str, list[tuple[int, float | None]]]"]


class _ProcScanner:
    """Finds processes tagged with LABTUI_RUN_ID and sums each run's CPU/RSS over its tree.

    /proc/PID/environ is fixed after exec, so tags are cached per pid; the cache is dropped
    every `rescan` seconds to be safe against pid reuse. psutil.Process objects are kept across
    samples so cpu_percent() measures the interval since the previous sample.
    """

    def __init__(self, rescan: float = 30.0):
        self._tags: dict[int, str | None] = {}
        self._procs: dict[int, psutil.Process] = {}
        self._rescan = rescan
        self._scanned_at = 0.0
        self._children: dict[int, list[int]] | None = None
        self._who: dict[int, tuple] = {}
        self._unsure: set[int] = set()
        self._seen: set[int] = set()
        self._children_at = 0.0

    def tags(self) -> dict[int, str]:
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
            self._tags[pid] = _read_tag(pid)
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
        """(user, same_user, short command, create_time, run tag) of a GPU process, cached per
        (pid, start time) since none of these change during a process's life."""
        hit = self._who.get(pid)
        if hit is not None and hit[0] == start:
            return hit[1]
        try:
            p = psutil.Process(pid)
            uid = p.uids().real
            info = (_user_name(uid), uid == os.getuid(), _short_cmd(p), p.create_time(), _read_tag(pid))
        except (psutil.Error, OSError):
            return None
        if len(self._who) > 4096:
            self._who.clear()
        if time.time() - info[3] > 2.0:  # not cached while it may still be before its exec
            self._who[pid] = (start, info)
        return info

    def proc(self, pid: int, create_time: Any = None) -> psutil.Process | None:
        p = self._procs.get(pid)
        try:
            if p is None or not p.is_running():
                p = psutil.Process(pid)
                self._procs[pid] = p
            if create_time not in (None, NA) and abs(p.create_time() - float(create_time)) > 0.05:
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


def _roots_by_tag(tags: dict[int, str]) -> dict[str, list[tuple[int, float | None]]]:
    """Topmost tagged process of each run (its trainer, as far as /proc can tell)."""
    roots: dict[str, list[tuple[int, float | None]]] = {}
    for pid, run in tags.items():
        ppid = _ppid(pid)
        if ppid is None:
            continue
        if tags.get(ppid) != run:
            roots.setdefault(run, []).append((pid, None))
    return roots


# --------------------------------------------------------------------------- snapshot builder
def _host() -> HostInfo:
    try:
        vm = psutil.virtual_memory()
        l1, l5, l15 = os.getloadavg()
        return HostInfo(cpu_percent=psutil.cpu_percent(None), mem_used=vm.total - vm.available,
                        mem_total=vm.total, load1=round(l1, 2), load5=round(l5, 2),
                        load15=round(l15, 2), cpu_count=psutil.cpu_count() or NA)
    except (psutil.Error, OSError):
        return HostInfo()


def _build(raw: _Raw, scanner: _ProcScanner, runs_provider: RunsProvider | None,
           clock: Callable[[], float]) -> GpuSnapshot:
    tags = scanner.tags()
    roots = _roots_by_tag(tags)
    if runs_provider is not None:
        try:
            for run, lst in (runs_provider() or {}).items():
                roots.setdefault(run, [])
                roots[run] = list(lst) + roots[run]
        except Exception:  # a broken journal must not stop the sampler
            pass
    # verified root pids -> run id (pid + create time, so a reused pid is not a run)
    root_of: dict[int, str] = {}
    for run, lst in roots.items():
        for pid, ct in lst:
            if pid and scanner.proc(pid, ct) is not None:
                root_of[pid] = run

    procs: list[GpuProcess] = []
    for rp in raw.procs:
        st = _stat(rp.pid)
        who = scanner.who(rp.pid, st[1]) if st else None
        if who is None:
            procs.append(GpuProcess(pid=rp.pid, gpu=rp.gpu, mem_used=_num(rp.mem_used), run_id=None,
                                    foreign=True, visible=False))
            continue
        user, same, name, ctime, tag = who
        run = tag or root_of.get(rp.pid)
        anc, depth = st[0], 0
        while run is None and anc and anc > 1 and depth < 64:  # ancestry: a descendant of a run
            run = tags.get(anc) or root_of.get(anc)
            ast = _stat(anc)
            anc, depth = (ast[0] if ast else 0), depth + 1
        procs.append(GpuProcess(pid=rp.pid, gpu=rp.gpu, mem_used=_num(rp.mem_used), run_id=run,
                                foreign=run is None, visible=True, user=user, same_user=same,
                                name=name, create_time=ctime))

    # per-run usage over the whole tree: tagged processes + descendants of the roots
    members: dict[str, set[int]] = {}
    for pid, run in tags.items():
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
                       host=_host(), runs=runs, taken_at=clock())


# --------------------------------------------------------------------------- sources
class GpuSource:
    """One interface: sample() -> GpuSnapshot. Subclasses implement _read() -> _Raw."""

    kind = "base"

    def __init__(self, runs_provider: RunsProvider | None = None,
                 clock: Callable[[], float] = time.time):
        self.runs_provider = runs_provider
        self.clock = clock
        self._scanner = _ProcScanner()
        self._lock = threading.Lock()

    def _read(self) -> _Raw:  # pragma: no cover - abstract
        raise NotImplementedError

    def sample(self) -> GpuSnapshot:
        with self._lock:
            try:
                raw = self._read()
            except Exception as e:  # a source bug must never crash a caller
                raw = _Raw(False, f"GPU sampling failed: {type(e).__name__}: {e}", [], [])
            return _build(raw, self._scanner, self.runs_provider, self.clock)

    def close(self) -> None:
        pass


class NoneSource(GpuSource):
    """No driver or no GPU: ok=False with the reason; host and runs are still sampled."""

    kind = "none"

    def __init__(self, reason: str = "no NVIDIA GPU", **kw):
        super().__init__(**kw)
        self.reason = reason

    def _read(self) -> _Raw:
        return _Raw(False, self.reason, [], [])


# ---- NVML: initialised once per process, shut down at exit
_nvml_lock = threading.Lock()
_nvml_state: dict = {"module": None, "error": None, "done": False}


def _import_pynvml():
    with warnings.catch_warnings():
        # the old `pynvml` PyPI package warns that it is deprecated in favour of nvidia-ml-py
        warnings.filterwarnings("ignore", message=r".*pynvml.*deprecated.*")
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"pynvml.*")
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"pynvml.*")
        import pynvml  # noqa: WPS433
    return pynvml


def _nvml() -> tuple[Any, str | None]:
    """(pynvml module, None) after a successful nvmlInit, else (None, reason). Once per process."""
    with _nvml_lock:
        if not _nvml_state["done"]:
            _nvml_state["done"] = True
            try:
                mod = _import_pynvml()
            except ImportError as e:
                _nvml_state["error"] = f"nvidia-ml-py is not installed ({e})"
            else:
                try:
                    mod.nvmlInit()
                except mod.NVMLError as e:
                    _nvml_state["error"] = _nvml_msg(e)
                except Exception as e:  # noqa: BLE001 - e.g. ctypes OSError
                    _nvml_state["error"] = f"{type(e).__name__}: {e}"
                else:
                    _nvml_state["module"] = mod
                    atexit.register(_nvml_shutdown)
        return _nvml_state["module"], _nvml_state["error"]


def _nvml_shutdown() -> None:
    mod = _nvml_state.get("module")
    if mod is not None:
        try:
            mod.nvmlShutdown()
        except Exception:  # noqa: BLE001
            pass
        _nvml_state["module"] = None


def _nvml_msg(e: BaseException) -> str:
    try:
        s = str(e)
    except Exception:  # noqa: BLE001
        s = ""
    return s or type(e).__name__


class _GpuLost(Exception):
    pass


class NvmlSource(GpuSource):
    """Real GPUs through NVML (nvidia-ml-py). If NVML cannot start, every sample is ok=False."""

    kind = "nvml"

    def __init__(self, **kw):
        super().__init__(**kw)
        self._static: dict[int, tuple] = {}  # index -> (name, uuid), kept to label a lost GPU

    def _field(self, fn: Callable, *args) -> Any:
        """THE one place where an NVML failure becomes NA (GpuIsLost aborts the GPU instead)."""
        nv = self._mod
        try:
            v = fn(*args)
        except nv.NVMLError as e:
            if isinstance(e, getattr(nv, "NVMLError_GpuIsLost", ())):
                raise _GpuLost(_nvml_msg(e)) from None
            return NA
        if isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
        return v

    def _read(self) -> _Raw:
        nv, err = _nvml()
        if nv is None:
            return _Raw(False, f"no NVIDIA GPU: {err}", [], [])
        self._mod = nv
        try:
            count = nv.nvmlDeviceGetCount()
        except nv.NVMLError as e:
            return _Raw(False, f"no NVIDIA GPU: {_nvml_msg(e)}", [], [])
        if count == 0:
            return _Raw(False, "no NVIDIA GPU: NVML reports 0 devices", [], [])
        gpus, procs = [], []
        for i in range(count):
            try:
                info, plist = self._read_gpu(nv, i)
            except _GpuLost as e:
                name, uuid = self._static.get(i, (NA, NA))
                info, plist = GpuInfo(index=i, name=name, uuid=uuid, lost=True,
                                      error=f"GPU is lost (fell off the bus?): {e}"), []
            except nv.NVMLError as e:
                name, uuid = self._static.get(i, (NA, NA))
                info, plist = GpuInfo(index=i, name=name, uuid=uuid, error=_nvml_msg(e)), []
            gpus.append(info)
            procs.extend(plist)
        return _Raw(True, None, gpus, procs)

    def _read_gpu(self, nv, i: int) -> tuple[GpuInfo, list]:
        f = self._field
        try:
            h = nv.nvmlDeviceGetHandleByIndex(i)
        except nv.NVMLError as e:
            if isinstance(e, getattr(nv, "NVMLError_GpuIsLost", ())):
                raise _GpuLost(_nvml_msg(e)) from None
            raise
        if i not in self._static:
            name, uuid = f(nv.nvmlDeviceGetName, h), f(nv.nvmlDeviceGetUUID, h)
            if name is not NA and uuid is not NA:
                self._static[i] = (name, uuid)
        else:
            name, uuid = self._static[i]
        util = f(nv.nvmlDeviceGetUtilizationRates, h)
        mem = f(nv.nvmlDeviceGetMemoryInfo, h)
        temp = f(nv.nvmlDeviceGetTemperature, h, getattr(nv, "NVML_TEMPERATURE_GPU", 0))
        draw = f(nv.nvmlDeviceGetPowerUsage, h)
        limit = f(nv.nvmlDeviceGetEnforcedPowerLimit, h)
        if limit is NA:
            limit = f(nv.nvmlDeviceGetPowerManagementLimit, h)
        mig = f(nv.nvmlDeviceGetMigMode, h) if hasattr(nv, "nvmlDeviceGetMigMode") else NA
        info = GpuInfo(
            index=i, name=name, uuid=uuid,
            util=NA if util is NA else int(util.gpu),
            mem_used=NA if mem is NA else int(mem.used),
            mem_total=NA if mem is NA else int(mem.total),
            temperature=temp,
            power_draw=NA if draw is NA else round(draw / 1000.0, 1),
            power_limit=NA if limit is NA else round(limit / 1000.0, 1),
            mig_mode=NA if mig is NA else bool(mig[0]),
        )
        seen: dict[int, _RawProc] = {}
        for getter in ("nvmlDeviceGetComputeRunningProcesses", "nvmlDeviceGetGraphicsRunningProcesses"):
            fn = getattr(nv, getter, None)
            lst = f(fn, h) if fn else NA
            for p in (lst if lst is not NA else ()):
                used = getattr(p, "usedGpuMemory", None)
                used = NA if used is None else int(used)
                if p.pid in seen:
                    if seen[p.pid].mem_used is NA:
                        seen[p.pid].mem_used = used
                    continue
                seen[p.pid] = _RawProc(pid=int(p.pid), gpu=i, mem_used=used)
        return info, list(seen.values())


# ---- fake: a scripted sequence of snapshots from a JSON file
def _gpu_from_dict(d: dict) -> GpuInfo:
    kw = {f.name: _num(d.get(f.name)) for f in dataclasses.fields(GpuInfo) if f.name in d}
    kw["index"] = int(d["index"])
    kw["lost"] = bool(d.get("lost", False))
    kw["error"] = d.get("error") or None
    if kw["lost"] and not kw["error"]:
        kw["error"] = "GPU is lost (fell off the bus?)"
    return GpuInfo(**kw)


def snapshot_from_dict(d: dict) -> _Raw:
    """The GPU part of one fake snapshot (host, runs and attribution are always real)."""
    gpus = [_gpu_from_dict(g) for g in d.get("gpus", [])]
    procs = [_RawProc(pid=int(p["pid"]), gpu=int(p["gpu"]), mem_used=_num(p.get("mem_used")))
             for p in d.get("processes", [])]
    ok = bool(d.get("ok", bool(gpus)))
    reason = d.get("reason") or (None if ok else "no NVIDIA GPU (fake)")
    return _Raw(ok, reason, gpus, procs)


class FakeSource(GpuSource):
    """Reads a JSON file: {"snapshots": [snap, ...], "repeat": "loop"|"last"} or a bare list of
    snapshots, or one snapshot object (as `labtui gpus --json` writes). Each sample() takes the
    next snapshot; after the last one it loops (default) or stays on the last."""

    kind = "fake"

    def __init__(self, path: str | os.PathLike | None = None, data: Any = None, **kw):
        super().__init__(**kw)
        self.path = path
        if data is None:
            if path is None:
                raise UserError(f"fake GPU source needs a file (set {FAKE_ENV}=<path.json>)")
            try:
                with open(path, encoding="utf-8") as f:
                    data = json.load(f)
            except (OSError, ValueError) as e:
                raise UserError(f"cannot read fake GPU file {path}: {e}") from None
        repeat = "loop"
        if isinstance(data, dict) and "snapshots" in data:
            repeat = data.get("repeat", "loop")
            data = data["snapshots"]
        elif isinstance(data, dict):
            data = [data]
        if not isinstance(data, list) or not data:
            raise UserError(f"fake GPU file {path}: expected a non-empty list of snapshots")
        try:
            self._script = [snapshot_from_dict(s) for s in data]
        except (KeyError, TypeError, ValueError) as e:
            raise UserError(f"fake GPU file {path}: bad snapshot ({type(e).__name__}: {e})") from None
        self._repeat = repeat
        self._i = 0

    def _read(self) -> _Raw:
        raw = self._script[self._i]
        if self._i + 1 < len(self._script):
            self._i += 1
        elif self._repeat == "loop":
            self._i = 0
        return raw


def make_source(kind: str = "auto", fake_path: str | os.PathLike | None = None,
                **kw) -> GpuSource:
    """"auto": $LABTUI_FAKE_GPUS if set, else NVML if it initialises, else none (with NVML's reason).
    kw: runs_provider (callable -> {run_id: [(pid, create_time|None), ...]}), clock."""
    if kind == "fake" or (kind == "auto" and (fake_path or os.environ.get(FAKE_ENV))):
        return FakeSource(fake_path or os.environ.get(FAKE_ENV), **kw)
    if kind == "none":
        return NoneSource(**kw)
    if kind == "nvml":
        return NvmlSource(**kw)
    if kind == "auto":
        mod, err = _nvml()
        if mod is None:
            return NoneSource(reason=f"no NVIDIA GPU: {err}", **kw)
        return NvmlSource(**kw)
    raise UserError(f"unknown GPU source {kind!r} (auto, nvml, none, fake)")


def journal_runs(journal) -> RunsProvider:
    """A runs_provider from the journal: running runs' trainer (pid, create_time).
    Tagged processes are found without it; this adds runs whose processes dropped the tag."""
    def provider():
        from tui.core import runs as _runs  # lazy: written by the runs owner
        out: dict = {}
        for r in _runs.list_runs(journal):
            if getattr(r, "status", None) in ("running", "starting") and getattr(r, "pid", None):
                out.setdefault(r.id, []).append((int(r.pid), getattr(r, "create_time", None)))
        return out
    return provider


# --------------------------------------------------------------------------- the sampler thread
class Sampler:
    """Samples `source` on its own daemon thread every `interval` s; callers read latest()."""

    def __init__(self, source: GpuSource, interval: float = 1.0,
                 history_seconds: float = HISTORY_SECONDS,
                 on_sample: Callable[[GpuSnapshot], None] | None = None):
        self.source = source
        self.interval = float(interval)
        self.history_seconds = float(history_seconds)
        self.on_sample = on_sample
        self._maxlen = max(2, int(history_seconds / max(interval, 1e-3)) + 1)
        self._hist: dict[int, collections.deque] = {}
        self._hist_lock = threading.Lock()
        self._latest: GpuSnapshot | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.samples = 0

    def latest(self) -> GpuSnapshot | None:
        return self._latest

    def history(self, gpu_index: int) -> collections.deque:
        with self._hist_lock:
            return collections.deque(self._hist.get(gpu_index, ()))

    def tick(self) -> GpuSnapshot:
        """Take one sample now (on the calling thread) and record it."""
        try:
            snap = self.source.sample()
        except Exception as e:  # noqa: BLE001 - keep the thread alive whatever happens
            snap = GpuSnapshot(ok=False, reason=f"sampler error: {type(e).__name__}: {e}",
                               taken_at=time.time())
        t = snap.taken_at
        with self._hist_lock:
            for g in snap.gpus:
                dq = self._hist.get(g.index)
                if dq is None:
                    dq = self._hist[g.index] = collections.deque(maxlen=self._maxlen)
                dq.append((t, g.util, g.mem_used))
            for dq in self._hist.values():
                while dq and dq[0][0] < t - self.history_seconds:
                    dq.popleft()
        self._latest = snap
        self.samples += 1
        if self.on_sample is not None:
            try:
                self.on_sample(snap)
            except Exception:  # noqa: BLE001
                pass
        return snap

    def _run(self) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set():
            self.tick()
            next_at += self.interval
            delay = next_at - time.monotonic()
            if delay < 0:  # a slow sample: do not try to catch up, re-arm from now
                next_at, delay = time.monotonic(), 0.0
            if self._stop.wait(delay):
                break

    def start(self) -> "Sampler":
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="labtui-gpu-sampler", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> "Sampler":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# --------------------------------------------------------------------------- --gpus for `labtui run`
def _parse_indices(spec) -> list[int]:
    items = spec if isinstance(spec, (list, tuple)) else str(spec).replace(" ", "").split(",")
    out: list[int] = []
    for it in items:
        if isinstance(it, str) and it == "":
            continue
        try:
            n = int(it)
        except (TypeError, ValueError):
            raise UserError(f"--gpus: {it!r} is not a GPU index (use auto, auto:N, cpu or 0,1,...)") from None
        if n < 0:
            raise UserError(f"--gpus: {n} is not a GPU index")
        if n not in out:
            out.append(n)
    if not out:
        raise UserError("--gpus: no GPU index given (use auto, auto:N, cpu or 0,1,...)")
    return out


def resolve_gpus(spec, busy: set[int] | None = None,
                 source: GpuSource | None = None) -> tuple[list[int] | None, str | None]:
    """Turn a --gpus value into indices for CUDA_VISIBLE_DEVICES, and an optional warning line.

    spec None            -> (None, None): no request, leave CUDA_VISIBLE_DEVICES alone.
    "cpu" / "none"       -> ([], None): hide GPUs.
    "auto" / "auto:N"    -> the N (default 1) GPUs with the least memory in use that no labtui run
                            uses (`busy` from the journal, plus runs seen on the GPUs now).
    "0,1" / [0, 1]       -> those; UserError for indices that do not exist.
    No GPU on the machine: ([], "warning: ...; running on CPU") for auto and explicit indices.
    Indices are NVML's (PCI bus order): the launcher should also set CUDA_DEVICE_ORDER=PCI_BUS_ID.
    """
    if spec is None or (isinstance(spec, str) and spec.strip() == ""):
        return None, None
    busy = set(busy or ())
    if (isinstance(spec, str) and spec.strip().lower() in ("cpu", "none")) or \
            (isinstance(spec, (list, tuple)) and len(spec) == 0):
        return [], None
    want_auto = isinstance(spec, str) and spec.strip().lower().startswith("auto")
    n_auto, explicit = 1, None
    if want_auto:
        s = spec.strip().lower()
        if s != "auto":
            try:
                n_auto = int(s.split(":", 1)[1]) if s.startswith("auto:") else int("x")
            except ValueError:
                raise UserError(f"--gpus: {spec!r}: use auto or auto:N") from None
            if n_auto < 1:
                raise UserError(f"--gpus: {spec!r}: N must be at least 1")
    else:
        explicit = _parse_indices(spec)
    src = source if source is not None else make_source("auto")
    snap = src.sample()
    if not snap.ok:
        return [], f"warning: {snap.reason or 'no NVIDIA GPU'}; running on CPU"
    known = sorted(g.index for g in snap.gpus)
    run_gpus = {p.gpu for p in snap.processes if p.run_id}
    if explicit is not None:
        missing = [i for i in explicit if i not in known]
        if missing:
            have = ", ".join(map(str, known)) or "none"
            raise UserError(f"--gpus: GPU {', '.join(map(str, missing))} does not exist "
                            f"(this machine has GPU {have})")
        notes = []
        lost = [i for i in explicit if snap.gpu(i).lost]
        if lost:
            notes.append(f"GPU {', '.join(map(str, lost))} is lost")
        shared = [i for i in explicit if i in busy or i in run_gpus]
        if shared:
            notes.append(f"GPU {', '.join(map(str, shared))} already used by a labtui run")
        return explicit, ("warning: " + "; ".join(notes)) if notes else None
    free = [g for g in snap.gpus if not g.lost and g.error is None
            and g.index not in busy and g.index not in run_gpus]
    free.sort(key=lambda g: (float("inf") if g.mem_used is NA else g.mem_used,
                             float("inf") if g.util is NA else g.util, g.index))
    if len(free) < n_auto:
        taken = sorted((busy | run_gpus) & set(known))
        raise UserError(f"--gpus {spec}: {len(free)} free GPU(s) of {len(known)} "
                        f"(labtui runs on GPU {', '.join(map(str, taken)) or '-'}); "
                        f"name GPUs explicitly to share, e.g. --gpus 0")
    return [g.index for g in free[:n_auto]], None


# --------------------------------------------------------------------------- labtui gpus --kill
def _wait_dead(p: psutil.Process, timeout: float) -> bool:
    """True once p is gone or a zombie (its parent, not us, reaps it)."""
    end = time.monotonic() + timeout
    while True:
        try:
            if not p.is_running() or p.status() == psutil.STATUS_ZOMBIE:
                return True
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            return True
        except psutil.Error:
            pass
        if time.monotonic() >= end:
            return False
        time.sleep(0.05)


def kill_foreign(pid: int, snapshot: GpuSnapshot | None = None, source: GpuSource | None = None,
                 grace: float = 5.0) -> str:
    """Kill a foreign GPU process of the current user. Returns a one-line report; UserError if refused.

    Refuses: pids not on any GPU, invisible pids, other users' processes, processes of a labtui run
    (use `labtui kill RUN`). The create time comes from the snapshot and is re-checked (together
    with the owner and the run tag) right before each signal: SIGTERM, then SIGKILL after `grace` s.
    """
    if snapshot is None:
        snapshot = (source if source is not None else make_source("auto")).sample()
    gp = snapshot.process(pid)
    if gp is None:
        raise UserError(f"PID {pid} holds no GPU memory (not in the GPU process list); not killing it")
    if gp.run_id:
        raise UserError(f"PID {pid} belongs to labtui run {gp.run_id}: use `labtui kill {gp.run_id}`")
    if not gp.visible:
        raise UserError(f"PID {pid} is not visible here (another PID namespace?); cannot check its owner")
    if gp.same_user is not True:
        raise UserError(f"PID {pid} belongs to user {fmt(gp.user)}: labtui never signals other users' processes")
    if gp.create_time is NA:
        raise UserError(f"PID {pid}: create time unknown; not killing it")

    def recheck() -> psutil.Process:
        try:
            p = psutil.Process(pid)
            same = abs(p.create_time() - float(gp.create_time)) < 0.05
            uid = p.uids().real
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            raise ProcessLookupError from None
        except (psutil.Error, OSError) as e:
            raise UserError(f"PID {pid}: cannot check it ({e}); not killing it") from None
        if not same:
            raise ProcessLookupError
        if uid != os.getuid():
            raise UserError(f"PID {pid} now belongs to another user; not killing it")
        tag = _read_tag(pid)
        if tag:
            raise UserError(f"PID {pid} belongs to labtui run {tag}: use `labtui kill {tag}`")
        return p

    what = f"PID {pid} ({fmt(gp.name)}, {fmt(gp.mem_used, 'B')} on GPU {gp.gpu})"
    try:
        p = recheck()
        p.send_signal(_signal.SIGKILL if grace <= 0 else _signal.SIGTERM)
    except (ProcessLookupError, psutil.NoSuchProcess):
        return f"{what} is gone (exited, or its pid is now another process's); nothing signalled"
    if grace <= 0:
        sig = "SIGKILL"
    else:
        sig = "SIGTERM"
        if not _wait_dead(p, grace):
            try:
                recheck().send_signal(_signal.SIGKILL)
                sig = "SIGTERM, then SIGKILL"
            except (ProcessLookupError, psutil.NoSuchProcess):
                pass
    _wait_dead(p, 2.0)
    return f"killed {what} with {sig}"
