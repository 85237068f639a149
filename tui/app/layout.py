"""The main screen's layout figures, without Textual: ``LabApp.fit_layout`` and the CLI's first
frame (``firstframe``) size the runs table and the plot with the same rules."""

from __future__ import annotations

MIN_SIZE = (80, 24)     # below: the "too small" state
WIDE = 120              # from here the GPU panel sits right of the plot (labtui.tcss: -wide)
PLOT_MIN = 10           # rows of plot (without its top border) the table never takes
TABLE_SHARE = 0.5       # the most of the screen's middle the table takes
TABLE_MIN = 6           # header and five rows (labtui.tcss: #runs min-height, which Textual applies anyway)
GPU_STRIP = 4           # the GPU strip under the plot below WIDE columns: border + 3 lines (labtui.tcss)
GPU_MIN_WIDTH = 30      # the GPU panel beside the plot: 1 part of 3, at least this (labtui.tcss)


def table_height(rows: int, avail: int, width: int) -> int:
    """The runs table's height (its header included) for ``rows`` runs, in ``avail`` rows
    between the top bar and the key bar of a ``width``-column screen: the rows it needs, up to a
    share of the screen, never so many that the plot gets fewer than PLOT_MIN rows."""
    gpu_rows = 0 if width >= WIDE else GPU_STRIP + 1  # narrow: the GPU strip under the plot, and a row to spare
    return max(TABLE_MIN, min(rows + 1, int(avail * TABLE_SHARE), avail - PLOT_MIN - 1 - gpu_rows))


def plot_width(width: int) -> int:
    """The plot's width: all of a narrow screen, else 2 parts of 3 beside the GPU panel."""
    if width < WIDE:
        return width
    return min(width * 2 // 3, width - GPU_MIN_WIDTH)  # as Textual shares 2fr : 1fr
