"""Notifications: the user hook (``on_event``, run by the run's shim, detached, with a timeout)
gets each event in its environment and never affects the run; the app announces ends and new
flags (toast; bell and OSC 9/777 written to a real terminal, OSC only with ``notify = "osc"``),
and nothing from a run id or a reason can inject an escape.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import signal
import sys
import time
from types import SimpleNamespace

import psutil
import pytest

from tests.snapshot_tests import conftest as fixtures
from tests.snapshot_tests.labdata import clock, no_gpu, standard_lab
from tui.app.app import LabApp
from tui.app.events import Announcer
from tui.app.model import PollResult, RunData
from tui.core import fsio, runs
from tui.core.errors import UserError
from tui.core.hooks import hook_for
from tui.core.journal import Journal
from tui.core.metrics import RunFlags
from tui.core.notify import clean, event_for, message, notify_mode, osc_notification
from tui.core.rundir import RunDir

from .conftest import PROGS, end_runs, wait_for
from .test_e2e_tmux import Pane
from .test_escapes import ESCAPES

settle = fixtures.settle
PY = sys.executable
VALUES = PROGS / "values.py"
# The hook writes its LABTUI_* environment to RUN.EVENT.env (atomically: tmp + mv), in the lab.
DUMP = 'env | grep ^LABTUI_ | sort > "$LABTUI_RUN_ID.$LABTUI_EVENT.tmp" && mv "$LABTUI_RUN_ID.$LABTUI_EVENT.tmp" "$LABTUI_RUN_ID.$LABTUI_EVENT.env"'


HOOK_VARS = {"LABTUI_EVENT", "LABTUI_RUN_ID", "LABTUI_STATUS", "LABTUI_EXIT_CODE", "LABTUI_REASON",
             "LABTUI_FLAG", "LABTUI_JOURNAL"}


def hook_env(lab, run_id: str, event: str) -> dict:
    p = lab.root / f"{run_id}.{event}.env"
    wait_for(p.exists, f"the {event} hook of {run_id}")
    env = dict(ln.split("=", 1) for ln in p.read_text().splitlines())
    # LABTUI_* variables of the tests' own environment (conftest's LABTUI_CONFIG, CI's
    # LABTUI_REQUIRE_SLURM) are passed on like any variable; any other one is the hook's doing
    return {k: v for k, v in env.items() if k in HOOK_VARS or os.environ.get(k) != v}


def set_lab(lab, table: str) -> None:
    lab.journal.write_text(table + "\n" + lab.journal.read_text(), encoding="utf-8")


def toml_str(s: str) -> str:
    return json.dumps(s)  # a JSON string is a TOML basic string


def sh(script: str) -> str:
    """An on_event value that asks for a shell (hooks run without one unless asked)."""
    return "sh -c " + shlex.quote(script)


@pytest.fixture
def cleanup(lab):
    yield
    end_runs(lab.journal)


# --------------------------------------------------------------------------- the hook

def test_the_hook_gets_each_event_in_its_environment(lab, cleanup):
    set_lab(lab, f"[labtui]\non_event = {toml_str(sh(DUMP))}\n")
    j = str(lab.journal)
    lab.labtui("run", "--name", "nanrun", "--stop-on", "nan", "--", PY, str(VALUES), "loss", "1", "nan", check=True)
    lab.labtui("run", "--name", "ok", "--", PY, str(VALUES), "loss", "1", "0.5", "--end", check=True)
    lab.labtui("run", "--name", "crash", "--", PY, "-c", "1/0", check=True)
    lab.labtui("run", "--name", "idle", "--", PY, str(VALUES), "loss", check=True)
    lab.wait_status("idle", "running")
    lab.labtui("kill", "idle", "--now", "--reason", "wrong lr", check=True)

    flag = hook_env(lab, "nanrun", "flag")
    assert flag == {"LABTUI_EVENT": "flag", "LABTUI_RUN_ID": "nanrun", "LABTUI_STATUS": "running",
                    "LABTUI_EXIT_CODE": "", "LABTUI_REASON": "NaN@2", "LABTUI_FLAG": "NaN@2",
                    "LABTUI_JOURNAL": j}
    assert hook_env(lab, "nanrun", "run_stopped") == {
        "LABTUI_EVENT": "run_stopped", "LABTUI_RUN_ID": "nanrun", "LABTUI_STATUS": "stopped",
        "LABTUI_EXIT_CODE": "130", "LABTUI_REASON": "loss NaN at step 2", "LABTUI_FLAG": "",
        "LABTUI_JOURNAL": j}
    assert hook_env(lab, "ok", "run_ended") == {
        "LABTUI_EVENT": "run_ended", "LABTUI_RUN_ID": "ok", "LABTUI_STATUS": "finished",
        "LABTUI_EXIT_CODE": "0", "LABTUI_REASON": "", "LABTUI_FLAG": "", "LABTUI_JOURNAL": j}
    crash = hook_env(lab, "crash", "run_failed")
    assert (crash["LABTUI_STATUS"], crash["LABTUI_EXIT_CODE"], crash["LABTUI_REASON"], crash["LABTUI_FLAG"]) \
        == ("failed", "1", "exit 1", "traceback")
    killed = hook_env(lab, "idle", "run_killed")
    assert (killed["LABTUI_STATUS"], killed["LABTUI_REASON"]) == ("killed", "wrong lr")
    log = RunDir(lab.run_dir("ok")).hooks_log.read_text()
    assert re.search(r"run_ended ok: .*\n.*run_ended ok: exit 0\n", log)


def test_the_user_config_hook(lab, tmp_path, cleanup):
    cfg = tmp_path / "config.toml"
    cfg.write_text(f"notify = \"off\"\non_event = {toml_str(sh(DUMP))}\n\n[keys]\nkill = \"K\"\n")
    lab.labtui("run", "--name", "u1", "--", PY, "-c", "pass", check=True, env={"LABTUI_CONFIG": str(cfg)})
    assert hook_env(lab, "u1", "run_ended")["LABTUI_STATUS"] == "finished"
    # the lab's [labtui] wins over the user's
    lab_hook = toml_str(sh('echo lab > "$LABTUI_RUN_ID.lab"'))
    set_lab(lab, f"[labtui]\non_event = {lab_hook}\n")
    lab.labtui("run", "--name", "u2", "--", PY, "-c", "pass", check=True, env={"LABTUI_CONFIG": str(cfg)})
    wait_for((lab.root / "u2.lab").exists, "the lab's hook")
    assert not (lab.root / "u2.run_ended.env").exists()


def test_a_hanging_hook_is_killed_at_its_timeout_and_a_failing_one_changes_nothing(lab, cleanup):
    hook = ('case "$LABTUI_RUN_ID" in hang) echo $$ > hang.pid; exec sleep 600;; '
            'fail) echo "boom \\033]0;title\\007" >&2; exit 7;; esac')
    set_lab(lab, f"[labtui]\non_event = {toml_str(sh(hook))}\nhook_timeout = 1\n")
    lab.labtui("run", "--name", "hang", "--", PY, "-c", "pass", check=True)
    lab.labtui("run", "--name", "fail", "--", PY, "-c", "pass", check=True)
    for rid in ("hang", "fail"):
        assert lab.wait_status(rid, ("finished", "failed")) == "finished"
    pid = int(wait_for(lambda: (lab.root / "hang.pid").exists() and (lab.root / "hang.pid").read_text().strip(),
                       "the hanging hook's pid"))
    log = RunDir(lab.run_dir("hang")).hooks_log
    wait_for(lambda: "run_ended hang: timed out after 1s, killed" in log.read_text(), "the hook's timeout")
    wait_for(lambda: not psutil.pid_exists(pid), "the hanging hook gone")
    wait_for(lambda: "run_ended fail: exit 7" in RunDir(lab.run_dir("fail")).hooks_log.read_text(),
             "the failing hook's end")
    for rid in ("hang", "fail"):
        rec = Journal(lab.journal).read()["runs"][rid]
        assert rec["status"] == "finished" and rec["exit_code"] == 0
        assert RunDir(lab.run_dir(rid)).read_exit()["code"] == 0


def test_a_kill_never_signals_a_hook_of_the_run(lab, cleanup):
    """A hook carries the run id (LABTUI_RUN_ID) but is none of the run's processes: neither the
    kill's SIGKILL sweep nor the shim's clean-up touches a hook still running."""
    hook = 'if [ "$LABTUI_EVENT" = flag ]; then echo $$ > flag.pid; exec sleep 600; fi'
    set_lab(lab, f"[labtui]\non_event = {toml_str(sh(hook))}\n")
    lab.labtui("run", "--name", "r1", "--", PY, str(VALUES), "loss", "1", "nan", check=True)
    pid_file = lab.root / "flag.pid"
    pid = int(wait_for(lambda: pid_file.exists() and pid_file.read_text().strip(), "the flag hook"))
    try:
        assert runs.kill(lab.journal, "r1", now=True) == "killed"
        shim = RunDir(lab.run_dir("r1")).read_state()["shim_pid"]
        wait_for(lambda: not psutil.pid_exists(shim) or psutil.Process(shim).status() == psutil.STATUS_ZOMBIE,
                 "the shim gone")
        p = psutil.Process(pid)
        assert p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    finally:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass


def test_hook_settings_errors_are_one_line():
    for data, msg in [({"labtui": "x"}, "lab.toml: 'labtui' must be a table"),
                      ({"labtui": {"on_event": 3}}, "lab.toml: [labtui]: on_event must be a command"),
                      ({"labtui": {"on_event": "x", "hook_timeout": -1}},
                       "lab.toml: [labtui]: hook_timeout must be a number of seconds > 0, not -1")]:
        with pytest.raises(UserError) as e:
            hook_for(data, "lab.toml", {})
        assert str(e.value).startswith(msg) and "\n" not in str(e.value)
    assert hook_for({}, "lab.toml", {}) is None
    assert hook_for({}, "lab.toml", {"on_event": "x"}) == {"cmd": "x", "timeout": 30.0}
    assert hook_for({"labtui": {"on_event": "y", "hook_timeout": 5}}, "l", {"on_event": "x"}) == \
        {"cmd": "y", "timeout": 5.0}


# --------------------------------------------------------------------------- texts and OSC

def test_event_names_and_messages():
    assert [event_for(s) for s in ("finished", "failed", "stopped", "killed", "lost", "running")] == \
        ["run_ended", "run_failed", "run_stopped", "run_killed", "run_failed", None]
    assert message("lab3", "stopped", "val_loss 0.18 < 0.2 at step 500") == \
        "lab3 stopped: val_loss 0.18 < 0.2 at step 500"
    assert message("lab3", "failed", "exit 1", "traceback") == "lab3 failed: exit 1 (traceback)"
    assert message("lab3", flag="NaN@1200") == "lab3: new flag NaN@1200"


def test_osc_notification_is_framed_and_cleaned():
    assert osc_notification("labtui", "lab3 finished") == \
        "\x1b]9;labtui: lab3 finished\x07\x1b]777;notify;labtui;lab3 finished\x07"
    for name, esc in ESCAPES.items():
        seq = osc_notification(f"t{esc};x", f"run {esc} stopped: {esc}")
        inner = seq[len("\x1b]9;"):-1].replace("\x07\x1b]777;notify;", "", 1)
        assert not re.search(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", inner), name
        assert seq.count("\x1b") == 2 and seq.count("\x07") == 2, name
        assert seq.startswith("\x1b]9;") and seq.endswith("\x07"), name
    long = osc_notification("t" * 500, "b" * 5000)
    assert len(long) < 600 and "…" in long
    assert clean("a\x1b[2Jb\x07c", 50) == "a [2Jb c"


def test_notify_setting():
    assert notify_mode({}) == "off" and notify_mode({"notify": "osc"}) == "osc"
    with pytest.raises(UserError, match=r"cfg.toml: notify = 'bell': \"osc\""):
        notify_mode({"notify": "bell"}, "cfg.toml")


# --------------------------------------------------------------------------- the app

def _info(rid, status, **kw):
    alive = status in ("running", "starting")
    return SimpleNamespace(id=rid, status=status, alive=alive, signal=kw.get("signal"),
                           exit_code=kw.get("exit_code"), exit_record=kw.get("exit_record"),
                           extra=kw.get("extra", {}))


def _poll(runs_=None, updates=(), cliffs=None, mtimes=None):
    return PollResult(runs_, list(updates), mtimes or {}, cliffs=cliffs or {})


def test_announcer_reports_news_only():
    a = Announcer(clock=lambda: 1000.0)
    first = [_info("a", "running"), _info("b", "failed", exit_code=1), _info("c", "running")]
    before: dict = {}
    infos = {r.id: r for r in first}
    upd = [RunData("a", {}, flags=RunFlags()), RunData("b", {}, flags=RunFlags(traceback=True)),
           RunData("c", {}, flags=RunFlags(nan_at=5.0))]
    assert a.feed(before, infos, _poll(first, upd, {"a": None, "c": 40.0}, {"a": 990.0})) == []  # baseline
    # a gets a NaN and a cliff; c ends stopped (its NaN is old news); a new run d is already failed
    second = [_info("a", "running"), _info("b", "failed", exit_code=1),
              _info("c", "stopped", exit_code=130, exit_record={"stopped": "loss NaN at step 5"}),
              _info("d", "failed", signal="SIGSEGV")]
    new = {r.id: r for r in second}
    ev = a.feed(infos, new, _poll(second, [RunData("a", {}, flags=RunFlags(nan_at=7.0)),
                                           RunData("c", {}, flags=RunFlags(nan_at=5.0))],
                                  {"a": 300.0}, {"a": 995.0}))
    got = [(e.name, e.run_id, e.text, e.severity) for e in ev]
    assert got == [("run_stopped", "c", "c stopped: loss NaN at step 5", "warning"),
                   ("run_failed", "d", "d failed: signal SIGSEGV", "error"),
                   ("flag", "a", "a: new flag NaN@7, cliff@300", "warning")]
    # silence: news once, again only after output came back
    t = {"now": 995.0 + 700}
    a.clock = lambda: t["now"]
    ev = a.feed(new, new, _poll(None, (), None, {"a": 995.0}))
    assert [(e.name, e.text) for e in ev] == [("flag", "a: new flag silent 11m")]
    assert a.feed(new, new, _poll(None, (), None, {"a": 995.0})) == []


def test_app_toasts_a_run_that_ends(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    std = standard_lab(tmp_path)  # runs in every status (the app tests' lab); training_11.2 runs

    async def main():
        app = LabApp(std.journal, clock=clock, gpu_source=no_gpu(), poll_interval=0.2, theme="textual-dark")
        async with app.run_test(size=(160, 48)) as pilot:
            await settle(pilot)
            assert not list(app._notifications)
            rd = RunDir(app.journal.run_dir("training_11.2"))
            fsio.write_json_atomic(rd.exit_file, {"code": 130, "signal": None, "killed": False,
                                                  "ended": "2026-05-13T10:00:00+08:00",
                                                  "stopped": "loss_g 0.1 < 0.2 at step 2000\x1b]0;x\x07"})
            deadline = time.monotonic() + 20
            while not list(app._notifications) and time.monotonic() < deadline:
                await pilot.pause(0.05)
            texts = [n.message for n in app._notifications]
            assert texts == ["training_11.2 stopped: loss_g 0.1 < 0.2 at step 2000^[]0;x^G"]
    try:
        asyncio.run(main())
    finally:
        std.close()


def test_osc_is_written_to_the_terminal_only_when_enabled(lab, tmp_path, cleanup):
    """Two apps in real tmux panes, their output piped to files: a run ends; both ring the bell,
    only the one with notify = "osc" writes OSC 9 and OSC 777."""
    go = tmp_path / "go"
    lab.labtui("run", "--name", "n1", "--", PY, str(VALUES), "loss", "1", "0.5", "--end", "--wait-for",
               str(go), check=True)
    on, off = tmp_path / "on.toml", tmp_path / "off.toml"
    on.write_text('notify = "osc"\n')
    off.write_text("")
    pane = Pane(f"labtui-osc-{os.getpid()}", lab)
    try:
        outs = {}
        for name, cfg in (("on", on), ("off", off)):
            pane.open_app(name, env=f"LABTUI_CONFIG={cfg}")
            outs[name] = tmp_path / f"{name}.out"
            pane.tmux("pipe-pane", "-o", "-t", name, f"cat >> {outs[name]}")
        for name in outs:
            pane.session = name
            pane.wait(lambda s: "n1" in s and "running" in s, f"n1 running in app {name}")
        go.write_text("x")
        wait_for(lambda: b"\x1b]777;notify;labtui;n1 finished\x07" in outs["on"].read_bytes(),
                 "the desktop notification", 40)
        assert b"\x1b]9;labtui: n1 finished\x07" in outs["on"].read_bytes()
        pane.session = "off"
        pane.wait_text("n1 finished")  # its toast
        data = outs["off"].read_bytes()
        assert b"\x07" in data and b"\x1b]9;" not in data and b"\x1b]777;" not in data
    finally:
        pane.kill_server()


def test_a_hook_runs_without_a_shell_unless_asked(lab, cleanup):
    """The lab's on_event sits in the journal: it is split like a shell would and run without
    one (`;`, `$(...)` are plain arguments); `sh -c '...'` is how a user asks for a shell."""
    set_lab(lab, "[labtui]\non_event = 'touch made; touch $(id)'\n")
    lab.labtui("run", "--name", "r", "--", PY, "-c", "pass", check=True)
    log = RunDir(lab.run_dir("r")).hooks_log
    wait_for(lambda: log.exists() and "run_ended r: exit 0" in log.read_text(), "the hook's end")
    assert sorted(p.name for p in lab.root.iterdir() if p.name in ("made;", "touch", "$(id)", "made")) == \
        ["$(id)", "made;", "touch"]
    with pytest.raises(UserError, match="cannot split on_event"):
        hook_for({"labtui": {"on_event": "echo 'unclosed"}}, "lab.toml", {})
