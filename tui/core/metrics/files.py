"""Where a run's metric files are: THE discovery rule of files beside the log.

``metric_files(rd, cwd=None, globs=(), start=None, end=None) -> list[Path]``, in priority order
(the first is the run's primary source, whose names stay plain when sources clash):
1. ``metrics.jsonl`` of the run folder (labtui trainers);
2. files found automatically in the run folder, up to ``DEPTH`` folders down: metrics CSV/TSV
   (``CSV_STEMS`` + ``.csv``/``.tsv``, Stable-Baselines ``monitor.csv``/``*.monitor.csv``), any
   ``*.jsonl`` and detectron2's ``metrics.json`` (JSON lines), TensorBoard ``events.out.tfevents.*``;
3. files declared by the experiment (``[experiments.X.metrics] files = ["runs/*/results.csv"]``:
   globs relative to the run's working folder, placeholders ``{run_dir}`` and ``{run_id}``);
   without declared files, the same automatic names in the run's working folder (its ``cwd``).
Files of the working folder (automatic, or declared by a glob without a placeholder) belong to
the run only when they were modified while it ran (``start`` - 2 s .. ``end`` + 60 s): the
working folder is shared by every run of a lab, and datasets (``train.jsonl``) are older.  The
journal's own run folders (``logs/``) and hidden, cache and checkpoint folders are not walked.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Iterable

from ..rundir import RunDir
from .tfevents import is_event_file

D2_METRICS = "metrics.json"      # detectron2's event storage: JSON lines despite the name
HF_STATE = "trainer_state.json"   # declared only: every HF checkpoint folder holds a copy
CSV_STEMS = ("metrics", "results", "progress", "history", "training", "log")
DEPTH = 3                      # folders below the run folder / working folder
MAX_ENTRIES = 20000            # directory entries looked at per walk (a huge working folder)
SKIP_DIRS = {"__pycache__", "node_modules", "site-packages", "venv", "env", "wandb", "mlruns",
             RunDir.CHECKPOINTS}
SLACK_BEFORE, SLACK_AFTER = 2.0, 60.0


def kind_of(path: Path) -> str | None:
    """``"jsonl" | "csv" | "tsv" | "tfevents"`` for a metric file name, else None."""
    name = path.name
    if is_event_file(name):
        return "tfevents"
    if name.endswith(".jsonl") or name == D2_METRICS or name.endswith("." + D2_METRICS):
        return "jsonl"  # detectron2 writes JSON lines to metrics.json
    stem, dot, ext = name.rpartition(".")
    if ext not in ("csv", "tsv") or not dot:
        return None
    if stem in CSV_STEMS or stem == "monitor" or stem.endswith(".monitor"):
        return ext
    return None


def declared_kind(path: Path) -> str:
    """The reader of a declared file: by name (``trainer_state.json``: the Hugging Face reader),
    else a CSV (``.tsv``: TSV), else text."""
    k = kind_of(path)
    if k:
        return k
    if path.name.endswith(HF_STATE):  # run1.trainer_state.json too
        return "hfstate"
    if path.suffix in (".csv", ".tsv"):
        return path.suffix[1:]
    return "text"


def _walk(root: Path, skip: set[str]) -> Iterable[Path]:
    budget = MAX_ENTRIES
    stack = [(str(root), 0)]
    while stack and budget > 0:
        top, depth = stack.pop()
        try:
            it = os.scandir(top)
        except OSError:
            continue
        with it:
            for e in it:
                budget -= 1
                if budget <= 0:
                    break
                try:
                    if e.is_dir(follow_symlinks=False):
                        if (depth < DEPTH and not e.name.startswith(".") and e.name not in SKIP_DIRS
                                and e.path not in skip):
                            stack.append((e.path, depth + 1))
                    elif e.is_file() and kind_of(Path(e.name)):
                        yield Path(e.path)
                except OSError:
                    continue


def _in_window(p: Path, start: float | None, end: float | None) -> bool:
    try:
        m = p.stat().st_mtime
    except OSError:
        return False
    if start is not None and m < start - SLACK_BEFORE:
        return False
    return end is None or m <= end + SLACK_AFTER


def expand(pattern: str, rd: RunDir, cwd: Path) -> list[Path]:
    """One declared glob (placeholders filled, relative to ``cwd``), sorted."""
    text = pattern.replace("{run_dir}", str(rd.path)).replace("{run_id}", rd.name)
    if not os.path.isabs(text):
        text = os.path.join(str(cwd), text)
    return [Path(p) for p in sorted(glob.glob(text, recursive=True)) if os.path.isfile(p)]


def metric_files(rd: RunDir, cwd: Path | None = None, globs: Iterable[str] = (),
                 start: float | None = None, end: float | None = None,
                 with_cwd: bool = True) -> list[Path]:
    """The run's metric files, primary first (see the module doc); no duplicates."""
    out: list[Path] = []
    seen: set[str] = set()

    def add(p: Path) -> None:
        key = os.path.realpath(p)
        if key not in seen:
            seen.add(key)
            out.append(p)

    try:
        st = rd.metrics.stat()
        if st.st_size > 0:
            add(rd.metrics)
    except OSError:
        pass
    for p in sorted(_walk(rd.path, set()), key=lambda p: (len(p.parts), str(p))):
        if p.name != RunDir.METRICS or p.parent != rd.path:
            add(p)
    if not with_cwd:
        return out
    base = cwd if cwd is not None else rd.path
    globs = list(globs)
    if globs:
        for g in globs:
            run_specific = "{run_dir}" in g or "{run_id}" in g
            for p in expand(g, rd, base):
                if run_specific or _in_window(p, start, end):
                    add(p)
    elif cwd is not None and cwd.is_dir() and os.path.realpath(cwd) != os.path.realpath(rd.path):
        logs = os.path.realpath(rd.path.parent)
        found = [p for p in _walk(cwd, {str(rd.path.parent), logs}) if _in_window(p, start, end)]
        for p in sorted(found, key=lambda p: (len(p.parts), str(p))):
            add(p)
    return out
