"""Progress of long reads: a cold parse of a large log calls the reporter set here every
``EVERY`` bytes (``report(path, done, total)``; ``done == total`` once at the end of a read
that reported), so a CLI can say what it is doing.

One process-wide reporter (``reporting(callback)``, a context manager; the CLI sets it only when
stderr is a terminal); the readers (``sources.LogMetrics.poll``, ``tfevents.TfEventsMetrics.poll``)
call ``reader(path, total)`` before a read and feed it the bytes they consume.  Without a reporter
nothing is called.  Event files are read some 20 times slower per byte than logs (without
TensorFlow, tensorboard checks each record's CRC in Python): they report from ``EVENTS_MIN_READ``
on, every ``EVENTS_EVERY`` bytes."""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Callable, Iterator

EVERY = 2 << 20       # a report every 2 MiB read (at most once per chunk the tail reads)
MIN_READ = 8 << 20    # reads smaller than this are quick: never reported
EVENTS_EVERY = 128 << 10   # the same for TensorBoard event files (about 3 MB/s read)
EVENTS_MIN_READ = 512 << 10

Reporter = Callable[[str, int, int], None]   # (file path, bytes read, bytes to read)
_reporter: Reporter | None = None


@contextmanager
def reporting(callback: Reporter | None) -> Iterator[None]:
    """Report long reads to ``callback`` inside the block (None: no reports)."""
    global _reporter
    before, _reporter = _reporter, callback
    try:
        yield
    finally:
        _reporter = before


class _Counter:
    """Counts the bytes of one read; reports every ``EVERY`` bytes and at its ``end``."""

    __slots__ = ("path", "total", "done", "next", "cb", "every")

    def __init__(self, path: str, total: int, cb: Reporter, every: int = EVERY):
        self.path, self.total, self.done, self.next, self.cb, self.every = path, total, 0, every, cb, every

    def __call__(self, n: int) -> None:
        self.done += n
        if self.done >= self.next:
            while self.next <= self.done:
                self.next += self.every
            self.cb(self.path, self.done, self.total)

    def end(self) -> None:
        """The read is over: a last report with ``done == total`` if any was made (the CLI
        clears its line)."""
        if self.next > self.every:
            self.cb(self.path, self.total, self.total)


def reader(path: str | os.PathLike, total: int, min_read: int = MIN_READ,
           every: int = EVERY) -> _Counter | None:
    """A byte counter for a read of ``total`` bytes of ``path`` that reports every ``every``
    bytes, or None when nobody listens or the read is smaller than ``min_read``."""
    cb = _reporter
    if cb is None or total < min_read:
        return None
    return _Counter(os.fspath(path), total, cb, every)
