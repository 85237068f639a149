"""Figures that hold still: what a panel shows of a snapshot, with hysteresis.

Host CPU %, load and RAM (and a GPU's temperature and power) jitter every sample even on an
idle box; a panel that prints them exactly repaints a line every second or so, and an idle app
should write nothing to the terminal.  ``steady(shown, new)`` returns the snapshot to show: each
such figure keeps its shown value until the new one moves past that figure's threshold, then
shows the new value (exact: the first snapshot shows what it says).  Load averages are rounded
to one decimal.  Everything else (GPU util and memory, runs, processes) passes through.
"""

from __future__ import annotations

import dataclasses

from .snapshot import NA, GpuSnapshot, HostInfo

GIB = 1024 ** 3
CPU_POINTS = 10.0        # host CPU %: shown value moves when the real one is 10 points away
LOAD_DELTA = 0.25        # load averages (shown to one decimal): 0.25 or 10% of the shown, the larger
MEM_MIN_DELTA = GIB / 4  # RAM: 256 MiB or 1% of the total, whichever is larger
TEMP_DELTA = 3           # GPU temperature, degrees C
POWER_DELTA = 10.0       # GPU power draw, W


def _hold(shown, new, delta: float):
    """``shown`` while ``new`` is within ``delta`` of it, else ``new`` (NA/None: the new one)."""
    if shown is NA or shown is None or new is NA or new is None:
        return new
    return shown if abs(new - shown) < delta else new


def _load(x):
    return x if x is NA or x is None else round(x, 1)


def _hold_load(shown, new):
    new = _load(new)
    if shown is NA or shown is None or new is NA or new is None:
        return new
    return _hold(shown, new, max(LOAD_DELTA, abs(shown) / 10))


def steady_host(shown: HostInfo | None, new: HostInfo) -> HostInfo:
    """``new`` with its jittery figures held at ``shown``'s while they move less than a threshold."""
    if shown is None:
        shown = HostInfo()
    mem_delta = MEM_MIN_DELTA
    if new.mem_total is not NA and new.mem_total:
        mem_delta = max(MEM_MIN_DELTA, new.mem_total / 100)
    return dataclasses.replace(
        new,
        cpu_percent=_hold(shown.cpu_percent, new.cpu_percent, CPU_POINTS),
        mem_used=_hold(shown.mem_used, new.mem_used, mem_delta),
        load1=_hold_load(shown.load1, new.load1),
        load5=_hold_load(shown.load5, new.load5),
        load15=_hold_load(shown.load15, new.load15),
    )


def steady(shown: GpuSnapshot | None, new: GpuSnapshot | None) -> GpuSnapshot | None:
    """The snapshot to show after ``shown`` (the previous result of this function, or None)."""
    if new is None or shown is None:
        return new if new is None else steady(GpuSnapshot(ok=new.ok, reason=None), new)
    before = {g.index: g for g in shown.gpus}
    gpus = []
    for g in new.gpus:
        old = before.get(g.index)
        if old is not None and not (g.lost or g.error or old.lost or old.error):
            g = dataclasses.replace(g, temperature=_hold(old.temperature, g.temperature, TEMP_DELTA),
                                    power_draw=_hold(old.power_draw, g.power_draw, POWER_DELTA))
        gpus.append(g)
    return dataclasses.replace(new, host=steady_host(shown.host, new.host), gpus=gpus)
