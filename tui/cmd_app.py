"""``labtui`` with no verb: open the Textual app (imported only here, never by the core)."""

from __future__ import annotations


def register(sub) -> None:  # the app has no verb of its own; `labtui demo` lives here later
    pass


def open_app(args) -> int:
    from .cli import journal_path
    from .app.app import run_app

    return run_app(journal_path(args), colors=getattr(args, "colors", "auto"))
