"""A fixed lab for app tests: journal entries, run folders and metric files written directly.

Every status is derived from files: exit.json (finished/failed/killed), a dead pid (lost),
and a real ``sleep`` process carrying LABTUI_RUN_ID for running/starting runs.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import math
import os
import subprocess
from pathlib import Path

from tui.core import fsio, procs
from tui.core.gpus import GpuInfo, GpuProcess, GpuSnapshot, HostInfo

TZ = dt.timezone(dt.timedelta(hours=8))
T0 = dt.datetime(2026, 5, 13, 8, 0, 0, tzinfo=TZ)
NOW = (T0 + dt.timedelta(hours=2)).timestamp()  # the fixed clock of every app test
GIB = 1024 ** 3


def clock() -> float:
    return NOW


def curve(step: int, lr: float = 1e-3, seed: int = 0) -> float:
    base = 2.0 * math.exp(-step * lr / 0.6) + 0.15 + 0.05 * seed / 12
    return round(base + 0.03 * math.sin(step * 0.37 + seed), 6)


class Lab:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.journal = self.root / "experiments.toml"
        self.logs = self.root / "logs"
        self.procs: list[subprocess.Popen] = []
        self.runs: list[str] = []
        self._text = [
            '# the lab journal\n',
            '[experiments.gan]\n',
            'command = "python -m trainers.gan --g-lr {g_lr} --d-lr {d_lr} --steps {steps}"\n',
            'params = { g_lr = 1e-4, d_lr = 4e-4, steps = 2000 }\n\n',
            '[experiments.ablation]\n',
            'command = "python -m trainers.gan --lr {lr} --dropout {dropout} --steps {steps}"\n',
            'params = { lr = 1e-3, dropout = 0.1, steps = 600 }\n\n',
        ]

    # ------------------------------------------------------------------ building
    def run(self, rid: str, experiment: str, status: str, params: dict, start_min: float,
            dur_min: float | None = None, parent: str | None = None, resume_step: int | None = None,
            gpus: list | None = None, notes: list[str] = (), tags: list[str] = (),
            metrics: list[dict] | None = None, log: list[str] | None = None, exit_code: int | None = None,
            signal: str | None = None) -> "Lab":
        d = self.logs / rid
        d.mkdir(parents=True, exist_ok=True)
        started = T0 + dt.timedelta(minutes=start_min)
        lines = [f"[runs.{json.dumps(rid)}]\n" if "." in rid else f"[runs.{rid}]\n",
                 f'experiment = "{experiment}"\n']
        if parent:
            lines.append(f'parent = "{parent}"\n')
            lines.append(f'resumed_from = "logs/{parent}/checkpoints/step-{resume_step}"\n')
            lines.append(f"resume_step = {resume_step}\n")
        cmd = "python -m trainers.gan " + " ".join(f"--{k} {v}" for k, v in params.items())
        lines.append(f"command = {json.dumps(cmd)}\n")
        lines.append("params = { " + ", ".join(f"{k} = {_toml(v)}" for k, v in params.items()) + " }\n")
        if gpus is not None:
            lines.append(f"gpus = {json.dumps(gpus)}\n")
        recorded = "running" if status in ("running", "lost") else ("starting" if status == "starting" else status)
        lines.append(f'status = "{recorded}"\n')
        lines.append(f"started = {started.isoformat()}\n")
        if notes:
            lines.append("notes = [\n" + "".join(
                f'  {{ at = {(started + dt.timedelta(minutes=5 + i)).isoformat()}, text = {json.dumps(n)} }},\n'
                for i, n in enumerate(notes)) + "]\n")
        if tags:
            lines.append(f"tags = {json.dumps(list(tags))}\n")
        lines.append("\n")
        self._text.extend(lines)
        if status in ("finished", "failed", "killed"):
            ended = started + dt.timedelta(minutes=dur_min or 10)
            code = exit_code if exit_code is not None else {"finished": 0, "failed": 1, "killed": None}[status]
            sig = signal or ("SIGTERM" if status == "killed" else None)
            fsio.write_json_atomic(d / "exit.json", {"code": code, "signal": sig, "ended": ended.isoformat(),
                                                      "killed": status == "killed"})
        elif status in ("running", "starting"):
            p = subprocess.Popen(["sleep", "600"], env={**os.environ, "LABTUI_RUN_ID": rid},
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.procs.append(p)
            ct = procs.create_time(p.pid)
            if status == "running":
                fsio.write_json_atomic(d / "state.json", {"shim_pid": p.pid, "shim_create": ct,
                                                           "pid": p.pid, "create_time": ct, "pgid": p.pid})
            else:
                fsio.write_json_atomic(d / "state.json", {"shim_pid": p.pid, "shim_create": ct})
        elif status == "lost":
            fsio.write_json_atomic(d / "state.json", {"shim_pid": 999999, "shim_create": 1.0,
                                                       "pid": 999998, "create_time": 1.0, "pgid": 999998})
        if metrics:
            with open(d / "metrics.jsonl", "w") as f:
                for m in metrics:
                    f.write(json.dumps(m) + "\n")
            os.utime(d / "metrics.jsonl", (NOW - 30, NOW - 30))
        with open(d / "output.log", "w") as f:
            f.write("".join(line + "\n" for line in (log or [f"{rid}: hello"])))
        os.utime(d / "output.log", (NOW - 30, NOW - 30))
        self.runs.append(rid)
        return self

    def write(self) -> Path:
        self.journal.write_text("".join(self._text), encoding="utf-8")
        return self.journal

    def close(self) -> None:
        for p in self.procs:
            p.kill()
            p.wait()


def _toml(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v)
    return repr(v)


def series(start: int, end: int, every: int = 10, lr: float = 1e-3, seed: int = 0, t0: float | None = None,
           nan_at: int | None = None, cliff_at: int | None = None, acc: bool = True) -> list[dict]:
    out = []
    t0 = t0 if t0 is not None else T0.timestamp()
    for s in range(start, end + 1, every):
        loss = curve(s, lr, seed)
        if cliff_at is not None and s >= cliff_at:
            loss += 3.0
        row = {"step": s, "epoch": round(s / 200, 3), "time": t0 + s * 0.5, "loss": loss,
               "lr": lr}
        if acc:
            row["acc"] = round(1 - loss / 3, 4)
        if nan_at is not None and s >= nan_at:
            row["loss"] = float("nan")
        out.append(row)
    return out


LITERAL_LOG = [
    "loading data",
    "[bold]x[/] is not markup, [red]neither is this[/red]",
    "an escape: \x1b]0;retitled\x07 and a cursor move \x1b[2J done",
    "\x1b[32mgreen ok\x1b[0m and \x1b[1;31mbold red\x1b[0m",
    "epoch 1:  10%|#         | 10/100\repoch 1: 100%|##########| 100/100",
    "step 800 loss 0.674",
]


def standard_lab(root: Path) -> Lab:
    """Runs in every status, a resume chain, the lab1..lab12 ablation, one NaN run."""
    lab = Lab(root)
    t = T0.timestamp()
    lab.run("training_8", "gan", "finished", {"g_lr": 1e-4, "d_lr": 4e-4, "steps": 2000}, 0, 40, gpus=[0],
            metrics=series(0, 2000, 20), notes=["baseline"])
    lab.run("training_11", "gan", "killed", {"g_lr": 1e-4, "d_lr": 1e-4, "steps": 2000}, 10, 30, gpus=[0],
            metrics=series(0, 800, 20, seed=3), notes=["converging, keep going", "[bold]x[/] not markup"],
            log=LITERAL_LOG)
    lab.run("training_11.1", "gan", "failed", {"g_lr": 1e-4, "d_lr": 1e-4, "steps": 2000}, 45, 12, gpus=[0],
            parent="training_11", resume_step=800, metrics=series(800, 1200, 20, seed=3, t0=t + 45 * 60 - 400),
            log=["resuming from step-800", "Traceback (most recent call last):",
                 '  File "train.py", line 3, in <module>', "RuntimeError: CUDA error: device-side assert"])
    lab.run("training_11.2", "gan", "running", {"g_lr": 1e-4, "d_lr": 1e-4, "steps": 2000}, 60,
            gpus=[1], parent="training_11.1", resume_step=1200,
            metrics=series(1200, 1640, 20, seed=3, t0=NOW - 1640 * 0.5 - 30))
    lab.run("sweep_3", "gan", "starting", {"g_lr": 2e-4, "d_lr": 4e-4, "steps": 2000}, 119, gpus=[2])
    lab.run("sweep_1", "gan", "lost", {"g_lr": 3e-4, "d_lr": 4e-4, "steps": 2000}, 20, gpus=[3],
            metrics=series(0, 300, 20, seed=5))
    for i in range(1, 13):
        lr = [1e-3, 3e-3, 1e-2][(i - 1) % 3]
        drop = [0.0, 0.1, 0.3, 0.5][(i - 1) // 3]
        kw = {}
        if i == 7:
            kw = dict(metrics=series(0, 600, 10, lr=lr, seed=i, nan_at=420), status="failed", exit_code=1)
        elif i == 12:
            kw = dict(metrics=series(0, 380, 10, lr=lr, seed=i), status="running")
        else:
            kw = dict(metrics=series(0, 600, 10, lr=lr, seed=i), status="finished")
        status = kw.pop("status")
        lab.run(f"lab{i}", "ablation", status, {"lr": lr, "dropout": drop, "steps": 600}, 30 + i, 8,
                tags=["ablation"] + (["best"] if i == 4 else []), **kw)
    lab.write()
    return lab


class FixedSampler:
    """A stand-in Sampler: the same snapshot and history every time (deterministic screens)."""

    def __init__(self, snap, hist=None):
        self.snap = snap
        self.hist = hist or {}

    def latest(self):
        return self.snap

    def history(self, i):
        return collections.deque(self.hist.get(i, ()))


HOST = HostInfo(cpu_percent=37.5, mem_used=21 * GIB, mem_total=64 * GIB, load1=1.5, load5=1.2,
                load15=0.9, cpu_count=16)


def no_gpu() -> FixedSampler:
    return FixedSampler(GpuSnapshot(ok=False, reason="NVML Shared Library Not Found", host=HOST,
                                    taken_at=NOW))


def four_gpus() -> FixedSampler:
    gpus = [
        GpuInfo(0, "NVIDIA A100-SXM4-80GB", "GPU-0", 97, 71 * GIB, 80 * GIB, 71, 312.0, 400.0),
        GpuInfo(1, "NVIDIA A100-SXM4-80GB", "GPU-1", 88, 40 * GIB, 80 * GIB, 66, 280.5, 400.0),
        GpuInfo(2, "NVIDIA A100-SXM4-80GB", "GPU-2", 0, 1 * GIB, 80 * GIB, 34, 61.0, 400.0),
        GpuInfo(3, "NVIDIA A100-SXM4-80GB", "GPU-3", lost=True, error="GPU is lost (fell off the bus?)"),
    ]
    procs_ = [GpuProcess(101, 1, 39 * GIB, "training_11.2", False, True, "me", True, "python"),
              GpuProcess(102, 0, 70 * GIB, None, True, True, "bob", False, "python")]
    hist = {i: [(NOW - 60 + k, (k * 7 * (i + 1)) % 100, 0) for k in range(60)] for i in range(3)}
    return FixedSampler(GpuSnapshot(ok=True, reason=None, gpus=gpus, processes=procs_, host=HOST,
                                    taken_at=NOW), hist)
