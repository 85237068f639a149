"""The one `--gpus` parser and GPU placement: values, the CLI (`labtui run --gpus auto:N`), the
journal's template lists. The only fake is the GPU source (LABTUI_FAKE_GPUS)."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from tui.app.app import LabApp
from tui.app.screens.actions import NewRunDialog
from tui.core import gpus as G
from tui.core.errors import UserError
from tui.core.journal import Journal

from .snapshot_tests.labdata import no_gpu
from .test_gpus import fake_gpu, write_fake


@pytest.mark.parametrize("spec, kind, count, indices", [
    ("0", "indices", 0, (0,)),
    ("0,1", "indices", 0, (0, 1)),
    (" 3, 0 ,3 ", "indices", 0, (3, 0)),
    ([1, 2], "indices", 0, (1, 2)),
    (["1", 2], "indices", 0, (1, 2)),
    (2, "indices", 0, (2,)),
    ("auto", "auto", 1, ()),
    ("AUTO", "auto", 1, ()),
    ("auto:2", "auto", 2, ()),
    (" auto:3 ", "auto", 3, ()),
    ("cpu", "cpu", 0, ()),
    ("none", "cpu", 0, ()),
    ([], "cpu", 0, ()),
])
def test_parse_gpus_values(spec, kind, count, indices):
    req = G.parse_gpus(spec)
    assert (req.kind, req.count, req.indices) == (kind, count, indices)
    assert G.parse_gpus(req) is req            # already parsed: passes through


@pytest.mark.parametrize("spec", [None, "", "  "])
def test_parse_gpus_no_request(spec):
    assert G.parse_gpus(spec) is None


@pytest.mark.parametrize("spec, msg", [
    ("zero", "not a GPU index"),
    ("0,x", "not a GPU index"),
    ("-1", "not a GPU index"),
    ([0, -2], "not a GPU index"),
    (",", "no GPU index"),
    ("auto:0", "at least 1"),
    ("auto:x", "auto or auto:N"),
    ("auto2", "auto or auto:N"),
    (True, "not a GPU index"),
    ([1.5], "not a GPU index"),
    ({"a": 1}, "--gpus"),
])
def test_parse_gpus_refuses_in_one_line(spec, msg):
    with pytest.raises(UserError, match=msg) as e:
        G.parse_gpus(spec)
    assert "\n" not in str(e.value)


def test_busy_gpus_from_plain_runs():
    class R:
        def __init__(self, alive, gpus):
            self.alive, self.gpus = alive, gpus
    assert G.busy_gpus([R(True, [0, 2]), R(False, [1]), R(True, None), R(True, []), R(True, "x")]) == {0, 2}


def _four(tmp_path):
    # GPU 0 busy-ish, 1 and 2 nearly empty, 3 lost
    return write_fake(tmp_path, [{"gpus": [fake_gpu(0, 30), fake_gpu(1, 0.5), fake_gpu(2, 0.2),
                                           fake_gpu(3, lost=True)], "processes": []}])


def test_run_gpus_auto_n_picks_free_gpus(lab, tmp_path):
    """`labtui run --gpus auto:2` (documented in docs/gpus.md) used to be refused by a second parser."""
    fake = _four(tmp_path)
    env = {G.FAKE_ENV: str(fake)}
    lab.journal.write_text(lab.journal.read_text() + '\n[experiments.pair]\ncommand = "true"\ngpus = "auto:2"\n')
    r = lab.labtui("run", "--gpus", "auto:2", "--name", "two", "--",
                   "sh", "-c", 'echo "cvd=$CUDA_VISIBLE_DEVICES"', env=env)
    assert r.returncode == 0, r.stderr
    lab.wait_status("two", "finished")
    assert Journal(lab.journal).read()["runs"]["two"]["gpus"] == [2, 1]      # least memory first
    assert "cvd=2,1" in (lab.run_dir("two") / "output.log").read_text()
    # a template's default may say auto:N too
    lab.labtui("run", "pair", env=env, check=True)
    lab.wait_status("pair_1", "finished")
    assert Journal(lab.journal).read()["runs"]["pair_1"]["gpus"] == [2, 1]


def test_run_gpus_auto_n_too_few_is_one_line(lab, tmp_path):
    fake = _four(tmp_path)
    before = lab.journal.read_bytes()
    r = lab.labtui("run", "--gpus", "auto:4", "--name", "four", "--", "true", env={G.FAKE_ENV: str(fake)})
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [r.stderr.strip()] and "3 free GPU(s) of 4" in r.stderr, r.stderr
    assert lab.journal.read_bytes() == before and not lab.run_dir("four").exists()
    r = lab.labtui("run", "--gpus", "auto:x", "--", "true", env={G.FAKE_ENV: str(fake)})
    assert r.returncode == 1 and "auto or auto:N" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert lab.journal.read_bytes() == before


def test_resolve_takes_parsed_request(tmp_path):
    src = G.FakeSource(_four(tmp_path))
    assert G.resolve_gpus(G.parse_gpus("auto:2"), set(), src) == ([2, 1], None)
    assert G.resolve_gpus(G.parse_gpus("auto:2"), {2}, src) == ([1, 0], None)
    assert G.resolve_gpus(G.parse_gpus("cpu"), set(), src) == ([], None)
    with pytest.raises(UserError, match=r"--gpus auto:3: 2 free GPU\(s\) of 4"):
        G.resolve_gpus("auto:3", {2}, src)
    json.dumps(G.resolve_gpus("1", set(), src)[0])   # plain ints for the journal


async def until(pilot, cond, what: str, timeout: float = 15.0) -> None:
    t0 = time.monotonic()
    while not cond():
        assert time.monotonic() - t0 < timeout, f"timed out waiting for {what}"
        await pilot.pause(0.05)


def test_app_new_run_form_uses_the_one_parser(tmp_path, monkeypatch):
    """The app's new-run form: a bad GPU value is refused inline before any write; auto:2 places."""
    asyncio.run(_new_run_form(tmp_path, monkeypatch))


async def _new_run_form(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(G.FAKE_ENV, str(_four(tmp_path)))   # what runs.launch samples (in a worker)
    j = tmp_path / "experiments.toml"
    j.write_text('[experiments.quick]\ncommand = "true"\n', encoding="utf-8")
    app = LabApp(j, gpu_source=no_gpu(), poll_interval=0.2, theme="textual-dark")
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.polls >= 2 and not app.loading, what="first polls")
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, NewRunDialog), what="new-run dialog")
        dlg = app.screen
        before = j.read_bytes()
        dlg.query_one("#new-gpus").value = "auto:x"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "auto or auto:N" in str(dlg.query_one(".dialog-error").render()),
                    what="inline GPU error")
        assert app.screen is dlg and j.read_bytes() == before and not (tmp_path / "logs").exists()
        dlg.query_one("#new-gpus").value = "auto:2"
        dlg.query_one("#new-name").value = "placed"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.selected == "placed", what="new run selected")
    assert Journal(j).read()["runs"]["placed"]["gpus"] == [2, 1]
