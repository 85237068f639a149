"""User-owned fields of a run: notes, tags and the verdict (one locked journal edit each)."""

from __future__ import annotations

import contextlib
import re
from typing import Any, Iterable, Iterator

import tomlkit

from ..errors import UserError
from ..journal import Journal
from ..journal import now as _now
from .model import as_journal, unknown


@contextlib.contextmanager
def edit_run(j: Journal, run_id: str) -> Iterator[Any]:
    """The run's table in a locked journal edit (UserError if there is no such run: nothing written)."""
    with j.edit() as doc:
        runs = doc.get("runs")
        if runs is None or run_id not in runs:
            raise UserError(unknown("run", run_id, runs.keys() if runs else []))
        yield runs[run_id]


def add_note(journal: Journal | str | None, run_id: str, text: str) -> None:
    text = str(text).strip()
    if not text:
        raise UserError("empty note")
    j = as_journal(journal)
    with edit_run(j, run_id) as rec:
        if "notes" not in rec or not isinstance(rec["notes"], list):
            old = rec.get("notes")
            arr = tomlkit.array()
            if isinstance(old, str):
                arr.append(old)
            rec["notes"] = arr
        note = tomlkit.inline_table()
        note["at"] = _now()
        note["text"] = text
        rec["notes"].append(note)
        rec["notes"].multiline(True)


TAG_RE = re.compile(r"^[^\s\[\]\"',]{1,64}$")


def add_tags(journal: Journal | str | None, run_id: str, tags: Iterable[str], remove: bool = False) -> list[str]:
    tags = [t.strip() for t in tags]
    for t in tags:
        if not TAG_RE.match(t):
            raise UserError(f"bad tag {t!r}: one word, no spaces, quotes, commas or brackets")
    j = as_journal(journal)
    with edit_run(j, run_id) as rec:
        cur = [str(t) for t in (rec.get("tags") or [])]
        if remove:
            new = [t for t in cur if t not in tags]
        else:
            new = cur + [t for t in dict.fromkeys(tags) if t not in cur]
        arr = tomlkit.array()
        arr.extend(new)
        rec["tags"] = arr
    return new


VERDICTS = ("converging", "diverging", "bug", "keep")


def set_verdict(journal: Journal | str | None, run_id: str, verdict: str | None) -> None:
    if verdict is not None and verdict not in VERDICTS:
        raise UserError(f"bad verdict {verdict!r}: one of {', '.join(VERDICTS)}")
    j = as_journal(journal)
    with edit_run(j, run_id) as rec:
        if verdict is None:
            if "verdict" in rec:
                del rec["verdict"]
        else:
            rec["verdict"] = verdict
