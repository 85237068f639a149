"""The app as a user feels it: driven in a real terminal (tmux, 160x48), figures from the
output stream (``pipe-pane``) and the screen (``capture-pane``).  Prints a table.

    python bench/bench_app_pty.py [--dir DIR] [--quick] [--leet /tmp/leetvenv/bin/wandb [--leet-only]]

Lab: 200 finished runs, 20 of them with 100,000-point metrics.jsonl (the rest 1,000 points).
Figures:
  idle B/s          bytes written to the terminal per second over 20 s once the app settled
                    (first curve + 20 s; no run alive, nothing changes; target 0; without GPUs
                    the host CPU/load line moves every 5 s: its changed cells are the rest)
  first curve       launch -> first braille/marker cell of a curve on screen (caches warm), and
                    the app's CPU seconds when the bench saw it (less moved by the box's other
                    load than wall times, but it counts the background reads of other runs until
                    the bench's screen poll noticed the curve).  That curve is the CLI's first
                    frame (``tui/app/firstframe.py``, before Textual loads) unless it is off
                    (``LABTUI_FIRST_FRAME=0`` in the bench's environment).  "relaunch ... a Down
                    sent then" (a launch of its own, last: the other figures see one curve) ->
                    the app's own cursor (Textual's, with its background) on the next row: when
                    the app answers keys (the key waited in the terminal meanwhile)
  cold open 20      launch on 20 uncached 100k-point runs -> table filled (every row on screen,
                    its metric cells an honest "…" until read); "metrics" -> every metric cell
                    filled (the top bar's "loading…" gone)
  reopen 200        launch on the 200-run lab (caches warm) -> table filled (the rows on screen);
                    "metrics" -> every run's metric cells filled
  key->redraw       cursor moves (Down, then Up; `j` is not bound): key sent -> the cursor drawn on
                    the next row (capture-pane -e: the one row whose background differs); p50 / p99
  key->quiet        the same keys: key sent -> the last output byte before 30 ms of silence: the
                    cursor and, when it follows within 30 ms, the new selection's plot (whose own
                    figure is "new selection" below); p50 / p99
  new selection     cursor move -> the plot changed on screen (capture-pane; a "loading metrics…"
                    placeholder counts); "its curve" -> the new run's curve itself on screen
  RSS one curve     the app's resident memory once settled with one curve shown

LEET (W&B's terminal viewer, `wandb leet DIR`): ``--leet /tmp/leetvenv/bin/wandb`` writes
``--leet-runs`` (20) offline W&B runs of 100,000 steps (loss, acc: the values of the labs' big
runs) with that venv's python, 2 writers at a time (~20 s a run each), once: into
``--leet-cache`` (/tmp/labtui-bench-wandb-<N>x100k), reused by later bench runs.  Then LEET and
labtui on a lab of the same runs side by side: launch -> first curve, RSS (every process of
the pane: LEET is the `wandb` wrapper plus wandb-core), idle bytes.  ``--leet-only`` skips the
200-run figures.  wandb belongs only in its own venv (``python -m venv /tmp/leetvenv &&
/tmp/leetvenv/bin/pip install wandb``), never in the project's deps.
Bytecode: the app runs with its bytecode cached, as from a pip install (``PYTHONPYCACHEPREFIX``
in the bench folder, warmed by one launch on a one-run lab first), even where the environment
sets ``PYTHONDONTWRITEBYTECODE`` (then every launch compiles all of ``tui/``: ~0.2 s of CPU);
``--no-bytecode`` measures that case.
No assertions: figures only.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tui.core import fsio  # noqa: E402
from tui.core.rundir import RunDir  # noqa: E402

W, H = 160, 48
FIXED_HOST = ""  # --fixed-host: a fake GPU file whose host figures never move
CURVE = re.compile("[\u2801-\u28ff•]")


def metrics_bytes(rows: int) -> bytes:
    out = []
    for s in range(rows):
        loss = 2 * math.exp(-s / (rows / 4)) + 0.1 + 0.02 * math.sin(s)
        out.append(json.dumps({"step": s, "loss": round(loss, 6), "acc": round(1 - loss / 3, 5)}))
    return ("\n".join(out) + "\n").encode()


def make_lab(root: Path, runs: int, big: int, big_rows: int = 100_000, small_rows: int = 1000) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    data = {big_rows: metrics_bytes(big_rows), small_rows: metrics_bytes(small_rows)}
    text = ['[experiments.e]\ncommand = "python train.py --lr {lr}"\nparams = { lr = 1e-3 }\n\n']
    for i in range(runs):
        rid = f"r{i:03d}"
        d = root / "logs" / rid
        d.mkdir(parents=True, exist_ok=True)
        (d / "output.log").write_text("".join(f"step {s} loss 0.5\n" for s in range(100)))
        (d / "metrics.jsonl").write_bytes(data[big_rows if i < big else small_rows])
        fsio.write_json_atomic(d / "exit.json", {"code": 0, "signal": None,
                                                  "ended": "2026-05-13T10:00:00+00:00", "killed": False})
        text.append(f'[runs.{rid}]\nexperiment = "e"\ncommand = "python train.py"\n'
                    f'params = {{ lr = {1e-3 * (1 + i % 7)} }}\nstatus = "finished"\n'
                    f'started = 2026-05-13T08:00:00+00:00\nended = 2026-05-13T10:00:00+00:00\n'
                    f'exit_code = 0\n\n')
    (root / "experiments.toml").write_text("".join(text))
    return root / "experiments.toml"


def drop_caches(lab: Path) -> None:
    for d in (lab / "logs").iterdir():
        for name in (RunDir.METRICS_CACHE, RunDir.FLAGS_CACHE):
            p = d / name
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            elif p.exists():
                p.unlink()


class Term:
    """One app in a detached tmux session; its output stream goes to a file."""

    pyc: Path | None = None  # PYTHONPYCACHEPREFIX of the app (None: the environment's bytecode rules)

    def __init__(self, journal: Path, sock: str, argv: list[str] | None = None):
        self.sock = sock
        self.log = Path(tempfile.mktemp(prefix="labtui-pipe-"))
        self.log.write_bytes(b"")
        argv = argv or [sys.executable, "-m", "tui.cli", "--journal", str(journal)]
        # env(1) takes its -u options before any NAME=VALUE
        unset = ("" if FIXED_HOST else "-u LABTUI_FAKE_GPUS ") + (
            "-u PYTHONDONTWRITEBYTECODE " if self.pyc is not None else "")
        env = f"env {unset}" + (f"LABTUI_FAKE_GPUS={FIXED_HOST} " if FIXED_HOST else "")
        if self.pyc is not None:
            env += f"PYTHONPYCACHEPREFIX={self.pyc} "
        env += f"PYTHONPATH={ROOT} TERM=xterm-256color "
        self.t0 = time.perf_counter()
        self.tmux("new-session", "-d", "-s", "b", "-x", str(W), "-y", str(H),
                  "-c", str(journal.parent), env + " ".join(argv))
        self.tmux("pipe-pane", "-o", "-t", "b", f"cat >> {self.log}")

    def tmux(self, *a: str) -> str:
        return subprocess.run(["tmux", "-L", self.sock, *a], capture_output=True, text=True).stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "b")

    def size(self) -> int:
        return self.log.stat().st_size

    def pid(self) -> int:
        return int(self.tmux("display", "-p", "-t", "b", "#{pane_pid}").strip())

    def wait_screen(self, pred, limit: float = 120.0, every: float = 0.01) -> float:
        while time.perf_counter() - self.t0 < limit:
            s = self.screen()
            if not s:
                raise SystemExit("the app is gone (tmux pane closed)")
            if pred(s):
                return time.perf_counter() - self.t0
            time.sleep(every)
        return float("nan")

    def screen_e(self) -> str:
        """The screen with its colours (SGR sequences)."""
        return self.tmux("capture-pane", "-p", "-e", "-t", "b")

    def keys(self, *k: str) -> None:
        self.tmux("send-keys", "-t", "b", *k)

    def close(self) -> None:
        self.keys("q")
        time.sleep(0.5)
        self.tmux("kill-server")
        self.log.unlink(missing_ok=True)


def listed(n: int):
    """The table is filled: the first ``n`` runs' rows are on screen."""
    ids = [f"r{i:03d}" for i in range(n)]
    return lambda s: " runs" in s and all(i in s for i in ids)


def filled(s: str) -> bool:
    """Every metric cell filled: the rows are listed and the top bar no longer says loading…"""
    return " runs" in s and "loading…" not in s and "r0" in s


SGR = re.compile(r"\x1b\[[0-9;:]*m")
SGR_LEAD = re.compile(r"^(?:\x1b\[[0-9;:]*m|\s)*")
RID = re.compile(r"\br\d{3}\b")


def cursor_rid(screen_e: str) -> str | None:
    """The run under the table's cursor: of the rows with a run id, the one whose leading
    background differs from every other row's (None while that is not exactly one row)."""
    rows = []
    for line in screen_e.splitlines():
        plain = SGR.sub("", line)
        m = RID.search(plain[:12])  # a table row (the plot's legend names runs further right)
        if m:
            bg = re.findall(r"48;[25];[0-9;]+", SGR_LEAD.match(line).group(0))
            rows.append((bg[-1] if bg else "", m.group(0)))
    bgs: dict[str, list[str]] = {}
    for bg, rid in rows:
        bgs.setdefault(bg, []).append(rid)
    odd = [ids for ids in bgs.values() if len(ids) == 1]
    return odd[0][0] if len(bgs) == 2 and len(odd) == 1 and len(rows) > 2 else None


def neighbour(screen: str, rid: str, down: bool) -> str | None:
    """The run id of the row below (above) ``rid`` on the screen."""
    ids = [m.group(0) for line in screen.splitlines() if (m := RID.search(line[:12]))]
    i = ids.index(rid) if rid in ids else -1
    j = i + (1 if down else -1)
    return ids[j] if i >= 0 and 0 <= j < len(ids) else None


def plot_lines(screen: str) -> list[str]:
    """The plot's lines (its left 3/4): below the table's bottom rule."""
    lines = screen.splitlines()
    top = next((i for i, ln in enumerate(lines) if i > 2 and ln.startswith("───")), H // 3)
    return [ln[: W * 3 // 4].rstrip() for ln in lines[top + 1:]]


def has_curve(s: str) -> bool:
    return any(CURVE.search(line[: W * 3 // 4]) for line in s.splitlines()[H // 3:])


def rss_mb(pid: int) -> float:
    """The app's RSS: the largest of the pane's process and its children (labtui: one process)."""
    return max(rss_tree(pid))


def rss_tree(pid: int) -> list[float]:
    """RSS (MB) of each process of the pane's tree (LEET: the `wandb` wrapper and wandb-core)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    out.append(int(line.split()[1]) / 1024)
        except OSError:
            pass
        todo += [int(c) for c in subprocess.run(["pgrep", "-P", str(p)], capture_output=True,
                                                text=True).stdout.split()]
    return out or [0.0]


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) the app has used so far: the pane's process or its python
    child (all its threads)."""
    pids = [pid] + [int(p) for p in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True,
                                                     text=True).stdout.split()]
    tick = os.sysconf("SC_CLK_TCK")
    best = 0.0
    for p in pids:
        try:
            f = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            best = max(best, (int(f[11]) + int(f[12])) / tick)
        except (OSError, IndexError, ValueError):
            pass
    return best


WANDB_WRITER = """
import math, sys, wandb
root, first, stop, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
for r in range(first, stop):
    run = wandb.init(mode="offline", dir=root, project="bench", name=f"r{r:03d}",
                     settings=wandb.Settings(silent=True))
    for s in range(steps):
        loss = 2 * math.exp(-s / (steps / 4)) + 0.1 + 0.02 * math.sin(s)
        run.log({"loss": loss, "acc": 1 - loss / 3}, step=s)
    run.finish()
"""


def write_wandb_runs(py: Path, root: Path, n: int, steps: int = 100_000, jobs: int = 2) -> None:
    """``n`` offline W&B runs of ``steps`` steps under ``root`` (once: a finished folder is kept
    and reused across bench runs), ``jobs`` writers at a time (~20 s a run each)."""
    done = root / "complete"
    if done.exists():
        return
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    t = time.perf_counter()
    cut = [n * j // jobs for j in range(jobs + 1)]
    procs = [subprocess.Popen([str(py), "-c", WANDB_WRITER, str(root), str(cut[j]), str(cut[j + 1]),
                               str(steps)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for j in range(jobs) if cut[j] < cut[j + 1]]
    for pr in procs:
        _out, err = pr.communicate()
        if pr.returncode:
            raise SystemExit(f"writing W&B runs failed: {err.decode(errors='replace')[-2000:]}")
    done.write_text(f"{n} runs x {steps} steps\n")
    print(f"wrote {n} offline W&B runs x {steps:,} steps in {time.perf_counter() - t:.0f}s ({root})")


def trio(term: Term, pred, settle: float, idle_s: float) -> tuple[float, list, float]:
    """(launch -> first curve s, RSS MB of each process 5 s later, idle B/s over ``idle_s``
    after ``settle`` s)."""
    first = term.wait_screen(pred)
    time.sleep(5.0)
    rss = rss_tree(term.pid())
    time.sleep(settle)
    n0 = term.size()
    time.sleep(idle_s)
    return first, rss, (term.size() - n0) / idle_s


def leet(a, base: Path, sock: str, idle_s: float, fig: list) -> None:
    """LEET and labtui on the same runs: ``--leet-runs`` runs of 100,000 steps (loss, acc)."""
    wandb = Path(a.leet)
    py = wandb.parent / "python"
    root = Path(a.leet_cache or f"/tmp/labtui-bench-wandb-{a.leet_runs}x100k")
    write_wandb_runs(py, root, a.leet_runs)
    term = Term(root / "x", sock, [str(wandb), "leet", str(root / "wandb")])
    any_curve = re.compile("[\u2801-\u28ff]").search  # LEET's charts sit at the top
    theirs = trio(term, lambda s: bool(any_curve(s)), a.settle, idle_s)
    term.close()
    # labtui on a lab of the same runs (same values; its series cache warm, as LEET's runs are
    # written once): launch -> first curve, RSS, idle bytes
    same = base / f"same{a.leet_runs}" / "experiments.toml"
    if not same.exists():
        make_lab(same.parent, a.leet_runs, a.leet_runs)
    term = Term(same, sock)
    term.wait_screen(filled, limit=300)
    term.wait_screen(has_curve, limit=300)
    term.close()
    term = Term(same, sock)
    ours = trio(term, has_curve, a.settle, idle_s)
    term.close()
    fig.append((f"same {a.leet_runs} runs x 100k: labtui | LEET", ""))
    fig.append(("  launch -> first curve", f"{ours[0]:.2f} s | {theirs[0]:.2f} s"))
    def mb(r):
        return f"{sum(r):.0f} MB" + (f" ({' + '.join(f'{x:.0f}' for x in r)})" if len(r) > 1 else "")
    fig.append(("  RSS with one curve (all processes)", f"{mb(ours[1])} | {mb(theirs[1])}"))
    fig.append((f"  idle bytes ({idle_s:g} s)", f"{ours[2]:.0f} B/s | {theirs[2]:.0f} B/s"))


def measure_labtui(a, base: Path, sock: str, runs: int, big: int, idle_s: float, fig: list) -> None:
    t = time.perf_counter()
    lab = base / "lab" / "experiments.toml"
    cold = base / "cold" / "experiments.toml"
    if not lab.exists():
        make_lab(lab.parent, runs, big)
        make_lab(cold.parent, big, big)
    print(f"labs in {base} ({time.perf_counter() - t:.1f}s to build)")

    if not a.no_bytecode:  # bytecode as a pip install leaves it: one launch writes it
        Term.pyc = base / "pyc"
        tiny = base / "tiny" / "experiments.toml"
        if not tiny.exists():
            make_lab(tiny.parent, 1, 0)
        term = Term(tiny, sock)
        term.wait_screen(has_curve)
        term.close()

    # cold open: 20 uncached big runs -> table filled (rows), then every metric cell
    drop_caches(cold.parent)
    term = Term(cold, sock)
    fig.append((f"cold open {big} uncached runs -> table filled", f"{term.wait_screen(listed(big)):.2f} s"))
    fig.append(("cold open -> first curve", f"{term.wait_screen(has_curve):.2f} s"))
    fig.append(("cold open -> every metric cell filled", f"{term.wait_screen(filled):.2f} s"))
    term.close()

    # warm the big lab's caches once, then measure reopen / first curve / idle / keys / RSS
    term = Term(lab, sock)
    term.wait_screen(filled, limit=300)
    term.close()
    term = Term(lab, sock)
    fig.append((f"reopen {runs} runs (warm) -> table filled", f"{term.wait_screen(listed(10)):.2f} s"))
    fig.append(("launch -> first curve on screen", f"{term.wait_screen(has_curve):.2f} s"))
    fig.append(("  the app's CPU time by then", f"{cpu_s(term.pid()):.2f} s"))
    fig.append((f"reopen {runs} runs -> every metric cell filled", f"{term.wait_screen(filled):.2f} s"))
    time.sleep(5.0)  # first polls
    fig.append(("RSS with one curve", f"{rss_mb(term.pid()):.0f} MB"))
    time.sleep(a.settle)  # the deferred loss-cliff checks of every run, the last redraws
    n0 = term.size()
    time.sleep(idle_s)
    fig.append((f"idle bytes to the terminal ({idle_s:g} s)", f"{(term.size() - n0) / idle_s:.0f} B/s"))

    # key -> redraw (cursor moves), plot of the new selection
    moves, quiets, plots, curves = [], [], [], []
    for i in range(30):
        before_e = term.screen_e()
        before = SGR.sub("", before_e)
        down = i < 15
        want = neighbour(before, cursor_rid(before_e) or "", down)
        plot0 = plot_lines(before)
        n0 = term.size()
        t0 = time.perf_counter()
        term.keys("Down" if down else "Up")
        # one screen capture a turn: the cursor on the next row, the plot changed, the new
        # run's curve itself (its legend names it; not a "loading metrics…" placeholder); the
        # output's last byte before 30 ms of silence
        seen = last = changed = curve = None
        while time.perf_counter() - t0 < 3.0:
            se = term.screen_e()
            now = time.perf_counter()
            if seen is None and want is not None and cursor_rid(se) == want:
                seen = now
            lines = plot_lines(SGR.sub("", se))
            if curve is None and lines != plot0:
                changed = changed or now
                if (want and lines and want in lines[0] and any(map(CURVE.search, lines))
                        and not any("loading" in ln for ln in lines)):
                    curve = now
            m = term.size()
            if m != n0:
                n0, last = m, time.perf_counter()
            if seen and curve and last and time.perf_counter() - last >= 0.03:
                break
            time.sleep(0.002)
        for xs, t in ((moves, seen), (quiets, last), (plots, changed), (curves, curve)):
            xs.append((t - t0) * 1000 if t is not None else float("nan"))
        time.sleep(0.3)
    for name, xs in (("key->redraw: the cursor on the next row", moves),
                     ("key->quiet: output done (cursor, plot if within 30 ms)", quiets)):
        ok = [m for m in xs if m == m]
        if ok:
            q = statistics.quantiles(ok, n=100) if len(ok) > 1 else ok * 99
            fig.append((f"{name} p50 / p99", f"{statistics.median(ok):.0f} / {q[98]:.0f} ms"
                        + (f" ({len(xs) - len(ok)} not seen)" if len(ok) < len(xs) else "")))
    if a.samples:
        for name, xs in (("cursor", moves), ("quiet", quiets), ("plot", plots), ("curve", curves)):
            print(f"  {name:7s}", " ".join(f"{x:.0f}" for x in xs))
    plots, curves = [x for x in plots if x == x], [x for x in curves if x == x]
    if plots:
        fig.append(("plot of new selection p50 / max", f"{statistics.median(plots):.0f} / {max(plots):.0f} ms"))
    if curves:
        fig.append(("  its curve on screen p50 / max", f"{statistics.median(curves):.0f} / {max(curves):.0f} ms"
                    + (f" ({30 - len(curves)} not within 3 s)" if len(curves) < 30 else "")))
    term.close()

    # the first curve may be the CLI's first frame (before Textual): a key sent the moment it
    # shows is answered when the app is up (its cursor row, drawn with a background, moves down)
    term = Term(lab, sock)
    t_curve = term.wait_screen(has_curve)
    term.keys("Down")
    t_key = term.wait_screen(lambda _s: cursor_rid(term.screen_e()) == "r001")
    fig.append(("relaunch -> first curve; a Down sent then -> the app's cursor on the next row",
                f"{t_curve:.2f} s; {t_key:.2f} s"))
    term.close()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir")
    ap.add_argument("--quick", action="store_true", help="20 runs (2 big), 5 s idle window")
    ap.add_argument("--samples", action="store_true", help="print every key's figures (in order)")
    ap.add_argument("--idle", type=float, default=20.0, help="seconds of the idle window")
    ap.add_argument("--settle", type=float, default=15.0, help="seconds between first curve + 5 s and the idle window")
    ap.add_argument("--leet", help="path of a `wandb` from its own venv: measure LEET too")
    ap.add_argument("--leet-runs", type=int, default=20, help="offline W&B runs to write for LEET")
    ap.add_argument("--leet-cache", help="folder of the offline W&B runs (written once, reused; "
                    "default /tmp/labtui-bench-wandb-<N>x100k)")
    ap.add_argument("--leet-only", action="store_true", help="measure LEET only")
    ap.add_argument("--no-bytecode", action="store_true",
                    help="run the app under the environment's bytecode rules (PYTHONDONTWRITEBYTECODE: compile at each launch)")
    ap.add_argument("--fixed-host", action="store_true",
                    help="labtui reads fixed host figures (a fake GPU file), so on a shared box "
                    "whose CPU and load really move, the idle bytes are the app's own")
    a = ap.parse_args()
    if not shutil.which("tmux"):
        print("needs tmux")
        return 2
    runs, big = (20, 2) if a.quick else (200, 20)
    idle_s = 5.0 if a.quick else a.idle
    base = Path(a.dir) if a.dir else Path(tempfile.mkdtemp(prefix="labtui-benchpty-"))
    sock = f"labtui-bench-{os.getpid()}"
    if a.fixed_host:
        global FIXED_HOST
        FIXED_HOST = str(base / "fixed-host.json")
        Path(FIXED_HOST).write_text(json.dumps({"ok": False, "reason": "no NVIDIA GPU (fixed host)", "host": {
            "cpu_percent": 12.0, "mem_used": 8 << 30, "mem_total": 64 << 30, "load1": 0.4,
            "load5": 0.5, "load15": 0.5, "cpu_count": 16}}))
        print("labtui reads fixed host figures (--fixed-host)")
    fig: list[tuple[str, str]] = []
    if not a.leet_only:
        measure_labtui(a, base, sock, runs, big, idle_s, fig)
    if a.leet:
        leet(a, base, sock, idle_s, fig)

    print()
    wide = max(len(k) for k, _ in fig)
    for k, v in fig:
        print(f"  {k:<{wide}}  {v}")
    if not a.dir:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
