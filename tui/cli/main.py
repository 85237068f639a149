"""``labtui``: the app with no arguments, headless verbs otherwise.

Exit status: 0 success, 1 a one-line error (bad input, unknown run...), 2 usage error.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from pathlib import Path

from ..core.errors import UserError

# Modules adding verbs: each exposes register(subparsers) and sets func=handler(args) -> int.
COMMAND_MODULES = ["tui.cli.runs", "tui.cli.metrics", "tui.cli.gpus", "tui.core.demo"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # usage errors: one line, exit 2
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def journal_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--journal", metavar="PATH", default=argparse.SUPPRESS,
                   help="experiments.toml to use (default: $LABTUI_JOURNAL or ./experiments.toml)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="labtui",
        description="Terminal experiment monitor: launch, watch, kill and resume training runs. "
                    "With no verb, opens the app on ./experiments.toml.",
    )
    journal_arg(parser)
    parser.add_argument("--colors", choices=["auto", "truecolor", "256", "16"], default="auto",
                        help="colour depth of the app (NO_COLOR is respected)")
    parser.add_argument("--version", action="version", version="labtui " + _version())
    sub = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=_Parser)
    for name in COMMAND_MODULES:
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name == name:
                continue  # a verb module that is not part of this build
            raise
        mod.register(sub)
    for p in sub.choices.values():
        if not any("--journal" in a.option_strings for a in p._actions):
            journal_arg(p)
    return parser


def _version() -> str:
    from .. import __version__

    return __version__


def journal_path(args: argparse.Namespace) -> Path:
    return Path(getattr(args, "journal", None) or os.environ.get("LABTUI_JOURNAL") or "experiments.toml")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    tail: list[str] | None = None
    if "--" in argv:  # `labtui run [opts] -- CMD ARGS...`: the command is never parsed as options
        i = argv.index("--")
        argv, tail = argv[:i], argv[i + 1:]
    args = parser.parse_args(argv)
    args.command_tail = tail
    func = getattr(args, "func", None)
    if func is None:
        from .app import open_app

        func = open_app
    try:
        return int(func(args) or 0)
    except UserError as e:
        print(f"labtui: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0


def emit_json(obj) -> None:
    json.dump(obj, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")

