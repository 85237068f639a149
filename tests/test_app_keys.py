"""Keys that arrive together keep their order in the app's text inputs (the Textual
workaround in tui/app/widgets/keys.py; the real-terminal test is in tests/test_e2e_tmux.py)."""

from __future__ import annotations

import asyncio
import time

import textual
from textual import events
from textual.app import App

from tui.app.widgets import keys
from tui.app.widgets.keys import Input, TextArea


def test_the_workaround_is_on_for_the_installed_textual():
    # a Textual outside the tested majors gets no workaround: look at the pin again
    # (is the upstream bug fixed? do the private names still exist?), then extend TESTED_MAJORS
    assert keys.PATCHED, f"Textual {textual.__version__}: the key-order workaround is off"


class One(App):
    def __init__(self, make) -> None:
        super().__init__()
        self.make = make

    def compose(self):
        self.widget = self.make()
        yield self.widget


async def _queued_together(make, want: str, *pairs: tuple[str, str | None]) -> str:
    """Post the keys to the app's queue in one go (as the driver does for one read); the
    widget's text once it is ``want`` or, after a deadline, as it is (the failure)."""
    app = One(make)
    async with app.run_test() as pilot:
        app.widget.focus()
        await pilot.pause()
        for key, char in pairs:
            app.post_message(events.Key(key, char))
        w = app.widget
        text = lambda: w.text if isinstance(w, TextArea) else w.value  # noqa: E731
        deadline = time.monotonic() + 5
        while text() != want and time.monotonic() < deadline:
            await pilot.pause(0.01)
        return text()


def test_input_backspace_left_home_then_a_character():
    text = asyncio.run(_queued_together(
        lambda: Input("abc"), "xabb7", ("end", None), ("backspace", "\x7f"), ("7", "7"),
        ("left", None), ("b", "b"), ("ctrl+a", "\x01"), ("x", "x")))
    assert text == "xabb7"


def test_textarea_keeps_enter_and_bindings_in_order():
    text = asyncio.run(_queued_together(
        lambda: TextArea("ab"), "a7\nz", ("end", None), ("backspace", "\x7f"), ("7", "7"),
        ("enter", "\r"), ("z", "z")))
    assert text == "a7\nz"
