"""``labtui demo``: a lab with real runs of the bundled trainers (tui.core.demo), then the app on it."""

from __future__ import annotations

import sys
from pathlib import Path

from ..core import demo
from .app import open_app


def register(sub) -> None:
    p = sub.add_parser("demo", help="create a demo lab with real training runs and open the app on it",
                       description="Creates (or reuses) a lab folder, launches three GAN runs of an "
                                   "ablation and a resumed run, and opens the app. Quitting leaves the "
                                   "runs going; `labtui demo --stop` stops them.")
    p.add_argument("path", nargs="?", default="labtui-demo", help="lab folder (default ./labtui-demo)")
    p.add_argument("--stop", action="store_true", help="stop every running run of the demo lab")
    p.add_argument("--no-app", action="store_true", help="start the runs but do not open the app")
    p.set_defaults(func=cmd_demo)


def _say(msg: str) -> None:
    print(msg, file=sys.stderr)


def cmd_demo(args) -> int:
    path = Path(args.path).absolute()
    if args.stop:
        return demo.stop(path, say=_say)
    demo.start(path, say=_say, wait_resume=120.0 if args.no_app else 0.0)
    if args.no_app:
        _say(f"labtui demo: open the app with `labtui --journal {path / 'experiments.toml'}`; "
             f"stop the runs with `labtui demo --stop {args.path}`")
        return 0
    args.journal = str(path / "experiments.toml")
    return open_app(args)
