"""THE `--gpus` parser and the choice of GPUs for a run (CLI, app forms and runs.launch use it).

Values: None/"" (no request), "cpu"/"none"/[] (hide GPUs), "auto", "auto:N", "0", "0,1",
and what the journal holds (a list like [0, 1], or one integer).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from ..errors import UserError
from .snapshot import NA
from .sources import GpuSource, make_source

_USE = "use auto, auto:N, cpu or 0,1,..."


@dataclass(frozen=True)
class GpuRequest:
    """A parsed --gpus value: kind "cpu" (no GPU), "auto" (`count` free GPUs) or "indices"."""

    kind: str
    count: int = 0
    indices: tuple = ()

    @property
    def auto(self) -> bool:
        return self.kind == "auto"


def _index(item: Any) -> int:
    if isinstance(item, str) and item.strip().isdecimal():
        return int(item)
    if isinstance(item, int) and not isinstance(item, bool) and item >= 0:
        return item
    raise UserError(f"--gpus: {item!r} is not a GPU index ({_USE})")


def parse_gpus(spec: Any) -> GpuRequest | None:
    """A --gpus value (CLI text, form text, journal value) -> GpuRequest, or None for no request
    (leave CUDA_VISIBLE_DEVICES alone). UserError, one line, for anything else."""
    if spec is None or isinstance(spec, GpuRequest):
        return spec
    if isinstance(spec, str):
        s = spec.strip().lower()
        if not s:
            return None
        if s in ("cpu", "none"):
            return GpuRequest("cpu")
        if s.startswith("auto"):
            n = s[len("auto"):]
            if n == "":
                return GpuRequest("auto", 1)
            if not n.startswith(":") or not n[1:].strip().isdecimal():
                raise UserError(f"--gpus: {spec.strip()!r}: use auto or auto:N")
            count = int(n[1:])
            if count < 1:
                raise UserError(f"--gpus: {spec.strip()!r}: N must be at least 1")
            return GpuRequest("auto", count)
        items: list = [x for x in s.replace(" ", "").split(",") if x != ""]
    elif isinstance(spec, (list, tuple)):
        if not spec:
            return GpuRequest("cpu")
        items = list(spec)
    elif isinstance(spec, int) and not isinstance(spec, bool):
        items = [spec]
    else:
        raise UserError(f"--gpus: {spec!r} is not a GPU index ({_USE})")
    out: list[int] = []
    for it in items:
        n = _index(it)
        if n not in out:
            out.append(n)
    if not out:
        raise UserError(f"--gpus: no GPU index given ({_USE})")
    return GpuRequest("indices", indices=tuple(out))


def busy_gpus(runs: Iterable[Any]) -> set[int]:
    """GPU indices recorded for live runs (objects with `alive` and `gpus`, e.g. RunInfo)."""
    busy: set[int] = set()
    for r in runs:
        gpus = getattr(r, "gpus", None)
        if getattr(r, "alive", False) and isinstance(gpus, list):
            busy.update(g for g in gpus if isinstance(g, int) and not isinstance(g, bool))
    return busy


def resolve_gpus(spec: Any, busy: Iterable[int] | None = None,
                 source: GpuSource | None = None) -> tuple[list[int] | None, str | None]:
    """Turn a --gpus value (or a GpuRequest) into indices for CUDA_VISIBLE_DEVICES, and an
    optional warning line.

    None / ""            -> (None, None): no request, leave CUDA_VISIBLE_DEVICES alone.
    "cpu" / "none" / []  -> ([], None): hide GPUs.
    "auto" / "auto:N"    -> the N (default 1) GPUs with the least memory in use that no labtui run
                            uses (`busy` from the journal, plus runs of any lab seen on the GPUs now).
    "0,1" / [0, 1]       -> those; UserError for indices that do not exist.
    No GPU on the machine: ([], "warning: ...; running on CPU") for auto and explicit indices.
    Indices are NVML's (PCI bus order): the launcher should also set CUDA_DEVICE_ORDER=PCI_BUS_ID.
    """
    req = parse_gpus(spec)
    if req is None:
        return None, None
    if req.kind == "cpu":
        return [], None
    busy = set(busy or ())
    src = source if source is not None else make_source("auto")  # no lab: every lab's runs count
    snap = src.sample()
    if not snap.ok:
        return [], f"warning: {snap.reason or 'no NVIDIA GPU'}; running on CPU"
    known = sorted(g.index for g in snap.gpus)
    run_gpus = {p.gpu for p in snap.processes if p.run_id}
    if req.kind == "indices":
        explicit = list(req.indices)
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
    if len(free) < req.count:
        taken = sorted((busy | run_gpus) & set(known))
        what = "auto" if req.count == 1 else f"auto:{req.count}"
        raise UserError(f"--gpus {what}: {len(free)} free GPU(s) of {len(known)} "
                        f"(labtui runs on GPU {', '.join(map(str, taken)) or '-'}); "
                        f"name GPUs explicitly to share, e.g. --gpus 0")
    return [g.index for g in free[:req.count]], None
