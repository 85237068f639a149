"""The metric plot: plotext curves, downsampled to the widget's width, built only when data changed.

Above the curves, one strip line: the title (metric, EMA, log, window) and the legend (a glyph
and colour per run, so overlays read in NO_COLOR and 16 colours), or, with the cursor on, the
step under the cursor and every curve's value there.  Ticks are nice numbers (1-2-5 steps) with
SI suffixes (``10k``, ``1.5M``).  With EMA on, the raw points are drawn faint behind the smoothed
line.  With several metrics and small multiples on (``p``), one small plot per metric.
"""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual_plotext import PlotextPlot

from ..plotdraw import (  # noqa: F401 - re-exported (the drawing lives Textual-free in app/plotdraw.py)
    AXIS_NAMES, COLORS, CURSOR_COLOR, MARKERS, RAW_COLOR, RICH, SI, Curve, PlotDraw, log_ticks, nice_step,
    nice_ticks, si,
)
from ..state import PlotSettings


class MetricPlot(PlotDraw, PlotextPlot):
    """A PlotextPlot that caches its built text: redraws cost nothing unless data/size changed.

    Focused (Tab), ←/→ or ``[``/``]`` move a vertical cursor one column; the strip then reads the
    step there and every curve's value; ``escape`` hides it."""

    can_focus = True
    BINDINGS = [
        Binding("left,left_square_bracket", "cursor(-1)", "◀ Cursor", id="plot_cursor_left"),
        Binding("right,right_square_bracket", "cursor(1)", "Cursor ▶", id="plot_cursor_right"),
        Binding("escape", "cursor_off", "No cursor", id="plot_cursor_off", show=False),
    ]

    def __init__(self, **kw):
        super().__init__(**kw)
        self.init_draw()
        self.data_key: tuple = ()
        self._cache_key = None
        self._cache: Text | None = None

    def set_curves(self, curves: list[Curve], settings: PlotSettings, data_key: tuple,
                   message: str = "") -> None:
        key = (data_key, settings.key(), message)
        if key == self.data_key:
            return
        self.curves, self.settings, self.message = curves, settings, message
        self.data_key = key
        self.refresh()

    # ------------------------------------------------------------------ cursor
    def action_cursor(self, direction: int) -> None:
        if self._xrange is None:
            return
        lo, hi = self._xrange
        if self.cursor is None:
            self.cursor = hi  # first press: at the latest point
        else:
            step = (hi - lo) / max(self._cols, 1)
            self.cursor = min(hi, max(lo, self.cursor + direction * step))
        self.refresh()

    def check_action(self, action: str, parameters) -> bool | None:
        if action == "cursor_off":
            return self.cursor is not None  # no cursor: escape goes on (back, clear the filter)
        return True

    def action_cursor_off(self) -> None:
        if self.cursor is not None:
            self.cursor = None
            self.refresh()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    # ------------------------------------------------------------------ drawing
    def render(self):
        w, h = self.size.width, self.size.height
        key = (self.data_key, w, h, self.app.theme, self.cursor, self.has_focus)
        if key == self._cache_key and self._cache is not None:
            return self._cache
        self._cache = self._build(w, h)
        self._cache_key = key
        return self._cache

    def plot_theme(self) -> str:
        return self._get_plotext_theme_name(self.app.theme)
