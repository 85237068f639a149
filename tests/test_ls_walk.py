"""A warm `labtui ls` does not walk run folders: the discovery of metric files beside the log is
kept in the run's flags cache, keyed on the mtimes of the folders walked (files.own_files), and a
metric file that appears later is still found."""

from __future__ import annotations

import json
import os
import time

from tui.core.journal import Journal
from tui.core.lsfill import warm_run
from tui.core.metrics.flags import _load_flags_cache, flags_and_cache
from tui.core.rundir import RunDir

COLD = {"LABTUI_LS_BUDGET": "inf", "LABTUI_LS_FILL": "0"}


def _imported(lab, rid: str = "r") -> RunDir:
    """A finished run without metrics.jsonl (a trainer labtui did not write), with a sub-folder
    holding no metric file yet; every folder dated a minute ago (not "racy")."""
    d = lab.run_dir(rid)
    (d / "sub").mkdir(parents=True)
    (d / "sub" / "notes.txt").write_text("hello\n")
    (d / "output.log").write_text("step 1 loss 0.5\nstep 2 loss 0.4\n")
    (d / "exit.json").write_text(json.dumps({"code": 0, "signal": None, "killed": False,
                                             "ended": "2026-05-13T10:00:00+00:00"}))
    with open(lab.journal, "a") as f:
        f.write(f'\n[runs.{rid}]\nexperiment = "count"\ncommand = "python x.py"\nstatus = "finished"\n'
                'started = 2026-05-13T08:00:00+00:00\nended = 2026-05-13T10:00:00+00:00\nexit_code = 0\n')
    _age(d / "sub", d)
    return RunDir(d)


def _age(*folders, seconds: float = 60) -> None:
    old = time.time() - seconds
    for p in folders:
        os.utime(p, (old, old))


def _metrics(lab) -> dict:
    doc = json.loads(lab.labtui("ls", "--json", check=True, env=COLD).stdout)
    return {r["id"]: r["metrics"] for r in doc["runs"]}


def test_a_metric_file_added_later_in_a_walked_subfolder_is_found(lab):
    rd = _imported(lab)
    assert set(_metrics(lab)["r"]) == {"loss"}  # output.log: nothing else found
    walk = _load_flags_cache(rd.flags_cache)[0]["walk"]
    assert walk["files"] == [] and [d[0] for d in walk["dirs"]] == ["sub"]
    (rd.path / "sub" / "results.csv").write_text("step,acc\n1,0.5\n2,0.75\n")
    assert set(_metrics(lab)["r"]) == {"acc"}  # the sub-folder's mtime changed: walked again
    _age(rd.path / "sub")  # (a sub-folder changed just now is walked every time, not kept)
    assert set(_metrics(lab)["r"]) == {"acc"}
    assert _load_flags_cache(rd.flags_cache)[0]["walk"]["files"] == ["sub/results.csv"]


def test_a_metric_file_in_a_new_subfolder_is_found_and_removal_too(lab):
    rd = _imported(lab)
    j = Journal(lab.journal)
    into: dict = {}
    assert flags_and_cache(j, "r", into=into)[1] and set(into) == {"loss"}
    (rd.path / "tb" / "deep").mkdir(parents=True)
    (rd.path / "tb" / "deep" / "metrics.csv").write_text("step,acc\n1,0.5\n")
    into = {}
    assert flags_and_cache(j, "r", into=into)[1] and set(into) == {"acc"}
    os.remove(rd.path / "tb" / "deep" / "metrics.csv")
    into = {}
    flags_and_cache(j, "r", into=into)
    assert set(into) == {"loss"}


def test_a_kept_walk_answers_with_stats_and_settles_the_run_folder_mtime(lab):
    """Saving the cache changes the run folder's mtime: the next call checks one listing of it,
    then writes that mtime into the cache in place (the folder's mtime stays), and later calls
    trust the mtime alone: a file slipped in with the mtime put back is not seen (proof that
    no listing was made); once the mtime moves, it is."""
    rd = _imported(lab)
    j = Journal(lab.journal)
    assert flags_and_cache(j, "r")[1]
    _age(rd.path)  # as if a while ago: the run folder's mtime is no longer too recent to trust
    mtime = os.stat(rd.path).st_mtime_ns
    assert _load_flags_cache(rd.flags_cache)[0]["walk"]["tm"] != mtime
    assert flags_and_cache(j, "r", cached_only=True)[1]
    assert _load_flags_cache(rd.flags_cache)[0]["walk"]["tm"] == mtime == os.stat(rd.path).st_mtime_ns
    (rd.path / "results.csv").write_text("step,acc\n1,0.5\n")
    os.utime(rd.path, ns=(mtime, mtime))
    into: dict = {}
    assert flags_and_cache(j, "r", into=into, cached_only=True)[1] and set(into) == {"loss"}
    _age(rd.path, seconds=30)
    into = {}
    flags_and_cache(j, "r", into=into)
    assert set(into) == {"acc"}


def test_warm_run_says_the_cache_holds_in_one_call(lab):
    _imported(lab)
    j = Journal(lab.journal)
    assert flags_and_cache(j, "r", cached_only=True) == (None, False)  # never read: cold
    assert warm_run(str(lab.journal), "r")
    flags, fresh = flags_and_cache(j, "r", cached_only=True)
    assert fresh and flags is not None and flags.labels() == []
