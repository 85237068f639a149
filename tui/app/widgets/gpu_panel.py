"""GPU panel: one line per GPU (util/mem bars, sparkline, temperature, power, runs), or host CPU/RAM."""

from __future__ import annotations

from rich.text import Text

from ...core.gpus import NA, fmt
from ...core.gpus.steady import steady
from ..fmt import bar, sparkline
from .lines import LineStatic



def no_gpu_reason(snap) -> str:
    """Why there is no GPU, without repeating the "no NVIDIA GPU" the caller already shows."""
    reason = (snap.reason or "").strip()
    rest = reason.removeprefix("no NVIDIA GPU")
    if rest == reason:
        return reason
    if rest.startswith(" (") and rest.endswith(")"):
        return rest[2:-1]
    return rest.removeprefix(":").strip()

def _gib(b) -> str:
    if b is NA or b is None:
        return "n/a"
    return f"{b / 1024 ** 3:.0f}G" if b >= 10 * 1024 ** 3 else f"{b / 1024 ** 3:.1f}G"


def _frac(a, b):
    if a is NA or b is NA or a is None or b is None or not b:
        return None
    return a / b


def render_gpus(snap, history, width: int, known=None) -> Text:
    """The panel's whole text for a snapshot (``history(i)`` -> [(t, util, mem)]).

    ``known``: the run ids of this lab; runs of other labs on the machine are not listed
    as ours (their processes count as foreign on a GPU line).
    """
    t = Text(no_wrap=True, overflow="ellipsis")
    if snap is None:
        t.append("GPUs: sampling…", style="dim")
        return t
    narrow = width < 60
    bw = 6 if narrow else 10
    sw = 0 if narrow else max(0, min(20, width - 70))
    if not snap.ok:
        t.append("no NVIDIA GPU", style="bold yellow")
        why = no_gpu_reason(snap)
        if why:  # on its own line where both do not fit (the panel never wraps: it crops)
            t.append(f"  {why}" if len("no NVIDIA GPU  " + why) <= width else f"\n{why}", style="dim")
        h = snap.host
        t.append("\n")
        cpu = None if h.cpu_percent is NA else h.cpu_percent
        line = Text()
        line.append("CPU ", style="bold")
        line.append_text(bar(None if cpu is None else cpu / 100, bw, "green"))
        line.append(f" {fmt(h.cpu_percent, '%'):>4}")
        pieces = ([f"  load {h.load1:g} {h.load5:g} {h.load15:g}"] if h.load1 is not NA else []) + (
            [f"  {h.cpu_count} cores"] if h.cpu_count is not NA else [])
        for piece in pieces:
            if line.cell_len + len(piece) <= width:  # whole figures or none: never cropped
                line.append(piece, style="dim")
        t.append_text(line)
        t.append("\nRAM ", style="bold")
        t.append_text(bar(_frac(h.mem_used, h.mem_total), bw, "cyan"))
        t.append(f" {_gib(h.mem_used)}/{_gib(h.mem_total)}")
        for rid, u in sorted(snap.runs.items()):
            if known is not None and rid not in known:
                continue
            t.append("\n  ")
            t.append(rid, style="bold")
            t.append(f" cpu {u.cpu_percent:.0f}% rss {_gib(u.rss)}", style="dim")
        return t
    by_gpu: dict[int, list[str]] = {}
    foreign: dict[int, int] = {}
    for p in snap.processes:
        if p.run_id and (known is None or p.run_id in known):
            lst = by_gpu.setdefault(p.gpu, [])
            if p.run_id not in lst:
                lst.append(p.run_id)
        else:
            foreign[p.gpu] = foreign.get(p.gpu, 0) + 1
    for i, g in enumerate(snap.gpus):
        if i:
            t.append("\n")
        t.append(f"{g.index} ", style="bold")
        if g.lost or g.error:
            t.append(g.error or "lost", style="bold red")
            continue
        util = None if g.util is NA else g.util
        t.append_text(bar(None if util is None else util / 100, bw, "green"))
        t.append(f" {fmt(g.util, '%'):>4} ")
        t.append_text(bar(_frac(g.mem_used, g.mem_total), bw, "cyan"))
        t.append(f" {_gib(g.mem_used)}/{_gib(g.mem_total)}")
        if sw:
            hist = [u for _t, u, _m in history(g.index)] if history else []
            t.append(" " + sparkline(hist, sw), style="green")
        t.append(f" {fmt(g.temperature, '°C'):>5}")
        if not narrow:
            t.append(f" {fmt(g.power_draw, 'W'):>5}")
        names = by_gpu.get(g.index, [])
        if names:
            t.append(" " + ",".join(names), style="bold cyan")
        if foreign.get(g.index):
            t.append(f" +{foreign[g.index]} foreign", style="yellow")
    return t


class GpuPanel(LineStatic):
    """Redraws only when the rendered text changes."""

    def __init__(self, **kw):
        super().__init__("", **kw)
        self._last: Text | None = None
        self._data = None
        self._steady = None  # the snapshot as shown (steady figures)

    def on_resize(self, event) -> None:
        super().on_resize(event)
        if self._data is not None:
            self.show(*self._data, force=True)

    def show(self, snap, history, known=None, force: bool = False) -> None:
        self._data = (snap, history, known)
        # Host CPU/load/RAM and GPU temperature/power jitter every sample: show them with
        # hysteresis (core.gpus.steady), so an idle box changes no shown text and an idle app
        # writes nothing to the terminal.
        self._steady = steady(self._steady, snap)
        w = self.content_size.width
        if not w:
            return  # not laid out yet: on_resize draws it
        txt = render_gpus(self._steady, history, w, known)
        if self._last is not None and txt == self._last:
            return
        self._last = txt
        self.update_lines(txt)  # only the lines that changed reach the terminal
