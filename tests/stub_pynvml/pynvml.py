"""A stand-in for nvidia-ml-py's `pynvml`, for tests only (the one allowed fake).

Put this directory first on sys.path / PYTHONPATH. Behaviour comes from the JSON file named by
$STUB_PYNVML_CONFIG:
    {"init_error": null | "LibraryNotFound" | "DriverNotLoaded" | ...,
     "warn_deprecated": true,       # warn like the old `pynvml` PyPI package does on import
     "gpus": [{"name", "uuid", "util", "mem_used", "mem_total", "temp", "power_mw", "limit_mw",
               "mig": [current, pending] | null (null: NotSupported),
               "procs": [[pid, used_bytes_or_null], ...]}],
     "fail": {"<gpu index>": {"<nvml function name>" | "*": "<error name>"}}}
nvmlInit / nvmlShutdown calls are appended to $STUB_PYNVML_LOG (one word per line).
"""
import json
import os
import warnings
from types import SimpleNamespace

if True:
    _cfg_path = os.environ.get("STUB_PYNVML_CONFIG")
    _cfg = {}
    if _cfg_path:
        with open(_cfg_path) as _f:
            _cfg = json.load(_f)
    if _cfg.get("warn_deprecated"):
        warnings.warn("The pynvml package is deprecated. Please install nvidia-ml-py instead.",
                      FutureWarning, stacklevel=2)

NVML_TEMPERATURE_GPU = 0
_CODES = {"Uninitialized": 1, "InvalidArgument": 2, "NotSupported": 3, "NoPermission": 4,
          "NotFound": 6, "DriverNotLoaded": 9, "LibraryNotFound": 12, "GpuIsLost": 15,
          "Unknown": 999}
_MESSAGES = {"LibraryNotFound": "NVML Shared Library Not Found", "NotSupported": "Not Supported",
             "GpuIsLost": "GPU is lost", "DriverNotLoaded": "Driver Not Loaded",
             "Uninitialized": "Uninitialized", "NoPermission": "Insufficient Permissions",
             "InvalidArgument": "Invalid Argument", "NotFound": "Not Found", "Unknown": "Unknown Error"}


class NVMLError(Exception):
    def __init__(self, value):
        self.value = value

    def __str__(self):
        for name, code in _CODES.items():
            if code == self.value:
                return _MESSAGES[name]
        return f"NVML error {self.value}"


for _name, _code in _CODES.items():
    globals()[f"NVMLError_{_name}"] = type(f"NVMLError_{_name}", (NVMLError,),
                                           {"__init__": (lambda self, _c=_code: NVMLError.__init__(self, _c))})

_state = {"init": 0}


def _log(word):
    path = os.environ.get("STUB_PYNVML_LOG")
    if path:
        with open(path, "a") as f:
            f.write(word + "\n")


def _raise(name):
    raise globals()[f"NVMLError_{name}"]()


def nvmlInit():
    _log("init")
    if _cfg.get("init_error"):
        _raise(_cfg["init_error"])
    _state["init"] += 1


def nvmlShutdown():
    _log("shutdown")
    if _state["init"] <= 0:
        _raise("Uninitialized")
    _state["init"] -= 1


def _gpu(handle, fn):
    if _state["init"] <= 0:
        _raise("Uninitialized")
    i = handle.index
    fails = _cfg.get("fail", {}).get(str(i), {})
    err = fails.get(fn) or fails.get("*")
    if err:
        _raise(err)
    return _cfg["gpus"][i]


def nvmlDeviceGetCount():
    if _state["init"] <= 0:
        _raise("Uninitialized")
    return len(_cfg.get("gpus", []))


def nvmlDeviceGetHandleByIndex(index):
    if not 0 <= index < nvmlDeviceGetCount():
        _raise("InvalidArgument")
    h = SimpleNamespace(index=index)
    _gpu(h, "nvmlDeviceGetHandleByIndex")
    return h


def nvmlDeviceGetName(h):
    return _gpu(h, "nvmlDeviceGetName")["name"]


def nvmlDeviceGetUUID(h):
    return _gpu(h, "nvmlDeviceGetUUID")["uuid"]


def nvmlDeviceGetUtilizationRates(h):
    g = _gpu(h, "nvmlDeviceGetUtilizationRates")
    return SimpleNamespace(gpu=g["util"], memory=0)


def nvmlDeviceGetMemoryInfo(h, version=None):
    g = _gpu(h, "nvmlDeviceGetMemoryInfo")
    return SimpleNamespace(used=g["mem_used"], total=g["mem_total"], free=g["mem_total"] - g["mem_used"])


def nvmlDeviceGetTemperature(h, sensor):
    return _gpu(h, "nvmlDeviceGetTemperature")["temp"]


def nvmlDeviceGetPowerUsage(h):
    return _gpu(h, "nvmlDeviceGetPowerUsage")["power_mw"]


def nvmlDeviceGetEnforcedPowerLimit(h):
    return _gpu(h, "nvmlDeviceGetEnforcedPowerLimit")["limit_mw"]


def nvmlDeviceGetPowerManagementLimit(h):
    return _gpu(h, "nvmlDeviceGetPowerManagementLimit")["limit_mw"]


def nvmlDeviceGetMigMode(h):
    mig = _gpu(h, "nvmlDeviceGetMigMode").get("mig")
    if mig is None:
        _raise("NotSupported")
    return list(mig)


def nvmlDeviceGetComputeRunningProcesses(h):
    g = _gpu(h, "nvmlDeviceGetComputeRunningProcesses")
    return [SimpleNamespace(pid=pid, usedGpuMemory=used, gpuInstanceId=0xFFFFFFFF,
                            computeInstanceId=0xFFFFFFFF) for pid, used in g.get("procs", [])]


def nvmlDeviceGetGraphicsRunningProcesses(h):
    _gpu(h, "nvmlDeviceGetGraphicsRunningProcesses")
    return []
