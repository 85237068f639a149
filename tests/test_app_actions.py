"""Pilot tests of the action dialogs with real runs: kill, resume, resume+edit, note, tags, new run.

Each test starts real runs through ``tui.core.runs.launch`` (``sleep``) on a tmp lab, drives
the app with keys, and checks the journal (what the headless verb would have written), that
a cancelled or failed action leaves the journal byte-identical, and that a killed run leaves
no process behind.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from textual import events

from tests.conftest import end_runs
from tests.snapshot_tests.labdata import no_gpu
from tests.test_app import sync
from tui.app.app import LabApp
from tui.app.screens.actions import KillDialog, NewRunDialog
from tui.core import fsio, procs, runs
from tui.core.journal import tomllib

SIZE = (120, 40)
JOURNAL = (
    "# lab journal: keep this comment\n"
    "[experiments.nap]  # a sleeper\n"
    'command = "sleep {secs}"\n'
    "params = { secs = 600 }  # seconds\n\n"
    "[experiments.other]\n"
    'command = "sleep {n}"\n'
    "params = { n = 0 }\n"
)


@pytest.fixture
def alab(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    j = tmp_path / "experiments.toml"
    j.write_text(JOURNAL, encoding="utf-8")
    yield j
    end_runs(j)  # never leave a sleeper behind


def make_app(journal):
    app = LabApp(journal, gpu_source=no_gpu(), poll_interval=0.2, theme="textual-dark")
    app.kill_grace = 1.0
    said: list[tuple[str, str]] = []
    orig = app.say

    def say(msg, severity="information", timeout=5):
        said.append((severity, str(msg)))
        orig(msg, severity=severity, timeout=timeout)

    app.say = say
    app.said = said
    return app


async def until(pilot, cond, timeout: float = 15.0, what: str = "") -> None:
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"timed out waiting for {what or cond}")
        await pilot.pause(0.05)


async def start(pilot, select: str | None = None) -> None:
    app = pilot.app
    await until(pilot, lambda: app.polls >= 2 and not app.loading, what="first polls")
    if select:
        await until(pilot, lambda: select in app.query_one("#runs")._order, what=select)
        table = app.query_one("#runs")
        table.move_cursor(row=table._order.index(select), animate=False)
        await until(pilot, lambda: app.selected == select, what=f"select {select}")


async def start_finished(pilot, rid: str) -> bytes:
    """Select ``rid``, wait until the app shows it finished and the poll's write-back has
    landed; return the journal's bytes (a cancelled action must leave them as they are)."""
    app = pilot.app
    await start(pilot, rid)
    await until(pilot, lambda: app.infos[rid].status == "finished", what=f"{rid} finished")
    # the end is in the journal (the shim's write, or the poll's reconcile): nothing writes after it
    await until(pilot, lambda: rec(app.journal.path, rid).get("status") == "finished"
                and "ended" in rec(app.journal.path, rid), what=f"{rid}'s end in the journal")
    return app.journal.path.read_bytes()


def dialog_title(app) -> str:
    return str(app.screen.query_one(".dialog-title").render())


def ckpt(journal, rid: str, step: int) -> None:
    d = journal.parent / "logs" / rid / "checkpoints" / f"step-{step}"
    d.mkdir(parents=True)
    (d.parent / "latest").write_text(f"step-{step}\n")


def rec(journal, rid):
    return tomllib.loads(journal.read_text(encoding="utf-8"))["runs"][rid]


# --------------------------------------------------------------------------- kill
@sync
async def test_kill_confirm_with_reason(alab):
    rid = runs.launch(alab, experiment="nap")
    app = make_app(alab)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot, rid)
        await pilot.press("k")
        await pilot.pause()
        assert isinstance(app.screen, KillDialog)
        assert dialog_title(app) == f"Kill {rid}?"
        assert app.focused.id == "kill-reason"
        await pilot.press(*"trans_matrix was wrong")
        await pilot.press("enter")  # enter in the reason confirms, graceful mode
        await pilot.pause()
        assert not isinstance(app.screen, KillDialog)
        await until(pilot, lambda: ("information", f"killed {rid}") in app.said, what="killed notice")
        await until(pilot, lambda: app.infos[rid].status == "killed", what="status in app")
        # the app reads the end from exit.json; the shim writes the journal right after it
        await until(pilot, lambda: rec(alab, rid).get("status") == "killed" and "notes" in rec(alab, rid),
                    what="the end in the journal")
    r = rec(alab, rid)
    assert r["status"] == "killed"
    assert [n["text"] for n in r["notes"]] == ["killed: trans_matrix was wrong"]
    assert fsio.read_json(alab.parent / "logs" / rid / "kill.json")["mode"] == "graceful"
    assert list(procs.tagged_processes(rid, procs.lab_id(alab))) == []
    assert alab.read_text(encoding="utf-8").startswith("# lab journal: keep this comment\n")


@sync
async def test_kill_shows_stopping_until_the_escalation_ends(alab):
    stubborn = Path(__file__).parent / "progs" / "stubborn.py"  # ignores SIGINT and SIGTERM
    rid = runs.launch(alab, command=[sys.executable, str(stubborn)], name="stub")
    app = make_app(alab)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot, rid)
        await until(pilot, lambda: app.infos[rid].status == "running", what="running")
        log = alab.parent / "logs" / rid / "output.log"
        # its handlers are in place only once it says so: a SIGINT before that would just end it
        await until(pilot, lambda: log.exists() and "ready" in log.read_text(), what="stubborn ready")
        table = app.query_one("#runs")
        status = lambda: str(table._cells[rid]["status"])  # noqa: E731
        assert status().endswith("running")
        await pilot.press("k")
        await pilot.pause()
        await pilot.press("enter")  # graceful: SIGINT, 1 s, SIGTERM, 1 s, SIGKILL
        await until(pilot, lambda: status().endswith("stopping"), what="stopping shown")
        assert app.infos[rid].alive  # still alive during the grace periods
        await until(pilot, lambda: status().endswith("killed"), timeout=30, what="killed shown")
        # the poll that shows the run ended also ends its kill in the app's state (the kill's
        # worker may report later): no "stopping", no "already killing" after the run is gone
        assert rid not in app.state.killing
        await until(pilot, lambda: rec(alab, rid).get("status") == "killed", what="the end in the journal")
    assert rec(alab, rid)["status"] == "killed" and rec(alab, rid)["signal"] == "SIGKILL"


@sync
async def test_kill_cancel_changes_nothing(alab):
    rid = runs.launch(alab, experiment="nap")
    app = make_app(alab)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot, rid)
        await until(pilot, lambda: app.infos[rid].status == "running", what="running")
        # the shim's 'running' write-back has landed: nothing writes the journal after it
        await until(pilot, lambda: rec(alab, rid).get("status") == "running" and "pid" in rec(alab, rid),
                    what="running in the journal")
        before = alab.read_bytes()
        await pilot.press("k")
        await pilot.press(*"oops")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.screen_stack[0], what="the dialog closed")
        await pilot.press("k")
        await pilot.click("#cancel")
        await until(pilot, lambda: len(app.screen_stack) == 1, what="the dialog closed")
    assert alab.read_bytes() == before
    assert runs.get_run(alab, rid).status == "running"
    assert not (alab.parent / "logs" / rid / "kill.json").exists()


@sync
async def test_kill_marked_runs_one_confirmation(alab):
    a = runs.launch(alab, experiment="nap")
    b = runs.launch(alab, experiment="nap")
    done = runs.launch(alab, experiment="other")  # exits at once: listed as skipped
    app = make_app(alab)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        await until(pilot, lambda: app.infos.get(done) and app.infos[done].status == "finished", what="done")
        for rid in (a, b, done):
            await start(pilot, rid)
            await pilot.press("space")
        assert app.marked == [a, b, done]
        await pilot.press("k")
        await pilot.pause()
        assert dialog_title(app) == "Kill 2 runs?"
        await pilot.press("shift+tab")  # to the mode list: choose "kill now (SIGKILL)"
        await pilot.press("down", "down", "enter")
        await pilot.click("#ok")
        await until(pilot, lambda: all(app.infos[r].status == "killed" for r in (a, b)), what="both killed")
        await until(pilot, lambda: all(rec(alab, r).get("status") == "killed" for r in (a, b)),
                    what="both ends in the journal")
    for rid in (a, b):
        assert rec(alab, rid)["status"] == "killed"
        assert "notes" not in rec(alab, rid)  # no reason, no note
        assert fsio.read_json(alab.parent / "logs" / rid / "kill.json")["mode"] == "now"
        assert list(procs.tagged_processes(rid, procs.lab_id(alab))) == []
    deadline = time.monotonic() + 30
    while rec(alab, done).get("status") != "finished":  # the shim's write follows exit.json
        assert time.monotonic() < deadline, rec(alab, done)
        time.sleep(0.05)


@sync
async def test_kill_not_running_opens_no_dialog(alab):
    rid = runs.launch(alab, experiment="other")
    app = make_app(alab)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot, rid)
        await until(pilot, lambda: app.infos[rid].status == "finished", what="finished")
        await pilot.press("k")
        await pilot.pause()
        assert len(app.screen_stack) == 1
        assert ("warning", f"run {rid!r} is not running (status: finished)") in app.said


# --------------------------------------------------------------------------- resume
@sync
async def test_resume_from_latest_checkpoint(alab):
    rid = runs.launch(alab, experiment="nap", params={"secs": 0})
    ckpt(alab, rid, 40)
    app = make_app(alab)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot, rid)
        await pilot.press("r")
        await pilot.pause()
        assert dialog_title(app) == f"Resume {rid} from step-40"
        await pilot.press("enter")
        new = f"{rid}.1"
        await until(pilot, lambda: app.selected == new, what="new run selected")
        rows = {r["info"].id: r["depth"] for r in app.state.rows()}
        assert rows[new] == rows[rid] + 1  # under its parent in the tree
    r = rec(alab, new)
    assert r["parent"] == rid and r["resume_step"] == 40 and r["params"] == {"secs": 0}
    assert r["resumed_from"].endswith(f"{rid}/checkpoints/step-40")


@sync
async def test_resume_edit_params_and_errors(alab):
    rid = runs.launch(alab, experiment="nap", params={"secs": 0})
    ckpt(alab, rid, 7)
    app = make_app(alab)
    async with app.run_test(size=SIZE) as pilot:
        before = await start_finished(pilot, rid)
        await pilot.press("R")
        await pilot.pause()
        inp = app.focused
        assert inp.name == "secs" and inp.value == "0"
        inp.value = ""
        await pilot.press("enter")  # empty value: inline error, dialog stays
        await pilot.pause()
        assert "empty value" in str(app.screen.query_one(".dialog-error").render())
        assert alab.read_bytes() == before
        inp.value = "1"
        dlg = app.screen
        dlg.query_one("#resume-name").value = "../x"  # refused inline, nothing written
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "../x" in str(dlg.query_one(".dialog-error").render())
        assert alab.read_bytes() == before and app.screen is dlg
        dlg.query_one("#resume-name").value = "nap_cont"
        dlg.query_one("#resume-gpus").value = "cpu"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.selected == "nap_cont", what="resumed")
        # cancel leaves the journal alone
        before = await start_finished(pilot, "nap_cont")
        await start(pilot, rid)
        await pilot.press("r")
        await pilot.press("escape")
        await until(pilot, lambda: len(app.screen_stack) == 1, what="the dialog closed")
        assert alab.read_bytes() == before
    r = rec(alab, "nap_cont")
    assert r["params"] == {"secs": 1} and r["parent"] == rid and r["gpus"] == []


@sync
async def test_resume_without_checkpoint_says_so(alab):
    rid = runs.launch(alab, experiment="other")
    app = make_app(alab)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot, rid)
        await pilot.press("r")
        await pilot.pause()
        assert len(app.screen_stack) == 1
        assert any(s == "error" and "has no complete checkpoint" in m for s, m in app.said)


# --------------------------------------------------------------------------- note
@sync
async def test_note_cjk_round_trip_keeps_comments(alab):
    rid = runs.launch(alab, experiment="other")
    app = make_app(alab)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot, rid)
        await pilot.press("a")
        await pilot.pause()
        area = app.focused
        assert area.id == "note-text"
        await pilot.press("ctrl+s")  # empty: inline error, nothing written
        await pilot.pause()
        assert "empty note" in str(app.screen.query_one(".dialog-error").render())
        await pilot.press("训", "练")
        app.post_message(events.Paste("不收敛 (x)\n[bold]not markup[/]"))
        await pilot.pause()
        await pilot.press("ctrl+s")
        await until(pilot, lambda: len(app.screen_stack) == 1, what="dialog closed")
        await until(pilot, lambda: len(app.infos[rid].notes) == 1, what="note in app")
    text = alab.read_text(encoding="utf-8")
    assert text.startswith("# lab journal: keep this comment\n[experiments.nap]  # a sleeper\n")
    assert "params = { secs = 600 }  # seconds" in text
    (note,) = rec(alab, rid)["notes"]
    assert note["text"] == "训练不收敛 (x)\n[bold]not markup[/]"
    assert note["at"] is not None


@sync
async def test_note_cancel_changes_nothing(alab):
    rid = runs.launch(alab, experiment="other")
    app = make_app(alab)
    async with app.run_test(size=SIZE) as pilot:
        before = await start_finished(pilot, rid)
        await pilot.press("a", *"not converging", "escape")
        await until(pilot, lambda: len(app.screen_stack) == 1, what="the dialog closed")
    assert alab.read_bytes() == before


# --------------------------------------------------------------------------- tags
@sync
async def test_tags_and_verdict(alab):
    rid = runs.launch(alab, experiment="other")
    runs.add_tags(alab, rid, ["old", "keepme"])
    app = make_app(alab)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot, rid)
        await pilot.press("t")
        await pilot.pause()
        inp = app.focused
        assert inp.id == "tags-input" and inp.value == "old keepme"
        inp.value = "keepme bad,tag"
        await pilot.press("enter")
        await pilot.pause()
        assert "bad tag" in str(app.screen.query_one(".dialog-error").render())
        assert rec(alab, rid)["tags"] == ["old", "keepme"]
        inp.value = "keepme best"
        await pilot.press("tab", "down", "down", "enter")  # verdict: none → converging → diverging
        await pilot.press("ctrl+s")
        await until(pilot, lambda: len(app.screen_stack) == 1, what="dialog closed")
    r = rec(alab, rid)
    assert r["tags"] == ["keepme", "best"] and r["verdict"] == "diverging"


@sync
async def test_tags_marked_runs(alab):
    a = runs.launch(alab, experiment="other")
    b = runs.launch(alab, experiment="other", params={"n": 0}, name="other_b")
    app = make_app(alab)
    async with app.run_test(size=SIZE) as pilot:
        for rid in (a, b):
            await start(pilot, rid)
            await pilot.press("space")
        await pilot.press("t")
        await pilot.pause()
        assert dialog_title(app) == "Tag 2 runs"
        await pilot.press(*"sweepA", "enter")
        await until(pilot, lambda: len(app.screen_stack) == 1, what="dialog closed")
        assert rec(alab, a)["tags"] == ["sweepA"] and rec(alab, b)["tags"] == ["sweepA"]
        await until(pilot, lambda: list(app.infos[b].tags) == ["sweepA"], what="tags polled")
        # "-tag" removes from every marked run, in the same dialog that adds
        await pilot.press("t")
        await pilot.pause()
        await pilot.press(*"-sweepA best", "enter")
        await until(pilot, lambda: len(app.screen_stack) == 1, what="dialog closed")
    assert rec(alab, a)["tags"] == ["best"] and rec(alab, b)["tags"] == ["best"]
    assert "verdict" not in rec(alab, a)


# --------------------------------------------------------------------------- new run
@sync
async def test_new_run_validation_then_launch(alab):
    parent = runs.launch(alab, experiment="nap", params={"secs": 0})
    app = make_app(alab)
    async with app.run_test(size=SIZE) as pilot:
        before = await start_finished(pilot, parent)
        await pilot.press("n")
        await pilot.pause()
        dlg = app.screen
        assert isinstance(dlg, NewRunDialog)
        assert str(dlg.query_one("#new-exp").value) == "nap"
        secs = app.focused
        assert secs.name == "secs" and secs.value == "0"  # prefilled from the selected run
        dlg.query_one("#new-name").value = "../x"
        await pilot.press("enter")
        await pilot.pause()
        assert "invalid run id '../x'" in str(dlg.query_one(".dialog-error").render())
        dlg.query_one("#new-name").value = parent  # taken: the core's error, shown inline
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "already used" in str(dlg.query_one(".dialog-error").render()),
                    what="core error inline")
        assert app.screen is dlg
        assert alab.read_bytes() == before
        dlg.query_one("#new-name").value = "nap_quick"
        secs.value = "1"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.selected == "nap_quick", what="new run selected")
    r = rec(alab, "nap_quick")
    assert r["experiment"] == "nap" and r["params"] == {"secs": 1} and r["command"] == "sleep 1"


@sync
async def test_new_run_other_template_and_cancel(alab):
    app = make_app(alab)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        before = alab.read_bytes()
        await pilot.press("n")
        await pilot.pause()
        dlg = app.screen
        assert str(dlg.query_one("#new-exp").value) == "nap"  # no run selected: the first template
        dlg.query_one("#new-exp").value = "other"
        await until(pilot, lambda: [i.name for i in dlg.query("Input.param")] == ["n"],
                    what="the other template's params replace nap's")
        await pilot.press("escape")
        await until(pilot, lambda: len(app.screen_stack) == 1, what="the dialog closed")
        assert alab.read_bytes() == before
        await pilot.press("n")
        await pilot.pause()
        dlg = app.screen
        dlg.query_one("#new-exp").value = "other"
        await until(pilot, lambda: [i.name for i in dlg.query("Input.param")] == ["n"],
                    what="the other template's params")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.selected == "other_1", what="other_1 selected")
    assert rec(alab, "other_1")["command"] == "sleep 0"


@sync
async def test_new_run_any_command_prefilled_from_a_command_run(alab):
    plain = runs.launch(alab, command=["sleep", "0"], name="plain")
    app = make_app(alab)
    async with app.run_test(size=SIZE) as pilot:
        before = await start_finished(pilot, plain)
        await pilot.press("n")
        await pilot.pause()
        dlg = app.screen
        assert dialog_title(app) == "New run — command from plain"
        cmd = app.focused
        assert cmd.name == "command" and cmd.value == app.infos[plain].command
        cmd.value = "   "
        await pilot.press("ctrl+s")  # empty: inline error, nothing written
        await pilot.pause()
        assert "empty command" in str(dlg.query_one(".dialog-error").render())
        assert alab.read_bytes() == before and app.screen is dlg
        cmd.value = "sleep '0' # not a comment: no shell"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.selected == "run_1", what="new run selected")
    r = rec(alab, "run_1")
    assert "experiment" not in r and r["command"].endswith("sleep 0 '#' not a comment: no shell")


@sync
async def test_new_run_without_templates_runs_a_command(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    j = tmp_path / "experiments.toml"
    j.write_text("# no templates yet\n", encoding="utf-8")
    app = make_app(j)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        await pilot.press("n")
        await pilot.pause()
        assert dialog_title(app) == "New run"
        assert app.focused.name == "command" and app.focused.value == ""
        app.focused.value = "true"
        await pilot.press("enter")
        await until(pilot, lambda: app.selected == "run_1", what="new run selected")
    assert rec(j, "run_1")["status"] in ("starting", "running", "finished")
    assert j.read_text(encoding="utf-8").startswith("# no templates yet\n")
