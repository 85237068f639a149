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

``own_files(rd, known)``: rule 2 with a record of the walk (``known``: the record it gave before),
kept in the run's flags cache: while every walked folder's mtime (and inode) is unchanged the
record answers with one stat per folder, no walk (a file added to or removed from a folder
changes that folder's mtime).  The run folder itself also changes whenever labtui saves a cache
there, so when its mtime differs the record is checked against one listing of it (its metric
files and sub-folders), and the record's ``tm`` says the mtime it was found to hold at (the
caller keeps it; ``tm`` 0: unknown).  A folder modified less than ``RACY_S`` before it was
looked at is never trusted by its mtime (a change within the same clock tick keeps the mtime).
"""

from __future__ import annotations

import glob
import os
import time
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
RACY_S = 2.0                   # a folder modified this recently is not trusted by its mtime


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


def _walk(root: Path, skip: set[str], seen: list | None = None) -> Iterable[Path]:
    """Metric files under ``root`` (``DEPTH`` folders down); ``seen`` (a list) receives
    ``[relative path, mtime_ns, inode]`` of each sub-folder listed (stat taken before its
    listing), then None if the walk stopped at ``MAX_ENTRIES``."""
    budget = MAX_ENTRIES
    stack = [(str(root), 0)]
    while stack and budget > 0:
        top, depth = stack.pop()
        try:
            if seen is not None and depth:
                st = os.stat(top)
                seen.append([os.path.relpath(top, root), st.st_mtime_ns, st.st_ino])
            it = os.scandir(top)
        except OSError:
            continue
        with it:
            for e in it:
                budget -= 1
                if budget <= 0:
                    if seen is not None:
                        seen.append(None)
                    break
                try:
                    if e.is_dir(follow_symlinks=False):
                        if depth < DEPTH and _walkable(e, skip):
                            stack.append((e.path, depth + 1))
                    elif e.is_file() and kind_of(Path(e.name)):
                        yield Path(e.path)
                except OSError:
                    continue


def _walkable(e: os.DirEntry, skip: set[str] | None = None) -> bool:
    return not e.name.startswith(".") and e.name not in SKIP_DIRS and (not skip or e.path not in skip)


def _top(root: Path) -> list:
    """What of the run folder's own listing the walk depends on: its metric files and the
    sub-folders it walks, sorted."""
    out = []
    with os.scandir(root) as it:
        for e in it:
            if e.is_dir(follow_symlinks=False):
                if _walkable(e):
                    out.append("d/" + e.name)
            elif kind_of(Path(e.name)):
                out.append(("f/" if e.is_file() else "-/") + e.name)
    out.sort()
    return out


def _racy(mtime_ns: int, now_ns: int) -> bool:
    return now_ns - mtime_ns < RACY_S * 1e9


def _holds(root: Path, rec: dict) -> int | None:
    """Whether a walk record still holds: None if not, else the run folder's mtime it is now
    known to hold at (0: not known, the folder was changed too recently to say)."""
    try:
        st = os.stat(root)
        tm = st.st_mtime_ns
        if tm != rec.get("tm") or st.st_ino != rec.get("ino"):
            if _top(root) != rec.get("top"):
                return None
            if _racy(tm, time.time_ns()):
                tm = 0
        for rel, mtime, ino in rec.get("dirs") or ():
            st = os.stat(os.path.join(root, rel))
            if st.st_mtime_ns != mtime or st.st_ino != ino:
                return None
    except (OSError, TypeError, ValueError):
        return None
    return tm


def own_files(rd: RunDir, known: dict | None = None) -> tuple[list[Path], dict | None]:
    """The metric files found in the run folder itself (rule 2, as ``metric_files`` orders them,
    the top ``metrics.jsonl`` included when found) and the record of that: ``known`` when it
    still holds (with ``tm`` updated), a new one after a walk, None when a walk cannot be kept
    (a folder changed just now, or too many entries)."""
    root = rd.path
    if isinstance(known, dict) and isinstance(known.get("files"), list):
        tm = _holds(root, known)
        if tm is not None:
            return [root / f for f in known["files"]], dict(known, tm=tm)
    now = time.time_ns()
    try:
        st = os.stat(root)
        top = _top(root)
    except OSError:
        return [], None
    seen: list = []
    found = sorted(_walk(root, set(), seen), key=lambda p: (len(p.parts), str(p)))
    rec: dict | None = {"tm": 0 if _racy(st.st_mtime_ns, now) else st.st_mtime_ns, "ino": st.st_ino,
                        "top": top, "dirs": seen, "files": [os.path.relpath(p, root) for p in found]}
    if None in seen or any(_racy(d[1], now) for d in seen):
        rec = None
    return found, rec


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
