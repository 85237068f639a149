"""NVML (nvidia-ml-py, imported as `pynvml`): initialised once per process, shut down at exit.

`NvmlReader.read()` turns the driver's view into `RawGpus`. Every NVMLError becomes NA in one
place (`NvmlReader._field`); a lost GPU (GpuIsLost) is marked lost, the other GPUs keep working.
"""

from __future__ import annotations

import atexit
import threading
import warnings
from typing import Any, Callable

from .snapshot import NA, GpuInfo, RawGpus, RawProc

_lock = threading.Lock()
_state: dict = {"module": None, "error": None, "done": False}


def _import_pynvml():
    with warnings.catch_warnings():
        # the old `pynvml` PyPI package warns that it is deprecated in favour of nvidia-ml-py
        warnings.filterwarnings("ignore", message=r".*pynvml.*deprecated.*")
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"pynvml.*")
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"pynvml.*")
        import pynvml  # optional dependency, imported once on first use (not at labtui start)
    return pynvml


def nvml() -> tuple[Any, str | None]:
    """(pynvml module, None) after a successful nvmlInit, else (None, reason). Once per process."""
    with _lock:
        if not _state["done"]:
            _state["done"] = True
            try:
                mod = _import_pynvml()
            except ImportError as e:
                _state["error"] = f"nvidia-ml-py is not installed ({e})"
            else:
                try:
                    mod.nvmlInit()
                except mod.NVMLError as e:
                    _state["error"] = _msg(e)
                except Exception as e:  # noqa: BLE001 - e.g. ctypes OSError
                    _state["error"] = f"{type(e).__name__}: {e}"
                else:
                    _state["module"] = mod
                    atexit.register(_shutdown)
        return _state["module"], _state["error"]


def _shutdown() -> None:
    mod = _state.get("module")
    if mod is not None:
        try:
            mod.nvmlShutdown()
        except Exception:  # noqa: BLE001
            pass
        _state["module"] = None


def _msg(e: BaseException) -> str:
    try:
        s = str(e)
    except Exception:  # noqa: BLE001
        s = ""
    return s or type(e).__name__


class _GpuLost(Exception):
    pass


class NvmlReader:
    """Reads every GPU through NVML; keeps each GPU's name/uuid to label it once it is lost."""

    def __init__(self) -> None:
        self._static: dict[int, tuple] = {}  # index -> (name, uuid)
        self._nv: Any = None

    def _field(self, fn: Callable | None, *args) -> Any:
        """THE one place where an NVML failure becomes NA (GpuIsLost aborts the GPU instead).
        A function this pynvml does not have (`fn` None: an older nvidia-ml-py) is NA too."""
        if fn is None:
            return NA
        nv = self._nv
        try:
            v = fn(*args)
        except nv.NVMLError as e:
            if isinstance(e, getattr(nv, "NVMLError_GpuIsLost", ())):
                raise _GpuLost(_msg(e)) from None
            return NA
        if isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
        return v

    def read(self) -> RawGpus:
        nv, err = nvml()
        if nv is None:
            return RawGpus(False, f"no NVIDIA GPU: {err}", [], [])
        self._nv = nv
        try:
            count = nv.nvmlDeviceGetCount()
        except nv.NVMLError as e:
            return RawGpus(False, f"no NVIDIA GPU: {_msg(e)}", [], [])
        if count == 0:
            return RawGpus(False, "no NVIDIA GPU: NVML reports 0 devices", [], [])
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
                info, plist = GpuInfo(index=i, name=name, uuid=uuid, error=_msg(e)), []
            gpus.append(info)
            procs.extend(plist)
        return RawGpus(True, None, gpus, procs)

    def _read_gpu(self, nv, i: int) -> tuple[GpuInfo, list]:
        f = self._field
        try:
            h = nv.nvmlDeviceGetHandleByIndex(i)
        except nv.NVMLError as e:
            if isinstance(e, getattr(nv, "NVMLError_GpuIsLost", ())):
                raise _GpuLost(_msg(e)) from None
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
        mig = f(getattr(nv, "nvmlDeviceGetMigMode", None), h)
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
        seen: dict[int, RawProc] = {}
        for getter in ("nvmlDeviceGetComputeRunningProcesses", "nvmlDeviceGetGraphicsRunningProcesses"):
            lst = f(getattr(nv, getter, None), h)
            for p in (lst if lst is not NA else ()):
                used = getattr(p, "usedGpuMemory", None)
                used = NA if used is None else int(used)
                if p.pid in seen:
                    if seen[p.pid].mem_used is NA:
                        seen[p.pid].mem_used = used
                    continue
                seen[p.pid] = RawProc(pid=int(p.pid), gpu=i, mem_used=used)
        return info, list(seen.values())
