"""User-owned fields of a run: notes, tags and the verdict (one locked journal edit each)."""

from __future__ import annotations

import contextlib
import re
from typing import Any, Iterable, Iterator

import tomlkit

from ..errors import UserError
from ..journal import Journal, UnknownRun
from ..journal import now as _now
from .model import as_journal, unknown


@contextlib.contextmanager
def edit_run(j: Journal, run_id: str, field: str | None = None) -> Iterator[Any]:
    """The run's table in a locked journal edit (UserError if there is no such run: nothing written).

    Only the run's own span of the journal is rewritten (fast on a 10,000-run journal); ``field``
    names what is changed in error messages.
    """
    try:
        with j.edit_run(run_id, field) as rec:
            yield rec
    except UnknownRun as e:
        raise UserError(unknown("run", run_id, e.known)) from None


def _refuse(j: Journal, run_id: str, field: str, value: Any, want: str) -> UserError:
    return UserError(f"{j.path}: run {run_id}, field {field}: {want}, not {_shown(value)}; "
                     "nothing was changed (fix it in the journal)")


def _shown(value: Any) -> str:
    return repr(value.unwrap() if hasattr(value, "unwrap") else value)[:60]  # repr: no raw control chars


def add_note(journal: Journal | str | None, run_id: str, text: str) -> None:
    text = str(text).strip()
    if not text:
        raise UserError("empty note")
    j = as_journal(journal)
    with edit_run(j, run_id, "notes") as rec:
        if "notes" not in rec or not isinstance(rec["notes"], list):
            old = rec.get("notes")
            if old is not None and not isinstance(old, str):
                raise _refuse(j, run_id, "notes", old, "must be a list of notes")
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
    with edit_run(j, run_id, "tags") as rec:
        old = rec.get("tags")
        if old is None:
            cur = []
        elif isinstance(old, str):
            cur = [str(old)]  # one tag written by hand without brackets
        elif isinstance(old, list):
            cur = [str(t) for t in old]
        else:
            raise _refuse(j, run_id, "tags", old, "must be a list of tags")
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
    with edit_run(j, run_id, "verdict") as rec:
        if verdict is None:
            if "verdict" in rec:
                del rec["verdict"]
        else:
            rec["verdict"] = verdict
