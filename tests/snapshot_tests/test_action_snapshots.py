"""SVG snapshots of the action dialogs (kill, resume, resume+edit, note, tags, new run).

Same fixed lab, clock, theme and GPU state as test_snapshots.py; cursors do not blink.
Update: pytest tests/snapshot_tests/test_action_snapshots.py --snapshot-update.
"""

from __future__ import annotations

from .conftest import settle

SIZE = (100, 40)


def _checkpoints(lab, rid: str, *steps: int) -> None:
    ck = lab.logs / rid / "checkpoints"
    for s in steps:
        (ck / f"step-{s}").mkdir(parents=True, exist_ok=True)
    (ck / "latest").write_text(f"step-{steps[-1]}\n")


def _open(*selects, keys=(), typed: str = ""):
    """Select (and mark, when several) runs, press keys, type text; freeze cursors."""
    async def run_before(pilot):

        await settle(pilot)
        app = pilot.app
        order = app.query_one("#runs")._order
        pos = 0
        for rid in selects:
            for _ in range(order.index(rid) - pos):
                await pilot.press("down")
            pos = order.index(rid)
            if len(selects) > 1:
                await pilot.press("space")
        await settle(pilot, polls=app.polls + 1)
        for k in keys:
            await pilot.press(k)
        await pilot.pause()
        for w in app.screen.query("Input, TextArea"):
            w.cursor_blink = False
        for ch in typed:
            await pilot.press(ch)
        await pilot.pause(0.1)
        await pilot.pause()
    return run_before


def test_kill_dialog(snap_compare, app_factory):
    assert snap_compare(app_factory("four"), terminal_size=SIZE, run_before=_open("training_11.2", keys=("k",)))


def test_kill_dialog_80x24(snap_compare, app_factory):
    assert snap_compare(app_factory("none"), terminal_size=(80, 24), run_before=_open("lab12", keys=("k",)))


def test_new_run_dialog_80x24(snap_compare, app_factory):
    assert snap_compare(app_factory("four"), terminal_size=(80, 24), run_before=_open("lab4", keys=("n",)))


def test_kill_marked_runs_dialog(snap_compare, app_factory):
    # lab12 and training_11.2 are running; lab4 (finished) is listed as skipped
    assert snap_compare(app_factory("none"), terminal_size=SIZE,
                        run_before=_open("training_11.2", "lab4", "lab12", keys=("k",)))


def test_resume_dialog(snap_compare, app_factory, lab):
    _checkpoints(lab, "training_11.1", 1000, 1200)
    assert snap_compare(app_factory("none"), terminal_size=SIZE, run_before=_open("training_11.1", keys=("r",)))


def test_resume_edit_dialog(snap_compare, app_factory, lab):
    _checkpoints(lab, "training_11.1", 1200)
    assert snap_compare(app_factory("none"), terminal_size=SIZE, run_before=_open("training_11.1", keys=("R",)))


def test_note_dialog(snap_compare, app_factory):
    # earlier notes with their times, "[bold]x[/]" shown literally, CJK typed into the editor
    assert snap_compare(app_factory("none"), terminal_size=SIZE,
                        run_before=_open("training_11", keys=("a",), typed="训练不收敛"))


def test_note_dialog_empty_error(snap_compare, app_factory):
    assert snap_compare(app_factory("none"), terminal_size=SIZE,
                        run_before=_open("training_8", keys=("a", "ctrl+s")))


def test_tags_dialog(snap_compare, app_factory):
    assert snap_compare(app_factory("none"), terminal_size=SIZE, run_before=_open("lab4", keys=("t",)))


def test_new_run_dialog(snap_compare, app_factory):
    # prefilled from training_11's experiment and params; each GPU's free memory shown
    assert snap_compare(app_factory("four"), terminal_size=(100, 48), run_before=_open("training_11", keys=("n",)))


def test_new_run_dialog_no_gpu(snap_compare, app_factory):
    assert snap_compare(app_factory("none"), terminal_size=(100, 48), run_before=_open("lab4", keys=("n",)))
