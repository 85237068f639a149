"""The runs table's columns and cells, without Textual: what ``RunsTable`` shows and what the
CLI's first frame (``firstframe``) paints before Textual has loaded, so both show the same cells."""

from __future__ import annotations

from rich.text import Text

from ..core.text import age
from .fmt import FLAG_STYLE, count, gpus_text, num, status_text

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


def column_layout(rows: list[dict], lens: dict, metric: str | None, narrow: bool,
                  user_columns: list[str] | None, room: int) -> tuple[list[str], dict[str, str], dict[str, int]]:
    """The columns shown, their labels and widths, for ``rows`` whose cells measure ``lens``
    (run id -> column -> cells), in ``room`` columns of screen."""
    cols = table_columns(rows, narrow, user_columns)
    labels = labels_for(metric, narrow and not (user_columns and "best" in user_columns))
    widths = column_widths(cols, labels, [r["info"].id for r in rows], lens)
    if user_columns and narrow:
        cols = fit_columns(cols, widths, room)
    return cols, labels, widths


def table_columns(rows: list[dict], narrow: bool, user_columns: list[str] | None) -> list[str]:
    """The columns shown: the user's (config), or the default ones for the width (tags only
    when some run has tags or a verdict)."""
    if user_columns:
        return list(user_columns)
    cols = [k for k, _l, n in COLUMNS if n or not narrow]
    if narrow is False and not any(r["info"].tags or r["info"].verdict for r in rows):
        cols.remove("tags")  # no run has any: no empty column
    return cols


def column_widths(cols: list[str], labels: dict[str, str], order: list[str], lens: dict) -> dict[str, int]:
    """Explicit widths (not DataTable's idle-time auto width): deterministic, and a column only
    grows when its content does."""
    return {c: max([len(labels[c])] + [lens[r][c] for r in order]) for c in cols}
