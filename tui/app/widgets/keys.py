"""Text inputs whose keys never overtake each other (a workaround for a Textual bug).

In Textual (seen in 0.80 … 8.2), a key that the focused ``Input``/``TextArea`` does not
consume itself (Backspace, ←, ctrl+a: everything its *bindings* handle) is not acted on by
the widget: it bubbles up the DOM as a message and the bindings run only when it reaches
the App (``App._on_key`` → ``_check_bindings``).  A printable key that arrived in the same
read is meanwhile handled by the widget directly, so it overtakes the first key:
``BSpace 7`` on ``abc`` gives ``abc`` (7 typed, then the Backspace deletes it), ``Left b``
types ``b`` at the end and then moves left.  Over SSH keys arrive together all the time
(a typed ``0.05`` became ``.05``).  The upstream report is in docs/textual-key-drop.md.

The workaround: when the focused widget leaves a key unconsumed, it resolves the bindings
right there — the same non-priority binding chain, starting at itself, that the App would
run after the bubble — and stops the key when a binding handled it.  So each key is done
before the next one is read from the widget's queue.  Priority bindings are unchanged (the
App runs them before forwarding the key), and so is every key no binding handles (it
bubbles on as before).  The one difference: ``on_key`` handlers of the widget's ancestors
no longer see keys a binding handled; labtui has none.

It is applied in one place — every text input of the app is one of the two classes below —
and only on the Textual versions it was checked against (``PATCHED``); on any other version
the classes are Textual's own behaviour, and tests/test_app_keys.py fails loudly so the pin
is looked at again.
"""

from __future__ import annotations

from typing import Any

import textual
from textual import events
from textual.app import App
from textual.message import Message
from textual.widgets import Input as _Input

TESTED_MAJORS = ("8",)  # Textual major versions the workaround was verified on


def _version_ok(version: str) -> bool:
    return version.split(".", 1)[0] in TESTED_MAJORS


_patched: bool | None = None


def patched() -> bool:
    """Whether the workaround is on (``PATCHED``), checked once, on first use: a Textual that
    renamed the private names it relies on gets no workaround rather than a crash.  Not at
    import: ``textual.__version__`` imports ``importlib.metadata`` (~15 ms before the first
    paint); the dialogs' import (a worker, after the first load) or the first key asks."""
    global _patched
    if _patched is None:
        _patched = (_version_ok(getattr(textual, "__version__", "0"))
                    and hasattr(App, "_check_bindings") and hasattr(Message, "_stop_propagation"))
    return _patched


class KeysInOrder:
    """Mixin for a focusable text widget: run its bindings for a key at once (see module doc).

    Textual calls every class's ``_on_key`` along the MRO, this one first; stopping the key
    with ``prevent_default`` ends that walk, so the widget's own ``_on_key`` (which ignores
    unconsumed keys) and the bubble never see a key a binding already handled."""

    def _consumes(self, event: events.Key) -> bool:
        """The widget's own ``_on_key`` acts on this key (typing, not a binding)."""
        return self.check_consume_key(event.key, event.character)  # type: ignore[attr-defined]

    async def _on_key(self, event: events.Key) -> None:
        if not patched() or self._consumes(event):
            return
        app = self.app  # type: ignore[attr-defined]
        if app.focused is not self:  # the binding chain starts at the focused widget
            return
        if await app._check_bindings(event.key):  # the non-priority chain App._on_key would run
            event.stop()
            event.prevent_default()


class Input(KeysInOrder, _Input):
    """Textual's Input, keys in order."""


def _text_area() -> type:
    # deferred: Textual's TextArea costs ~10 ms of imports and only the note dialog has one
    from textual.widgets import TextArea as _TextArea

    class TextArea(KeysInOrder, _TextArea):
        """Textual's TextArea, keys in order."""

        def _consumes(self, event: events.Key) -> bool:
            # TextArea._on_key also inserts enter (and, when tab indents, takes tab and escape)
            extra = {"enter", "tab", "escape"} if self.tab_behavior == "indent" else {"enter"}
            return self.read_only is False and (event.key in extra or super()._consumes(event))

    TextArea.__module__, TextArea.__qualname__ = __name__, "TextArea"
    return TextArea


def __getattr__(name: str) -> Any:
    """``PATCHED`` and ``TextArea`` on first use (module ``__getattr__``, PEP 562): neither is
    needed to paint the main screen."""
    if name == "PATCHED":
        return patched()
    if name == "TextArea":
        patched()  # the dialogs import this from a worker: the version check is done there too
        cls = globals()["TextArea"] = _text_area()
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
