"""The real-log corpus (tests/data/corpus) and its hand-checked truth: one reader, one comparison,
shared by tests/test_metrics_corpus.py and bench/bench_corpus.py.

Each ``<name>.expect.json`` sits beside its data file ``<name>.<ext>``, which is one of two kinds
(tests/data/corpus/README.md lists them):

- an excerpt of a real log from a public repository whose licence lets us keep it (MIT, BSD,
  Apache-2.0): ``source`` gives repo, path, commit, licence (as the repository states it) and which
  lines were kept; its truth was read by eye from the raw text;
- a sample of a format written by us, where the repository we found the format in states no
  licence or is GPL-3.0 (no copy of those is kept): ``source`` gives ``format_of`` ("<repo>/<path>
  at <commit>", the imitated file), ``licence`` and ``written_by`` (tests/data/corpus/make_samples.py,
  which prints the sample with its own numbers and text and writes the truth from the values it
  printed; the truth stays a small hand-checkable file, and labtui's reading is compared with it).

Every expect.json says:

- ``source``: as above;
- ``reader``: how labtui reads the file when it is found beside a run or declared
  (``files.declared_kind``: ``text``, ``csv``, ``tsv``, ``jsonl``, ``hfstate``...);
- ``x_axis``: the axis labtui must pick (``step``, ``epoch`` or ``line``);
- ``metrics``: per series, as read by eye from the raw text: ``count`` (number of points),
  ``first``, ``last``, ``min`` and a few ``points`` ``[x, y]`` (``x`` null: only the value is checked);
- ``not_metrics``: names that must never become a series (config dumps, dates, ETA, memory...);
- ``exact``: when true, the series found are exactly ``metrics`` (plus ``epoch``, the epoch axis).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from tui.core.metrics.files import declared_kind
from tui.core.metrics.sources import LogMetrics, parse_file
from tui.core.metrics.tfevents import TfEventsMetrics

CORPUS = Path(__file__).resolve().parent / "data" / "corpus"
SUFFIX = ".expect.json"


def cases(root: Path = CORPUS) -> list[tuple[Path, Path]]:
    """(expect.json, data file) pairs of the corpus, by name."""
    out = []
    for ej in sorted(root.glob("*" + SUFFIX)):
        base = ej.name[: -len(SUFFIX)]
        data = [p for p in root.iterdir() if p != ej and (p.name.startswith(base + ".") or p.name == base)
                and not p.name.endswith(SUFFIX)]
        if len(data) == 1:
            out.append((ej, data[0]))
    return out


def _num(v) -> float:
    return float(v) if isinstance(v, str) else v


def close(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b or abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))


def read(data: Path) -> LogMetrics | TfEventsMetrics:
    """The file read as labtui reads a metric file (its kind from its name), whole."""
    kind = declared_kind(data)
    if kind == "tfevents":
        tm = TfEventsMetrics(data)
        tm.poll()
        return tm
    return parse_file(data, kind=kind)


def check(ej: Path, data: Path) -> tuple[int, int, list[str]]:
    """(series right, series expected, problems) of one corpus file.  A series is right when its
    count, first, last, min and every hand-checked point match; problems also list the axis, the
    reader, forbidden names and (``exact``) unexpected series."""
    exp = json.loads(ej.read_text(encoding="utf-8"))
    problems: list[str] = []
    kind = declared_kind(data)
    if kind != exp["reader"]:
        problems.append(f"reader: {kind}, want {exp['reader']}")
    m = read(data)
    # a log holding several attempts (runs one after the other) is judged on all its points
    series = m.all_attempts() if hasattr(m, "all_attempts") else m.series
    if m.x_axis != exp["x_axis"]:
        problems.append(f"x axis: {m.x_axis}, want {exp['x_axis']}")
    ok = 0
    for name, e in exp["metrics"].items():
        s = series.get(name)
        if s is None:
            problems.append(f"{name}: missing")
            continue
        ys = list(s.y)
        fin = [v for v in ys if not math.isnan(v)]
        got = {"count": len(ys), "first": ys[0] if ys else math.nan, "last": ys[-1] if ys else math.nan,
               "min": min(fin) if fin else math.nan}
        bad = [k for k in ("count", "first", "last", "min")
               if (got[k] != e[k] if k == "count" else not close(got[k], _num(e[k])))]
        xs = list(s.x)
        for x, y in e.get("points", []):
            y = _num(y)
            if not any(close(yy, y) and (x is None or close(xx, x)) for xx, yy in zip(xs, ys)):
                bad.append(f"point ({x}, {y})")
        if bad:
            problems.append(f"{name}: wrong {', '.join(bad)}: got {got}, want "
                            f"{ {k: e[k] for k in ('count', 'first', 'last', 'min')} }")
        else:
            ok += 1
    low = {n.lower() for n in exp.get("not_metrics", [])}
    for name in series:
        leaf = name.lower().rsplit("/", 1)[-1]
        if name.lower() in low or leaf in low:
            problems.append(f"{name}: must not be a metric")
        elif exp.get("exact") and name not in exp["metrics"] and name != "epoch":
            problems.append(f"{name}: unexpected series")
    return ok, len(exp["metrics"]), problems
