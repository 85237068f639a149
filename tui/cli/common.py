"""What every verb module shares: the parser class, ``--journal``, the journal path, JSON output."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from ..core.journal import DEFAULT_NAME, Journal
from ..core.text import json_escape


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # usage errors: one line, exit 2
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def journal_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--journal", metavar="PATH", default=argparse.SUPPRESS,
                   help="experiments.toml to use (default: $LABTUI_JOURNAL, else the nearest "
                        "experiments.toml in this folder or above it, like git)")


def find_journal(start: Path | None = None) -> Path | None:
    """The nearest ``experiments.toml`` in ``start`` (default: the working folder) or above it."""
    here = (start or Path.cwd()).absolute()
    for d in (here, *here.parents):
        p = d / DEFAULT_NAME
        if p.is_file():
            return p
    return None


def journal_given(args: argparse.Namespace) -> bool:
    """Was the journal named (``--journal``, ``$LABTUI_JOURNAL``) or found above the working folder?"""
    return bool(getattr(args, "journal", None) or os.environ.get("LABTUI_JOURNAL") or find_journal())


def journal_path(args: argparse.Namespace) -> Path:
    given = getattr(args, "journal", None) or os.environ.get("LABTUI_JOURNAL")
    if given:
        return Path(given)
    return find_journal() or Path(DEFAULT_NAME)


def journal(args: argparse.Namespace) -> Journal:
    return Journal(journal_path(args))


def emit_json(obj) -> None:
    # C0 is escaped by json itself; DEL, C1 and bidi marks by json_escape: same value, inert text
    sys.stdout.write(json_escape(json.dumps(obj, indent=2, ensure_ascii=False, default=str)) + "\n")
