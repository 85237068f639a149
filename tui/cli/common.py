"""What every verb module shares: the parser class, ``--journal``, the journal path, JSON output."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from ..core.journal import Journal
from ..core.text import json_escape


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # usage errors: one line, exit 2
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def journal_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--journal", metavar="PATH", default=argparse.SUPPRESS,
                   help="experiments.toml to use (default: $LABTUI_JOURNAL or ./experiments.toml)")


def journal_path(args: argparse.Namespace) -> Path:
    return Path(getattr(args, "journal", None) or os.environ.get("LABTUI_JOURNAL") or "experiments.toml")


def journal(args: argparse.Namespace) -> Journal:
    return Journal(journal_path(args))


def emit_json(obj) -> None:
    """JSON on stdout; DEL, C1 and bidi marks escaped (metric names come from logs)."""
    sys.stdout.write(json_escape(json.dumps(obj, indent=2, ensure_ascii=False, default=str)))
    sys.stdout.write("\n")
