"""``labtui`` with no verb: open the Textual app (imported only here, never by the core)."""

from __future__ import annotations

import os

COLOR_SYSTEMS = {"truecolor": "truecolor", "256": "256", "16": "standard"}


def open_app(args) -> int:
    from .cli import journal_path

    colors = getattr(args, "colors", "auto") or "auto"
    # Textual reads TEXTUAL_COLOR_SYSTEM when it is first imported: set it before that.
    if colors in COLOR_SYSTEMS:
        os.environ["TEXTUAL_COLOR_SYSTEM"] = COLOR_SYSTEMS[colors]
    from .app.app import run_app

    return run_app(journal_path(args), colors=colors)
