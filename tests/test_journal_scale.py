"""Edits of one run rewrite only that run's span of a big journal (issue 13 item 13), exactly.

Timings are in bench/bench_journal.py; these tests check that the span edit is right, and
that whenever it cannot be proven right the whole-document edit gives the same result.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Lab, cli_env
from tui.core import journal_cache, journal_span
from tui.core import runs as core_runs
from tui.core.journal import CACHE_MIN_BYTES, Journal, tomllib

HEAD = "# big lab\n[experiments.e]\ncommand = \"sleep 1\"\n\n"


def run_text(i: int) -> str:
    return (f"[runs.r{i}]  # run {i}\nexperiment = \"e\"\nstatus = \"finished\"\n"
            f"started = 2026-05-13T08:00:00+00:00\nparams = {{ lr = {i}e-3, nan_ok = nan }}\n"
            f"tags = [\"a\"]\n\n")


def big(lab: Lab, n: int = 500, extra: dict[int, str] | None = None, tail: str = "") -> str:
    parts = [HEAD]
    for i in range(n):
        parts.append(run_text(i) if not extra or i not in extra else extra[i])
    text = "".join(parts) + tail
    assert len(text.encode()) > CACHE_MIN_BYTES
    lab.journal.write_text(text)
    return text


@pytest.fixture
def lab(tmp_path: Path) -> Lab:
    return Lab(tmp_path)


def full_parse(lab: Lab) -> dict:
    return tomllib.loads(lab.journal.read_text())


def check_cache(lab: Lab) -> None:
    """The cache, if any, matches the journal and says what a full parse says."""
    raw = lab.journal.read_bytes()
    want = journal_cache.digest(raw)
    assert journal_span.same(journal_cache.load(lab.root / "logs" / ".journal-cache", want), tomllib.loads(raw.decode()))


def outside_unchanged(before: str, after: str, run_id: str) -> None:
    start = before.index(f"[runs.{run_id}]")
    nxt = before.find("\n[runs.", start + 1)
    end = len(before) if nxt < 0 else nxt + 1
    assert after.startswith(before[:start])
    assert after.endswith(before[end:])


def test_note_rewrites_only_the_runs_span_and_keeps_the_cache_true(lab):
    before = big(lab)
    j = Journal(lab.journal)
    j.read()  # writes the cache
    data = j.read()
    assert journal_span.locate(before, "r250", list(data["runs"]), data["runs"]["r250"]) is not None
    core_runs.add_note(j, "r250", "first")
    core_runs.add_tags(j, "r250", ["b"])
    core_runs.set_verdict(j, "r250", "keep")
    after = lab.journal.read_text()
    outside_unchanged(before, after, "r250")
    assert "[runs.r250]  # run 250" in after
    rec = full_parse(lab)["runs"]["r250"]
    assert [n["text"] for n in rec["notes"]] == ["first"] and rec["tags"] == ["a", "b"] and rec["verdict"] == "keep"
    check_cache(lab)
    assert journal_span.same(Journal(lab.journal).read(), full_parse(lab))


def test_edit_without_a_cache_and_of_the_last_run_without_final_newline(lab):
    before = big(lab, tail='[runs.last]\nstatus = "finished"')
    core_runs.add_note(Journal(lab.journal), "last", "end")
    after = lab.journal.read_text()
    assert after.startswith(before[: before.index("[runs.last]")])
    assert [n["text"] for n in full_parse(lab)["runs"]["last"]["notes"]] == ["end"]
    check_cache(lab)


def test_contiguous_sub_tables_go_with_their_run(lab):
    sub = run_text(7) + "[runs.r7.metrics]  # patterns\npatterns = ['x']\n\n"
    before = big(lab, extra={7: sub})
    core_runs.add_note(Journal(lab.journal), "r7", "hi")
    after = lab.journal.read_text()
    outside_unchanged(before.replace("\n[runs.r7.metrics]", "\n#[runs.r7.metrics]"),
                      after.replace("\n[runs.r7.metrics]", "\n#[runs.r7.metrics]"), "r7")
    rec = full_parse(lab)["runs"]["r7"]
    assert rec["metrics"] == {"patterns": ["x"]} and rec["notes"][0]["text"] == "hi"
    assert "# patterns" in after
    check_cache(lab)


@pytest.mark.parametrize("trap", ["other", "own", "array", "far-sub"])
def test_header_lookalikes_fall_back_to_a_whole_document_edit(lab, trap):
    extra = {
        "other": {3: run_text(3) + 'comment = """\n[runs.r9]\nstatus = "lost"\n"""\n\n'},
        "own": {9: run_text(9) + 'comment = """\n[runs.r10]\n"""\n\n'},
        "array": {9: run_text(9) + "grid = [\n[1]\n]\n\n"},
        "far-sub": {20: run_text(20) + "[runs.r9.late]\nx = 1\n\n"},
    }[trap]
    big(lab, extra=extra)
    j = Journal(lab.journal)
    expect = j.read()
    text = lab.journal.read_text()
    assert journal_span.locate(text, "r9", list(expect["runs"]), expect["runs"]["r9"]) is None
    assert journal_span.locate(text, "r30", list(expect["runs"]), expect["runs"]["r30"]) is None or trap in ("array", "far-sub")
    core_runs.add_note(j, "r9", "safe")
    got = full_parse(lab)
    expect["runs"]["r9"]["notes"] = got["runs"]["r9"]["notes"]
    assert journal_span.same(got, expect)
    assert [n["text"] for n in got["runs"]["r9"]["notes"]] == ["safe"]
    check_cache(lab)


def test_crlf_big_journal_span_edit_stays_crlf(lab):
    text = big(lab).replace("\n", "\r\n")
    lab.journal.write_bytes(text.encode())
    core_runs.add_note(Journal(lab.journal), "r100", "crlf")
    raw = lab.journal.read_bytes()
    assert raw.count(b"\n") == raw.count(b"\r\n") and b"crlf" in raw
    check_cache(lab)


def test_unknown_run_on_a_big_journal_names_known_ones(lab):
    big(lab)
    Journal(lab.journal).read()
    with pytest.raises(core_runs.UserError, match="unknown run 'nope'; known: .*r499"):
        core_runs.add_note(Journal(lab.journal), "nope", "x")


def test_concurrent_notes_from_many_processes_all_land(lab):
    big(lab)
    code = ("import sys\nfrom tui.core import runs\n"
            "for k in range(4):\n    runs.add_note(sys.argv[1], sys.argv[2], f'{sys.argv[2]}-{k}')\n")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(lab.journal), rid], env=cli_env())
             for rid in ("r1", "r2", "r1")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    runs = full_parse(lab)["runs"]
    assert len(runs["r1"]["notes"]) == 8 and len(runs["r2"]["notes"]) == 4
    check_cache(lab)

