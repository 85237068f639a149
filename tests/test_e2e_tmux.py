"""Real-terminal tests: the app in a tmux pane, driven with send-keys, read with capture-pane.

These use real trainers (`trainers.gan`), real signals and the real journal; tmux is the
terminal an SSH user has, and killing its server is the dropped link.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time

import psutil
import pytest

from tui.core import metrics, procs, runs
from tui.core.journal import Journal

from .conftest import PROGS, ROOT, cli_env, end_runs, wait_for

HEADER = "# e2e lab: my comments stay\n"
LAB_TOML = HEADER + """
[experiments.gan]  # the GAN template
command = "python -m trainers.gan --steps {steps} --log-every 10 --ckpt-every 50 --eval-every 0 --g-lr {g_lr}"
params = { steps = 100000, g_lr = 3e-4 }
"""


class Pane:
    def __init__(self, sock: str, lab, width: int = 120, height: int = 36):
        if shutil.which("tmux") is None:
            pytest.fail("tmux is required for the real-terminal tests (.ci/run installs it)")
        self.sock = sock
        self.lab = lab
        self.width, self.height = width, height

    def tmux(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        env = cli_env({"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TERM": "xterm-256color"})
        return subprocess.run(["tmux", "-L", self.sock, "-f", "/dev/null", *args],
                              capture_output=True, text=True, check=check, env=env)

    def open_app(self, session: str, env: str = "") -> None:
        """The app in a new tmux session; the server gets the CLI environment (source on PYTHONPATH);
        ``env``: ``NAME=value ...`` for the app's command line."""
        cmd = (f"cd {self.lab.root} && {env} {sys.executable} -m tui.cli --journal {self.lab.journal}; "
               "sleep 30")
        self.tmux("-u", "new-session", "-d", "-s", session, "-x", str(self.width),
                  "-y", str(self.height), cmd)
        self.session = session

    def screen(self) -> str:
        r = self.tmux("capture-pane", "-p", "-t", self.session, check=False)
        return r.stdout

    def wait(self, pred, what: str, timeout: float = 40.0) -> str:
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.screen()
            if pred(text):
                return text
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}; screen:\n{text}")

    def wait_text(self, needle: str, timeout: float = 40.0) -> str:
        return self.wait(lambda s: needle in s, repr(needle), timeout)

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.session, *keys)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", self.session, "-l", text)

    def kill_server(self) -> None:
        self.tmux("kill-server", check=False)

    def cursor(self) -> tuple[int, int]:
        """The terminal cursor (column, row): Textual puts it on the focused editor's cursor."""
        x, y = self.tmux("display-message", "-p", "-t", self.session, "#{cursor_x} #{cursor_y}").stdout.split()
        return int(x), int(y)

    def processes(self) -> list[psutil.Process]:
        """The pane's shell and everything under it (the app)."""
        shell = psutil.Process(int(self.tmux("display-message", "-p", "-t", self.session, "#{pane_pid}").stdout))
        return [shell, *shell.children(recursive=True)]


@pytest.fixture
def pane(lab, request):
    lab.journal.write_text(LAB_TOML, encoding="utf-8")
    p = Pane(f"labtui-e2e-{os.getpid()}-{request.node.name[:20]}", lab)
    yield p
    p.kill_server()
    end_runs(lab.journal)


def _env_for_runs():
    # Runs launched by the test itself need the source tree on their path, like the CLI's.
    os.environ.setdefault("PYTHONPATH", str(ROOT))


def metric_steps(run_dir) -> list[int]:
    import json

    try:
        lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    except FileNotFoundError:
        return []
    out = []
    for ln in lines:
        try:
            out.append(int(json.loads(ln)["step"]))
        except (ValueError, KeyError):
            pass
    return out


def alive(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def editor_focused(screen: str, cursor: tuple[int, int]) -> bool:
    """Whether the terminal cursor is in the note editor (below the dialog's title, just right
    of the editor's left border and padding): Textual puts it there when the editor takes focus."""
    lines = screen.splitlines()
    x, y = cursor
    title = next((i for i, ln in enumerate(lines) if "Note on " in ln), None)
    return title is not None and title < y < len(lines) and lines[y][:x].endswith("▊ ")


def test_kill_resume_note_from_the_app(lab, pane):
    _env_for_runs()
    j = Journal(lab.journal)
    runs.launch(j, experiment="gan", name="g1")
    ck = wait_for(lambda: runs.latest_checkpoint(lab.run_dir("g1")), "a first checkpoint of g1", 90)
    assert ck.name.startswith("step-")
    pane.open_app("app1")
    pane.wait(lambda s: "g1" in s and "running" in s, "g1 running in the app")

    # 1. Kill it from the app, with a reason; the journal says killed and nothing survives.
    pid = runs.get_run(j, "g1").pid
    pane.keys("k")
    pane.wait_text("Kill g1")
    pane.type("lr schedule wrong")
    pane.keys("Enter")
    wait_for(lambda: runs.get_run(j, "g1").status == "killed", "g1 killed", 60)
    info = runs.get_run(j, "g1")
    assert [n["text"] for n in info.notes] == ["killed: lr schedule wrong"]
    assert list(procs.tagged_processes("g1", procs.lab_id(lab.journal))) == []
    assert procs.matching_process(pid, info.create_time) is None
    pane.wait(lambda s: re.search(r"g1\s+gan\s+\S*\s*killed", s), "g1 shown killed")
    # The graceful stop let the trainer save a final checkpoint at the step it stopped.
    last_ck = runs.latest_checkpoint(lab.run_dir("g1"))
    stop_step = runs.checkpoint_step(last_ck)
    assert stop_step == metric_steps(lab.run_dir("g1"))[-1]

    # 2. Resume it from the app: a new run under its parent whose curve continues.
    pane.keys("r")
    pane.wait_text("Resume g1")
    pane.keys("Enter")
    wait_for(lambda: "g1.1" in (j.read().get("runs") or {}), "g1.1 in the journal", 30)
    rec = j.read()["runs"]["g1.1"]
    assert rec["parent"] == "g1" and rec["resume_step"] == stop_step
    pane.wait_text("└ g1.1")
    steps = wait_for(lambda: metric_steps(lab.run_dir("g1.1")), "metrics of g1.1", 90)
    assert steps[0] > stop_step
    st = metrics.stitched(j, "g1.1")
    xs = list(st.series["loss_d"].x)
    assert xs == sorted(xs) and len(set(xs)) == len(xs)
    assert xs[0] < stop_step < xs[-1]
    assert [rid for rid, _x in st.resume_points] == ["g1.1"]

    # 3. A note with non-ASCII text (and markup that must stay text), saved with ctrl+s.
    pane.keys("a")
    pane.wait_text("Note on ")
    note = "训练不收敛 (x) [bold]y[/]"
    pane.wait(lambda s: editor_focused(s, pane.cursor()), "the note editor focused (the cursor in it)")
    pane.type(note)
    pane.wait_text("(x) [bold]y[/]")  # shown literally in the editor, not as markup
    pane.keys("C-s")
    wait_for(lambda: any(note in n["text"] for r in runs.list_runs(j) for n in r.notes),
             "the note in the journal", 20)
    text = lab.journal.read_text(encoding="utf-8")
    assert text.startswith(HEADER) and "[experiments.gan]  # the GAN template" in text
    assert note in Journal(lab.journal).read_text()

    # Quitting never stops a run.
    pane.keys("q")
    pane.wait_text("still running")
    assert runs.get_run(j, "g1.1").alive


def test_dropped_link_and_reattach(lab, pane):
    _env_for_runs()
    j = Journal(lab.journal)
    runs.launch(j, experiment="gan", name="long")
    runs.launch(j, command=[sys.executable, str(PROGS / "count.py"), "--n", "60", "--delay", "0.1",
                            "--code", "3"], name="short")
    wait_for(lambda: metric_steps(lab.run_dir("long")), "long's first metrics", 90)
    pane.open_app("before")
    pane.wait(lambda s: "long" in s and "short" in s, "both runs in the app")
    wait_for(lambda: runs.get_run(j, "long").pid, "long's pid in the journal", 30)
    long_pid = runs.get_run(j, "long").pid

    # 4. The SSH drop: the terminal and the app die with SIGHUP; the runs do not.
    pane_procs = pane.processes()
    assert len(pane_procs) >= 2, pane_procs  # the shell and the app
    pane.kill_server()
    wait_for(lambda: not any(alive(p) for p in pane_procs), "the pane's shell and app to die", 30)
    assert runs.get_run(j, "long").status == "running"
    assert procs.matching_process(long_pid, runs.get_run(j, "long").create_time) is not None
    wait_for(lambda: not runs.get_run(j, "short").alive, "short to finish meanwhile", 60)
    seen = metric_steps(lab.run_dir("long"))[-1]

    pane.open_app("after")
    screen = pane.wait(lambda s: re.search(r"long\s+gan\s+\S*\s*running", s) and "short" in s,
                       "long running and short in the re-opened app")
    assert re.search(r"short\s+-\s+\S*\s*failed", screen), screen
    # The whole curve: progress shows at least the step reached before the app opened.
    m = pane.wait(lambda s: re.search(r"long\s+gan\s+\S*\s*running\s+(?:\S+\s+)?(\d+)/100k", s),
                  "long's progress")
    step_shown = int(re.search(r"long\s+gan\s+\S*\s*running\s+(?:\S+\s+)?(\d+)/100k", m).group(1))
    assert step_shown >= seen
    # The run that finished meanwhile shows its exit code in its detail view.
    pane.keys("Down")
    pane.keys("Enter")
    pane.wait_text("exit 3")


def test_keys_sent_together_never_overtake_each_other(lab, pane):
    """A non-printing key and a character in one write (tmux send-keys with two keys writes
    them at once, as a laggy SSH link does): both take effect, in order.  Textual alone types
    the character first (tui/app/widgets/keys.py, docs/textual-key-drop.md)."""
    pane.open_app("keys")
    pane.wait_text("no runs")
    pane.keys("n")
    pane.wait_text("New run")
    field = lambda v: lambda s: re.search(r"steps\s.*\b" + re.escape(v) + r"(\s|$)", s, re.M)  # noqa: E731
    pane.wait(field("100000"), "the steps field prefilled")
    pane.keys("End")  # the first param input has the focus; its cursor at the end
    pane.keys("BSpace", "7")
    pane.wait(field("100007"), "BSpace 7 → 100007")
    pane.keys("Left", "b")
    pane.wait(field("10000b7"), "Left b → 10000b7")
    pane.keys("C-a", "b")
    pane.wait(field("b10000b7"), "C-a b → b10000b7")
    pane.keys("Escape")
    pane.wait(lambda s: "New run" not in s, "the form closed")


def test_o_opens_the_log_in_the_pager_and_the_app_comes_back(lab, pane, tmp_path):
    _env_for_runs()
    j = Journal(lab.journal)
    rid = runs.launch(j, command=[sys.executable, str(PROGS / "count.py"), "--n", "3", "--delay", "0"],
                      name="short")
    wait_for(lambda: runs.get_run(j, rid).status == "finished", "the run finished", 60)
    out = tmp_path / "paged"
    out.mkdir()
    # the "pager" copies the file it is given and exits: the app was suspended, then resumes
    pane.open_app("pager", env=f"PAGER='cp -t {out}'")
    pane.wait(lambda s: "short" in s and "finished" in s, "the run listed")
    pane.keys("Enter")
    pane.wait_text("run short")
    pane.keys("o")
    paged = wait_for(lambda: (out / "output.log").exists() and out / "output.log", "the pager ran", 30)
    assert paged.read_bytes() == (lab.run_dir(rid) / "output.log").read_bytes()
    pane.wait_text("run short")  # the app is back on the detail screen
    pane.keys("q")
    pane.wait(lambda s: "run short" not in s and "short" in s, "back on the main screen")
