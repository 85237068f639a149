"""The trainers' contract, tested with real processes (``python -m trainers.X``, ``torchrun``).

Sizes are tiny (flags) so the whole file runs in well under a minute on 2 CPU cores; processes
that do not depend on each other run side by side.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch


ROOT = Path(__file__).resolve().parents[1]

TINY = {
    "gan": ["--hidden", "16", "--depth", "2", "--batch-size", "32"],
    "charlm": ["--d-model", "16", "--heads", "2", "--layers", "1", "--block", "16",
               "--batch-size", "4", "--val-batches", "1", "--sample-chars", "0", "--warmup", "3"],
    "cnn": ["--width", "4", "--batch-size", "16", "--warmup", "3"],
}
CADENCE = ["--log-every", "2", "--eval-every", "4", "--ckpt-every", "3", "--threads", "1"]
N = 8  # resume point (not a multiple of --ckpt-every: the end-of-run save is the one used)


def _env(extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("LABTUI_") and k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra or {})
    return env


def start(name: str, *args: str, env: dict | None = None, torchrun: bool = False) -> subprocess.Popen:
    if torchrun:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m", f"trainers.{name}", *args]
    else:
        cmd = [sys.executable, "-m", f"trainers.{name}", *args]
    return subprocess.Popen(cmd, cwd=ROOT, env=_env(env), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(p: subprocess.Popen, timeout: float = 120) -> tuple[int, str, str]:
    out, err = p.communicate(timeout=timeout)
    return p.returncode, out, err


def run_all(procs: list[subprocess.Popen]) -> list[tuple[int, str, str]]:
    return [finish(p) for p in procs]


def metrics(run_dir: Path) -> list[dict]:
    """Metrics lines without the volatile fields (wall time, throughput)."""
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(l).items() if k != "time" and not k.endswith("_per_s")}
            for l in lines]


def latest(run_dir: Path) -> str:
    return (run_dir / "checkpoints" / "latest").read_text().strip()


def ckpt(run_dir: Path, step: int) -> dict:
    return torch.load(run_dir / "checkpoints" / f"step-{step}" / "state.pt", weights_only=True)


def wait_for_lines(path: Path, n: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and len(path.read_text().splitlines()) >= n:
            return
        if proc.poll() is not None:
            raise AssertionError(f"trainer ended early: {proc.communicate()}")
        time.sleep(0.05)
    raise AssertionError(f"no {n} metrics lines in {path} after {timeout}s")


def _tensors_equal(a, b) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_tensors_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_tensors_equal(x, y) for x, y in zip(a, b))
    if torch.is_tensor(a):
        return torch.equal(a, b)
    return a == b


# --------------------------------------------------------------------------- exact resume

@pytest.fixture(scope="module")
def base_runs(tmp_path_factory):
    """For each trainer, a straight 2N-step run and a run of the same plan (schedules span 2N
    steps) that stops after N steps (--stop-at), all started side by side."""
    root = tmp_path_factory.mktemp("base")
    procs, dirs = {}, {}
    for name in TINY:
        for kind, stop in (("straight", []), ("first", ["--stop-at", str(N)])):
            d = dirs[name, kind] = root / f"{name}-{kind}"
            procs[name, kind] = start(name, "--out", str(d), "--steps", str(2 * N), *stop, *TINY[name], *CADENCE)
    results = {k: finish(p) for k, p in procs.items()}
    # then resume each N-step run the way labtui does it: environment variables, a new run folder
    for name in TINY:
        d = dirs[name, "second"] = root / f"{name}-second"
        procs[name, "second"] = start(name, "--steps", str(2 * N), *TINY[name], *CADENCE, env={
            "LABTUI_RUN_DIR": str(d),
            "LABTUI_RESUME_FROM": str(dirs[name, "first"] / "checkpoints" / f"step-{N}")})
    results.update({(name, "second"): finish(procs[name, "second"]) for name in TINY})
    return dirs, results


@pytest.mark.parametrize("name", ["gan", "charlm", "cnn"])
def test_resume_is_bit_identical(tmp_path, base_runs, name):
    dirs, results = base_runs
    straight, first, second = dirs[name, "straight"], dirs[name, "first"], dirs[name, "second"]
    for kind in ("straight", "first", "second"):
        rc, out, err = results[name, kind]
        assert rc == 0, err
        assert out.count("hparams {") == 1 and "device cpu" in out  # printed once at start
    assert latest(first) == f"step-{N}"
    assert f"stopped at step {N} (--stop-at)" in results[name, "first"][1]
    assert f"resumed at step {N}" in results[name, "second"][1]

    full, a, b = metrics(straight), metrics(first), metrics(second)
    assert [m["step"] for m in a] == [2, 4, 6, 8]
    assert [m["step"] for m in b] == [10, 12, 14, 16]  # the new run continues at the resumed step
    assert full == a + b  # step by step, every value bit-identical
    assert any("val_loss" in m or "swd" in m for m in b)  # evaluation lines included
    # the final states agree too: model, optimizer, scheduler, RNG, data position
    s_full, s_res = ckpt(straight, 2 * N), ckpt(second, 2 * N)
    for key in s_full:
        if key != "args":
            assert _tensors_equal(s_full[key], s_res[key]), key


# --------------------------------------------------------------------------- signals

def test_sigterm_saves_and_resume_continues_and_a_second_signal_exits_at_once(tmp_path):
    run1, run2, run3 = tmp_path / "run1", tmp_path / "run2", tmp_path / "run3"
    p = start("gan", "--out", str(run1), "--steps", "100000", *TINY["gan"],
              "--log-every", "5", "--eval-every", "0", "--ckpt-every", "0")
    # side by side: a run with steps long enough (~1 s) that a second signal lands while the
    # first stop is still pending
    q = start("charlm", "--out", str(run3), "--steps", "1000", "--d-model", "192", "--layers", "2",
              "--block", "128", "--batch-size", "32", "--log-every", "1", "--eval-every", "0",
              "--ckpt-every", "0", "--sample-chars", "0")

    wait_for_lines(run1 / "metrics.jsonl", 2, p)
    p.send_signal(signal.SIGTERM)
    rc, out, err = finish(p, timeout=60)
    assert rc == 143, (rc, err)
    assert "SIGTERM received" in err
    k = int(latest(run1).removeprefix("step-"))
    assert k >= 10
    assert (run1 / "checkpoints" / f"step-{k}" / "state.pt").is_file()
    assert not list((run1 / "checkpoints").glob("*.tmp"))
    assert metrics(run1)[-1]["step"] == k  # a final metrics line at the stop step
    assert f"stopped by SIGTERM at step {k}" in out

    wait_for_lines(run3 / "metrics.jsonl", 1, q)
    # Python runs one handler for signals that arrive together, so keep signalling (every
    # 5 ms, far quicker than a step plus a save) until the second one has been seen.
    deadline = time.monotonic() + 20
    while q.poll() is None and time.monotonic() < deadline:
        q.send_signal(signal.SIGINT)
        time.sleep(0.005)
    rc, out, err = finish(q, timeout=30)
    assert rc == 128 + signal.SIGINT
    assert "SIGINT received" in err and "SIGINT again: exiting now without saving" in err
    assert not (run3 / "checkpoints" / "latest").exists()

    rc, out, err = finish(start("gan", "--out", str(run2), "--resume", str(run1), "--stop-at", str(k + 5),
                                *TINY["gan"], "--log-every", "5", "--eval-every", "0"))
    assert rc == 0, err
    assert f"resumed at step {k}" in out
    steps = [m["step"] for m in metrics(run2)]
    assert steps[0] > k and steps[-1] == k + 5
    assert f"stopped at step {k + 5} (--stop-at)" in out
    assert latest(run2) == f"step-{k + 5}"


# --------------------------------------------------------------------------- crashed saves

def test_crashed_save_is_skipped_on_resume(tmp_path, base_runs):
    base = tmp_path / "base"
    shutil.copytree(base_runs[0]["gan", "first"], base)
    ck = base / "checkpoints"
    assert sorted(p.name for p in ck.iterdir()) == ["latest", "step-3", "step-6", "step-8"]

    # a save that died half way (a newer step-12.tmp/ with a truncated file), and a 'latest'
    # that points at a checkpoint that is not there
    (ck / "step-12.tmp").mkdir()
    (ck / "step-12.tmp" / "state.pt").write_bytes(b"PK\x03\x04trunc")
    (ck / "latest").write_text("step-12\n")
    before = {p: p.read_bytes() for p in base.rglob("*") if p.is_file()}

    rc, out, err = finish(start("gan", "--out", str(tmp_path / "r1"), "--resume", str(base),
                                "--steps", "10", *TINY["gan"], *CADENCE))
    assert rc == 0, err
    assert "resumed at step 8" in out
    assert metrics(tmp_path / "r1")[0]["step"] == 10
    warnings = [l for l in err.splitlines() if l.startswith("warning:")]
    assert any("latest" in l and "step-12" in l and "step-8" in l for l in warnings), err
    assert any("step-12.tmp" in l for l in warnings), err
    # the source run was only read
    assert before == {p: p.read_bytes() for p in base.rglob("*") if p.is_file()}


# --------------------------------------------------------------------------- torchrun

def test_torchrun_two_ranks_finishes_and_resumes(tmp_path):
    flags = TINY["cnn"] + CADENCE
    run1, run2 = tmp_path / "ddp1", tmp_path / "ddp2"
    rc, out, err = finish(start("cnn", "--out", str(run1), "--steps", "8", *flags, torchrun=True))
    assert rc == 0, err[-3000:]
    assert "world 2 (gloo)" in out
    assert out.count("hparams {") == 1  # rank 0 only prints
    assert [m["step"] for m in metrics(run1)] == [2, 4, 6, 8]  # rank 0 only writes
    st = ckpt(run1, 8)
    assert st["world_size"] == 2 and len(st["rng_per_rank"]) == 2
    assert latest(run1) == "step-8"

    rc, out, err = finish(start("cnn", "--out", str(run2), "--resume", str(run1), "--steps", "12",
                                *flags, torchrun=True))
    assert rc == 0, err[-3000:]
    assert "resumed at step 8" in out
    assert [m["step"] for m in metrics(run2)] == [10, 12]
    assert latest(run2) == "step-12"


# --------------------------------------------------------------------------- bad input

def test_bad_hyperparameters_exit_2_and_overwrite_nothing(tmp_path, base_runs):
    run = tmp_path / "run"
    shutil.copytree(base_runs[0]["cnn", "first"], run)
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in run.rglob("*") if p.is_file()}
    cases = {
        "negative lr": ["--lr", "-0.1"],
        "unknown flag": ["--bogus", "3"],
        "missing checkpoint": ["--resume", str(tmp_path / "nope")],
        "fresh run over existing checkpoints": [],
    }
    procs = {k: start("cnn", "--out", str(run), "--steps", "8", *TINY["cnn"], *v) for k, v in cases.items()}
    for what, p in procs.items():
        rc, out, err = finish(p)
        assert rc == 2, (what, rc, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "error:" in lines[0], (what, err)
        assert "Traceback" not in err
        if what == "negative lr":
            assert "--lr" in err
    after = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in run.rglob("*") if p.is_file()}
    assert after == before


@pytest.mark.parametrize("name", ["gan", "charlm", "cnn"])
def test_help_lists_the_contract_flags(name):
    # the parser the module's __main__ uses; `python -m trainers.X --help` prints exactly this
    module = __import__(f"trainers.{name}", fromlist=["build_parser"])
    text = module.build_parser().format_help()
    for flag in ("--steps", "--stop-at", "--batch-size", "--resume", "--out", "--device", "--keep",
                 "--threads", "--seed", "--log-every", "--ckpt-every"):
        assert flag in text
    assert {"gan": "--g-lr", "charlm": "--warmup", "cnn": "--lr"}[name] in text
    assert "examples:" in text and "behaviour:" in text
