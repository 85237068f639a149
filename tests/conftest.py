"""Shared fixtures: a fresh lab folder and a way to run the real `labtui` CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROGS = Path(__file__).resolve().parent / "progs"

# The tester's own ~/.config/labtui/config.toml (a keymap) must not change what the tests
# press; every labtui started by a test (CLI, tmux pane, app) inherits this empty config.
os.environ["LABTUI_CONFIG"] = os.devnull
# `labtui ls` reads cold runs' metrics within a time budget (tui.core.lsfill): on a loaded CI box
# a test's few runs must all be read; tests of the budget set LABTUI_LS_BUDGET themselves.
os.environ["LABTUI_LS_BUDGET"] = "inf"


def wait_for(pred, what: str = "condition", timeout: float = 60.0, every: float = 0.05):
    """Poll ``pred`` until it returns something true (returned); at the deadline, AssertionError
    naming ``what``.  Tests wait on conditions like this, never on sleeps alone.  A file the
    predicate reads that does not exist yet (FileNotFoundError) counts as "not yet"."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            got = pred()
        except FileNotFoundError:
            got = None
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(every)


def end_runs(journal) -> None:
    """Test teardown: cancel the lab's waiting runs and kill its live ones at once, never
    raising (a run may end by itself meanwhile): no sleeper outlives its test."""
    from tui.core import runs

    for r in runs.list_runs(journal):
        try:
            if r.status == runs.Status.QUEUED:
                runs.queue.cancel(journal, r.id, "test teardown")
            elif r.alive:
                runs.kill(journal, r.id, now=True)
        except Exception:  # noqa: BLE001 - teardown of a run that may already be gone
            pass


def cli_env(extra: dict | None = None) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("LABTUI_JOURNAL", None)
    env.pop("LABTUI_FAKE_GPUS", None)
    env.update(extra or {})
    return env


class Lab:
    def __init__(self, root: Path):
        self.root = root
        self.journal = root / "experiments.toml"

    def labtui(self, *args: str, check: bool | None = None, timeout: float = 120,
               env: dict | None = None) -> subprocess.CompletedProcess:
        p = subprocess.run(
            [sys.executable, "-m", "tui.cli", "--journal", str(self.journal), *args],
            cwd=self.root, capture_output=True, text=True, timeout=timeout, env=cli_env(env),
        )
        if check and p.returncode != 0:
            raise AssertionError(f"labtui {' '.join(args)} -> {p.returncode}\n{p.stdout}\n{p.stderr}")
        return p

    def run_dir(self, run_id: str) -> Path:
        return self.root / "logs" / run_id

    def wait_status(self, run_id: str, statuses, timeout: float = 30.0, why=None) -> str:
        from tui.core import runs

        statuses = {statuses} if isinstance(statuses, str) else set(statuses)
        deadline = time.monotonic() + timeout
        st = None
        while time.monotonic() < deadline:
            st = runs.get_run(self.journal, run_id).status
            if st in statuses:
                return st
            time.sleep(0.05)
        raise AssertionError(f"{run_id} stayed {st}, wanted {statuses}" + (f": {why()}" if why else ""))


def new_lab(root: Path) -> Lab:
    """The test lab (one experiment, ``count``) in ``root``."""
    (root / "experiments.toml").write_text(
        "# test lab\n"
        "[experiments.count]  # counts lines\n"
        'command = "python {prog} --n {n} --code {code}"\n'
        f'params = {{ prog = "{PROGS / "count.py"}", n = 5, code = 0 }}\n',
        encoding="utf-8",
    )
    return Lab(root)


@pytest.fixture
def lab(tmp_path: Path) -> Lab:
    return new_lab(tmp_path)
