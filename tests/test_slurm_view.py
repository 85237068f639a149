"""How a Slurm run reads in the app and the CLI (no cluster needed): the node in the table row,
job id / node / pending reason / "not responding" in the detail view, all sanitised."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

from rich.console import Console

from tui.app.model import display_info
from tui.app.screens.detail import info_table
from tui.app.widgets.runs_table import slurm_cell
from tui.core.runs import RunInfo, Status
from tui.core.slurm import NOT_RESPONDING, describe


def info(slurm: dict | None, status: Status = Status.PENDING) -> RunInfo:
    return RunInfo(id="gan_3", experiment="gan", status=status, command="python t.py", params={},
                   gpus=None, pid=None, create_time=None, started=None, ended=None, exit_code=None,
                   signal=None, parent=None, resumed_from=None, resume_step=None, notes=[], tags=[],
                   verdict=None, run_dir=Path("/lab/logs/gan_3"), slurm=slurm)


def text_of(renderable) -> str:
    out = io.StringIO()
    Console(file=out, width=120, color_system=None).print(renderable)
    return out.getvalue()


def test_detail_and_row_show_job_node_and_reason():
    pending = info({"job_id": "48121", "partition": "gpu", "nodes": None, "state": "PENDING",
                    "reason": "Priority", "requeued": None, "note": None})
    assert describe(pending.slurm) == "job 48121 (gpu), PENDING: Priority"
    assert "job 48121 (gpu), PENDING: Priority" in text_of(info_table(pending, [], None))
    assert slurm_cell(pending.slurm).plain == "slurm"

    running = dataclasses.replace(pending, status=Status.RUNNING, slurm={
        **pending.slurm, "nodes": "gpu07", "state": "RUNNING", "reason": None, "requeued": 2})
    assert slurm_cell(running.slurm).plain == "@gpu07"
    assert "job 48121 on gpu07 (gpu), RUNNING; requeued 2x" in text_of(info_table(running, [], None))

    down = dataclasses.replace(running, slurm={**running.slurm, "note": NOT_RESPONDING})
    assert slurm_cell(down.slurm).plain == "slurm ?"
    assert NOT_RESPONDING in text_of(info_table(down, [], None))
    assert describe(None) == "" and info(None).to_json()["slurm"] is None


def test_slurm_text_is_sanitised():
    evil = info({"job_id": "1", "nodes": "n1\x1b]52;c;AAAA\x07", "state": "PENDING",
                 "reason": "Prio\x1b[2Jrity", "note": None})
    shown = display_info(evil)
    assert "\x1b" not in describe(shown.slurm) and "\x07" not in describe(shown.slurm)
    assert "\x1b" not in slurm_cell(shown.slurm).plain
