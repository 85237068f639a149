"""The one sampler thread: samples a source every `interval` s, keeps the last snapshot and history.

The sampler reads no journal: its owner (the app's poller, the `labtui gpus` CLI) hands it the
live runs with `set_runs([(run_id, pid, create_time), ...])` whenever it has listed them.
"""

from __future__ import annotations

import collections
import threading
import time
from typing import Callable, Iterable

from .attribution import LiveRun
from .snapshot import GpuSnapshot
from .sources import GpuSource

HISTORY_SECONDS = 600.0


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
        self._runs: tuple[LiveRun, ...] = ()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.samples = 0

    def set_runs(self, runs: Iterable[LiveRun]) -> None:
        """The live runs' (run id, trainer pid, create time), used from the next sample on.
        Any thread may call it; the sampler keeps its own copy."""
        self._runs = tuple(runs)

    def latest(self) -> GpuSnapshot | None:
        return self._latest

    def history(self, gpu_index: int) -> collections.deque:
        with self._hist_lock:
            return collections.deque(self._hist.get(gpu_index, ()))

    def tick(self) -> GpuSnapshot:
        """Take one sample now (on the calling thread) and record it."""
        try:
            snap = self.source.sample(self._runs)
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
