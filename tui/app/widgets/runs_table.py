"""The runs table: one row per run, resume chains as a tree, only changed cells redrawn."""

from __future__ import annotations

from rich.text import Text
from textual.coordinate import Coordinate
from textual.widgets import DataTable

from ..cells import (  # noqa: F401 - re-exported: the table's cells live Textual-free in app/cells.py
    CELL_PAD, COLUMN_ALIASES, COLUMN_NAMES, COLUMNS, METRIC_LABEL, VERDICT_STYLE, column_layout, column_widths,
    fit_columns, labels_for, row_cells, row_key, slurm_cell, table_columns,
)


class RunsTable(DataTable):
    """DataTable whose rows are keyed by run id; ``sync`` updates only what changed."""

    def __init__(self, columns: list[str] | None = None, **kw):
        super().__init__(cursor_type="row", zebra_stripes=False, **kw)
        self.user_columns = list(columns) if columns else None  # the user's choice (config), in order
        self._cols: list[str] = []
        self._order: list[str] = []
        self._cells: dict[str, dict[str, Text]] = {}
        self._widths: dict[str, int] = {}
        self._labels: dict[str, str] = {}
        self.narrow = False
        self._cell_only = False  # update_cell's whole-table refresh() is skipped: sync repaints the cell
        self._cell_cache: dict[str, tuple] = {}  # run id -> (info, row_key, cells, cell widths)

    def refresh(self, *regions, **kw):
        if getattr(self, "_cell_only", False) and not regions:  # refresh() runs in __init__ too
            return self
        return super().refresh(*regions, **kw)

    def _update_dimensions(self, new_rows) -> None:
        # DataTable measures every cell of every new row (Rich render) to size auto-width
        # columns; ours all have explicit widths and one-line rows, so that measure only cost
        # the UI thread (~0.2 s for 200 runs before the first curve).  It still runs when a
        # column is auto-sized or a row has a label or an auto height.
        if any(c.auto_width for c in self.columns.values()) or any(
                self.rows[k].label is not None or self.rows[k].auto_height for k in new_rows if k in self.rows):
            return super()._update_dimensions(new_rows)
        return super()._update_dimensions(())

    def set_narrow(self, narrow: bool) -> None:
        if narrow == self.narrow and self._cols:
            return
        self.narrow = narrow
        self._cols = []  # force a rebuild on the next sync

    def sync(self, rows: list[dict], marked: set[str], keep: str | None, metric: str | None = None) -> None:
        order = [r["info"].id for r in rows]
        cells, lens = self._row_cells(rows, marked)
        cols, labels, widths = column_layout(rows, lens, metric, self.narrow, self.user_columns,
                                             self.size.width or self.app.size.width)
        if cols != self._cols or order != self._order or labels != self._labels or any(
                widths[c] > self._widths.get(c, 0) for c in cols):
            self._rebuild(cols, order, cells, keep, widths, labels)
            return
        changed = []
        for y, rid in enumerate(order):
            old, new = self._cells.get(rid, {}), cells[rid]
            if old is new:
                continue  # the row's inputs did not change (the cell cache gave the same cells)
            for x, c in enumerate(cols):
                if old.get(c) != new[c]:
                    # DataTable.update_cell repaints the whole table (every row and the
                    # scrollbar reach the terminal again): repaint only this cell
                    self._cell_only = True
                    try:
                        self.update_cell(rid, c, new[c])
                    finally:
                        self._cell_only = False
                    changed.append(Coordinate(y, x))
        # Repaint the changed cells on screen, after every update: each update_cell drops the
        # table's row-order cache, so a repaint between updates costs O(rows) each (200 runs
        # filling in: ~0.6 s of the UI thread); cells off screen are drawn when scrolled to.
        top = int(self.scroll_offset.y)
        bottom = top + max(self.size.height, 1)
        for co in changed:
            if top <= co.row < bottom:
                self.refresh_coordinate(co)
        self._cells = cells

    def _row_cells(self, rows: list[dict], marked: set[str]) -> tuple[dict, dict]:
        """Every row's cells and their widths; a row whose inputs did not change keeps its
        cells (building 200 rows of Rich Text at each poll cost the UI thread ~40 ms)."""
        cells, lens = {}, {}
        cache = {}
        for r in rows:
            info = r["info"]
            key = row_key(r, info.id in marked)
            hit = self._cell_cache.get(info.id)
            if hit is None or hit[0] is not info or hit[1] != key:
                c = row_cells(r, info.id in marked)
                hit = (info, key, c, {k: t.cell_len for k, t in c.items()})
            cache[info.id] = hit
            cells[info.id], lens[info.id] = hit[2], hit[3]
        self._cell_cache = cache
        return cells, lens

    def _rebuild(self, cols, order, cells, keep, widths, labels) -> None:
        self.clear(columns=True)
        for c in cols:
            self.add_column(labels[c], key=c, width=widths[c])
        for rid in order:
            self.add_row(*(cells[rid][c] for c in cols), key=rid)
        self._cols, self._order, self._cells, self._widths = cols, order, cells, widths
        self._labels = labels
        if keep is not None:
            self.move_to(keep)

    def move_to(self, rid: str) -> None:
        """Put the cursor on run ``rid`` (when it has a row)."""
        if rid in self._order and self.current_id != rid:
            self.move_cursor(row=self._order.index(rid), animate=False)

    def visible_ids(self) -> tuple[str, ...]:
        """The runs whose rows are on screen now (the poll reads their metrics first)."""
        top = int(self.scroll_offset.y)
        rows = max(self.size.height - 1, 0) or len(self._order)  # not laid out yet: every row
        return tuple(self._order[top:top + rows])

    @property
    def current_id(self) -> str | None:
        if not self._order or self.cursor_row is None:
            return None
        if 0 <= self.cursor_row < len(self._order):
            return self._order[self.cursor_row]
        return None
