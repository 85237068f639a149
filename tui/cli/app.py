"""``labtui`` with no verb: open the Textual app (imported only here, never by the core)."""

from __future__ import annotations

import gc
import os

from ..core.errors import UserError
from ..core.journal import Journal
from .common import journal_path

COLOR_SYSTEMS = {"truecolor": "truecolor", "256": "256", "16": "standard"}


def open_app(args) -> int:
    path = journal_path(args)
    j = Journal(path)
    if not j.path.exists():
        raise UserError(f"no journal at {path}: try `labtui demo`, start a run with "
                        "`labtui run -- COMMAND` (it creates one), or pass --journal PATH")
    # a journal that does not parse: one line naming line and column, exit 1; the parse is
    # kept for the app's first poll (it reads the same bytes: ~35 ms of a 200-run journal)
    j.read(keep=True)

    colors = getattr(args, "colors", "auto") or "auto"
    # Textual reads TEXTUAL_COLOR_SYSTEM when it is first imported: set it before that.
    if colors in COLOR_SYSTEMS:
        os.environ["TEXTUAL_COLOR_SYSTEM"] = COLOR_SYSTEMS[colors]
    select = getattr(args, "select", None)
    gc.disable()  # no collection while the first frame's polls, Textual and the app import: ~10% less CPU
    first = None
    try:
        try:
            # The runs and the selected curve on screen before Textual loads (~0.3 s sooner);
            # the app takes over the frame's polls and its screen
            first = first_frame(j, select)
            # Imported here, not at the top: the env var above must be set first, and the
            # headless verbs never pay for importing textual.
            from ..app.app import run_app
        finally:
            # What the imports made lives as long as the app: out of the collector's sight, or
            # each collection while the app starts walks it all again
            gc.freeze()
            gc.enable()
        return run_app(j, colors=colors, select=select, first=first)
    finally:
        if first is not None:
            first.restore()  # (run_app did once the app ended; this covers a failure before)


def first_frame(j: Journal, select: str | None):
    """The app's first frame (``tui.app.firstframe``), or None: not a terminal, turned off, or
    a user config the app will refuse with its own one-line error."""
    from ..app import firstframe
    from ..app.cells import COLUMN_ALIASES, COLUMN_NAMES
    from ..core import config

    try:
        columns = config.load_columns(COLUMN_NAMES, COLUMN_ALIASES)
    except UserError:
        return None  # the app says what is wrong with it, on the normal screen
    return firstframe.paint(j, select, columns)
