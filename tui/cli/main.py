"""``labtui``: the app with no arguments, headless verbs otherwise.

Exit status: 0 success, 1 a one-line error (bad input, unknown run...), 2 usage error.
"""

from __future__ import annotations

import argparse
import os
import sys

from .. import __version__
from ..core.errors import UserError, disk_full
from ..core.text import inert
from . import app
from .common import Parser, journal_arg

APP_OPTIONS = ("--journal", "--colors")  # the options of `labtui` with no verb (each takes a value)


def verb_modules() -> tuple:
    """The verb modules; each exposes register(subparsers) and sets func=handler(args) -> int.
    Imported only to parse a verb (or --help): `labtui` alone, the app, skips their imports
    (~50 ms of its start)."""
    from . import demo, gpus, metrics, queue, report, runs

    return (runs, queue, metrics, report, gpus, demo)


def app_only(argv: list[str]) -> bool:
    """Whether ``argv`` is the app's own options only (no verb, no --help/--version)."""
    i = 0
    while i < len(argv):
        if argv[i] in APP_OPTIONS and i + 1 < len(argv):
            i += 2
        elif argv[i].startswith(tuple(o + "=" for o in APP_OPTIONS)):
            i += 1
        else:
            return False
    return True


def build_parser(verbs: bool = True) -> argparse.ArgumentParser:
    parser = Parser(
        prog="labtui",
        description="Terminal experiment monitor: launch, watch, kill and resume training runs. "
                    "With no verb, opens the app on ./experiments.toml.",
    )
    journal_arg(parser)
    parser.add_argument("--colors", choices=["auto", "truecolor", "256", "16"], default="auto",
                        help="colour depth of the app (NO_COLOR is respected)")
    parser.add_argument("--version", action="version", version="labtui " + __version__)
    if not verbs:
        return parser
    sub = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=Parser)
    for mod in verb_modules():
        mod.register(sub)
    for p in sub.choices.values():
        if not any("--journal" in a.option_strings for a in p._actions):
            journal_arg(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(verbs=not app_only(argv))
    tail: list[str] | None = None
    if "--" in argv:  # `labtui run [opts] -- CMD ARGS...`: the command is never parsed as options
        i = argv.index("--")
        argv, tail = argv[:i], argv[i + 1:]
    args = parser.parse_args(argv)
    args.command_tail = tail
    func = getattr(args, "func", None) or app.open_app
    try:
        return int(func(args) or 0)
    except UserError as e:
        print(f"labtui: {inert(str(e))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0
    except OSError as e:  # a full disk: one line (every write is atomic: nothing was changed)
        err = disk_full(e)
        if err is None:
            raise
        print(f"labtui: {inert(str(err))}", file=sys.stderr)
        return 1
