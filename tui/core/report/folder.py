"""A report in a dated folder of the lab: what the app's report key writes.

``<lab>/reports/<YYYY-MM-DD_HHMMSS>/report.md`` (``-2``, ``-3``... when that folder exists),
built by :func:`~tui.core.report.document.write_report`; pictures only when matplotlib (the
``report`` extra) is installed, so the key works in a bare install too.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path
from typing import Sequence

from ..journal import Journal
from .document import write_report

REPORTS = "reports"


def report_dir(journal: Journal, when: float) -> Path:
    """A new folder, created here so two reports never share one:
    ``<lab>/reports/<local date_time of when>[-N]``."""
    base = journal.path.parent / REPORTS / dt.datetime.fromtimestamp(when).strftime("%Y-%m-%d_%H%M%S")
    base.parent.mkdir(parents=True, exist_ok=True)
    out, k = base, 2
    while True:
        try:
            out.mkdir()
            return out
        except FileExistsError:
            out, k = base.with_name(f"{base.name}-{k}"), k + 1


def pictures_available() -> bool:
    """Whether matplotlib can be imported (it is not imported here: that is slow)."""
    return importlib.util.find_spec("matplotlib") is not None


def write_dated_report(journal: Journal, ids: Sequence[str], when: float) -> tuple[Path, bool]:
    """Write the report of runs ``ids`` into a new dated folder; (report.md's path, pictures drawn)."""
    images = pictures_available()
    path = write_report(journal, report_dir(journal, when), ids=ids, images=images)
    return path, images
