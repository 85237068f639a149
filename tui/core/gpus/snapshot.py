"""What a GPU sample is: the one N/A sentinel, the frozen snapshot dataclasses, `fmt`.

Also the raw GPU state a source reads before attribution (`RawGpus`, `RawProc`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


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


def num(x: Any) -> Any:
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
    foreign: bool = True      # not part of a run of this lab (another user's, another lab's, not labtui's)
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
class RawProc:
    """A process on a GPU as the driver (or the fake file) reports it, before attribution."""

    pid: int
    gpu: int
    mem_used: Any = NA


@dataclass
class RawGpus:
    """What a source reads: the GPUs and their processes; host and runs are added by attribution."""

    ok: bool
    reason: str | None
    gpus: list
    procs: list
    host: HostInfo | None = None  # a scripted host (fake source); None: the real one
