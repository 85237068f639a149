"""TensorBoard event files (``events.out.tfevents.*``): scalars, read incrementally.

Read with the ``tensorboard`` package's own event loader (an optional extra:
``pip install 'labtui[tensorboard]'``), imported lazily, only when a run has an event file.
Without it the reader has no series and a one-line ``note`` that says what to install.
x is the event's ``step``, wall time its ``wall_time``; every scalar tag is a series (a
``simple_value`` or a one-element tensor).  A long read reports its progress (``progress``) by
the bytes of the records the loader has read.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from .progress import EVENTS_EVERY, EVENTS_MIN_READ
from .progress import reader as progress_reader
from .series import Series

MISSING_NOTE = ("{path}: TensorBoard event file not read: the tensorboard package is not installed "
                "(pip install 'labtui[tensorboard]')")


def _loader_module():
    """The tensorboard modules, or None when the package is missing (a heavy optional import,
    deferred until an event file is seen)."""
    try:
        from tensorboard.backend.event_processing import event_file_loader
        from tensorboard.util import tensor_util
    except ImportError:
        return None
    return event_file_loader, tensor_util


def _counting_loader(efl):
    """tensorboard's ``EventFileLoader`` that also counts the bytes of the records it reads
    (``.bytes_read``): a raw loader that counts is slid under its parsing layers (the method
    order is EventFileLoader, LegacyEventFileLoader, the counter, RawEventFileLoader).  The plain
    loader (no count) if tensorboard's classes are not so arranged."""
    raw = getattr(efl, "RawEventFileLoader", None)
    if raw is None or raw not in efl.EventFileLoader.__mro__:
        return efl.EventFileLoader

    class _Counting(raw):
        bytes_read = 0

        def Load(self):
            for rec in super().Load():
                self.bytes_read += len(rec) + 16   # length (8), its CRC (4), the event, its CRC (4)
                yield rec

    class CountingEventFileLoader(efl.EventFileLoader, _Counting):
        pass

    return CountingEventFileLoader


def is_event_file(name: str) -> bool:
    return name.startswith("events.out.tfevents.") or ".events.out.tfevents." in name  # a renamed copy


class TfEventsMetrics:
    """Scalars of one event file; ``poll()`` reads the records written since the last call
    (the loader keeps its position and waits for a partial record to complete)."""

    kind = "tfevents"
    last_traceback = None
    segments: list = []  # an event file has no restarts to keep apart (as LogMetrics.segments)

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.lock = threading.RLock()
        self.series: dict[str, Series] = {}
        self.version = 0
        self.note: str | None = None
        self._loader = None
        self._tensor_util = None
        self._size = -1

    @property
    def x_axis(self) -> str:
        return "step"

    def poll(self) -> bool:
        with self.lock:
            try:
                size = self.path.stat().st_size
            except OSError:
                return False
            if size == self._size:
                return False
            if self._loader is None:
                mods = _loader_module()
                if mods is None:
                    self.note = MISSING_NOTE.format(path=self.path.name)
                    self._size = size
                    return False
                efl, self._tensor_util = mods
                self._loader = _counting_loader(efl)(str(self.path))
            self._size = size
            changed = False
            loader = self._loader
            done = getattr(loader, "bytes_read", None)
            counted = None if done is None else progress_reader(self.path, size - done, EVENTS_MIN_READ, EVENTS_EVERY)
            try:
                for ev in loader.Load():
                    changed |= self._event(ev)
                    if counted is not None and loader.bytes_read != done:
                        counted(loader.bytes_read - done)
                        done = loader.bytes_read
            except Exception as e:  # a corrupt record: keep what was read, say why once
                self.note = f"{self.path.name}: stopped reading the event file: {e}"
            if counted is not None:
                counted.end()
            if changed:
                self.version += 1
            return changed

    def _event(self, ev) -> bool:
        if not ev.HasField("summary"):
            return False
        changed = False
        for v in ev.summary.value:
            kind = v.WhichOneof("value")
            if kind == "simple_value":
                y = float(v.simple_value)
            elif kind == "tensor":
                try:
                    arr = self._tensor_util.make_ndarray(v.tensor)
                except (ValueError, TypeError):
                    continue
                if arr.size != 1 or arr.dtype.kind not in "fiub":
                    continue  # images, histograms, text: not scalars
                y = float(arr.reshape(()).item())
            else:
                continue
            s = self.series.get(v.tag)
            if s is None:
                s = self.series[v.tag] = Series(v.tag)
            s.x.append(float(ev.step))
            s.y.append(y)
            s.wall.append(float(ev.wall_time))
            changed = True
        return changed

    def snapshot(self) -> dict[str, Series]:
        with self.lock:
            return {k: s.copy() for k, s in self.series.items()}

    def save_cache(self) -> None:
        """Event files are not cached (the loader re-reads them on a new process)."""
