"""A run's checkpoints: labtui's own layout and the globs a template declares.

labtui's own trainers write ``<run dir>/checkpoints/step-N/`` and a ``latest`` pointer
(:class:`tui.core.rundir.RunDir`).  Other trainers write where they like; a template says
where with ``checkpoints = ["{run_dir}/ckpt.pt", "output/checkpoint-*", ...]``: globs
relative to the run's working folder, with the run's params, ``{run_id}`` and ``{run_dir}``
filled in.  Each match becomes a :class:`Checkpoint` with the step its name says
(``step-400``, ``epoch=3-step=400.ckpt``, ``checkpoint-500``, ``model-803250``), or none
(``ckpt.pt``: ordered by modification time then).  Half-written ones are never offered:
names ending in ``.tmp`` or starting with ``tmp`` are skipped, and while the run is alive a
checkpoint modified in the last :data:`SETTLE_S` seconds is still growing (not complete).
"""

from __future__ import annotations

import glob
import os
import re
import string
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from .rundir import RunDir, checkpoint_step

SETTLE_S = 2.0
_STEP_RE = re.compile(r"step[-_=]?(\d+)")
_LAST_NUM_RE = re.compile(r"(\d+)(?!.*\d)")


@dataclass(frozen=True)
class Checkpoint:
    path: Path
    step: int | None
    mtime: float
    complete: bool = True
    newest: bool = False       # the newest complete one: what a resume uses by default

    @property
    def name(self) -> str:
        return self.path.name

    def to_json(self) -> dict:
        return {"path": str(self.path), "name": self.name, "step": self.step, "mtime": self.mtime,
                "complete": self.complete, "newest": self.newest}


def name_step(path: Path | str) -> int | None:
    """The step a checkpoint's name says: ``step-N``/``step=N`` anywhere, else its last number."""
    p = Path(path)
    s = checkpoint_step(p)
    if s is not None:
        return s
    stem = p.name if p.suffix == "" or p.suffix[1:].isdigit() else p.stem
    m = _STEP_RE.search(stem) or _LAST_NUM_RE.search(stem)
    return int(m.group(1)) if m else None


def half_written(name: str) -> bool:
    return name.endswith(".tmp") or name.startswith("tmp") or ".tmp." in name


def _mtime(p: Path) -> float:
    """A file's mtime; a folder's newest mtime of anything in it (a save still writing)."""
    try:
        best = p.stat().st_mtime
    except OSError:
        return 0.0
    if p.is_dir():
        for root, _dirs, files in os.walk(p):
            for f in files:
                try:
                    best = max(best, os.stat(os.path.join(root, f)).st_mtime)
                except OSError:
                    pass
    return best


def render_pattern(pattern: str, values: dict[str, Any]) -> str | None:
    """``pattern`` with ``{name}`` filled from ``values`` (None if it names an unknown one)."""
    try:
        names = [f for _l, f, _s, _c in string.Formatter().parse(pattern) if f is not None]
    except ValueError:
        return None
    if any(n not in values for n in names):
        return None
    return pattern.format_map({k: str(v) for k, v in values.items()})


def list_checkpoints(run_dir: Path | str, cwd: Path | str | None = None,
                     patterns: Iterable[str] | str | None = None, values: dict | None = None,
                     alive: bool = False, now: float | None = None) -> list[Checkpoint]:
    """Every checkpoint of a run, oldest first; the newest complete one has ``newest=True``."""
    rd = RunDir(run_dir)
    now = time.time() if now is None else now
    found: dict[Path, Checkpoint] = {}
    for p in rd.checkpoints():  # labtui's own layout: complete by construction (renamed into place)
        found[p] = Checkpoint(p, checkpoint_step(p), _mtime(p))
    if isinstance(patterns, str):
        patterns = [patterns]
    base = Path(cwd).expanduser() if cwd else rd.path.parent.parent
    vals = {"run_dir": str(rd.path), "run_id": rd.name, **(values or {})}
    for pat in patterns or []:
        text = render_pattern(str(pat), vals)
        if text is None:
            continue
        for m in sorted(glob.glob(os.path.join(str(base), os.path.expanduser(text)))):
            p = Path(m)
            if p in found or half_written(p.name):
                continue
            mt = _mtime(p)
            found[p] = Checkpoint(p, name_step(p), mt, complete=not (alive and now - mt < SETTLE_S))
    cks = list(found.values())
    if all(c.step is not None for c in cks):
        cks.sort(key=lambda c: (c.step, c.mtime))
    else:
        cks.sort(key=lambda c: c.mtime)
    own = rd.latest_checkpoint() if all(c.path.parent == rd.checkpoints_dir for c in cks) else None
    newest = own if own in found else next(
        (c.path for c in reversed(cks) if c.complete), None)
    return [Checkpoint(c.path, c.step, c.mtime, c.complete, c.path == newest) for c in cks]


def newest(cks: list[Checkpoint]) -> Checkpoint | None:
    return next((c for c in cks if c.newest), None)


def pick(cks: list[Checkpoint], spec: str) -> Checkpoint | None:
    """A listed checkpoint by step (``803250``), name (``checkpoint-500``) or path."""
    spec = spec.strip()
    if spec.isdigit():
        hits = [c for c in cks if c.step == int(spec)]
        if hits:
            return hits[-1]
    hits = [c for c in cks if c.name == spec or str(c.path) == spec]
    if hits:
        return hits[-1]
    try:
        target = Path(spec).expanduser().resolve()
    except (OSError, RuntimeError):
        return None
    return next((c for c in cks if c.path.resolve() == target), None)


def is_own_layout(path: Path | str) -> bool:
    """A checkpoint in labtui's layout (``.../checkpoints/step-N``): our trainers read
    ``$LABTUI_RESUME_FROM`` themselves."""
    p = Path(path)
    return p.parent.name == RunDir.CHECKPOINTS and checkpoint_step(p) is not None


# --------------------------------------------------------------------------- a run's view

def template_of(data: dict, experiment: str | None) -> dict:
    exps = data.get("experiments") or {}
    t = exps.get(experiment) if experiment else None
    return t if isinstance(t, dict) else {}


def run_cwd(info: Any) -> Path:
    """Where a run ran: its journal ``cwd``, else the lab folder (the journal's)."""
    cwd = (getattr(info, "extra", None) or {}).get("cwd")
    return Path(cwd) if isinstance(cwd, str) and cwd else Path(info.run_dir).parent.parent


def run_checkpoints(data: dict, info: Any, now: float | None = None) -> list[Checkpoint]:
    """A :class:`~tui.core.runs.RunInfo`'s checkpoints: its own layout plus its template's globs."""
    pats = template_of(data, info.experiment).get("checkpoints")
    if not isinstance(pats, (list, str)):
        pats = None
    values = {**(info.params or {}), "run_id": info.id, "run_dir": str(info.run_dir)}
    return list_checkpoints(info.run_dir, run_cwd(info), pats, values, alive=info.alive, now=now)
