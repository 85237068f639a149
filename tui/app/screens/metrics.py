"""`M`: choose which metrics the plot shows (``[x]`` checked, ``[ ]`` not: a glyph, not a colour)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import SelectionList

from ..widgets.checklist import CheckList


class MetricsScreen(ModalScreen[list]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="metrics_cancel"),
        Binding("enter", "done", "Apply", id="metrics_apply", priority=True),
    ]

    def __init__(self, available: list[str], chosen: list[str]) -> None:
        super().__init__()
        self.available = available
        self.chosen = chosen

    def compose(self) -> ComposeResult:
        sl = CheckList(*[(Text(m), m, m in self.chosen) for m in self.available], id="metrics-box")
        sl.border_title = "metrics (space toggles, enter applies)"
        yield sl

    def action_done(self) -> None:
        self.dismiss(list(self.query_one(SelectionList).selected))

    def action_cancel(self) -> None:
        self.dismiss([])
