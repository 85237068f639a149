"""GPU and host monitoring: one sampler, three sources (NVML, none, fake). No textual here.

The package, by concern (each module imports only those above it):
    snapshot.py     the NA sentinel, the frozen snapshot dataclasses, fmt()
    nvml.py         NVML initialised once; every NVMLError becomes NA in one place
    fake.py         the fake GPU file format ($LABTUI_FAKE_GPUS)
    attribution.py  GPU processes -> runs of one lab (tag, known trainers, ancestry); host figures
    sources.py      GpuSource.sample(runs) over NVML / none / fake; make_source()
    sampler.py      the one sampler thread
    placement.py    THE `--gpus` parser and the choice of free GPUs
    kill.py         `labtui gpus --kill PID`
It never imports tui.core.runs or the journal: whoever owns a sampler hands it the live runs.

Public API (the app, the CLI and the run launcher use only this)
-----------------------------------------------------------------
    from tui.core import gpus

    src = gpus.make_source("auto", lab=procs.lab_id(journal))  # "auto" | "nvml" | "none" | "fake"
    snap = src.sample(runs)              # -> GpuSnapshot (blocking, a few ms; never raises for NVML trouble)
                                         # runs: [(run_id, trainer pid, create_time), ...] known live runs

    s = gpus.Sampler(src, interval=1.0)  # own daemon thread; keeps the last 10 minutes of history
    s.start()
    s.set_runs(gpus.live_runs(infos))    # the owner's latest live runs (from its run listing), used
                                         # from the next sample on
    s.latest()                           # -> GpuSnapshot | None (None until the first sample); never blocks
    s.history(0)                         # -> deque[(t, util, mem_used)] for GPU 0 (a copy), oldest first
    s.stop()

    gpus.parse_gpus("auto:2")            # -> GpuRequest("auto", 2) / None / UserError (the one parser)
    gpus.resolve_gpus("auto", busy={0})  # -> ([1], None)  / ([], "warning: ...") / UserError   (run launcher)
    gpus.kill_foreign(pid, source=src)   # `labtui gpus --kill PID` (see kill.py for every refusal)

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
        run_id: the run of the source's lab it belongs to (see attribution.py), else None and
        foreign=True (another user's, another lab's, or not labtui's). visible=False: the pid is
        not in our /proc (another PID namespace, e.g. inside a container); user/name/create_time NA.
    HostInfo(cpu_percent, mem_used, mem_total, load1, load5, load15, cpu_count)
    RunUsage(run_id, pids, cpu_percent, rss, gpu_mem, gpus)   whole process tree of a running run.

NA: every value that NVML (or /proc) cannot give -- not supported, failed, lost, invisible -- is the
one sentinel `gpus.NA` (a str "n/a", falsy; test with `x is NA`). `fmt(x)` renders any field.

Snapshots convert with `snap.to_dict()` (JSON-ready, NA -> null); the fake source reads the same
format, so `labtui gpus --json > f.json` replays with `LABTUI_FAKE_GPUS=f.json`. See docs/gpus.md.
"""

from __future__ import annotations

from ..procs import LAB_TAG, RUN_TAG
from .attribution import LiveRun, live_runs
from .fake import FAKE_ENV, snapshot_from_dict
from .kill import kill_foreign
from .placement import GpuRequest, busy_gpus, parse_gpus, resolve_gpus
from .sampler import HISTORY_SECONDS, Sampler
from .snapshot import NA, GpuInfo, GpuProcess, GpuSnapshot, HostInfo, RunUsage, fmt
from .sources import FakeSource, GpuSource, LazyAutoSource, NoneSource, NvmlSource, make_source

__all__ = [
    "NA", "fmt", "GpuInfo", "GpuProcess", "HostInfo", "RunUsage", "GpuSnapshot",
    "GpuSource", "NvmlSource", "NoneSource", "FakeSource", "LazyAutoSource", "make_source", "Sampler", "LiveRun", "live_runs",
    "GpuRequest", "parse_gpus", "busy_gpus", "resolve_gpus", "kill_foreign", "snapshot_from_dict",
    "FAKE_ENV", "RUN_TAG", "LAB_TAG", "HISTORY_SECONDS",
]
