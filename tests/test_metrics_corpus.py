"""Metrics truth on real logs (issue 12): every file of tests/data/corpus (an excerpt of a training
log committed to a public repository, never written by us) is read by the real parser and compared
with its hand-checked ``<name>.expect.json`` (see tests/corpus_truth.py for the format).

A file labtui still reads wrong is listed in ``KNOWN_WRONG`` with the reason; it is a strict xfail,
so fixing the parser makes the test fail until the entry is removed.  The expectations are never
adjusted to the parser."""

from __future__ import annotations

import importlib.util
import json

import pytest

from tests.corpus_truth import CORPUS, cases, check
from tui.core.metrics import RunMetrics
from tui.core.rundir import RunDir

KNOWN_WRONG: dict[str, str] = {}

CASES = cases()


def test_the_corpus_is_real_and_large_enough():
    """At least 40 files, each with its source (repository, path, commit) and licence note, each
    under 200 KB, and each with at least one metric and a point checked by hand."""
    assert len(CASES) >= 40
    for ej, data in CASES:
        exp = json.loads(ej.read_text(encoding="utf-8"))
        src = exp["source"]
        assert src["repo"].count("/") == 1 and src["path"] and len(src["commit"]) == 40, ej.name
        assert src["licence"], ej.name
        assert data.stat().st_size <= 200_000, data.name
        assert exp["metrics"] and all(m["points"] for m in exp["metrics"].values()), ej.name


@pytest.mark.parametrize("ej,data", CASES, ids=[d.name for _, d in CASES])
def test_corpus_file_read_right(ej, data):
    if data.name.split(".")[0] in KNOWN_WRONG:
        pytest.xfail(KNOWN_WRONG[data.name.split(".")[0]])
    if ".tfevents." in data.name and importlib.util.find_spec("tensorboard") is None:
        pytest.skip("the optional tensorboard package is not installed")
    ok, n, problems = check(ej, data)
    assert not problems, f"{data.name}: {ok}/{n} series right\n" + "\n".join(problems)


def test_corpus_dir_holds_only_cases():
    """Every file of the corpus belongs to a case (no excerpt without its truth, no stray file)."""
    paired = {p for pair in CASES for p in pair}
    assert sorted(p.name for p in CORPUS.iterdir() if p not in paired) == []


def test_a_finished_runs_last_line_counts_without_newline(tmp_path):
    """Real logs often end without a newline (tests/data/corpus/mobilenet_liveness_train.log):
    while the run lives the partial line waits; once the run has ended (its exit.json) the last
    line is read too."""
    rd = RunDir(tmp_path / "run")
    rd.path.mkdir()
    rd.log.write_text("step 1 loss 0.5\nstep 2 loss 0.4\nstep 3 loss 0.3")
    m = RunMetrics(rd.path)
    m.poll()
    assert list(m.series["loss"].y) == [0.5, 0.4]
    rd.exit_file.write_text('{"code": 0}')
    assert m.poll()
    assert list(m.series["loss"].y) == [0.5, 0.4, 0.3]
