"""The demo lab: real runs of the bundled trainers (``labtui demo``; the CLI is tui/cli/demo.py).

The demo is an ablation a researcher would recognise: three GAN settings (the default
converges, ``r1 = 0`` collapses to one mode, ``g_lr = d_lr = 1e-2`` oscillates); the first
stops at a checkpoint and is then *resumed*, so the resume chain shows in the tree.
Everything goes through the core (``tui.core.runs``), exactly as the headless verbs do.
"""

from __future__ import annotations

import concurrent.futures as cf
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

from . import runs
from .errors import UserError
from .journal import Journal

JOURNAL_TEMPLATE = '''\
# labtui journal: experiment templates and every run ever launched.
#
# Edit it freely in your editor: labtui keeps your comments, order and formatting when it
# writes. `labtui run NAME --set key=value` starts a run from a template below; each run
# is recorded under [runs.<id>] with its command, params, status, times and your notes.
# Machine-owned fields (status, pid, create_time, started, ended, exit_code, signal) are
# written by labtui; notes, tags and verdict are yours.

[experiments.gan]
# A small GAN on a 2-D ring of 8 Gaussians with two learning rates (TTUR).
# Converges with the defaults; r1 = 0 collapses to one mode; g_lr = d_lr = 1e-2 oscillates.
command = "python -m trainers.gan --steps {steps} --g-lr {g_lr} --d-lr {d_lr} --g-weight {g_weight} --r1 {r1} --ckpt-every {ckpt_every}"
params = { steps = 30000, g_lr = 3e-4, d_lr = 1e-3, g_weight = 1.0, r1 = 0.1, ckpt_every = 250 }

[experiments.charlm]
# A character-level transformer on Python docstrings (train/val loss, lr schedule, tokens/s).
command = "python -m trainers.charlm --steps {steps} --lr {lr} --batch-size {batch_size}"
params = { steps = 500, lr = 3e-3, batch_size = 16 }

[experiments.cnn]
# A CNN on the 8x8 handwritten digits (loss, held-out accuracy).
command = "python -m trainers.cnn --steps {steps} --lr {lr}"
params = { steps = 900, lr = 3e-3 }

# Your own script, unchanged: labtui parses its output for curves. Optional extras:
# [experiments.ttur]
# command = "python train_ttur.py --batch_size {batch_size} --g_lr {g_lr} --d_lr {d_lr}"
# params = { batch_size = 4, g_lr = 1e-4, d_lr = 1e-4 }
# gpus = [0]                       # default GPUs (CUDA_VISIBLE_DEVICES); `--gpus auto` picks free ones
# [experiments.ttur.metrics]       # extra patterns for its log (see docs/metrics.md)
# patterns = ['Loss_perception: (?P<loss_perception>\\S+)']
'''

# (name, params) of the ablation.  The first one stops itself at RESUME_AT with a checkpoint
# (as a time-limited job would) and is resumed, so the demo shows a resume chain without a
# fourth process competing for a laptop's cores.
ABLATION = [
    ("gan-ttur", {"ckpt_every": 100}),
    ("gan-no-r1", {"r1": 0}),
    ("gan-high-lr", {"g_lr": 1e-2, "d_lr": 1e-2}),
]
RESUME_AT = 200


def ensure_lab(path: Path) -> Journal:
    path.mkdir(parents=True, exist_ok=True)
    j = Journal(path / "experiments.toml")
    if not j.path.exists():
        j.path.write_text(JOURNAL_TEMPLATE, encoding="utf-8")
    j.read()  # a broken journal is reported, never overwritten
    return j


def _unique(j: Journal, base: str) -> str:
    taken = set((j.read().get("runs") or {}).keys())
    if j.logs_dir.is_dir():
        taken.update(p.name for p in j.logs_dir.iterdir())
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def start(path: Path, say: Callable[[str], None] = print, wait_resume: float = 0.0) -> list[str]:
    """Launch the demo runs in the lab at ``path``; return their ids.

    With ``wait_resume`` > 0 wait (that many seconds at most) for the short run and resume it
    here; otherwise a detached helper resumes it while the app is already open.
    """
    j = ensure_lab(path)
    exps = j.read().get("experiments") or {}
    if "gan" not in exps:
        raise UserError(f"{j.path} has no [experiments.gan]: use a new folder for the demo")
    ids = []
    for i, (name, params) in enumerate(ABLATION):
        cmd = str(exps["gan"]["command"]) + (f" --stop-at {RESUME_AT}" if i == 0 else "")
        ids.append(runs.launch(j, experiment="gan", params=params, name=_unique(j, name), command=cmd))
    short = ids[0]  # its resume uses the plain template, so it goes on to the full steps
    say(f"labtui demo: started {', '.join(ids)} in {j.root}")
    if wait_resume > 0:
        resumed = resume_when_ready(j, short, wait_resume, say)
        if resumed:
            ids.append(resumed)
    else:
        _spawn_resumer(j, short)
        say(f"labtui demo: {short} stops at step {RESUME_AT}; it will be resumed as soon as it has")
    return ids


def resume_when_ready(j: Journal, short: str, timeout: float, say: Callable[[str], None]) -> str | None:
    """Wait for the short run to end with a checkpoint, then resume it (one note explains)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and runs.get_run(j, short).alive:
        time.sleep(0.2)
    info = runs.get_run(j, short)
    if info.alive or runs.latest_checkpoint(info.run_dir) is None:
        say(f"labtui demo: {short} has no checkpoint yet ({info.status}); resume it later with "
            f"`labtui resume {short}` or `r` in the app")
        return None
    resumed = runs.resume(j, short)
    runs.add_note(j, resumed, f"demo: resumed {short} from its step-{RESUME_AT} checkpoint")
    say(f"labtui demo: resumed {short} as {resumed}")
    return resumed


def _spawn_resumer(j: Journal, short: str) -> None:
    """A detached helper process does the resume, so the app opens at once."""
    log = open(j.logs_dir / short / "demo-resume.log", "ab")
    try:
        subprocess.Popen([sys.executable, "-m", "tui.core.demo", str(j.path), short],
                         stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
                         close_fds=True, env=runs.shim_env(), cwd=str(j.root))
    finally:
        log.close()


def existing_runs(path: Path) -> list:
    """The runs already in the demo lab at ``path`` (none when it has no journal yet)."""
    j = Journal(path / "experiments.toml")
    if not j.path.exists():
        return []
    return runs.list_runs(j)


def first_selected(infos: list) -> str | None:
    """The run the app opens on: the first running one whose curve keeps moving (not the one
    that stops at RESUME_AT on purpose), else the first running one, else the first run."""
    alive = [i for i in infos if i.alive]
    moving = [i for i in alive if "--stop-at" not in str(i.command or "")]
    pick = moving or alive or list(infos)
    return pick[0].id if pick else None


def stop(path: Path, grace: float = 10.0, say: Callable[[str], None] = print) -> int:
    j = Journal(path / "experiments.toml")
    if not j.path.exists():
        raise UserError(f"no demo lab at {path} (no experiments.toml)")
    alive = [r for r in runs.list_runs(j) if r.alive]
    if not alive:
        say(f"labtui demo: no run is running in {j.root}")
        return 0
    with cf.ThreadPoolExecutor(max_workers=len(alive)) as ex:
        futs = {ex.submit(runs.kill, j, r.id, grace, False, "labtui demo --stop"): r.id for r in alive}
        for f in cf.as_completed(futs):
            try:
                say(f"labtui demo: {futs[f]} {f.result()}")
            except UserError as e:  # ended by itself in the meantime
                say(f"labtui demo: {futs[f]}: {e}")
    return 0


if __name__ == "__main__":  # the detached resumer: python -m tui.core.demo JOURNAL RUN_ID
    _j, _short = Journal(sys.argv[1]), sys.argv[2]
    resume_when_ready(_j, _short, 600.0, print)
