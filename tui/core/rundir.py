"""RunDir: the one place that knows a run folder's file names.

``logs/<run-id>/`` holds what the processes of a run wrote: the trainer's ``output.log``
and ``metrics.jsonl``, the shim's ``spec.json`` / ``state.json`` / ``exit.json`` /
``shim.log``, a Slurm run's ``slurm.sh`` / ``slurm.out``, the launch's ``code.diff`` (uncommitted changes), a labtui kill's ``kill.json`` / ``kill.log``, the user hook's ``hooks.log``, the trainer's checkpoints
(``checkpoints/step-N/`` + ``checkpoints/latest``) and two caches that are safe to delete.
Nothing else in labtui spells these names.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from .fsio import read_json, write_json_atomic

_STEP_RE = re.compile(r"step[-_=]?(\d+)$")

# Lab-level files of the queue (tui.core.runs.queue), in the logs folder beside the run folders.
QUEUE_FILE = "queue.json"    # the lab's queue order
QUEUE_LOCK = ".queue.lock"   # the lab-wide lock every claim, cancel and move takes
FILL_LOCK = ".metrics-fill.lock"  # held by the lab's background metrics fill (tui.core.lsfill)


def checkpoint_step(path: Path | str | None) -> int | None:
    """The step a checkpoint's name says (``step-800`` → 800), or None."""
    if path is None:
        return None
    m = _STEP_RE.search(Path(path).name)
    return int(m.group(1)) if m else None


class RunDir:
    LOG = "output.log"
    METRICS = "metrics.jsonl"
    SPEC = "spec.json"
    STATE = "state.json"
    EXIT = "exit.json"
    KILL = "kill.json"
    SHIM_LOG = "shim.log"
    KILL_LOG = "kill.log"
    HOOKS_LOG = "hooks.log"
    CHECKPOINTS = "checkpoints"
    LATEST = "latest"
    METRICS_CACHE = ".metrics-cache"
    FLAGS_CACHE = ".flags-cache"
    CODE_DIFF = "code.diff"
    SLURM_SCRIPT = "slurm.sh"  # a Slurm run's batch script (tui.core.slurm.submit)
    SLURM_OUT = "slurm.out"    # Slurm's own output of the job (#SBATCH --output); the trainer's is output.log
    SHIM_LOCK = "shim.lock"  # a queued run's shim holds an flock on it for its whole life

    __slots__ = ("path",)

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, RunDir) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    def __fspath__(self) -> str:
        return os.fspath(self.path)

    # ------------------------------------------------------------------ paths
    @property
    def name(self) -> str:
        return self.path.name

    @property
    def log(self) -> Path:
        return self.path / self.LOG

    @property
    def metrics(self) -> Path:
        return self.path / self.METRICS

    @property
    def spec_file(self) -> Path:
        return self.path / self.SPEC

    @property
    def state_file(self) -> Path:
        return self.path / self.STATE

    @property
    def exit_file(self) -> Path:
        return self.path / self.EXIT

    @property
    def kill_file(self) -> Path:
        return self.path / self.KILL

    @property
    def shim_log(self) -> Path:
        return self.path / self.SHIM_LOG

    @property
    def shim_lock(self) -> Path:
        return self.path / self.SHIM_LOCK

    @property
    def kill_log(self) -> Path:
        return self.path / self.KILL_LOG

    @property
    def hooks_log(self) -> Path:
        return self.path / self.HOOKS_LOG

    @property
    def checkpoints_dir(self) -> Path:
        return self.path / self.CHECKPOINTS

    @property
    def code_diff(self) -> Path:
        return self.path / self.CODE_DIFF

    @property
    def slurm_script(self) -> Path:
        return self.path / self.SLURM_SCRIPT

    @property
    def slurm_out(self) -> Path:
        return self.path / self.SLURM_OUT

    @property
    def metrics_cache(self) -> Path:
        return self.path / self.METRICS_CACHE

    @property
    def flags_cache(self) -> Path:
        return self.path / self.FLAGS_CACHE

    def exists(self) -> bool:
        return self.path.is_dir()

    # ------------------------------------------------------------------ records
    def read_spec(self) -> dict | None:
        return read_json(self.spec_file)

    def read_state(self) -> dict:
        return read_json(self.state_file) or {}

    def read_exit(self) -> dict | None:
        return read_json(self.exit_file)

    def read_kill(self) -> dict | None:
        return read_json(self.kill_file)

    def has_exit(self) -> bool:
        return self.exit_file.exists()

    def kill_requested(self) -> bool:
        return self.kill_file.exists()

    def write_spec(self, data: dict) -> None:
        write_json_atomic(self.spec_file, data)

    def write_state(self, data: dict) -> None:
        write_json_atomic(self.state_file, data)

    def write_exit(self, data: dict) -> None:
        write_json_atomic(self.exit_file, data)

    def write_kill(self, data: dict) -> None:
        write_json_atomic(self.kill_file, data)

    # ------------------------------------------------------------------ checkpoints
    def checkpoints(self) -> list[Path]:
        """Complete checkpoints (``step-N`` folders, no ``.tmp``), oldest step first."""
        found = []
        try:
            with os.scandir(self.checkpoints_dir) as it:
                for entry in it:
                    step = checkpoint_step(entry.name)
                    if step is not None and not entry.name.endswith(".tmp") and entry.is_dir():
                        found.append((step, Path(entry.path)))
        except OSError:
            return []
        return [p for _, p in sorted(found)]

    def latest_pointer(self) -> str | None:
        """The name ``checkpoints/latest`` names, or None."""
        try:
            name = (self.checkpoints_dir / self.LATEST).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            return None
        return name or None

    def latest_checkpoint(self) -> Path | None:
        """The newest complete checkpoint: ``checkpoints/latest`` if valid, else the highest step-N."""
        name = self.latest_pointer()
        if name and "/" not in name and not name.endswith(".tmp"):
            p = self.checkpoints_dir / name
            if p.is_dir():
                return p
        cks = self.checkpoints()
        return cks[-1] if cks else None

    # ------------------------------------------------------------------ activity
    def last_output_mtime(self) -> float | None:
        """When the run last wrote its log or metrics file (None if neither exists)."""
        best = None
        for p in (self.log, self.metrics):
            try:
                m = p.stat().st_mtime
            except OSError:
                continue
            best = m if best is None else max(best, m)
        return best
