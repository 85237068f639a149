"""`?`: every binding with its key, id and description."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from .detail import DetailScreen

EXTRA = [  # bindings owned by widgets/screens, listed for completeness
    ("↑/↓", "move", "move the cursor"),
    ("enter", "detail", "run detail: command, params, checkpoints, notes, log"),
]


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", id="help_close")]

    def __init__(self, app) -> None:
        super().__init__()
        self._lab = app

    def compose(self) -> ComposeResult:
        t = Table(box=None, show_header=True, header_style="bold", expand=True, padding=(0, 1))
        t.add_column("key", style="bold cyan", no_wrap=True)
        t.add_column("id", style="dim", no_wrap=True)
        t.add_column("action")
        keymap = self._lab.keymap

        def key_of(b) -> str:  # the user's keymap wins (~/.config/labtui/config.toml)
            return keymap.get(b.id) or b.key_display or b.key

        for b in self._lab.BINDINGS:
            t.add_row(Text(key_of(b)), Text(b.id or ""), Text(b.description or b.action))
        t.add_row("", "", "")
        t.add_row(Text("in run detail", style="bold"), "", "")
        for b in DetailScreen.BINDINGS:
            t.add_row(Text(key_of(b)), Text(b.id or ""), Text(b.description or b.action))
        t.add_row("", "", "")
        t.add_row(Text("in dialogs", style="bold"), "", "")
        t.add_row(Text("enter / ctrl+s"), Text(""), Text("confirm (ctrl+s in the note editor)"))
        t.add_row(Text(keymap.get("dialog_cancel") or "esc"), Text("dialog_cancel"),
                  Text("cancel: nothing changes"))
        body = Static(t)
        with VerticalScroll(id="help-body") as v:
            v.border_title = "labtui keys"
            v.border_subtitle = "runs keep going when you quit"
            yield body
