"""Metrics truth on real-format logs (issue 12): every file of tests/data/corpus is read by the real
parser and compared with its hand-checked ``<name>.expect.json`` (see tests/corpus_truth.py for the
format).  A file is either an excerpt of a training log committed to a public repository whose
licence lets us keep it (its ``source`` names repo, path, commit and licence), or, where the
repository states no licence or one we cannot follow here, a sample of the same format written by
us (``source.format_of`` names the imitated file; tests/data/corpus/make_samples.py writes it).

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

# the generator of the samples written by us (a script beside the data, not a package)
_spec = importlib.util.spec_from_file_location("make_samples", CORPUS / "make_samples.py")
SAMPLES = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(SAMPLES)

CASES = cases()


def test_the_corpus_is_real_and_large_enough():
    """At least 40 files, each either a licensed excerpt (repository, path, commit, licence) or a
    sample written by us that names the file whose format it imitates, each under 200 KB, and each
    with at least one metric and a point checked by hand."""
    assert len(CASES) >= 40
    for ej, data in CASES:
        exp = json.loads(ej.read_text(encoding="utf-8"))
        src = exp["source"]
        if "format_of" in src:
            where, _, commit = src["format_of"].rpartition(" at ")
            assert where.count("/") >= 2 and len(commit) == 40, ej.name
            assert src["written_by"] == "tests/data/corpus/make_samples.py", ej.name
            assert data.name in SAMPLES.SAMPLES, ej.name
        else:
            assert src["repo"].count("/") == 1 and src["path"] and len(src["commit"]) == 40, ej.name
            assert data.name not in SAMPLES.SAMPLES, ej.name
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
    """Every file of the corpus belongs to a case (no excerpt without its truth, no stray file but
    the samples' generator and the README)."""
    paired = {p for pair in CASES for p in pair}
    assert sorted(p.name for p in CORPUS.iterdir() if p not in paired and p.name != "__pycache__") == [
        "README.md", "make_samples.py"]


def test_the_samples_are_what_their_generator_writes(tmp_path):
    """The samples written by us and their truth are exactly the generator's output (deterministic):
    nobody edited a sample or its expectations by hand without the generator."""
    SAMPLES.main_into(tmp_path)
    written = sorted(p.name for p in tmp_path.iterdir())
    assert len(written) == 2 * len(SAMPLES.SAMPLES) == 58  # 29 samples and their truth
    for name in written:
        assert (tmp_path / name).read_bytes() == (CORPUS / name).read_bytes(), name


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
