"""The runs table: one row per run, resume chains as a tree, only changed cells redrawn."""

from __future__ import annotations

from rich.text import Text
from textual.coordinate import Coordinate
from textual.widgets import DataTable

from ...core.text import age
from ..fmt import FLAG_STYLE, count, gpus_text, num, status_text

# key, label, shown at narrow widths
COLUMNS = [
    ("id", "run", True),
    ("experiment", "experiment", False),
    ("status", "status", True),
    ("gpus", "gpus", False),
    ("progress", "progress", True),
    ("last", "last", True),
    ("best", "best", False),
    ("flags", "flags", True),
    ("tags", "tags", False),
    ("notes", "✎", False),
    ("duration", "time", False),
    ("age", "age", True),
]
COLUMN_NAMES = [k for k, _l, _n in COLUMNS]
# other names a user config may give columns by (their headers)
COLUMN_ALIASES = {"run": "id", "time": "duration", "verdict": "tags"}
CELL_PAD = 2  # a DataTable cell's padding (one cell each side)
VERDICT_STYLE = {"good": "green", "bad": "red", "keep": "green", "drop": "red"}
METRIC_LABEL = 14  # a metric name in the last/best headers is cut to this many cells


def labels_for(metric: str | None, narrow: bool = False) -> dict[str, str]:
    """Column labels; ``last``/``best`` name the metric they show (when all rows show one).
    Narrow (no best column): the last column is headed by the metric's name alone."""
    labels = {k: lbl for k, lbl, _n in COLUMNS}
    if metric:
        cut = METRIC_LABEL // 2 if narrow else METRIC_LABEL
        m = metric if len(metric) <= cut else metric[:cut - 1] + "…"
        labels["last"], labels["best"] = (m, m) if narrow else (f"last {m}", f"best {m}")
    return labels


def row_cells(row: dict, marked: bool) -> dict[str, Text]:
    """All cells of one row as Rich Text (ids/params are data, never markup)."""
    info = row["info"]
    s = row["summary"]
    depth = row["depth"]
    idt = Text()
    idt.append("● " if marked else "  ", style="bold cyan")
    if depth:
        idt.append(row.get("branch") or "  " * (depth - 1) + "└ ", style="dim")
    idt.append(info.id, style="bold" if info.alive else "")
    prog = Text()
    if s.step is not None:
        unit = s.extra.get("unit", "step")
        if unit == "epoch" and s.epoch is not None:
            prog.append(f"ep {s.epoch:g}" + (f"/{s.total:g}" if s.total else ""))
        else:
            prog.append(count(s.step) + (f"/{count(s.total)}" if s.total else ""))
        if info.alive and s.rate:
            prog.append(f" {s.rate:.3g}{' ep' if unit == 'epoch' else ''}/s", style="dim")
            if s.eta is not None:
                prog.append(f" eta {age(s.eta)}", style="cyan")
    elif row.get("loading"):
        prog.append("…", style="dim")
    loading = bool(row.get("loading"))  # metrics not read yet: a placeholder, never a stale number
    tags = Text()
    if info.verdict:
        tags.append(info.verdict, style="bold " + VERDICT_STYLE.get(str(info.verdict).lower(), "cyan"))
    for t in info.tags:
        if tags:
            tags.append(" ")
        tags.append(str(t), style="dim")
    flags = Text("…", style="dim") if loading else Text()
    for f in [] if loading else row["flags"]:
        if flags:
            flags.append(" ")
        flags.append(f, style=FLAG_STYLE.get(f, "yellow"))
    status = status_text("stopping" if row.get("stopping") else info.status)
    if info.extra.get("queue_position"):
        status.append(f" #{info.extra['queue_position']}")
    experiment = Text(info.experiment or "-")
    if info.extra.get("pipeline_id"):  # a pipeline's stages: one group, marked
        experiment.append(f" ⛓{info.extra['pipeline_id']}:{info.extra.get('pipeline_stage', '?')}", style="dim")
    return {
        "id": idt,
        "experiment": experiment,
        "status": status,
        "gpus": Text(gpus_text(info.gpus)) if info.slurm is None else slurm_cell(info.slurm),
        "progress": prog,
        # the last finite value (a NaN shows as the NaN flag)
        "last": Text("…", style="dim") if loading else Text(num(row.get("last", s.last))),
        "best": Text("…", style="dim") if loading else Text(num(row.get("best", s.best)), style="green"),
        "flags": flags,
        "tags": tags,
        "notes": Text(str(len(info.notes)) if info.notes else ""),
        "duration": Text(row.get("duration", "")),
        "age": Text(row["age"], style="dim"),
    }


def row_key(row: dict, marked: bool) -> tuple:
    """Everything :func:`row_cells` reads besides the RunInfo (compared by identity: the poll
    replaces a run's info when the journal changes): equal keys, equal cells."""
    s = row["summary"]
    return (marked, row["depth"], row.get("branch"), s.step, s.extra.get("unit"), s.epoch, s.total,
            s.rate, s.eta, s.last, s.best, row.get("last"), row.get("best"), tuple(row["flags"]),
            row.get("duration"), row["age"], bool(row.get("loading")), bool(row.get("stopping")))


def fit_columns(cols: list[str], widths: dict[str, int], room: int) -> list[str]:
    """The user's columns that fit in ``room`` cells: those the default layout hides when
    narrow are dropped from the right first; the rest stay (the table then scrolls)."""
    narrow_ok = {k for k, _l, n in COLUMNS if n}
    cols = list(cols)
    while sum(widths[c] + CELL_PAD for c in cols) > room:
        drop = next((c for c in reversed(cols) if c not in narrow_ok), None)
        if drop is None:
            break
        cols.remove(drop)
    return cols


def slurm_cell(slurm: dict) -> Text:
    """A Slurm run's gpus cell: its node (GPUs are the job's allocation, not this machine's),
    ``?`` while Slurm does not answer."""
    if slurm.get("note"):
        return Text("slurm ?", style="yellow")
    return Text(f"@{slurm['nodes']}" if slurm.get("nodes") else "slurm", style="dim")


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
        if self.user_columns:
            cols = list(self.user_columns)
        else:
            cols = [k for k, _l, n in COLUMNS if n or not self.narrow]
            if self.narrow is False and not any(r["info"].tags or r["info"].verdict for r in rows):
                cols.remove("tags")  # no run has any: no empty column
        order = [r["info"].id for r in rows]
        cells, lens = self._row_cells(rows, marked)
        labels = labels_for(metric, self.narrow and not (self.user_columns and "best" in self.user_columns))
        # explicit widths (not DataTable's idle-time auto width): deterministic, and a
        # column only grows when its content does
        widths = {c: max([len(labels[c])] + [lens[r][c] for r in order]) for c in cols}
        if self.user_columns and self.narrow:
            cols = fit_columns(cols, widths, self.size.width or self.app.size.width)
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
