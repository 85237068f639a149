"""Escape battery: text from journals, logs and command lines is data, never terminal control.

A run whose command, output, notes, tags and verdict carry 26 kinds of terminal escapes is
shown by every headless view (bytes checked: nothing but printable text, newlines and tabs)
and by every view in a real tmux pane (title unchanged, no alternate screen, no clipboard
buffer, the marker printed before the view still there, markup shown literally).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

from tui.core import runs
from tui.core.journal import Journal

from .conftest import cli_env, new_lab

ESCAPES = {
    "osc0_title": "\x1b]0;PWNED0\x07",
    "osc2_title_st": "\x1b]2;PWNED2\x1b\\",
    "osc8_link": "\x1b]8;;http://evil.example/\x07click\x1b]8;;\x07",
    "osc52_clipboard": "\x1b]52;c;UFdORUQ=\x07",
    "osc1337": "\x1b]1337;SetUserVar=x=UFdORUQ=\x07",
    "csi_2j": "\x1b[2J",
    "csi_3j": "\x1b[3J",
    "csi_6n": "\x1b[6n",
    "csi_21t": "\x1b[21t",
    "alt_screen": "\x1b[?1049h",
    "hide_cursor": "\x1b[?25l",
    "dcs": "\x1bP+q544e\x1b\\",
    "c1_csi": "\x9b2J",
    "c1_osc": "\x9d0;PWNEDC1\x07",
    "bel": "a\x07b",
    "nul": "x\x00y",
    "cr": "before\rPWNEDCR",
    "bidi": "\u202eevil\u202c \u2066x\u2069",
    "backspace": "abc\x08\x08\x08PWN",
    "ris": "\x1bc",
    "decaln": "\x1b#8",
    "charset": "\x1b(0",
    "reverse_index": "\x1bM",
    "sgr_blink": "\x1b[31;5mred",
    "unterminated_osc": "\x1b]0;PWNEDU",
    "rich_markup": "[bold red]MARKUP[/] [link=http://x]y[/link]",
}
ARGV_SAFE = {k: v for k, v in ESCAPES.items() if "\x00" not in v}  # argv cannot carry NUL
# What may reach a terminal: printable text (CJK and emoji included), newline, tab.
_BAD = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c]")


def bad_chars(text: str) -> list[str]:
    return sorted({repr(c) for c in _BAD.findall(text)})


@pytest.fixture(scope="module")
def esc_lab(tmp_path_factory):
    """A finished run whose command, log, notes, tags and verdict carry every escape.  Built
    once for the module (a dozen CLI calls): its tests only read it (views, dialogs closed
    with esc)."""
    lab = new_lab(tmp_path_factory.mktemp("esc"))
    payload = "\n".join(f"{k}: {v} loss: 0.5" for k, v in ESCAPES.items()) + "\n"
    script = f"import sys; sys.stdout.write({payload!r}); sys.stdout.flush()"
    # the command line itself carries the escapes too (as the script's extra argument)
    lab.labtui("run", "--name", "esc", "--", sys.executable, "-c", script,
               "".join(ARGV_SAFE.values()), check=True)
    lab.wait_status("esc", {"finished", "failed"})
    for k, v in ARGV_SAFE.items():
        lab.labtui("note", "esc", f"{k} {v}", check=True)
    lab.labtui("tag", "esc", "ok-tag", check=True)
    # a tag carrying escapes is either refused (one clean line) or stored and shown inert
    p = lab.labtui("tag", "esc", ESCAPES["osc2_title_st"] + ESCAPES["rich_markup"])
    assert bad_chars(p.stdout + p.stderr) == []
    return lab


VIEWS = [
    ("ls",),
    ("ls", "--json"),
    ("show", "esc"),
    ("show", "esc", "--json"),
    ("metrics", "esc"),
]
# `labtui log` piped into a file or grep is the log's exact bytes (like cat); on a terminal
# it is sanitised: that case is checked in a real tmux pane below.


@pytest.mark.parametrize("view", VIEWS, ids=lambda v: "-".join(v))
def test_headless_views_print_no_control_characters(esc_lab, view):
    p = esc_lab.labtui(*view)
    assert p.returncode == 0, p.stderr
    for name, stream in (("stdout", p.stdout), ("stderr", p.stderr)):
        assert bad_chars(stream) == [], f"labtui {' '.join(view)} {name}: {bad_chars(stream)}"
    if "--json" in view:
        json.loads(p.stdout)  # still valid JSON, the escapes escaped


def test_json_keeps_the_text(esc_lab):
    """--json escapes control characters but loses nothing: the notes read back exactly."""
    p = esc_lab.labtui("show", "esc", "--json", check=True)
    notes = [n["text"] for n in json.loads(p.stdout)["notes"]]
    assert notes == [f"{k} {v}" for k, v in ARGV_SAFE.items()]


def test_show_keeps_every_character_of_a_note(esc_lab):
    """Nothing is dropped (text before a \r, inside an escape): each control is shown visibly."""
    from tui.core.text import inert

    out = esc_lab.labtui("show", "esc", check=True).stdout
    for k, v in ARGV_SAFE.items():
        assert inert(f"{k} {v}") in out, k
    assert "before^MPWNEDCR" in out


def test_error_messages_are_sanitised(lab):
    bad = "x\x1b]0;PWNED\x07y"
    for args in (("show", bad), ("note", bad, "text"), ("kill", bad), ("log", bad)):
        p = lab.labtui(*args)
        assert p.returncode != 0
        assert bad_chars(p.stdout + p.stderr) == [], (args, p.stderr)


# --------------------------------------------------------------------------- real terminal

class Term:
    """A tmux server with one window per view; each view waits for Enter before it runs."""

    def __init__(self, sock: str, cwd):
        if shutil.which("tmux") is None:
            pytest.fail("tmux is required for the real-terminal tests (.ci/run installs it)")
        self.sock = sock
        self.cwd = cwd
        self.started = False

    def tmux(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        env = cli_env({"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TERM": "xterm-256color"})
        return subprocess.run(["tmux", "-L", self.sock, "-f", "/dev/null", *args],
                              capture_output=True, text=True, check=check, env=env, cwd=self.cwd)

    def open(self, name: str, shell_cmd: str, width: int = 160, height: int = 50) -> str:
        gate = f"read _go; {shell_cmd}; echo; echo DONE-{name}; sleep 600"
        if not self.started:
            self.tmux("-u", "new-session", "-d", "-s", "t", "-n", name, "-x", str(width),
                      "-y", str(height), "sh", "-c", gate)
            self.tmux("set-option", "-g", "set-clipboard", "on")
            self.tmux("set-option", "-g", "allow-rename", "on")
            self.started = True
        else:
            self.tmux("new-window", "-d", "-t", "t", "-n", name, "sh", "-c", gate)
        target = f"t:{name}"
        self.tmux("select-pane", "-t", target, "-T", "CLEAN-TITLE")
        self.tmux("send-keys", "-t", target, "Enter")
        return target

    def fmt(self, target: str, f: str) -> str:
        return self.tmux("display-message", "-p", "-t", target, f).stdout.strip()

    def screen(self, target: str, history: bool = False) -> str:
        args = ["capture-pane", "-p", "-t", target] + (["-S", "-"] if history else [])
        return self.tmux(*args, check=False).stdout

    def wait(self, target: str, pred, what: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.screen(target)
            if pred(text):
                return text
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}; screen:\n{text}")

    def keys(self, target: str, *keys: str) -> None:
        self.tmux("send-keys", "-t", target, *keys)

    def assert_untouched(self, target: str, where: str, app: bool = False) -> None:
        assert self.fmt(target, "#{pane_title}") == "CLEAN-TITLE", f"{where}: title changed"
        assert self.fmt(target, "#{window_name}") == target.split(":")[1], f"{where}: window renamed"
        if not app:  # the app itself draws on the alternate screen; a headless view never does
            assert self.fmt(target, "#{alternate_on}") in ("0", ""), f"{where}: alternate screen"
        buffers = self.tmux("list-buffers", check=False).stdout.strip()
        assert buffers == "", f"{where}: clipboard written: {buffers!r}"

    def close(self) -> None:
        self.tmux("kill-server", check=False)


@pytest.fixture
def term(esc_lab, request):
    t = Term(f"labtui-esc-{os.getpid()}-{request.node.name[:16]}", esc_lab.root)
    yield t
    t.close()


def test_headless_views_in_a_real_terminal(esc_lab, term):
    base = f"{sys.executable} -m tui.cli --journal {esc_lab.journal}"
    for i, view in enumerate([("ls",), ("show", "esc"), ("log", "esc"), ("metrics", "esc")]):
        name = f"v{i}"
        target = term.open(name, f"echo MARK-TOP-{name}; {base} {' '.join(view)}")
        term.wait(target, lambda s, n=name: f"DONE-{n}" in s, f"labtui {' '.join(view)}")
        term.assert_untouched(target, f"labtui {' '.join(view)}")
        # Nothing cleared or reset the screen: the marker printed before the view is still there.
        assert f"MARK-TOP-{name}" in term.screen(target, history=True), f"labtui {' '.join(view)}"


def main_screen(s: str) -> bool:
    """The app's main screen (maybe under a dialog): the runs table's header and the run's row."""
    return re.search(r"run\s+experiment\s+status", s) is not None and "esc" in s and "finished" in s


def test_app_views_in_a_real_terminal(esc_lab, term):
    target = term.open("app", f"{sys.executable} -m tui.cli --journal {esc_lab.journal}")
    term.wait(target, lambda s: "esc" in s and "finished" in s, "the app with the run")
    term.assert_untouched(target, "main screen", app=True)
    steps = [
        ("detail", ["Enter"], "MARKUP", ["Escape"]),
        ("note dialog", ["a"], "Note on", ["Escape"]),
        ("tags dialog", ["t"], "Tags and verdict", ["Escape"]),
        ("compare", ["c"], "compare 1 runs", ["Escape"]),
        ("help", ["?"], "labtui keys", ["Escape"]),
    ]
    for where, keys, needle, back in steps:
        term.keys(target, *keys)
        screen = term.wait(target, lambda s, n=needle: n in s, f"{where} ({needle!r})")
        term.assert_untouched(target, where, app=True)
        if where == "detail":
            # Rich markup from a note is shown as the text it is.
            assert "[bold red]MARKUP[/]" in screen, screen
        term.keys(target, *back)
        term.wait(target, lambda s, n=needle: main_screen(s) and n not in s, f"back from {where}")
    term.assert_untouched(target, "after all views", app=True)
    # The app is still alive and drawing (no reset, no swallowed input): quitting works.
    term.keys(target, "q")
    term.wait(target, lambda s: "DONE-app" in s, "the app to quit")
    assert runs.get_run(Journal(esc_lab.journal), "esc").status in ("finished", "failed")


def test_gpus_shows_other_users_command_lines_inert(tmp_path):
    """On a shared server any user's command line reaches `labtui gpus`: it must never be obeyed."""
    from .test_gpus import GiB, fake_gpu, write_fake
    from .test_gpus_cli import labtui as gpus_cli

    hostile = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)",
                                "".join(ARGV_SAFE.values())], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        fake = write_fake(tmp_path, [{"gpus": [fake_gpu(0, 20)], "processes": [
            {"pid": hostile.pid, "gpu": 0, "mem_used": 2 * GiB}]}])
        deadline = time.monotonic() + 30
        while True:  # until its command line is readable (it has exec'ed)
            out = gpus_cli(fake=fake)
            assert out.returncode == 0, out.stderr
            if "time.sleep" in out.stdout or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert "time.sleep" in out.stdout, out.stdout
        assert bad_chars(out.stdout + out.stderr) == [], bad_chars(out.stdout)
        js = gpus_cli("--json", fake=fake)
        assert bad_chars(js.stdout) == [] and json.loads(js.stdout)["processes"]
    finally:
        hostile.kill()
        hostile.wait()
