"""Long reads show progress (issue 12): a cold parse of a large log or TensorBoard event file prints
a ``\\r`` progress line on stderr when stderr is a terminal (a real pty here), cleared at the end;
nothing otherwise.  The app's per-run loading state covers event files too."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

from tests.snapshot_tests.labdata import Lab, clock
from tui.app.model import Poller
from tui.app.state import AppState
from tui.core.journal import Journal
from tui.core.metrics import progress

ROOT = Path(__file__).resolve().parent.parent
ENV = dict(os.environ, PYTHONPATH=str(ROOT))


def _big_log(path: Path) -> int:
    """A log just over the size that is reported (9 MiB: three reads of the tail's 4 MiB chunks)."""
    line = "step {} | loss {:.5f} | lr 0.0001 | grad_norm 1.2345 | tokens_per_s 51234.5 | mem 12.5\n"
    with open(path, "w", encoding="ascii") as f:
        n = 0
        while f.tell() < progress.MIN_READ + (1 << 20):
            f.write("".join(line.format(n + i, 1.0 / (n + i + 1)) for i in range(1000)))
            n += 1000
    return n


def _run_in_pty(args: list[str]) -> tuple[int, str, bytes]:
    """Run the CLI with stderr on a real terminal; (rc, stdout, what the terminal got)."""
    master, slave = pty.openpty()
    p = subprocess.Popen([sys.executable, "-m", "tui.cli", *args], stdout=subprocess.PIPE,
                         stderr=slave, env=ENV)
    os.close(slave)
    got = b""
    deadline = time.monotonic() + 240
    out = b""
    while time.monotonic() < deadline:
        r, _, _ = select.select([master, p.stdout], [], [], 1.0)
        if master in r:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child's side is closed
                chunk = b""
            got += chunk
        if p.stdout in r:
            chunk = p.stdout.read1(1 << 20)
            out += chunk
            if not chunk and p.poll() is not None:
                break
    rc = p.wait(timeout=60)
    out += p.stdout.read()
    os.close(master)
    return rc, out.decode(), got


def test_cold_parse_of_a_large_log_shows_progress_on_a_terminal_only(tmp_path):
    log = tmp_path / "big.log"
    n = _big_log(log)
    rc, out, term = _run_in_pty(["metrics", str(log), "--json"])
    assert rc == 0, term
    loss = json.loads(out)["metrics"]["loss"]
    assert len(loss["y"]) == n and loss["x"][-1] == n - 1
    text = term.decode("utf-8", "replace")
    assert text.count("\rreading big.log: ") >= 2, text
    pcts = [int(s.split("%")[0]) for s in text.split("reading big.log: ")[1:]]
    assert pcts == sorted(pcts) and 0 < pcts[0] < 100
    assert f"of {log.stat().st_size / 1e6:.0f} MB" in text
    width = len(text.rstrip().rsplit("\r", 1)[-1])
    assert text.endswith("\r" + " " * width + "\r") and width > 0  # the line is cleared at the end
    # stderr a pipe: not a word; the series are the same
    p = subprocess.run([sys.executable, "-m", "tui.cli", "metrics", str(log), "--json"], capture_output=True,
                       text=True, env=ENV, timeout=240)
    assert p.returncode == 0 and p.stderr == ""
    assert json.loads(p.stdout)["metrics"]["loss"] == loss


def test_reporter_counts_only_long_reads(tmp_path):
    calls = []
    small = tmp_path / "s.log"
    small.write_text("step 1 loss 0.5\nstep 2 loss 0.4\n")
    with progress.reporting(lambda *a: calls.append(a)):
        assert progress.reader(small, 100) is None
        c = progress.reader(small, progress.MIN_READ)
        c(progress.EVERY - 1)
        c(1)
        c(progress.MIN_READ - progress.EVERY)
        c.end()
    assert progress.reader(small, progress.MIN_READ) is None  # nobody listens outside the block
    mr, ev = progress.MIN_READ, progress.EVERY
    assert calls == [(str(small), ev, mr), (str(small), mr, mr), (str(small), mr, mr)]


def _events(logdir: Path, n: int) -> Path:
    """An event file written by tensorboard's own writer: n events of 100 scalars each (tags
    m00..m99, values step/8 + j)."""
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter
    w = EventFileWriter(str(logdir))
    summ = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=f"m{j:02d}", simple_value=j)
                                      for j in range(100)])
    for step in range(n):
        for j, v in enumerate(summ.value):
            v.simple_value = step / 8 + j
        w.add_event(event_pb2.Event(step=step, wall_time=1700000000.0 + step, summary=summ))
    w.close()
    (f,) = logdir.glob("events.out.tfevents.*")
    return f


def test_cold_read_of_a_large_event_file_shows_progress_on_a_terminal(tmp_path):
    run = tmp_path / "run"
    (run / "tb").mkdir(parents=True)
    n = progress.EVENTS_MIN_READ // 1200 + 20   # just over the size from which event files report
    f = _events(run / "tb", n)
    size = f.stat().st_size
    assert progress.EVENTS_MIN_READ < size < 3 * progress.EVENTS_MIN_READ
    rc, out, term = _run_in_pty(["metrics", str(run), "--json"])
    assert rc == 0, term
    got = json.loads(out)["metrics"]
    assert sorted(got) == [f"m{j:02d}" for j in range(100)]
    assert len(got["m07"]["y"]) == n and got["m07"]["x"][-1] == n - 1
    text = term.decode("utf-8", "replace")
    head = "\rreading " + f.name[:60] + ": "
    assert text.count(head) >= 2, text
    pcts = [int(s.split("%")[0]) for s in text.split(head)[1:]]
    assert pcts == sorted(pcts) and 0 < pcts[0] < 100, pcts
    width = len(text.rstrip().rsplit("\r", 1)[-1])
    assert text.endswith("\r" + " " * width + "\r") and width > 0  # the line is cleared at the end


def test_metrics_of_an_event_file_given_by_path(tmp_path):
    """``labtui metrics FILE`` on an event file reads its scalars (not its bytes as text)."""
    f = _events(tmp_path, 5)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    r = subprocess.run([sys.executable, "-m", "tui.cli", "metrics", str(f), "--json"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)["metrics"]
    assert sorted(got) == [f"m{j:02d}" for j in range(100)]
    assert got["m03"]["x"] == [0, 1, 2, 3, 4] and got["m03"]["y"][-1] == 4 / 8 + 3


def test_the_apps_loading_state_covers_runs_read_from_event_files(tmp_path):
    """Two runs whose only metrics are event files: the first poll reads one (the selected
    run's, read whatever the time budget) and not the other, whose row says loading until a
    later poll has read it: then it has the event file's series."""
    lab = Lab(tmp_path / "lab")
    for rid in ("tb1", "tb2"):
        lab.run(rid, "gan", "finished", {"steps": 10}, 0, 10)
    lab.write()
    (tmp_path / "ev").mkdir()
    n = 30
    src = _events(tmp_path / "ev", n)
    for rid in ("tb1", "tb2"):
        (lab.logs / rid / "tb").mkdir()
        (lab.logs / rid / "tb" / src.name).write_bytes(src.read_bytes())
    state = AppState(clock)
    poller = Poller(Journal(lab.journal), clock=clock, time_budget=0.0)
    poller.priority = {"tb1"}
    state.apply(poller.poll())
    loading = {r["info"].id: r["loading"] for r in state.rows()}
    assert loading == {"tb1": False, "tb2": True} and state.loading
    deadline = time.monotonic() + 60
    poller.time_budget = 0.25
    while state.loading:
        assert time.monotonic() < deadline, "the poll never caught up"
        state.apply(poller.poll())
    assert not any(r["loading"] for r in state.rows())
    assert len(state.store["tb2"].series["m42"]) == n
