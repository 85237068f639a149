"""Issue 11 in the app: the resume dialog (``r``) offers every checkpoint a template's globs
find (newest first), resumes from the chosen one through the template's recipe, and warns
when a template has no recipe.  Real runs of tests/progs/hf_style.py."""

from __future__ import annotations

import html
import re
import time

from textual.widgets import Select, Static

from tests.test_app import sync
from tests.test_app_actions import make_app, start, until
from tui.core import runs

from .conftest import PROGS

SIZE = (120, 40)


def journal_text() -> str:
    prog = PROGS / "hf_style.py"
    return (
        "[experiments.hf]\n"
        'cwd = "work"\n'
        f'command = "python {prog} --output_dir out/{{run_id}} --max_steps 12"\n'
        'checkpoints = ["out/{run_id}/checkpoint-*"]\n'
        "[experiments.hf.resume]\n"
        'args = "--resume_from_checkpoint {resume_from}"\n'
        "[experiments.bare]\n"
        'cwd = "work"\n'
        f'command = "python {prog} --output_dir out/{{run_id}} --max_steps 6"\n'
        'checkpoints = ["out/{run_id}/checkpoint-*"]\n')


def logged(j, rid: str) -> list[int]:
    try:
        text = (j.parent / "logs" / rid / "output.log").read_text()
    except FileNotFoundError:
        return []
    return [int(s) for s in re.findall(r"^iter (\d+):", text, re.M)]


@sync
async def test_resume_dialog_chooses_a_template_checkpoint(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    j = tmp_path / "experiments.toml"
    j.write_text(journal_text(), encoding="utf-8")
    (tmp_path / "work").mkdir()
    for exp in ("hf", "bare"):
        runs.launch(j, experiment=exp)
    app = make_app(j)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        await until(pilot, lambda: all(not r.alive for r in runs.list_runs(j)), timeout=30, what="runs end")
        await start(pilot, "hf_1")
        await pilot.press("r")
        await until(pilot, lambda: bool(app.screen.query("#resume-ckpt")), what="resume dialog")
        sel = app.screen.query_one("#resume-ckpt", Select)
        names = [str(label) for label, _v in sel._options if label]
        assert [n.split()[-1] for n in names] == ["checkpoint-12", "checkpoint-10", "checkpoint-5"]
        assert sel.value.endswith("checkpoint-12")
        assert not app.screen.query("#resume-warning")  # hf has a recipe
        sel.value = str(tmp_path / "work" / "out" / "hf_1" / "checkpoint-5")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.selected == "hf_1.1", what="hf_1.1 selected")
        await until(pilot, lambda: not runs.get_run(j, "hf_1.1").alive, timeout=30, what="hf_1.1 ends")
        assert logged(j, "hf_1.1") == list(range(6, 13))  # continued from step 5
        assert runs.get_run(j, "hf_1.1").resume_step == 5

        await start(pilot, "bare_1")
        await pilot.press("r")
        await until(pilot, lambda: bool(app.screen.query("#resume-warning")), what="warning")
        text = str(app.screen.query_one("#resume-warning", Static).render())
        assert "no resume recipe" in text and "start from scratch" in text
        await pilot.press("escape")


@sync
async def test_detail_shows_init_from_cwd_and_code(tmp_path, monkeypatch):
    """A stage started from another run's weights says so in the detail view (not a resume)."""
    monkeypatch.chdir(tmp_path)
    j = tmp_path / "experiments.toml"
    j.write_text(journal_text(), encoding="utf-8")
    (tmp_path / "work").mkdir()
    runs.launch(j, experiment="hf", name="stage1")
    deadline = time.monotonic() + 30
    while runs.get_run(j, "stage1").alive:
        assert time.monotonic() < deadline, "stage1 did not end"
        time.sleep(0.05)
    runs.launch(j, experiment="bare", name="stage2", init_from="stage1")
    app = make_app(j)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot, "stage2")
        await pilot.press("enter")

        def shown() -> str:  # the screen's text, as the terminal shows it
            svg = app.export_screenshot()
            return html.unescape("".join(re.findall(r"<text[^>]*>(.*?)</text>", svg))).replace("\xa0", " ")

        await until(pilot, lambda: "init from" in shown(), what="init-from row")
        text = shown()
        assert "stage1" in text and "checkpoint-12" in text and "weights only" in text
        assert "cwd" in text and "work" in text
        assert app.infos["stage2"].parent is None  # not a resume edge
