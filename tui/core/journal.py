"""The journal: ``experiments.toml``.

A human reads and edits this file in an editor, so every labtui write goes through
tomlkit (comments, key order and formatting survive).  Reads that only list use the
fast ``tomllib`` parser.

Writes are serialised by a *sidecar* lock (``experiments.toml.lock``; the journal
itself cannot be locked because ``os.replace`` swaps its inode) and land atomically:
temp file in the same folder, fsync, ``os.replace``, fsync of the folder.

A journal that does not parse is never rewritten: :class:`JournalError` names the
file, line and column, and the file stays byte-identical.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import hashlib
import os
import pickle
import re
from pathlib import Path
from typing import Any, Iterator

try:  # Python 3.11+
    import tomllib  # novermin (3.10 falls back to tomli below)
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

import tomlkit
from tomlkit.exceptions import ParseError

from .errors import UserError
from .fsio import write_atomic

DEFAULT_NAME = "experiments.toml"
RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
MAX_ID_LEN = 128
CACHE_MIN_BYTES = 64 * 1024


def toml_error(path, text: str, err: Exception) -> str:
    """``FILE:LINE:COL: invalid TOML: MESSAGE`` for a tomllib/tomlkit parse error of ``text``."""
    msg = str(err)
    line = getattr(err, "lineno", None) or getattr(err, "line", None)
    col = getattr(err, "colno", None) or getattr(err, "col", None)
    m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
    if m:
        line, col = int(m.group(1)), int(m.group(2))
        msg = msg[: m.start()].strip()
    elif re.search(r"\(at end of document\)", msg):
        line = text.count("\n") + 1
        col = len(text.rsplit("\n", 1)[-1]) + 1
        msg = msg.replace("(at end of document)", "").strip()
    msg = re.sub(r"\s+at line \d+ col \d+$", "", msg)
    where = f"{path}:{line}:{col}" if line else str(path)
    return f"{where}: invalid TOML: {msg}"


class JournalError(UserError):
    """The journal cannot be read or written (message names file, line and column)."""


def default_path() -> Path:
    return Path(os.environ.get("LABTUI_JOURNAL") or DEFAULT_NAME)


def validate_run_id(run_id: str) -> str:
    """Return ``run_id`` if it is a safe folder name, else raise UserError."""
    if not isinstance(run_id, str) or not run_id:
        raise UserError("invalid run id '': use letters, digits and . _ -")
    if (
        len(run_id) > MAX_ID_LEN
        or not RUN_ID_RE.match(run_id)
        or run_id in (".", "..")
        or ".." in run_id
    ):
        raise UserError(
            f"invalid run id {run_id!r}: use letters, digits and . _ - "
            f"(start with a letter or digit, no '..', at most {MAX_ID_LEN} characters)"
        )
    return run_id


def now() -> _dt.datetime:
    """Local time with offset, second precision: what the journal stores."""
    return _dt.datetime.now().astimezone().replace(microsecond=0)


class Journal:
    """One ``experiments.toml`` and its lab folder (``logs/`` beside it)."""

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path is not None else default_path()
        self.path = self.path.absolute()

    # ------------------------------------------------------------------ paths
    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    def run_dir(self, run_id: str) -> Path:
        return self.logs_dir / validate_run_id(run_id)

    # ------------------------------------------------------------------ reads
    def read_text(self) -> str | None:
        try:
            return self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except UnicodeDecodeError as e:
            raise JournalError(f"{self.path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
        except OSError as e:
            raise JournalError(f"{self.path}: cannot read: {e.strerror}") from None

    def read(self) -> dict[str, Any]:
        """Parse with tomllib (fast); ``{}`` when the file does not exist.

        A large journal's parse is cached in ``logs/.journal-cache`` keyed on a hash of
        its bytes (tomllib is pure Python: ~170 ms for a 1,000-run journal, the cache
        ~10 ms).  The cache is only ever a copy: a mismatch or a bad cache re-parses.
        """
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as e:
            raise JournalError(f"{self.path}: cannot read: {e.strerror}") from None
        if len(raw) < CACHE_MIN_BYTES:
            return self._parse_fast(self._decode(raw))
        digest = hashlib.blake2b(raw, digest_size=16).digest()
        cache = self.logs_dir / ".journal-cache"
        try:
            with open(cache, "rb") as f:
                if f.read(16) == digest:
                    data = pickle.load(f)
                    if isinstance(data, dict):
                        return data
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ValueError, ImportError):
            pass
        data = self._parse_fast(self._decode(raw))
        try:
            self.logs_dir.mkdir(exist_ok=True)
            write_atomic(cache, digest + pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL))
        except OSError:
            pass  # a read-only lab still lists
        return data

    def _decode(self, raw: bytes) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as e:
            line = raw[: e.start].count(b"\n") + 1
            raise JournalError(f"{self.path}:{line}: not UTF-8 text ({e.reason}); the journal was not changed") from None

    def _parse_fast(self, text: str) -> dict[str, Any]:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise JournalError(self._where(text, e)) from None
        self._check_shape(data)
        return data

    def _where(self, text: str, err: Exception) -> str:
        return f"{toml_error(self.path, text, err)} (the journal was not changed)"

    def _check_shape(self, data: dict) -> None:
        for section in ("experiments", "runs"):
            if section in data and not isinstance(data[section], dict):
                raise JournalError(f"{self.path}: '{section}' must be a table ([{section}.NAME])")
            for key, val in (data.get(section) or {}).items():
                if not isinstance(val, dict):
                    raise JournalError(f"{self.path}: {section}.{key} must be a table")

    # ----------------------------------------------------------------- writes
    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)

    @contextlib.contextmanager
    def edit(self) -> Iterator[Any]:
        """Yield a tomlkit document under the lock; write it atomically on success.

        An exception inside the block writes nothing.  A file that does not parse
        raises JournalError before the block runs and is left untouched.
        """
        with self.lock():
            text = self.read_text()
            original = text
            if text is None:
                text = ""
            # tomllib first: it is strict where tomlkit is lenient, and its errors are clear.
            if text:
                self._parse_fast(text)
            try:
                doc = tomlkit.parse(text)
            except ParseError as e:  # pragma: no cover - tomllib caught it already
                raise JournalError(self._where(text, e)) from None
            yield doc
            new_text = tomlkit.dumps(doc)
            if new_text == original:
                return
            # Never write something we could not read back.
            self._parse_fast(new_text)
            write_atomic(self.path, new_text, fsync_dir=True)  # keeps the file's mode


def table(doc: Any, *keys: str) -> Any:
    """Return ``doc[k1][k2]...``, creating (super-)tables on the way.

    The ``runs`` and ``experiments`` containers are created as *super tables* so that
    tomlkit writes ``[runs.training_1]`` instead of an empty ``[runs]`` header.
    """
    cur = doc
    for i, key in enumerate(keys):
        if key not in cur:
            t = tomlkit.table(is_super_table=(i == 0 and len(keys) > 1))
            cur.append(key, t)
        cur = cur[key]
    return cur
