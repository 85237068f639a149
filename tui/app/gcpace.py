"""The cyclic garbage collector, paced by the app: full (gen-2) collections run while the user
is idle, never in the middle of a key's redraw.

After the first full load the app freezes what it holds (``gc.freeze``); what it allocates later
(read-back series, redraws) still makes CPython run a full collection every so often, at the
collector's own moment: ~8-10 ms of the UI thread's CPU (25-80 ms of wall time on a loaded
2-core box), and a key press that meets one redraws late.  Paced, the automatic gen-2 trigger is
raised out of reach and :meth:`GcPacer.tick` (called after each poll) runs ``gc.collect()``
itself when the last one is ``every`` seconds old and no key came for ``quiet`` seconds.  The
young generations are collected as before (~0.5-2 ms each).  :meth:`GcPacer.stop` restores the
thresholds (they are the process's: tests run many apps in one process).
"""

from __future__ import annotations

import gc
import time
from typing import Callable

NEVER = 1_000_000  # a gen-2 threshold the collector never reaches (count of gen-1 collections)


class GcPacer:
    def __init__(self, every: float = 30.0, quiet: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.every = every
        self.quiet = quiet
        self.clock = clock
        self.last_key = -1e18
        self.last_full = clock()
        self.fulls = 0  # full collections run by tick()
        self._saved: tuple[int, ...] | None = None

    @property
    def on(self) -> bool:
        return self._saved is not None

    def start(self) -> None:
        if self._saved is None:
            self._saved = gc.get_threshold()
            g0, g1 = self._saved[:2]
            gc.set_threshold(g0, g1, NEVER)
            self.last_full = self.clock()

    def stop(self) -> None:
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None

    def key(self) -> None:
        """A key came: no full collection for ``quiet`` seconds."""
        self.last_key = self.clock()

    def tick(self) -> bool:
        """Run a full collection if one is due and the user is idle; True if it ran."""
        now = self.clock()
        if self._saved is None or now - self.last_full < self.every or now - self.last_key < self.quiet:
            return False
        gc.collect()
        self.last_full = self.clock()
        self.fulls += 1
        return True
