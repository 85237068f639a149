"""GPU sources: one interface, `sample(runs) -> GpuSnapshot`, over NVML, nothing, or a fake file.

A source reads the GPUs (`_read() -> RawGpus`) and hands them to attribution, which adds the
processes' owners and runs (of the source's `lab`) and the host. A source never raises for GPU
trouble: a broken read is a snapshot with ok=False and the reason.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any, Callable, Iterable

from ..errors import UserError
from .attribution import LiveRun, ProcScanner, attribute
from .fake import FAKE_ENV, load_script
from .nvml import NvmlReader, nvml
from .snapshot import GpuSnapshot, RawGpus


class GpuSource:
    """One interface: sample(runs) -> GpuSnapshot. Subclasses implement _read() -> RawGpus.

    `lab`: the lab whose runs are named (`procs.lab_id(journal)`); other labs' runs are foreign.
    None: every run tag names its run (no lab to compare with).
    """

    kind = "base"

    def __init__(self, lab: str | None = None, clock: Callable[[], float] = time.time):
        self.lab = lab
        self.clock = clock
        self._scanner = ProcScanner()
        self._lock = threading.Lock()

    def _read(self) -> RawGpus:  # pragma: no cover - abstract
        raise NotImplementedError

    def sample(self, runs: Iterable[LiveRun] = ()) -> GpuSnapshot:
        """Read the GPUs now (blocking, a few ms). `runs`: the live runs' (run id, trainer pid,
        create time) as the caller knows them, to name processes that carry no run tag."""
        with self._lock:
            try:
                raw = self._read()
            except Exception as e:  # noqa: BLE001 - a source bug must never crash a caller
                raw = RawGpus(False, f"GPU sampling failed: {type(e).__name__}: {e}", [], [])
            return attribute(raw, self._scanner, runs, self.lab, self.clock)

    def close(self) -> None:
        pass


class NoneSource(GpuSource):
    """No driver or no GPU: ok=False with the reason; host and runs are still sampled."""

    kind = "none"

    def __init__(self, reason: str = "no NVIDIA GPU", **kw):
        super().__init__(**kw)
        self.reason = reason

    def _read(self) -> RawGpus:
        return RawGpus(False, self.reason, [], [])


class NvmlSource(GpuSource):
    """Real GPUs through NVML (nvidia-ml-py). If NVML cannot start, every sample is ok=False."""

    kind = "nvml"

    def __init__(self, **kw):
        super().__init__(**kw)
        self._reader = NvmlReader()

    def _read(self) -> RawGpus:
        return self._reader.read()


def no_gpu_reason(err: str | None) -> str:
    """What "auto" says when NVML does not start (``err``: NVML's reason)."""
    return f"no NVIDIA GPU: {err}"


class LazyAutoSource(GpuSource):
    """"auto" decided at the first sample, on the sampler's thread: NVML if it initialises, else
    no GPU with NVML's reason (what ``make_source("auto")`` gives).  The app's choice: nvmlInit
    takes tens of ms to seconds on a GPU server, and the app's first paint must not wait for it."""

    kind = "auto"

    def __init__(self, **kw):
        super().__init__(**kw)
        self._reader: NvmlReader | None = None

    def _read(self) -> RawGpus:
        if self._reader is None:
            mod, err = nvml()
            if mod is None:
                return RawGpus(False, no_gpu_reason(err), [], [])
            self._reader = NvmlReader()
        return self._reader.read()


class FakeSource(GpuSource):
    """Reads a fake GPU file (tui.core.gpus.fake). Each sample() takes the next snapshot; after
    the last one it loops (default) or stays on the last."""

    kind = "fake"

    def __init__(self, path: str | os.PathLike | None = None, data: Any = None, **kw):
        super().__init__(**kw)
        self.path = path
        self._script, self._repeat = load_script(path, data)
        self._i = 0

    def _read(self) -> RawGpus:
        raw = self._script[self._i]
        if self._i + 1 < len(self._script):
            self._i += 1
        elif self._repeat == "loop":
            self._i = 0
        return raw


def make_source(kind: str = "auto", fake_path: str | os.PathLike | None = None, lazy: bool = False,
                **kw) -> GpuSource:
    """"auto": $LABTUI_FAKE_GPUS if set, else NVML if it initialises, else none (with NVML's reason);
    ``lazy``: NVML is tried at the first sample instead of now (LazyAutoSource).
    kw: lab (procs.lab_id of the journal: whose runs to name), clock."""
    if kind == "fake" or (kind == "auto" and (fake_path or os.environ.get(FAKE_ENV))):
        return FakeSource(fake_path or os.environ.get(FAKE_ENV), **kw)
    if kind == "auto" and lazy:
        return LazyAutoSource(**kw)
    if kind == "none":
        return NoneSource(**kw)
    if kind == "nvml":
        return NvmlSource(**kw)
    if kind == "auto":
        mod, err = nvml()
        if mod is None:
            return NoneSource(reason=no_gpu_reason(err), **kw)
        return NvmlSource(**kw)
    raise UserError(f"unknown GPU source {kind!r} (auto, nvml, none, fake)")
