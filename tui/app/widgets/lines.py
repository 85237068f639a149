"""A Static that repaints only the lines whose text changed.

``Static.update`` marks the whole widget dirty, and Textual then writes every cell of it to
the terminal again, blank rows included: a 25-row panel where one figure moved costs ~3 kB.
``LineStatic.update_lines`` compares the new text with the shown one line by line and, when
only some lines differ (same line count, so the same size) and no line is wider than the
widget (a wrapped line would shift the rows below it), marks just those rows dirty - and of a
row only the cells from the first to the last that differ, when it can tell.
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
        w = self.content_size.width
        # Rows are lines only while no line wraps: a wrapped line shifts every row below it,
        # and repainting "row i" would repaint the wrong row (stale figures on screen).  A
        # widget styled `text-wrap: nowrap` crops instead: its rows are always its lines.
        if (old is not None and len(old) == len(lines) and w
                and (self.styles.text_wrap == "nowrap"
                     or all(t.cell_len <= w for t in old) and all(t.cell_len <= w for t in lines))):
            changed = [i for i, (a, b) in enumerate(zip(old, lines)) if a != b]
            if not changed:
                return
            self._only = tuple(_span(old[i], lines[i], i, w) for i in changed)
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


def _cells(t: Text, n: int) -> list[tuple[str, str]]:
    """(character, styles) of each of the first ``n`` columns of a one-cell-a-character line."""
    styles = [str(t.style)] * n
    for sp in t.spans:
        for i in range(sp.start, min(sp.end, n)):
            styles[i] += " " + str(sp.style)
    return list(zip(t.plain.ljust(n), styles))


def _span(a: Text, b: Text, y: int, width: int) -> Region:
    """The cells of row ``y`` that differ between lines ``a`` and ``b``: the whole row unless
    both are one cell a character (then columns map to string indices)."""
    if a.cell_len != len(a.plain) or b.cell_len != len(b.plain):
        return Region(0, y, width, 1)
    n = max(len(a.plain), len(b.plain))
    ca, cb = _cells(a, n), _cells(b, n)
    diff = [i for i in range(n) if ca[i] != cb[i]]
    if not diff or diff[0] >= width:
        return Region(0, y, width, 1)
    x0, x1 = diff[0], min(diff[-1] + 1, width)
    return Region(x0, y, x1 - x0, 1)
