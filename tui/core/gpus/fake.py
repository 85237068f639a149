"""The fake GPU file format (demos, tests): a scripted sequence of snapshots in JSON.

{"snapshots": [snap, ...], "repeat": "loop"|"last"}, a bare list of snapshots, or one snapshot
object (as `labtui gpus --json` writes). Only the GPU part is scripted (and, optionally, the host
figures: a snapshot's "host" object, e.g. {"cpu_percent": 12.5, "load1": 0.4}, fields as HostInfo);
users and runs are always real. See docs/gpus.md.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

from ..errors import UserError
from .snapshot import GpuInfo, HostInfo, RawGpus, RawProc, num

FAKE_ENV = "LABTUI_FAKE_GPUS"


def _gpu_from_dict(d: dict) -> GpuInfo:
    kw = {f.name: num(d.get(f.name)) for f in dataclasses.fields(GpuInfo) if f.name in d}
    kw["index"] = int(d["index"])
    kw["lost"] = bool(d.get("lost", False))
    kw["error"] = d.get("error") or None
    if kw["lost"] and not kw["error"]:
        kw["error"] = "GPU is lost (fell off the bus?)"
    return GpuInfo(**kw)


def snapshot_from_dict(d: dict) -> RawGpus:
    """The GPU part of one fake snapshot, and its host if it scripts one (runs and attribution
    are always real)."""
    gpus = [_gpu_from_dict(g) for g in d.get("gpus", [])]
    procs = [RawProc(pid=int(p["pid"]), gpu=int(p["gpu"]), mem_used=num(p.get("mem_used")))
             for p in d.get("processes", [])]
    ok = bool(d.get("ok", bool(gpus)))
    reason = d.get("reason") or (None if ok else "no NVIDIA GPU (fake)")
    host = d.get("host")
    if host is not None:
        host = HostInfo(**{f.name: num(host.get(f.name)) for f in dataclasses.fields(HostInfo)})
    return RawGpus(ok, reason, gpus, procs, host)


def load_script(path: str | os.PathLike | None = None, data: Any = None) -> tuple[list[RawGpus], str]:
    """(snapshots, repeat) from a fake file (or already-loaded `data`); UserError if unusable."""
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
        script = [snapshot_from_dict(s) for s in data]
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise UserError(f"fake GPU file {path}: bad snapshot ({type(e).__name__}: {e})") from None
    return script, repeat
