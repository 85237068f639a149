"""The key bar at the bottom of every screen: the shown bindings that fit, in their declared
order (the most important first: ``q Quit  ? Help`` lead, ``?`` lists the rest).

Textual's ``Footer`` draws the same line as one widget per key, and rebuilds them all (mount,
CSS, layout: 40-55 ms on a 2-core box) each time the bindings change: three times before the
first curve reaches the screen, and again at each focus change or screen push.  This bar is one
line of text: a change of bindings repaints it (< 1 ms).
"""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget


class KeyBar(Widget, can_focus=False):
    ALLOW_SELECT = False
    COMPONENT_CLASSES = {"keybar--key", "keybar--description"}
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        text-wrap: nowrap;
        color: $footer-foreground;
        background: $footer-background;
        .keybar--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        .keybar--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
    }
    """

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self._spans: list[tuple[int, int, str, bool]] = []  # (x0, x1, key, enabled) of what is drawn

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, _screen) -> None:
        self.refresh()

    def items(self) -> list[tuple[str, str, str, bool]]:
        """(key, key display, description, enabled) of each shown binding, one per action, in
        the order the screen offers them."""
        seen: set[str] = set()
        out = []
        for _node, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            out.append((binding.key, self.app.get_key_display(binding), binding.description, enabled))
        return out

    def render(self) -> Text:
        key_style = self.get_component_rich_style("keybar--key")
        desc_style = self.get_component_rich_style("keybar--description")
        width = self.size.width
        text = Text(no_wrap=True, overflow="crop", end="")
        spans = []
        x = 0
        for key, display, description, enabled in self.items():
            cell = Text.assemble((f" {display} ", key_style), (f"{description} " if description else "", desc_style))
            n = cell.cell_len
            if x + n > width:
                break  # whole keys only: the rest are under `?`
            if not enabled:
                cell.stylize("dim")
            text.append_text(cell)
            spans.append((x, x + n, key, enabled))
            x += n
        self._spans = spans
        return text

    def on_mouse_down(self, event) -> None:
        for x0, x1, key, enabled in self._spans:
            if x0 <= event.x < x1:
                if enabled:
                    self.app.simulate_key(key)
                else:
                    self.app.bell()
                return
