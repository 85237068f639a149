"""Drawing the metric plot, without Textual: plotext curves, downsampled to the widget's width, built only when data changed.

Above the curves, one strip line: the title (metric, EMA, log, window) and the legend (a glyph
and colour per run, so overlays read in NO_COLOR and 16 colours), or, with the cursor on, the
step under the cursor and every curve's value there.  Ticks are nice numbers (1-2-5 steps) with
SI suffixes (``10k``, ``1.5M``).  With EMA on, the raw points are drawn faint behind the smoothed
line.  With several metrics and small multiples on (``p``), one small plot per metric.

``PlotDraw`` builds the plot's text from a plotext figure; the app's ``MetricPlot`` widget is one,
and so is the CLI's first frame (``firstframe``), which draws the same plot before Textual loads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from rich.text import Text

from ..core.metrics import ema, plot_points
from .state import PlotSettings

COLORS = ["cyan", "orange", "green", "magenta", "red", "blue", "yellow", "white",
          "cyan+", "orange+", "green+", "magenta+", "red+", "blue+", "yellow+", "gray"]
# plotext colour name -> Rich colour (the legend strip is drawn by Rich)
RICH = {"cyan": "cyan", "orange": "dark_orange", "green": "green", "magenta": "magenta", "red": "red",
        "blue": "blue", "yellow": "yellow", "white": "white", "gray": "bright_black"}
# a glyph per run (marker, and how the legend shows it): overlays differ without colour too
MARKERS = [("braille", "⣿"), ("•", "•"), ("+", "+"), ("x", "x"), ("o", "o"), ("*", "*"),
           ("#", "#"), ("%", "%")]
RAW_COLOR = "gray"   # the raw points behind an EMA line
CURSOR_COLOR = "white"
SI = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))
AXIS_NAMES = {"step": "step", "epoch": "epoch", "time": "min"}


def nice_step(span: float, n: int) -> float:
    """The 1-2-5 step (…, 0.1, 0.2, 0.5, 1, 2, 5, 10, …) that cuts ``span`` into at most ~n parts."""
    raw = span / max(n, 1)
    if not raw > 0 or not math.isfinite(raw):
        return 1.0
    mag = 10.0 ** math.floor(math.log10(raw))
    for m in (1.0, 2.0, 5.0, 10.0):
        if m * mag >= raw * (1 - 1e-9):
            return m * mag
    return 10.0 * mag


def nice_ticks(lo: float, hi: float, n: int) -> tuple[list[float], float]:
    """Ticks at the multiples of a 1-2-5 step inside [lo, hi] (and the step)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [], 1.0
    if hi <= lo:
        return [lo], (abs(lo) or 1.0)
    step = nice_step(hi - lo, n)
    k0, k1 = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
    return [k * step for k in range(k0, k1 + 1)], step


def log_ticks(lo: float, hi: float, n: int) -> list[float]:
    """Ticks for a log axis: powers of ten, or 1-2-5 times them when there are few decades."""
    if not (lo > 0 and hi > 0) or hi < lo:
        return []
    e0, e1 = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    for mults in ((1, 2, 5), (1,)):
        ticks = [m * 10.0 ** e for e in range(e0, e1 + 1) for m in mults if lo <= m * 10.0 ** e <= hi]
        if len(ticks) <= max(n, 2):
            break
    while len(ticks) > max(n, 2):
        ticks = ticks[::2]
    return ticks


def si(v: float, step: float | None = None) -> str:
    """A tick label: ``0``, ``0.05``, ``250``, ``10k``, ``1.5M``, ``2e-05``; ``step`` (the tick
    spacing) decides the decimals, so neighbouring labels differ and carry no noise digits."""
    if v == 0:
        return "0"
    if not math.isfinite(v):
        return str(v)
    a = abs(v)
    step = abs(step) if step else a
    if a < 1e-3 and step < 1e-3:
        return f"{v:.0e}" if step >= a / 10 else f"{v:.1e}"
    scale, suffix = 1.0, ""
    for s, name in SI:
        if a >= s:
            scale, suffix = s, name
            break
    digits = max(0, -math.floor(math.log10(step / scale) + 1e-9)) if step > 0 else 0
    text = f"{v / scale:.{min(digits, 6)}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text + suffix


@dataclass
class Curve:
    label: str
    xs: list
    ys: list
    marks: list = field(default_factory=list)  # resume points (x)
    run: str = ""                              # the run (its glyph and colour)
    metric: str = ""                           # the metric (its panel)


class PlotDraw:
    """The plot's text from its curves (``curves``, ``settings``, ``cursor``) on the plotext
    figure ``plt``; subclasses give ``plt``, ``has_focus`` and ``plot_theme()`` (none here: in
    the widget they are Textual's, which a class attribute here would shadow)."""

    def init_draw(self) -> None:
        self.curves: list[Curve] = []
        self.settings = PlotSettings()
        self.message = "no metrics yet"
        self.cursor: float | None = None   # x of the cursor (None: off)
        self._xrange: tuple[float, float] | None = None  # x range of the last build
        self._cols = 10                    # data columns of the last build (cursor moves one)
        self.builds = 0
        # (label, params) -> (xs, ys, params, dx, dy): windowed, smoothed and downsampled points of a curve,
        # reused while the curve's arrays (memoised by core's lineage_curve) and params hold
        self._points: dict[tuple, tuple] = {}
        self._prev_points: dict[tuple, tuple] = {}

    def plot_theme(self) -> str:
        """The plotext theme of the build."""
        return "clear"

    def values_at(self, x: float) -> list[tuple[Curve, float | None, float | None]]:
        """Every curve's (curve, value, x) at its point nearest ``x`` (raw data; None outside it)."""
        out = []
        for c in self.curves:
            xs, ys = c.xs, c.ys
            n = min(len(xs), len(ys))
            if not n or x < xs[0] or x > xs[n - 1]:
                out.append((c, None, None))
                continue
            i = min(_bisect(xs, x), n - 1)
            if i > 0 and abs(xs[i - 1] - x) <= abs(xs[i] - x):
                i -= 1
            out.append((c, float(ys[i]), float(xs[i])))
        return out

    def readout(self) -> str:
        """The cursor line as plain text (what the strip shows), or "" without a cursor."""
        return self._strip(10_000).plain if self.cursor is not None else ""

    def _panels(self) -> list:
        s = self.settings
        if s.panels and len(s.metrics) > 1:
            present = {c.metric for c in self.curves}
            return [m for m in s.metrics if m in present]
        return [None]

    def _style_key(self, c: Curve) -> str:
        """A glyph/colour per run (per curve when one plot shows several metrics)."""
        return c.run if (len(self._panels()) > 1 and c.run) else c.label

    def _style_keys(self) -> list[str]:
        seen: dict[str, None] = {}
        for c in self.curves:
            seen.setdefault(self._style_key(c))
        return list(seen)

    def _build(self, w: int, h: int):
        if w < 10 or h < 5:
            return Text("")
        if not self.curves:
            return Text(self.message or "no metrics yet", style="dim", justify="center")
        self.builds += 1
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        s = self.settings
        panels = self._panels()
        styles = {k: i for i, k in enumerate(self._style_keys())}
        if len(panels) > 1:
            ncols = min(len(panels), max(1, w // 50))
            nrows = math.ceil(len(panels) / ncols)
            plt.subplots(nrows, ncols)
            figs = [(plt.subplot(i // ncols + 1, i % ncols + 1), m) for i, m in enumerate(panels)]
            pw, ph = w // ncols, (h - 1) // nrows
        else:
            figs, pw, ph = [(plt, None)], w, h - 1
        cols = max(10, pw - 12)
        # plotext costs grow with points x curves: fewer points per curve when many overlay
        many = len(self.curves) > 4 * len(panels)
        per = max(cols // 3, 40) if many else cols
        points: dict[tuple, tuple] = {}
        xr: list[float] = []
        any_points = False
        for fig, metric in figs:
            curves = [c for c in self.curves if metric is None or c.metric == metric]
            drawn = self._draw(fig, curves, styles, s, per, pw, ph, points, many)
            if drawn is not None:
                any_points = True
                xr += drawn
            if metric is not None:
                fig.title(metric)
        # this build's points and the previous build's (a toggled setting comes back for free)
        self._points = {**self._prev_points, **points}
        self._prev_points = points
        if not any_points:
            self._xrange = None
            return Text("no points to show" + (" (log scale drops values <= 0)" if s.log else ""),
                        style="dim", justify="center")
        self._xrange = (min(xr), max(xr))
        self._cols = cols
        plt.plotsize(w, h - 1)
        plt._set_size(w, h - 1)  # as PlotextPlot.render does (textual-plotext issue 5)
        plt.theme(self.plot_theme())
        return Text.assemble(self._strip(w), "\n", Text.from_ansi(plt.build()))

    def _draw(self, fig, curves: list[Curve], styles: dict, s: PlotSettings, per: int, pw: int, ph: int,
              keep: dict, many: bool) -> list[float] | None:
        """Draw ``curves`` on one (sub)plot with nice ticks; their x range, or None if no points."""
        ylo, yhi, xlo, xhi = math.inf, -math.inf, math.inf, -math.inf
        raw_behind = s.smoothing > 0 and not many
        for c in curves:
            i = styles[self._style_key(c)]
            color, marker = COLORS[i % len(COLORS)], MARKERS[i % len(MARKERS)][0]
            layers = []
            if raw_behind:  # the raw points, faint, behind the EMA line
                layers.append((*self._curve_points(c, s, per, keep, raw=True), RAW_COLOR, "·", True))
            layers.append((*self._curve_points(c, s, per, keep), color, marker, many))
            for dx, dy, col, mk, scatter in layers:
                if s.log:
                    pts = [(x, y) for x, y in zip(dx, dy) if y > 0]
                    dx, dy = [p[0] for p in pts], [p[1] for p in pts]
                if not dx:
                    continue
                # many curves: points only (plotext's line interpolation is the slow part)
                (fig.scatter if scatter else fig.plot)(dx, dy, color=col, marker=mk)
                ylo, yhi = min(ylo, min(dy)), max(yhi, max(dy))
                xlo, xhi = min(xlo, dx[0]), max(xhi, dx[-1])
            for m in c.marks:
                if xlo <= m <= xhi:
                    fig.vline(m, "gray")
        if xlo > xhi:
            return None
        if self.cursor is not None:
            fig.vline(min(xhi, max(xlo, self.cursor)), CURSOR_COLOR)
        xt, xstep = nice_ticks(xlo, xhi, max(2, (pw - 8) // 10))
        fig.xticks(xt, [si(t, xstep) for t in xt])
        if s.log:
            fig.yscale("log")
            yt = log_ticks(ylo, yhi, max(2, ph // 3))
            fig.yticks(yt, [si(t, t) for t in yt])
        else:
            yt, ystep = nice_ticks(ylo, yhi, max(2, (ph - 3) // 2))
            fig.yticks(yt, [si(t, ystep) for t in yt])
        return [xlo, xhi]

    def _strip(self, w: int) -> Text:
        """The line above the curves: title and legend, or the cursor's step and values."""
        s = self.settings
        t = Text(no_wrap=True, overflow="ellipsis")
        styles = {k: i for i, k in enumerate(self._style_keys())}
        if self.cursor is not None:
            vals = self.values_at(self.cursor)
            x = next((xv for _c, _v, xv in vals if xv is not None), self.cursor)
            x_text = f"{x:.1f}" if s.axis == "time" else f"{x:.6g}"
            t.append(f"{AXIS_NAMES.get(s.axis, s.axis)} {x_text}", style="bold")
            for c, v, _x in vals:
                t.append("  ")
                self._glyph(t, styles[self._style_key(c)])
                t.append(f" {c.label} ")
                t.append("–" if v is None else f"{v:.4g}", style="bold")
        else:
            extra = []
            if s.smoothing:
                extra.append(f"ema {s.smoothing:.2f}")
            if s.log:
                extra.append("log")
            if s.window:
                extra.append(f"last {si(s.window)}")
            t.append(", ".join(s.metrics) if s.metrics else "", style="bold")
            t.append(f" vs {AXIS_NAMES.get(s.axis, s.axis)}" + (f"  [{' '.join(extra)}]" if extra else ""))
            for k, i in styles.items():
                t.append("  ")
                self._glyph(t, i)
                t.append(f" {k}")
            if self.has_focus:
                t.append("   ←/→ cursor", style="dim")
        t.truncate(w, overflow="ellipsis")
        return t

    @staticmethod
    def _glyph(t: Text, i: int) -> None:
        color = COLORS[i % len(COLORS)]
        t.append(MARKERS[i % len(MARKERS)][1] * 2, style=RICH.get(color.rstrip("+"), "default") + " bold")

    def _curve_points(self, c: Curve, s: PlotSettings, per: int, keep: dict,
                      raw: bool = False) -> tuple[list, list]:
        smoothing = 0.0 if raw else s.smoothing
        params = (s.window, s.axis, smoothing, per)
        key = (c.label, params)
        hit = self._points.get(key)
        if hit is not None and hit[1] is c.ys and _same(hit[0], c.xs):
            keep[key] = hit
            return hit[3], hit[4]
        xs, ys = c.xs, c.ys
        if s.window and s.axis == "step" and len(xs):
            k = _bisect(xs, xs[-1] - s.window)
            xs, ys = xs[k:], ys[k:]
        if smoothing > 0:
            ys = ema(ys, smoothing)
        dx, dy = plot_points(xs, ys, per)
        keep[key] = (c.xs, c.ys, params, dx, dy)
        return dx, dy

def _same(a, b) -> bool:
    """The same x array, or (the time axis rebuilds it from the same memoised wall times) equal."""
    if a is b:
        return True
    try:
        import numpy as np

        return len(a) == len(b) and bool(np.array_equal(a, b))
    except Exception:  # noqa: BLE001 - odd inputs: no reuse
        return False


def _bisect(xs, v) -> int:
    lo, hi = 0, len(xs)
    while lo < hi:
        mid = (lo + hi) // 2
        if xs[mid] < v:
            lo = mid + 1
        else:
            hi = mid
    return lo
