"""Progress of long log reads on stderr, only when stderr is a terminal: one ``\\r`` line
(``reading output.log: 42% of 512 MB``) redrawn as the core reports (``core.metrics.progress``),
cleared when the read ends; nothing at all when stderr is a pipe or a file."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from typing import Iterator

from ..core.metrics.progress import reporting
from ..core.text import terminal_safe


class _TtyLine:
    def __init__(self, stream):
        self.stream = stream
        self.width = 0

    def __call__(self, path: str, done: int, total: int) -> None:
        if done >= total:
            self.clear()  # this file is read (another one may follow)
            return
        name = terminal_safe(os.path.basename(path))[:60]
        pct = min(100, done * 100 // total) if total else 100
        text = f"reading {name}: {pct}% of {total / 1e6:.0f} MB"
        self.width = max(self.width, len(text))
        self.stream.write("\r" + text.ljust(self.width))
        self.stream.flush()

    def clear(self) -> None:
        if self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()
            self.width = 0


@contextmanager
def tty_progress() -> Iterator[None]:
    """Within the block, long reads show progress on stderr if it is a terminal."""
    err = sys.stderr
    try:
        tty = err.isatty()
    except (AttributeError, ValueError):
        tty = False
    if not tty:
        yield
        return
    line = _TtyLine(err)
    try:
        with reporting(line):
            yield
    finally:
        line.clear()
