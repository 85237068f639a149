"""The metric plot: plotext curves, downsampled to the widget's width, built only when data changed."""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.text import Text
from textual_plotext import PlotextPlot

from ...core.metrics import ema, plot_points
from ..state import PlotSettings

COLORS = ["cyan", "orange", "green", "magenta", "red", "blue", "yellow", "white",
          "cyan+", "orange+", "green+", "magenta+", "red+", "blue+", "yellow+", "gray"]


@dataclass
class Curve:
    label: str
    xs: list
    ys: list
    marks: list = field(default_factory=list)  # resume points (x)


class MetricPlot(PlotextPlot):
    """A PlotextPlot that caches its built text: redraws cost nothing unless data/size changed."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.curves: list[Curve] = []
        self.settings = PlotSettings()
        self.data_key: tuple = ()
        self.message = "no metrics yet"
        self._cache_key = None
        self._cache: Text | None = None
        self.builds = 0
        # (label, params) -> (xs, ys, params, dx, dy): windowed, smoothed and downsampled points of a curve,
        # reused while the curve's arrays (memoised by core's lineage_curve) and params hold
        self._points: dict[tuple, tuple] = {}
        self._prev_points: dict[tuple, tuple] = {}

    def set_curves(self, curves: list[Curve], settings: PlotSettings, data_key: tuple,
                   message: str = "") -> None:
        key = (data_key, settings.key(), message)
        if key == self.data_key:
            return
        self.curves, self.settings, self.message = curves, settings, message
        self.data_key = key
        self.refresh()

    def render(self):
        w, h = self.size.width, self.size.height
        key = (self.data_key, w, h, self.app.theme)
        if key == self._cache_key and self._cache is not None:
            return self._cache
        self._cache = self._build(w, h)
        self._cache_key = key
        return self._cache

    def _build(self, w: int, h: int):
        if w < 10 or h < 4:
            return Text("")
        if not self.curves:
            return Text(self.message or "no metrics yet", style="dim", justify="center")
        self.builds += 1
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        s = self.settings
        cols = max(10, w - 12)
        # plotext costs grow with points x curves: fewer points per curve when many overlay
        per = cols if len(self.curves) <= 4 else max(cols // 3, 40)
        any_points = False
        points: dict[str, tuple] = {}
        for i, c in enumerate(self.curves):
            dx, dy = self._curve_points(c, s, per, points)
            if s.log:
                pts = [(x, y) for x, y in zip(dx, dy) if y > 0]
                dx, dy = [p[0] for p in pts], [p[1] for p in pts]
            if not dx:
                continue
            any_points = True
            if len(self.curves) <= 4:
                plt.plot(dx, dy, label=c.label, color=COLORS[i % len(COLORS)], marker="braille")
            else:  # many curves: points only (plotext's line interpolation is the slow part)
                plt.scatter(dx, dy, label=c.label, color=COLORS[i % len(COLORS)], marker="braille")
            for m in c.marks:
                if dx[0] <= m <= dx[-1]:
                    plt.vline(m, "gray")
        # this build's points and the previous build's (a toggled setting comes back for free)
        self._points = {**self._prev_points, **points}
        self._prev_points = points
        if not any_points:
            return Text("no points to show" + (" (log scale drops values <= 0)" if s.log else ""),
                        style="dim", justify="center")
        if s.log:
            plt.yscale("log")
        plt.xlabel({"step": "step", "epoch": "epoch", "time": "wall time (min)"}[s.axis])
        title = ", ".join(s.metrics) if s.metrics else ""
        extra = []
        if s.smoothing:
            extra.append(f"ema {s.smoothing:.2f}")
        if s.log:
            extra.append("log")
        if s.window:
            extra.append(f"last {s.window}")
        plt.title(title + (f"  [{' '.join(extra)}]" if extra else ""))
        return super().render()


    def _curve_points(self, c: Curve, s: PlotSettings, per: int, keep: dict) -> tuple[list, list]:
        params = (s.window, s.axis, s.smoothing, per)
        key = (c.label, params)
        hit = self._points.get(key)
        if hit is not None and hit[1] is c.ys and _same(hit[0], c.xs):
            keep[key] = hit
            return hit[3], hit[4]
        xs, ys = c.xs, c.ys
        if s.window and s.axis == "step" and len(xs):
            k = _bisect(xs, xs[-1] - s.window)
            xs, ys = xs[k:], ys[k:]
        if s.smoothing > 0:
            ys = ema(ys, s.smoothing)
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
