"""The labtui trainer contract, shared by every trainer in this package.

A trainer built on this module

* reads its hyperparameters from argv (``make_parser``) and prints them once with the device;
* appends one JSON line per logging step to ``<run dir>/metrics.jsonl`` and prints the same
  values as a readable line (``Run.log``);
* saves checkpoints atomically: ``checkpoints/step-N.tmp/`` -> fsync -> rename to
  ``checkpoints/step-N/`` -> ``checkpoints/latest`` (text, e.g. ``step-1200``) replaced
  atomically; keeps the last ``--keep`` (``Run.save``);
* resumes from ``$LABTUI_RESUME_FROM`` or ``--resume PATH`` (a checkpoint, a ``checkpoints/``
  folder or a run folder) with model, optimizer, scheduler, step, RNG and data position, so that
  a resumed run is bit-identical to a straight one on CPU (``Run.resume_state``);
* on SIGINT/SIGTERM finishes the current step, saves, writes a final metrics line and exits
  with 128+signum; a second signal exits at once (``Run.stop_requested``, ``Run.finish``);
* runs on CUDA when available, else CPU, and under ``torchrun`` (rank 0 writes).

Run folder: ``$LABTUI_RUN_DIR`` when set (labtui sets it), else ``--out DIR``, else
``runs/<trainer>-<timestamp>``.  Exit codes: 0 done, 2 usage error (bad flag/value, missing or
unusable checkpoint, run folder that already holds checkpoints), 128+signum interrupted.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any, Callable

import torch

EXIT_USAGE = 2
CKPT_FILE = "state.pt"
META_FILE = "meta.json"
_STEP_RE = re.compile(r"^step-(\d+)$")
_TMP_RE = re.compile(r"^step-(\d+)\.tmp$")
_EXIT_HARD = False  # set once a distributed run has finished cleanly (see main_wrapper)


class UsageError(Exception):
    """A problem with the command line or the files it names: one line, exit 2."""


# --------------------------------------------------------------------------- argv

class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (``prog: error: ...``) and exit status 2."""

    def error(self, message: str):  # noqa: D102 - argparse API
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (v > 0 and math.isfinite(v)):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return v


def nonneg_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (v >= 0 and math.isfinite(v)):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return v


def unit_float(text: str) -> float:
    v = nonneg_float(text)
    if v >= 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return v


def positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return v


def nonneg_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return v


def make_parser(prog: str, description: str, *, steps: int, batch_size: int,
                log_every: int, eval_every: int, ckpt_every: int,
                epilog: str | None = None) -> argparse.ArgumentParser:
    """A parser with the flags every trainer shares; the trainer adds its own."""
    p = _Parser(prog=prog, description=description, epilog=epilog,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_argument_group("run (shared by all labtui trainers)")
    g.add_argument("--steps", type=positive_int, default=steps,
                   help="total optimisation steps; a resumed run continues up to this (default %(default)s)")
    g.add_argument("--stop-at", metavar="STEP", type=positive_int, default=None,
                   help="end this process after STEP with a checkpoint (exit 0) while schedules still "
                        "span --steps: for jobs split into time-limited chunks")
    g.add_argument("--batch-size", type=positive_int, default=batch_size,
                   help="batch size per process (default %(default)s)")
    g.add_argument("--seed", type=int, default=0, help="random seed (default %(default)s)")
    g.add_argument("--log-every", type=positive_int, default=log_every,
                   help="metrics line every N steps (default %(default)s)")
    g.add_argument("--eval-every", type=nonneg_int, default=eval_every,
                   help="held-out evaluation every N steps, 0 = never (default %(default)s)")
    g.add_argument("--ckpt-every", type=nonneg_int, default=ckpt_every,
                   help="checkpoint every N steps, 0 = only at the end/stop (default %(default)s)")
    g.add_argument("--keep", type=positive_int, default=3,
                   help="keep the last K checkpoints (default %(default)s)")
    g.add_argument("--out", metavar="DIR", default=None,
                   help="run folder when not run by labtui ($LABTUI_RUN_DIR wins when set)")
    g.add_argument("--resume", metavar="PATH", default=None,
                   help="checkpoint, checkpoints/ folder or run folder to resume from "
                        "($LABTUI_RESUME_FROM wins when set)")
    g.add_argument("--device", default="auto",
                   help="auto (CUDA when available), cpu, cuda or cuda:N (default %(default)s)")
    g.add_argument("--threads", type=nonneg_int, default=1,
                   help="CPU threads for torch, 0 = torch's default (default %(default)s)")
    return p


def parse_args(parser: argparse.ArgumentParser, argv=None) -> argparse.Namespace:
    return parser.parse_args(argv)


# --------------------------------------------------------------------------- small helpers

def warn(msg: str) -> None:
    print(f"warning: {msg}", file=sys.stderr, flush=True)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_file_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def warmup_cosine(warmup: int, total: int, min_ratio: float) -> Callable[[int], float]:
    """LR multiplier: linear warmup over ``warmup`` steps, then cosine down to ``min_ratio``."""

    def f(step: int) -> float:
        if warmup > 0 and step < warmup:
            return (step + 1) / warmup
        t = min(1.0, (step - warmup) / max(1, total - warmup))
        return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * t))

    return f


def set_base_lrs(optimizer: torch.optim.Optimizer, scheduler, base_lrs: list[float]) -> None:
    """After a resume, apply learning rates given on the command line (they may differ from the
    checkpoint's): the schedule continues from its step with the new base rates."""
    if scheduler is None:
        for g, lr in zip(optimizer.param_groups, base_lrs):
            g["lr"] = lr
        return
    scheduler.base_lrs = list(base_lrs)
    for g, lr in zip(optimizer.param_groups, base_lrs):
        g["initial_lr"] = lr
    lam = getattr(scheduler, "lr_lambdas", None)
    if lam is not None:
        for g, lr, fn in zip(optimizer.param_groups, base_lrs, lam):
            g["lr"] = lr * fn(scheduler.last_epoch)
        scheduler._last_lr = [g["lr"] for g in optimizer.param_groups]


class EpochSampler:
    """Shuffled epochs over ``n`` items; the position (epoch, offset) is the whole state, so a
    resumed run reads exactly the batches a straight run would. Under DDP every rank takes its
    slice of the same global batch."""

    def __init__(self, n: int, batch_size: int, seed: int, rank: int = 0, world: int = 1):
        self.n, self.bs, self.seed, self.rank, self.world = n, batch_size, seed, rank, world
        self.epoch, self.offset = 0, 0
        self._perm: torch.Tensor | None = None

    def _permutation(self) -> torch.Tensor:
        if self._perm is None:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
            self._perm = torch.randperm(self.n, generator=g)
        return self._perm

    def next(self) -> torch.Tensor:
        step = self.bs * self.world
        if self.offset + step > self.n:  # drop the ragged tail, start a new epoch
            self.epoch, self.offset, self._perm = self.epoch + 1, 0, None
        start = self.offset + self.rank * self.bs
        idx = self._permutation()[start:start + self.bs]
        self.offset += step
        return idx

    @property
    def progress(self) -> float:
        return self.epoch + self.offset / self.n

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "offset": self.offset, "seed": self.seed}

    def load_state_dict(self, d: dict) -> None:
        self.epoch, self.offset, self._perm = int(d["epoch"]), int(d["offset"]), None


# --------------------------------------------------------------------------- RNG

def rng_state() -> dict:
    st = {"python": random.getstate(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        st["cuda"] = torch.cuda.get_rng_state_all()
    return st


def set_rng_state(st: dict) -> None:
    random.setstate(_as_tuple(st["python"]))
    torch.set_rng_state(st["torch"])
    if "cuda" in st and torch.cuda.is_available():
        try:
            torch.cuda.set_rng_state_all(st["cuda"])
        except Exception as e:  # different number of GPUs
            warn(f"could not restore CUDA RNG state ({e}); continuing with the seeded state")


def _as_tuple(x):
    return tuple(_as_tuple(i) for i in x) if isinstance(x, (list, tuple)) else x


# --------------------------------------------------------------------------- checkpoints

def _complete_steps(ckdir: Path) -> list[int]:
    steps = []
    if ckdir.is_dir():
        for p in ckdir.iterdir():
            m = _STEP_RE.match(p.name)
            if m and (p / CKPT_FILE).is_file():
                steps.append(int(m.group(1)))
    return sorted(steps)


def resolve_checkpoint(path: str | os.PathLike) -> Path:
    """Turn a checkpoint, a ``checkpoints/`` folder or a run folder into one complete checkpoint
    directory. Incomplete saves (``step-N.tmp/``, a ``latest`` pointing nowhere) are skipped with
    a warning on stderr. Raises UsageError when there is nothing to resume from."""
    p = Path(path).expanduser()
    if not p.exists():
        raise UsageError(f"checkpoint path does not exist: {p}")
    if p.is_file():
        if p.name == "latest":
            p = p.parent
        elif p.name == CKPT_FILE:
            return p.parent
        else:
            raise UsageError(f"not a checkpoint folder: {p}")
    if (p / CKPT_FILE).is_file():
        if _TMP_RE.match(p.name):
            raise UsageError(f"{p} is an incomplete checkpoint (a save that did not finish)")
        return p
    if _TMP_RE.match(p.name):
        raise UsageError(f"{p} is an incomplete checkpoint (a save that did not finish)")
    ckdir = p / "checkpoints" if (p / "checkpoints").is_dir() else p
    steps = _complete_steps(ckdir)
    tmps = sorted(int(m.group(1)) for q in (ckdir.iterdir() if ckdir.is_dir() else [])
                  if (m := _TMP_RE.match(q.name)))
    if not steps:
        raise UsageError(f"no complete checkpoint under {ckdir}")
    chosen = None
    latest = ckdir / "latest"
    if latest.is_file():
        name = latest.read_text(encoding="utf-8").strip()
        m = _STEP_RE.match(name)
        if m and int(m.group(1)) in steps:
            chosen = int(m.group(1))
        else:
            warn(f"{latest} names {name!r}, which is not a complete checkpoint; "
                 f"using the newest complete one, step-{steps[-1]}")
    else:
        warn(f"{ckdir} has no 'latest' pointer; using the newest complete checkpoint, step-{steps[-1]}")
    if chosen is None:
        chosen = steps[-1]
    elif chosen != steps[-1]:
        warn(f"'latest' names step-{chosen} but step-{steps[-1]} is newer and complete; using step-{steps[-1]}")
        chosen = steps[-1]
    newer_tmp = [t for t in tmps if t >= chosen]
    if newer_tmp:
        warn("ignoring incomplete checkpoint(s) " + ", ".join(f"step-{t}.tmp" for t in newer_tmp)
             + f" (a save that did not finish); resuming from step-{chosen}")
    return ckdir / f"step-{chosen}"


def save_checkpoint(ckdir: Path, step: int, state: dict, meta: dict, keep: int) -> float:
    """Atomic save of ``state`` as ``ckdir/step-N``; returns seconds spent writing."""
    t0 = time.perf_counter()
    ckdir.mkdir(parents=True, exist_ok=True)
    final = ckdir / f"step-{step}"
    tmp = ckdir / f"step-{step}.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    if not final.exists():
        tmp.mkdir()
        with open(tmp / CKPT_FILE, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        meta = dict(meta, step=step, saved=time.time(),
                    save_seconds=round(time.perf_counter() - t0, 6),
                    bytes=(tmp / CKPT_FILE).stat().st_size)
        _write_file_synced(tmp / META_FILE, (json.dumps(meta) + "\n").encode())
        _fsync_dir(tmp)
        os.rename(tmp, final)
        _fsync_dir(ckdir)
    latest_tmp = ckdir / "latest.tmp"
    _write_file_synced(latest_tmp, f"step-{step}\n".encode())
    os.replace(latest_tmp, ckdir / "latest")
    _fsync_dir(ckdir)
    # keep the last K complete checkpoints; leftovers of crashed saves go too (one writer per run)
    for old in _complete_steps(ckdir)[:-keep]:
        if old != step:
            shutil.rmtree(ckdir / f"step-{old}", ignore_errors=True)
    for q in ckdir.iterdir():
        if _TMP_RE.match(q.name):
            shutil.rmtree(q, ignore_errors=True)
    return time.perf_counter() - t0


# --------------------------------------------------------------------------- the run

def _fmt(v: Any) -> str:
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            return str(v)
        a = abs(v)
        if a != 0 and (a < 1e-3 or a >= 1e5):
            return f"{v:.3e}"
        return f"{v:.4f}"
    return str(v)


class Run:
    """Everything around the training loop: device, distributed setup, run folder, metrics,
    checkpoints, resume and signals. Create it after parsing arguments."""

    def __init__(self, args: argparse.Namespace, name: str, *, distributed_ok: bool = False):
        self.args, self.name = args, name
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        self.is_main = self.rank == 0
        if self.world > 1 and not distributed_ok:
            raise UsageError(f"{name} runs in one process; use trainers.cnn for torchrun/DDP")

        # ---- resume source and run folder: validated before anything is written
        env_resume = os.environ.get("LABTUI_RESUME_FROM") or None
        if env_resume and args.resume and Path(env_resume) != Path(args.resume):
            self.note(f"LABTUI_RESUME_FROM={env_resume} takes precedence over --resume {args.resume}")
        src = env_resume or args.resume
        self.resume_path: Path | None = resolve_checkpoint(src) if src else None
        self._ckpt = self._load_checkpoint() if self.resume_path else None

        env_dir = os.environ.get("LABTUI_RUN_DIR") or None
        if env_dir and args.out and Path(env_dir) != Path(args.out):
            self.note(f"LABTUI_RUN_DIR={env_dir} takes precedence over --out {args.out}")
        if env_dir or args.out:
            self.run_dir = Path(env_dir or args.out).expanduser().absolute()
        else:
            self.run_dir = Path("runs", f"{name}-{time.strftime('%Y%m%d-%H%M%S')}").absolute()
        self.ckdir = self.run_dir / "checkpoints"
        if _complete_steps(self.ckdir) and self.resume_path is None:
            raise UsageError(f"{self.run_dir} already holds checkpoints; pass --resume {self.run_dir} "
                             "to continue it, or choose another --out")

        # ---- device
        dev = args.device
        if dev == "auto":
            dev = "cuda" if torch.cuda.is_available() else "cpu"
        if dev.startswith("cuda"):
            if not torch.cuda.is_available():
                raise UsageError(f"--device {args.device}: CUDA is not available here")
            if dev == "cuda":
                dev = f"cuda:{self.local_rank}" if self.world > 1 else "cuda"
        elif dev != "cpu":
            raise UsageError(f"--device must be auto, cpu, cuda or cuda:N, got {args.device!r}")
        try:
            self.device = torch.device(dev)
        except RuntimeError as e:
            raise UsageError(f"--device {args.device}: {e}") from None
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        if args.threads:
            torch.set_num_threads(args.threads)

        # ---- distributed
        if self.world > 1:
            import torch.distributed as dist
            backend = "nccl" if self.device.type == "cuda" else "gloo"
            dist.init_process_group(backend=backend)
            self.dist = dist
        else:
            self.dist = None

        torch.manual_seed(args.seed + self.rank)
        random.seed(args.seed + self.rank)

        self._stop_signal = 0
        self._signals_seen = 0
        self._announced = False
        self._last_logged = -1
        self._last_saved = -1
        self._metrics_f = None
        self._t_train = 0.0
        self._n_train = 0
        self._install_signals()
        if self.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self._metrics_f = open(self.run_dir / "metrics.jsonl", "a", encoding="utf-8")

    # ---- printing
    def note(self, msg: str) -> None:
        if getattr(self, "is_main", True):
            print(msg, file=sys.stderr, flush=True)

    def print(self, msg: str) -> None:
        if self.is_main:
            print(msg, flush=True)

    def header(self, extra: dict | None = None) -> None:
        """Hyperparameters and device, once, at start."""
        hp = {k: v for k, v in sorted(vars(self.args).items())}
        dev = str(self.device)
        if self.device.type == "cuda":
            dev += f" ({torch.cuda.get_device_name(self.device)})"
        else:
            dev += f" ({torch.get_num_threads()} threads)"
        world = f" | world {self.world} ({self.dist.get_backend()})" if self.dist else ""
        self.print(f"{self.name} | device {dev}{world} | torch {torch.__version__} | run dir {self.run_dir}")
        if self.resume_path:
            self.print(f"resume from {self.resume_path}")
        self.print("hparams " + json.dumps(hp, sort_keys=True))
        if extra:
            self.print("model " + " ".join(f"{k}={_fmt(v)}" for k, v in extra.items()))

    # ---- signals
    def _install_signals(self) -> None:
        for s in (signal.SIGINT, signal.SIGTERM):
            signal.signal(s, self._on_signal)

    def _on_signal(self, signum, frame) -> None:
        # Python may run the second signal's handler inside the first one (between two of its
        # bytecodes): whichever runs, the first signal is announced before the second exits.
        self._signals_seen += 1
        if self._signals_seen > 1:
            self._announce(self._stop_signal or signum)
            sys.stderr.write(f"{signal.Signals(signum).name} again: exiting now without saving\n")
            sys.stderr.flush()
            os._exit(128 + signum)
        self._stop_signal = signum
        self._announce(signum)

    def _announce(self, signum) -> None:
        if self.is_main and not self._announced:
            sys.stderr.write(f"{signal.Signals(signum).name} received: finishing the step, "
                             "saving a checkpoint (send again to exit at once)\n")
            sys.stderr.flush()
            self._announced = True  # after the write: a handler preempting it writes it too

    def stop_requested(self, step: int | None = None) -> bool:
        """True once a stop signal arrived (on any rank under DDP: all ranks agree) or ``step``
        reached --stop-at."""
        at_limit = bool(step is not None and self.args.stop_at and step >= self.args.stop_at)
        if self.dist is None:
            return self._stop_signal != 0 or at_limit
        t = torch.tensor([self._stop_signal], dtype=torch.int64,
                         device=self.device if self.device.type == "cuda" else "cpu")
        self.dist.all_reduce(t, op=self.dist.ReduceOp.MAX)
        if t.item() and not self._stop_signal:
            self._stop_signal = int(t.item())
        return self._stop_signal != 0 or at_limit

    # ---- timing for throughput
    def step_timer(self):
        run = self

        class _T:
            def __enter__(self):
                self.t0 = time.perf_counter()

            def __exit__(self, *exc):
                run._t_train += time.perf_counter() - self.t0
                run._n_train += 1

        return _T()

    def throughput(self) -> float:
        """Training steps per second since the previous call (evaluation and saves excluded)."""
        r = self._n_train / self._t_train if self._t_train > 0 else 0.0
        self._t_train, self._n_train = 0.0, 0
        return r

    # ---- metrics
    def log(self, step: int, values: dict[str, float], *, epoch: float | None = None,
            units: str = "") -> None:
        """One metrics line: JSON to metrics.jsonl (rank 0) and a readable stdout line."""
        if step == self._last_logged:
            return
        self._last_logged = step
        if not self.is_main:
            return
        rec: dict[str, Any] = {"step": step}
        if epoch is not None:
            rec["epoch"] = round(epoch, 4)
        rec["time"] = round(time.time(), 3)
        for k, v in values.items():
            rec[k] = float(v) if isinstance(v, (float, int)) or torch.is_tensor(v) else v
        self._metrics_f.write(json.dumps(rec) + "\n")
        self._metrics_f.flush()
        parts = [f"step {step}"]
        if epoch is not None:
            parts.append(f"epoch {epoch:.2f}")
        main = " ".join(f"{k} {_fmt(float(v))}" for k, v in values.items() if not k.endswith("_per_s"))
        parts.append(main)
        rates = [(k, float(v)) for k, v in values.items() if k.endswith("_per_s")]
        if rates:
            parts.append(" ".join(f"{v:.0f} {k[:-6]}/s" if v >= 1000 else f"{v:.1f} {k[:-6]}/s"
                                  for k, v in rates))
        print(" | ".join(parts) + units, flush=True)

    # ---- checkpoints
    def _load_checkpoint(self) -> dict:
        try:
            state = torch.load(self.resume_path / CKPT_FILE, map_location="cpu", weights_only=True)
        except Exception as e:
            raise UsageError(f"cannot read checkpoint {self.resume_path}: {e}".splitlines()[0]) from None
        if not isinstance(state, dict) or state.get("trainer") != self.name:
            got = state.get("trainer") if isinstance(state, dict) else None
            raise UsageError(f"{self.resume_path} is a {got!r} checkpoint, not {self.name!r}")
        return state

    def resume_state(self) -> dict | None:
        """The checkpoint's state dict, or None. Call it after building model and optimizer: it
        restores the RNG states here; the trainer restores the rest (``load_module``)."""
        if self._ckpt is None:
            return None
        state = self._ckpt
        rngs = state.get("rng_per_rank") or []
        if len(rngs) != self.world:
            self.note(f"checkpoint saved with {len(rngs)} process(es), resuming with {self.world}: "
                      "RNG streams are re-seeded per rank")
            torch.manual_seed(self.args.seed + self.rank + 7919 * int(state["step"]))
            random.seed(self.args.seed + self.rank + 7919 * int(state["step"]))
        else:
            set_rng_state(rngs[self.rank])
        old = state.get("args", {})
        changed = {k: (old[k], v) for k, v in vars(self.args).items()
                   if k in old and old[k] != v and k not in ("resume", "out", "steps", "stop_at")}
        if changed:
            self.print("resume: changed " + ", ".join(f"--{k.replace('_', '-')} {a} -> {b}"
                                                    for k, (a, b) in changed.items()))
        self._last_saved = int(state["step"])
        return state

    def save(self, step: int, state: dict, meta: dict | None = None) -> None:
        """Collective under DDP: every rank calls it; rank 0 writes."""
        rng = rng_state()
        if self.dist is not None:
            rngs: list = [None] * self.world
            self.dist.all_gather_object(rngs, rng)
        else:
            rngs = [rng]
        if self.is_main and step != self._last_saved:
            full = dict(state, trainer=self.name, step=step, args=vars(self.args),
                        rng_per_rank=rngs, world_size=self.world)
            secs = save_checkpoint(self.ckdir, step, full, dict(meta or {}, trainer=self.name), self.args.keep)
            self.print(f"checkpoint step-{step} saved ({secs:.2f}s) -> {self.ckdir / f'step-{step}'}")
        self._last_saved = step
        if self.dist is not None:
            self.dist.barrier()

    def maybe_save(self, step: int, make_state: Callable[[], dict]) -> None:
        if self.args.ckpt_every and step % self.args.ckpt_every == 0:
            self.save(step, make_state())

    def finish(self, step: int, make_state: Callable[[], dict], last_values: dict | None,
               epoch: float | None = None) -> int:
        """Final metrics line and checkpoint; returns the exit status (0 or 128+signum)."""
        if last_values is not None and step != self._last_logged:
            self.log(step, last_values, epoch=epoch)
        if step != self._last_saved:
            self.save(step, make_state())
        if self._metrics_f:
            self._metrics_f.close()
        code = 128 + self._stop_signal if self._stop_signal else 0
        if self._stop_signal:
            self.print(f"stopped by {signal.Signals(self._stop_signal).name} at step {step}; "
                       f"resume with --resume {self.run_dir}")
        elif step < self.args.steps:
            self.print(f"stopped at step {step} (--stop-at); resume with --resume {self.run_dir}")
        else:
            self.print(f"done: {step} steps")
        if self.dist is not None:
            self.dist.barrier()
            self.dist.destroy_process_group()
            global _EXIT_HARD
            _EXIT_HARD = True
        return code


def load_module(obj, sd: dict, what: str) -> None:
    """``obj.load_state_dict(sd)`` with a one-line UsageError when the shapes do not fit
    (e.g. the model flags differ from the checkpoint's)."""
    try:
        obj.load_state_dict(sd)
    except (RuntimeError, ValueError, KeyError) as e:
        raise UsageError(f"checkpoint {what} does not fit this model "
                         f"({str(e).strip().splitlines()[0][:200]}); were the model flags changed?") from None


def main_wrapper(fn: Callable[[list[str] | None], int], prog: str) -> None:
    """Entry point helper: UsageError -> one line on stderr, exit 2."""
    try:
        code = fn(None)
    except UsageError as e:
        print(f"{prog}: error: {e}", file=sys.stderr, flush=True)
        code = EXIT_USAGE
    sys.stdout.flush()
    if _EXIT_HARD:
        # A rank whose work is done (metrics closed, checkpoint saved, barrier passed, process
        # group destroyed) leaves without interpreter teardown: torch's gloo/c10d threads can
        # still be joinable then, and std::terminate would turn a finished run into SIGABRT
        # ("terminate called without an active exception", seen on CPU torchrun).
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
