"""Lab reports: the comparison table, pictures of curves, the dated diary, the Markdown report.

- ``table``     THE comparison table (``compare``, ``select``): differing params, then per metric
                last / best / step of best, the numbers of ``show --json``'s ``"metrics"``.
- ``plot``      matplotlib pictures (Agg; imported lazily): stitched lineages, EMA with the raw
                line faint, log scale, x by step/epoch/time, resume marks; one colour and one
                line style per run.
- ``diary``     the dated events of runs (launched, resumed, finished, killed, failed, notes).
- ``markdown``  inert Markdown: journal text escaped so it renders literally.
- ``document``  ``write_report``: ``report.md`` + ``img/*.png``.

No textual import here; matplotlib only inside ``plot.figure_to_file``.
"""

from .table import Table, compare, select
from .diary import Event, events
from .document import write_report
from .plot import Curve, figure_to_file, load_metrics, run_curves

__all__ = ["Table", "compare", "select", "Event", "events", "write_report", "Curve", "figure_to_file",
           "load_metrics", "run_curves"]
