"""`labtui ls` within a time budget: cold runs show … and a footer (never a number), `--wait`
reads them all, the background fill warms the caches once, and a run labtui launched is warm
when it ends (tui.core.lsfill)."""

from __future__ import annotations

import fcntl
import json
import math
import os

from tui.core import lsfill
from tui.core.journal import Journal
from tui.core.metrics import flags_for_run
from tui.core.rundir import RunDir

from .conftest import wait_for

COLD = {"LABTUI_LS_BUDGET": "0", "LABTUI_LS_FILL": "0"}


def _cold_lab(lab, n: int = 3) -> list[str]:
    """``n`` finished runs written by hand (an imported folder: no caches); r0 holds a NaN."""
    text = [lab.journal.read_text()]
    ids = []
    for i in range(n):
        rid = f"r{i}"
        d = lab.run_dir(rid)
        d.mkdir(parents=True)
        rows = [{"step": s * 10, "loss": (math.nan if i == 0 and s == 20 else 1.0 / (s + 1))}
                for s in range(40)]
        (d / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        (d / "output.log").write_text("hello\n")
        (d / "exit.json").write_text(json.dumps({"code": 0, "signal": None, "killed": False,
                                                 "ended": "2026-05-13T10:00:00+00:00"}))
        text.append(f'\n[runs.{rid}]\nexperiment = "count"\ncommand = "python x.py"\nstatus = "finished"\n'
                    f'started = 2026-05-13T08:0{i}:00+00:00\nended = 2026-05-13T10:00:00+00:00\nexit_code = 0\n')
        ids.append(rid)
    lab.journal.write_text("".join(text))
    return ids


def _warm(lab, rid: str) -> bool:
    return flags_for_run(Journal(lab.journal), rid, cached_only=True) is not None


def test_cold_runs_show_placeholders_and_a_footer_then_wait_reads_them(lab):
    ids = _cold_lab(lab)
    p = lab.labtui("ls", env=COLD, check=True)
    rows = {line.split()[0]: line for line in p.stdout.splitlines()[1:]}
    assert set(rows) == set(ids)
    assert all(line.rstrip().endswith("…") for line in rows.values()), p.stdout
    assert "NaN" not in p.stdout
    assert "metrics of 3 of 3 runs not read yet" in p.stderr and "labtui ls --wait" in p.stderr
    assert "background" not in p.stderr  # LABTUI_LS_FILL=0: none started

    j = lab.labtui("ls", "--json", env=COLD, check=True)
    for r in json.loads(j.stdout)["runs"]:
        assert r["metrics_read"] is False and r["metrics"] is None and r["flags"] is None

    w = lab.labtui("ls", "--wait", env=COLD, check=True)
    assert "NaN@200" in w.stdout and "…" not in w.stdout and w.stderr == ""
    # now cached: even a zero budget shows every number, no footer
    j = lab.labtui("ls", "--json", env=COLD, check=True)
    got = {r["id"]: r for r in json.loads(j.stdout)["runs"]}
    assert got["r0"]["flags"] == ["NaN@200"] and got["r1"]["flags"] == []
    assert got["r1"]["metrics_read"] is True and got["r1"]["metrics"]["loss"]["last"] == 1.0 / 40
    assert j.stderr == ""


def test_a_bad_budget_is_a_one_line_error(lab):
    p = lab.labtui("ls", env={"LABTUI_LS_BUDGET": "soon"})
    assert p.returncode != 0 and "LABTUI_LS_BUDGET" in p.stderr and "Traceback" not in p.stderr


def test_background_fill_warms_every_run_once(lab):
    ids = _cold_lab(lab, 4)
    p = lab.labtui("ls", env={"LABTUI_LS_BUDGET": "0"}, check=True)
    assert "not read yet" in p.stderr
    j = Journal(lab.journal)
    wait_for(lambda: all(_warm(lab, r) for r in ids), what="the background fill to warm every run", timeout=120)
    wait_for(lambda: not lsfill.fill_running(j), what="the fill to end")
    again = lab.labtui("ls", env={"LABTUI_LS_BUDGET": "0"}, check=True)
    assert "NaN@200" in again.stdout and "…" not in again.stdout and again.stderr == ""


def test_the_fill_runs_once_per_lab(lab):
    _cold_lab(lab, 1)
    j = Journal(lab.journal)
    fd = os.open(lsfill.fill_lock(j), os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert lsfill.fill_running(j)
        assert lsfill.fill(j) == -1           # another fill holds the lock: this one leaves
        assert lsfill.start_fill(j) is False  # and ls starts none
        assert not _warm(lab, "r0")
    finally:
        os.close(fd)
    assert not lsfill.fill_running(j)
    assert lsfill.fill(j) == 1 and _warm(lab, "r0")


def test_a_run_labtui_launched_is_warm_when_it_ends(lab):
    lab.labtui("run", "count", "--name", "c1", "--set", "n=30", check=True)
    lab.wait_status("c1", "finished")
    rd = RunDir(lab.run_dir("c1"))
    wait_for(lambda: _warm(lab, "c1"), what="the shim to warm the run's metrics cache")
    assert rd.flags_cache.is_file()
    into: dict = {}
    flags_for_run(Journal(lab.journal), "c1", cached_only=True, into=into)
    assert into["loss"]["last"] == round(1.0 / 30, 4)
