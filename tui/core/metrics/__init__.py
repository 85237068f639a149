"""Metrics of a run: log text and metric files -> series, stitched lineages, flags, plot points.

No textual import here.  Log text (metric names, tracebacks) is data: callers that show it in
Rich/Textual must escape it (``rich.markup.escape`` or ``Text(...)``), never render it as markup.

One home per concept:
- ``tail``        THE incremental log tail by byte offset (truncation, replacement, rewrites);
                  the metric readers, the app's run-detail log and ``labtui log -f`` use it.
- ``parse``       log text -> points (the incremental template parser); ``rules`` what each
                  number of a line means (``derive_plan``), never-a-metric rules; ``patterns`` user regexes;
                  ``formats`` metrics.jsonl and metrics CSVs.
- ``series``      ``Series`` (compact ``array('d')`` columns) and the series cache format.
- ``files``       THE discovery rule of metric files beside the log (``metric_files``): run
                  folder, working folder, declared ``[metrics] files`` globs.
- ``sources``     ``LogMetrics`` (one file) and ``RunMetrics`` (a run folder: every metric file
                  merged, else ``output.log``; ``pick_source``); ``tfevents`` TensorBoard files
                  (optional ``tensorboard`` package, imported lazily).
- ``goals``       THE metric direction (``goal_of``) and final/best values per metric.
- ``stitch``      THE stitching rule of resumed runs (``stitched``, ``lineage_curve``).
- ``flags``       THE flag rule set (``RunFlags``, ``flags_for_run``, ``SILENT_AFTER``).
- ``detect``      NaN and cliff detectors; ``points``: ``downsample`` (min/max buckets), ``plot_points``, EMA.

API (what the app and the CLI use)
----------------------------------
``RunMetrics(run_dir, patterns=None)``: ``.poll()``, ``.series``, ``.x_axis``, ``.source``, ``.sources``, ``.notes``,
    ``.last_traceback``, ``.version``, ``.snapshot()``, ``.save_cache()`` (see ``sources``).
``LogMetrics(path, patterns=None, cache_path=None)``; ``parse_file(path, patterns=None)``.
``Series``: ``.name``, ``.x``, ``.y``, ``.wall`` (unix seconds), each ``array('d')``.
``stitched(journal, run_id) -> Stitched`` (``.series``, ``.x_axis``, ``.resume_points``, ``.runs``);
``lineage_curve(data, runs, run_id, metric, axis) -> (xs, ys, marks)``.
``downsample(x, y, k)``, ``plot_points(xs, ys, columns)``, ``ema(y, weight)``.
``main_metric(names, preferred=None)``; ``goal_of(name, goals=None)`` -> "max"/"min"/None
    (THE metric direction, ``goals``), ``lower_is_better(name, goals=None)``,
    ``metric_stats(series)`` / ``finals(stats, goals)`` / ``best_of(row, goal)`` (last and best).
``flags_for_run(journal, run_id, ...) -> RunFlags`` (``.labels()`` for the CLI, ``.short()`` for
    the app); ``run_flags(...) -> list[str]`` (the labels); ``evaluate(series, ...)`` the same
    rules on series in memory; ``silence(mtime, alive, now)``.
``logged_config(path) -> [(name, {key: value text})]`` the config dumps at the log's start (``config``).
``LogTail(path, eol=..., offset=0, start_tail=None)``; ``last_lines_offset(path, n)``.
``last_traceback(path)``; ``patterns_for_run(journal_data, run_id)`` / ``Patterns``.
"""

from __future__ import annotations

from ..rundir import RunDir
from .config import logged_config
from .detect import find_cliff, first_nonfinite
from .points import downsample, ema, plot_points
from .flags import (SILENT_AFTER, RunFlags, cliff_at, evaluate, flags_for_run, main_metric, nan_at,
                    run_flags, silence, traceback_counts, with_silence)
from .goals import best_of, finals, goal_of, lower_is_better, metric_stats
from .parse import ANSI_RE, TextParser
from .patterns import Patterns, patterns_for_run
from .series import Series
from .sources import LogMetrics, RunMetrics, last_traceback, parse_file, pick_source
from .stitch import Stitched, lineage_curve, stitch_curve, stitched
from .tail import EOL_ANY, EOL_NL, LogTail, last_lines_offset

CACHE_NAME = RunDir.METRICS_CACHE
FLAGS_CACHE = RunDir.FLAGS_CACHE

__all__ = ["Series", "Patterns", "RunMetrics", "LogMetrics", "Stitched", "stitched", "stitch_curve",
           "lineage_curve", "downsample", "plot_points", "ema", "main_metric", "lower_is_better",
           "goal_of", "best_of", "finals", "metric_stats",
           "RunFlags", "SILENT_AFTER", "flags_for_run", "run_flags", "evaluate", "nan_at",
           "cliff_at", "silence", "with_silence", "traceback_counts", "find_cliff",
           "first_nonfinite", "last_traceback", "patterns_for_run", "parse_file", "pick_source",
           "LogTail", "EOL_ANY", "EOL_NL", "last_lines_offset", "ANSI_RE", "TextParser",
           "CACHE_NAME", "FLAGS_CACHE", "logged_config"]
