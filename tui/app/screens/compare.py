"""Compare (c): marked runs side by side: params that differ; each metric's last value, and its
best (by its goal: core ``goal_of``; none for an unknown direction) with the step where it happened.
Beside the table (below it under 120 columns) the overlay plot of the compared runs: the main
screen's plot widget and settings (metric, EMA, log, axis, window), refreshed with each poll."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Static

from ..fmt import num, status_text
from ..model import goal_of
from ..widgets.keybar import KeyBar
from ..widgets.plot import Curve, MetricPlot
from ...core.metrics import best_of, metric_stats

_MISSING = object()


def compare_rows(state, ids: list[str], all_params: bool = False) -> list[tuple[str, list[Text]]]:
    """The rows of the compare table for the runs ``ids`` of an :class:`AppState`."""
    infos = [state.infos[i] for i in ids if i in state.infos]
    rows: list[tuple[str, list[Text]]] = []
    rows.append(("status", [status_text(r.status) for r in infos]))
    rows.append(("experiment", [Text(r.experiment or "-") for r in infos]))
    keys: dict[str, None] = {}
    for r in infos:
        for k in r.params:
            keys.setdefault(k)
    for k in keys:
        vals = [r.params.get(k, _MISSING) for r in infos]
        same = all(repr(v) == repr(vals[0]) for v in vals)
        if same and not all_params and len(infos) > 1:
            continue
        rows.append((k, [Text("-" if v is _MISSING else str(v), style="" if same else "bold yellow")
                         for v in vals]))
    metrics: dict[str, None] = {}
    for r in infos:
        rd = state.store.get(r.id)
        if rd:
            for m in rd.series:
                if m != "epoch":
                    metrics.setdefault(m)
    for m in metrics:
        per = []      # (last, best, x of best) per run; best by the metric's goal (core goal_of)
        goal = None
        for r in infos:
            rd = state.store.get(r.id)
            col = rd.series.get(m) if rd else None
            if col is None:
                per.append((None, None, None))
                continue
            g = goal_of(m, rd.goals)
            goal = goal or g
            row = metric_stats({m: col})[m]
            per.append((row[0], *best_of(row, g)))
        bests = [b for _l, b, _x in per if b is not None]
        winner = (min(bests) if goal == "min" else max(bests)) if bests and goal else None
        rows.append((f"{m} last", [Text(num(last)) for last, _b, _x in per]))
        if goal is None:
            continue  # unknown direction: no "best" is claimed
        rows.append((f"{m} best", [Text(num(b), style="bold green" if b is not None and b == winner
                                                 and len(infos) > 1 else "") for _l, b, _x in per]))
        rows.append((f"{m} best at", [Text(num(x), style="dim") for _l, _b, x in per]))
    steps = []
    for r in infos:
        s = state.summaries.get(r.id)
        steps.append(Text(num(s.step) if s and s.step is not None else ""))
    rows.append(("last step", steps))
    rows.append(("notes", [Text(str(len(r.notes))) for r in infos]))
    return rows


class CompareScreen(Screen):
    BINDINGS = [
        Binding("escape,q", "app.pop_screen", "Back", id="compare_back"),
        Binding("a", "toggle_all", "All params", id="compare_all_params"),
    ]

    def __init__(self, lab, ids: list[str]) -> None:
        super().__init__()
        self.lab = lab
        self.ids = [i for i in ids if i in lab.state.infos]
        self.all_params = False

    def compose(self) -> ComposeResult:
        yield Static(Text(f"compare {len(self.ids)} runs — params that differ, metrics last / best / step of best"),
                     classes="title")
        with Horizontal(id="compare-body"):
            yield DataTable(id="compare-table", cursor_type="row", zebra_stripes=True)
            yield MetricPlot(id="compare-plot")
        yield KeyBar()

    def on_mount(self) -> None:
        self.build()
        self.refresh_plot()
        # live runs' curves move: redraw when the polled data changed (set_curves compares keys)
        self.set_interval(max(self.lab.poll_interval, 0.1), self.refresh_plot)

    def refresh_plot(self) -> None:
        curves, shown, key, msg = self.lab.state.curves(self.ids)
        self.query_one("#compare-plot", MetricPlot).set_curves([Curve(*c) for c in curves], shown, key, msg)

    def build(self) -> None:
        t = self.query_one(DataTable)
        t.clear(columns=True)
        t.add_column(Text(""), key="_k")
        for i in self.ids:
            t.add_column(Text(i), key=i)
        for k, vals in compare_rows(self.lab.state, self.ids, self.all_params):
            t.add_row(Text(k, style="bold"), *vals)

    def action_toggle_all(self) -> None:
        self.all_params = not self.all_params
        self.build()
