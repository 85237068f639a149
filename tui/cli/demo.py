"""``labtui demo``: a lab with real runs of the bundled trainers (tui.core.demo), then the app on it."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from ..core import demo
from .app import open_app


def register(sub) -> None:
    p = sub.add_parser("demo", help="create a demo lab with real training runs and open the app on it",
                       description="Creates a lab folder, launches three GAN runs of an ablation and "
                                   "a resumed run, and opens the app. On a folder that already has "
                                   "runs it reopens the app on them (--fresh launches a new set). "
                                   "Quitting leaves the runs going; `labtui demo --stop` stops them.")
    p.add_argument("path", nargs="?", default="labtui-demo", help="lab folder (default ./labtui-demo)")
    p.add_argument("--stop", action="store_true", help="stop every running run of the demo lab")
    p.add_argument("--no-app", action="store_true", help="start the runs but do not open the app")
    p.add_argument("--fresh", action="store_true",
                   help="launch a new set of demo runs even when the folder has runs already")
    p.set_defaults(func=cmd_demo)


def _say(msg: str) -> None:
    print(msg, file=sys.stderr)


def cmd_demo(args) -> int:
    path = Path(args.path).absolute()
    if args.stop:
        return demo.stop(path, say=_say)
    journal = path / "experiments.toml"
    existing = demo.existing_runs(path)
    if existing and not args.fresh:
        _say(f"labtui demo: {journal} has {len(existing)} run(s) already: reopening it "
             "(`labtui demo --fresh` launches a new set)")
        ids = [i.id for i in existing]
    else:
        ids = demo.start(path, say=_say, wait_resume=120.0 if args.no_app else 0.0)
    if args.no_app:
        _say(f"labtui demo: open the app with `labtui --journal {shlex.quote(str(journal))}`; "
             f"stop the runs with `labtui demo --stop {shlex.quote(args.path)}`")
        return 0
    args.journal = str(journal)
    infos = [i for i in demo.existing_runs(path) if i.id in ids]
    args.select = demo.first_selected(infos)  # a run whose curve moves, not the one that stops
    return open_app(args)
