"""`?`: every key with its id and description, generated from the bindings themselves.

The sections are :func:`tui.app.bindings.binding_classes`: the main screen, the plot's cursor
keys, the detail, compare and GPU process views, the metric chooser, the dialogs (keys that
every dialog shares listed once), this help.  Keys are the ones in effect: the user's keymap
(``~/.config/labtui/config.toml``) wins over the defaults.  A few keys that are not bindings
of ours (moving the cursor, Tab) are listed at the end.
"""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ...core.text import inert
from ..bindings import key_text, own_bindings

# the main-screen binding that opens a scope (its key is shown in the section title)
OPENED_BY = {"detail screen": "detail", "compare screen": "compare", "GPU process view": "gpu_view",
             "GPU process kill dialog": "gpu_view_kill", "metric chooser": "choose_metrics",
             "kill dialog": "kill", "new run dialog": "new_run", "note dialog": "note",
             "resume dialog": "resume", "tags dialog": "tags", "help": "help"}
OTHER_KEYS = [  # keys that are Textual's own, not bindings with an id
    ("↑ ↓ pgup pgdn", "select a run (in the table), scroll (the log, the help)"),
    ("tab / shift+tab", "focus the next / previous panel (the plot: for its cursor keys)"),
    ("enter", "in a dialog's input: confirm"),
]


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", id="help_close")]

    def __init__(self, app, scopes: dict[str, type]) -> None:
        super().__init__()
        self._lab = app
        self._scopes = scopes

    def key_of(self, b: Binding) -> str:
        """The key(s) of a binding in effect: the user's keymap wins."""
        mine = self._lab.keymap.get(b.id)
        if mine:
            return key_text(self._lab, mine)
        return b.key_display or key_text(self._lab, b.key)

    def rows(self) -> list[tuple[str, list[tuple[str, str, str]]]]:
        """[(section title, [(keys, id, description)])], the table's content as plain text."""
        main = {b.id: b for b in own_bindings(next(iter(self._scopes.values())))}
        listed: dict[type, set[str]] = {}
        out = []
        for name, cls in self._scopes.items():
            inherited = set().union(*(listed.get(base, set()) for base in cls.__mro__[1:]))
            items = [b for b in cls.BINDINGS if isinstance(b, Binding) and b.id and b.id not in inherited]
            listed[cls] = {b.id for b in items} | inherited
            if not items:
                continue
            opener = main.get(OPENED_BY.get(name, ""))
            title = name + (f" ({self.key_of(opener)})" if opener is not None else "")
            if name == "plot":
                title += " (tab focuses it)"
            out.append((title, [(self.key_of(b), b.id, b.description or b.action) for b in items]))
        out.append(("other keys", [(k, "—", what) for k, what in OTHER_KEYS]))
        return out

    def compose(self) -> ComposeResult:
        sections = self.rows()
        items = [it for _t, its in sections for it in its]
        kw = max(len("key"), *(len(inert(k)) for k, _i, _w in items))
        iw = max(len("id"), *(len(i) for _k, i, _w in items))
        parts: list = []
        for n, (title, its) in enumerate(sections):
            # one table per section, the same column widths in all: titles span the whole line
            t = Table(box=None, show_header=n == 0, header_style="bold", expand=True, padding=(0, 1))
            t.add_column("key", style="bold cyan", no_wrap=True, width=kw)
            t.add_column("id", style="dim", no_wrap=True, width=iw)
            t.add_column("action", ratio=1)
            for keys, bid, what in its:
                t.add_row(Text(inert(keys)), Text(bid), Text(what))  # a keymap's keys: the user's text
            parts += [*([Text("")] if n else []), Text(" " + title, style="bold underline"), t]
        with VerticalScroll(id="help-body") as v:
            v.border_title = "labtui keys"
            v.border_subtitle = "runs keep going when you quit"
            yield Static(Group(*parts))
