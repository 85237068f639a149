#!/usr/bin/env python3
"""Journal edits at scale: note, tag and a status update on a big journal; `ls` on it.

    python bench/bench_journal.py [--runs 10000]

Each figure is a fresh CLI process (start included) or, for the status update (what the shim
and reconcile do), a fresh ``python -c`` that imports the core and edits one run.  Peak memory
is the child's max RSS.  Targets (10,000 runs, 2-core box): note / tag / status < 300 ms and
< 100 MB; `ls` < 1 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_core import env, make_journal  # noqa: E402

STATUS = ("import sys; from tui.core.journal import Journal\n"
          "with Journal(sys.argv[1]).edit_run(sys.argv[2], 'status') as rec:\n"
          "    rec['status'] = sys.argv[3]\n")


def run_child(cmd: list[str], cwd: Path) -> tuple[float, float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        os.chdir(cwd)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.execvpe(cmd[0], cmd, env())
    _, status, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    return wall, ru.ru_maxrss / 1024, subprocess.CompletedProcess(cmd, os.waitstatus_to_exitcode(status))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10000)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, {a.runs}-run journal")
    with tempfile.TemporaryDirectory() as d:
        lab = Path(d)
        make_journal(lab, a.runs)
        j = str(lab / "experiments.toml")
        print(f"journal: {os.path.getsize(j) / 2**20:.1f} MB")
        cli = [sys.executable, "-m", "tui.cli", "--journal", j]
        w, m, p = run_child(cli + ["ls"], lab)
        assert p.returncode == 0
        print(f"ls, first (parses, writes logs/.journal-cache): {w * 1000:.0f} ms, {m:.0f} MB")
        figures: dict[str, list[tuple[float, float]]] = {"ls": [], "note": [], "tag": [], "status": []}
        mid = a.runs // 2
        for i in range(a.repeat):
            for name, cmd in (
                ("note", cli + ["note", f"training_{mid + i}", f"bench note {i}"]),
                ("tag", cli + ["tag", f"training_{mid - i}", f"t{i}"]),
                ("status", [sys.executable, "-c", STATUS, j, f"training_{mid + 100 + i}",
                            ("finished", "failed", "killed")[i % 3]]),
                ("ls", cli + ["ls"]),
            ):
                w, m, p = run_child(cmd, lab)
                assert p.returncode == 0, (name, p)
                figures[name].append((w, m))
        small = lab / "small"
        small.mkdir()
        (small / "experiments.toml").write_text('[runs.a]\nstatus = "finished"\n')
        base = [run_child([sys.executable, "-m", "tui.cli", "--journal", str(small / "experiments.toml"),
                           "note", "a", "x"], small)[0] for _ in range(a.repeat)]
        print(f"baseline: `labtui note` on a 1-run journal (CLI start + imports) median "
              f"{statistics.median(base) * 1000:.0f} ms")
        targets = {"note": (300, 100), "tag": (300, 100), "status": (300, 100), "ls": (1000, None)}
        for name, vals in figures.items():
            ms = [w * 1000 for w, _ in vals]
            mb = max(m for _, m in vals)
            tms, tmb = targets[name]
            ok = statistics.median(ms) < tms and (tmb is None or mb < tmb)
            print(f"{name:<7} median {statistics.median(ms):5.0f} ms, max {max(ms):5.0f} ms, "
                  f"peak RSS {mb:4.0f} MB  (target < {tms} ms{f', < {tmb} MB' if tmb else ''}) "
                  f"{'ok' if ok else 'MISSED'}")
        # the journal is still one valid TOML file with every run
        from tui.core.journal import Journal, tomllib
        data = tomllib.loads(Path(j).read_text())
        assert len(data["runs"]) == a.runs and Journal(j).read() == data
        print("journal re-parsed in full: every run there, cache agrees")
    return 0


if __name__ == "__main__":
    sys.exit(main())
