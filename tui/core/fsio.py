"""One home for atomic file writes and tolerant JSON reads.

Every file labtui writes that another process may read at the same moment (the journal,
a run's exit/kill/state records, caches) is written here: a temp file in the same folder,
fsync, ``os.replace``; a reader sees the old file or the new one, never half of either.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def write_atomic(path: str | os.PathLike, data: bytes | str, *, mode: int | None = None,
                 fsync_dir: bool = False) -> None:
    """Replace ``path`` with ``data`` atomically (temp file + fsync + ``os.replace``).

    ``mode`` sets the new file's permission bits (default: the old file's, else 0o644).
    On any error the temp file is removed and the old file is left as it was.
    """
    path = Path(path)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if mode is None:
        try:
            mode = os.stat(path).st_mode & 0o7777
        except OSError:
            mode = 0o644
    fd, tmp = tempfile.mkstemp(prefix="." + path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError) and e.filename is None and e.errno is not None:
            # a failed write(2)/fsync names no file: name the one we were replacing
            raise OSError(e.errno, e.strerror, str(path)) from e
        raise
    if fsync_dir:
        try:
            dfd = os.open(path.parent, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(dfd)
        except OSError:
            pass
        finally:
            os.close(dfd)


def write_json_atomic(path: str | os.PathLike, data: Any) -> None:
    write_atomic(path, json.dumps(data, ensure_ascii=False))


def read_json(path: str | os.PathLike) -> dict | None:
    """A JSON object from ``path``; None if missing, unreadable or not an object (never raises)."""
    try:
        with open(path, "rb") as f:
            data = json.loads(f.read().decode("utf-8"))
        return data if isinstance(data, dict) else None
    except (OSError, ValueError, RecursionError):
        return None
