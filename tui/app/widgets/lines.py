"""A Static that repaints only the lines whose text changed.

``Static.update`` marks the whole widget dirty, and Textual then writes every cell of it to
the terminal again, blank rows included: a 25-row panel where one figure moved costs ~3 kB.
``LineStatic.update_lines`` compares the new text with the shown one line by line and, when
only some lines differ (same line count, so the same size), marks just those rows dirty.
"""

from __future__ import annotations

from rich.text import Text
from textual.geometry import Region
from textual.widgets import Static


class LineStatic(Static):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self._lines: list[Text] | None = None
        self._only: tuple[Region, ...] | None = None  # rows the next refresh() repaints
        self.line_repaints = 0  # rows repainted alone (for tests)
        self.full_repaints = 0  # whole-widget repaints through update_lines (for tests)

    def update_lines(self, txt: Text) -> None:
        """Show ``txt``; repaint only its changed lines when its line count is unchanged."""
        lines = txt.split("\n", allow_blank=True)
        old, self._lines = self._lines, lines
        if old is not None and len(old) == len(lines):
            changed = [i for i, (a, b) in enumerate(zip(old, lines)) if a != b]
            if not changed:
                return
            w = max(self.content_size.width, 1)
            self._only = tuple(Region(0, i, w, 1) for i in changed)
            self.line_repaints += len(changed)
            self.update(txt, layout=False)
            return
        self.full_repaints += 1
        self.update(txt)

    def refresh(self, *regions: Region, **kw):
        only, self._only = getattr(self, "_only", None), None  # refresh() runs in __init__ too
        if only is not None and not regions and not kw.get("layout") and not kw.get("recompose"):
            regions = only
        return super().refresh(*regions, **kw)

    def on_resize(self, event) -> None:
        self._lines = None  # a new size: the next update repaints everything
