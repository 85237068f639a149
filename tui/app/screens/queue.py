"""The queue's dialog: cancel a queued run (``X``); moving one is ``+`` / ``-`` in the app."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult

from ...core import runs as core_runs
from ..widgets.keys import Input
from .actions import ActionDialog, field


class CancelQueuedDialog(ActionDialog):
    """Confirm cancelling a queued run (it never starts); an optional reason."""

    OK_LABEL = "Cancel run"
    OK_VARIANT = "error"

    def __init__(self, lab_app, info) -> None:
        super().__init__(lab_app)
        self.info = info

    def title_text(self) -> Text:
        pos = self.info.extra.get("queue_position")
        return Text.assemble("Cancel queued ", (self.info.id, "bold"), f" (#{pos})?" if pos else "?")

    def body(self) -> ComposeResult:
        yield field("reason", Input(placeholder="optional, kept in the journal", id="cancel-reason", compact=True))

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#cancel-reason", Input).focus()

    @on(Input.Submitted, "#cancel-reason")
    def _reason_done(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    def action_submit(self) -> None:
        reason = self.query_one("#cancel-reason", Input).value.strip() or None
        rid, journal = self.info.id, self.lab.journal
        self.call_core(f"cancel {rid}", lambda: core_runs.queue.cancel(journal, rid, reason),
                       ok=lambda _r: f"cancelled {rid}")
