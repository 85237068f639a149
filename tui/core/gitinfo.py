"""Which code ran: the git commit, branch and dirtiness of a run's working folder.

Asked at launch, time-boxed (:data:`BUDGET_S` for every git call together), and never an
error: no git, no work tree, a slow or broken repo all give ``None``.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

BUDGET_S = 3.0
DIFF_CAP = 1 << 20  # bytes of code.diff kept; a note says when more was cut


def _git(cwd: Path, deadline: float, *args: str) -> str | None:
    left = deadline - time.monotonic()
    if left <= 0:
        return None
    try:
        p = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, timeout=left,
                           stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    if p.returncode != 0:
        return None
    return p.stdout.decode("utf-8", "replace")


def git_info(cwd: Path | str, budget: float = BUDGET_S) -> tuple[dict | None, str | None]:
    """``({"commit", "branch", "dirty", "files"}, diff text)`` of the work tree holding ``cwd``,
    or ``(None, None)``.  The diff is ``git diff HEAD`` plus the untracked files' names,
    capped at :data:`DIFF_CAP` bytes."""
    deadline = time.monotonic() + budget
    cwd = Path(cwd)
    commit = _git(cwd, deadline, "rev-parse", "HEAD")
    if not commit:
        return None, None
    info: dict = {"commit": commit.strip()}
    branch = _git(cwd, deadline, "rev-parse", "--abbrev-ref", "HEAD")
    if branch:
        info["branch"] = branch.strip()
    status = _git(cwd, deadline, "status", "--porcelain", "--untracked-files=normal")
    if status is None:
        return info, None
    lines = [ln for ln in status.splitlines() if ln.strip()]
    info["dirty"] = bool(lines)
    info["files"] = len(lines)
    if not lines:
        return info, None
    diff = _git(cwd, deadline, "diff", "HEAD") or ""
    untracked = [ln[3:] for ln in lines if ln.startswith("??")]
    if untracked:
        diff += "\n# untracked files:\n" + "".join(f"#   {u}\n" for u in untracked)
    raw = diff.encode("utf-8")
    if len(raw) > DIFF_CAP:
        diff = raw[:DIFF_CAP].decode("utf-8", "ignore") + (
            f"\n# labtui: code.diff capped at {DIFF_CAP} bytes (the full diff was {len(raw)} bytes)\n")
    return info, diff


def run_code_differs(info, git_of) -> str | None:
    """``code differs: ... (vs ID)`` between a run (a ``RunInfo``) and the run it continues or was
    initialised from; ``git_of(id)`` gives that run's git record (None when unknown)."""
    other = info.parent or (info.extra or {}).get("init_from")
    if not isinstance(other, str):
        return None
    msg = code_differs(git_of(other), (info.extra or {}).get("git"))
    return f"{msg} (vs {other})" if msg else None


def code_differs(a: dict | None, b: dict | None) -> str | None:
    """``code differs: commit abc123 vs def456, 3 files changed`` between two runs' git records."""
    if not isinstance(a, dict) or not isinstance(b, dict):
        return None
    ca, cb = str(a.get("commit", "")), str(b.get("commit", ""))
    if not ca or not cb:
        return None
    if ca == cb and not a.get("dirty") and not b.get("dirty"):
        return None
    parts = [f"commit {ca[:7]}{'+dirty' if a.get('dirty') else ''} vs {cb[:7]}{'+dirty' if b.get('dirty') else ''}"]
    n = b.get("files")
    if b.get("dirty") and isinstance(n, int):
        parts.append(f"{n} file{'s' if n != 1 else ''} changed")
    return "code differs: " + ", ".join(parts)
