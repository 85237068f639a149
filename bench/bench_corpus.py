"""Corpus score: the parser over every tests/data/logs/* sample that has an .expected.json, and over
the 40 files of tests/data/corpus (their hand-checked .expect.json, tests/corpus_truth.py): 11
licensed excerpts of real public logs and 29 samples of real formats written by us where the
original states no licence or is GPL-3.0 (tests/data/corpus/README.md).

Run: python bench/bench_corpus.py [-v] [DIR]

For each expected series it checks count, first, last and min (the issue's four checks; the
full-form expectations with x/y lists are reduced to those four), and counts false series
(recovered but not expected; the ``epoch`` series counts only when expected).  Prints one
line per sample and the total ``recovered/expected``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.corpus_truth import CORPUS, cases, check  # noqa: E402
from tui.core.metrics import RunMetrics, parse_file  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "logs"


def _num(v) -> float:
    return float(v) if isinstance(v, str) else float("nan") if v is None else v


def _close(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b or abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))


def _four(ys: list[float]) -> dict:
    fin = [v for v in ys if not math.isnan(v)]
    return {"count": len(ys), "first": ys[0] if ys else math.nan, "last": ys[-1] if ys else math.nan,
            "min": min(fin) if fin else math.nan}


def expected_four(e: dict) -> dict:
    if "count" in e:
        return {k: (e[k] if k == "count" else _num(e[k])) for k in ("count", "first", "last", "min")}
    return _four([_num(v) for v in e["y"]])


def score(case: Path, exp: dict) -> tuple[int, int, list[str], list[str]]:
    """(recovered, expected, false series, misses) of one sample."""
    if case.is_dir():
        m = RunMetrics(case)
        m.poll()
    else:
        m = parse_file(case)
    ok, misses = 0, []
    for name, e in exp["metrics"].items():
        want = expected_four(e)
        s = m.series.get(name)
        if s is None:
            misses.append(f"{name}: missing")
            continue
        got = _four(list(s.y))
        if got["count"] == want["count"] and all(_close(got[k], want[k]) for k in ("first", "last", "min")):
            ok += 1
        else:
            misses.append(f"{name}: got {got}, want {want}")
    false = [k for k in m.series if k not in exp["metrics"] and k != "epoch"]
    return ok, len(exp["metrics"]), false, misses


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir", nargs="?", default=str(DATA))
    ap.add_argument("-v", "--verbose", action="store_true", help="print each miss")
    args = ap.parse_args()
    root = Path(args.dir)
    tot_ok = tot = tot_false = files = 0
    for ej in sorted(root.glob("*.expected.json")):
        name = ej.name.removesuffix(".expected.json")
        case = root / name if (root / name).is_dir() else root / f"{name}.log"
        if not case.exists():
            continue
        exp = json.loads(ej.read_text(encoding="utf-8"))
        ok, n, false, misses = score(case, exp)
        files += 1
        tot_ok, tot, tot_false = tot_ok + ok, tot + n, tot_false + len(false)
        print(f"{name:<22} {ok:>3}/{n:<3}" + (f"  false: {', '.join(false)}" if false else ""))
        if args.verbose:
            for miss in misses:
                print(f"    {miss}")
    pct = 100.0 * tot_ok / tot if tot else 0.0
    print(f"corpus: {files} files, recovered {tot_ok}/{tot} expected series ({pct:.0f}%), "
          f"{tot_false} false series")
    if args.dir == str(DATA):
        real_corpus(args.verbose)


def real_corpus(verbose: bool) -> None:
    """The corpus of real formats: a file is read right when every expected series, the axis,
    the reader and the forbidden names all match its truth."""
    right = ser_ok = ser = 0
    all_cases = cases(CORPUS)
    for ej, data in all_cases:
        ok, n, problems = check(ej, data)
        right += not problems
        ser_ok, ser = ser_ok + ok, ser + n
        print(f"{data.name[:44]:<45} {ok:>3}/{n:<3} {'right' if not problems else 'WRONG'}")
        if verbose:
            for p in problems:
                print(f"    {p[:300]}")
    print(f"real-format corpus: {right}/{len(all_cases)} files read right, {ser_ok}/{ser} series right")


if __name__ == "__main__":
    main()
