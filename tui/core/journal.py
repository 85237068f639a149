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
import errno
import os
import re
from pathlib import Path
from typing import Any, Iterator

try:  # Python 3.11+
    import tomllib  # novermin (3.10 falls back to tomli below)
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

import tomlkit
from tomlkit.exceptions import ParseError

from . import journal_cache, journal_span
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


class UnknownRun(UserError):
    """:meth:`Journal.edit_run` of a run the journal does not have (nothing written)."""

    def __init__(self, run_id: str, known: list[str]):
        super().__init__(f"unknown run {run_id!r}")
        self.run_id, self.known = run_id, known


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
        self._kept: tuple[bytes, dict[str, Any]] | None = None  # read(keep=True): (bytes, parse)

    # ------------------------------------------------------------------ paths
    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    @property
    def target(self) -> Path:
        """The journal's real file (the journal itself unless it is a symlink)."""
        return Path(os.path.realpath(self.path))

    @property
    def lock_path(self) -> Path:
        t = self.target
        return t.with_name(t.name + ".lock")

    @property
    def cache_path(self) -> Path:
        return self.logs_dir / ".journal-cache"

    def run_dir(self, run_id: str) -> Path:
        return self.logs_dir / validate_run_id(run_id)

    # ------------------------------------------------------------------ reads
    def _raw(self) -> bytes | None:
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as e:
            raise JournalError(f"{self.path}: cannot read: {e.strerror}") from None

    def read_text(self) -> str | None:
        """The journal's text exactly as stored (no newline translation: a lone CR stays one)."""
        raw = self._raw()
        return None if raw is None else self._decode(raw)

    def read(self, keep: bool = False) -> dict[str, Any]:
        """Parse with tomllib (fast); ``{}`` when the file does not exist.

        A large journal's parse is cached in ``logs/.journal-cache`` (plain JSON, see
        :mod:`tui.core.journal_cache`) keyed on a hash of its bytes.  The cache is only ever a
        copy: a mismatch or a malformed cache re-parses.

        ``keep``: the next read of the very same bytes returns this parse (once) instead of
        parsing again: the app's first poll after the CLI checked the journal.  The caller
        must not change the dict it got.
        """
        raw = self._raw()
        kept, self._kept = self._kept, None
        if raw is None:
            return {}
        if kept is not None and kept[0] == raw:
            return kept[1]
        data = self._verified(raw, self._decode(raw))[0]
        if keep:
            self._kept = (raw, data)
        return data

    def _verified(self, raw: bytes, text: str) -> tuple[dict[str, Any], str | None]:
        """The parse of ``text`` (from the cache when it matches) and the hash it was cached under."""
        if len(raw) < CACHE_MIN_BYTES:
            return self._parse_fast(text), None
        want = journal_cache.digest(raw)
        data = journal_cache.load(self.cache_path, want)
        if data is not None:
            try:
                self._check_shape(data)
                return data, want
            except JournalError:
                pass  # a forged cache: parse the journal itself
        data = self._parse_fast(text)
        journal_cache.store(self.cache_path, want, data)
        return data, want

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
        except RecursionError:
            raise JournalError(f"{self.path}: invalid TOML: values nested too deeply "
                               "(the journal was not changed)") from None
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
        """The sidecar lock beside the journal's real file (a symlink and its target share it)."""
        try:
            self.lock_path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise JournalError(f"{self.lock_path}: cannot lock the journal: {e.strerror}; "
                               "nothing was changed") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)

    def _what(self, run_id: str | None, field: str | None) -> str:
        return "".join([f" (run {run_id}" if run_id else "",
                        f", field {field}" if run_id and field else "", ")" if run_id else ""])

    def _write(self, text: str, what: str = "") -> None:
        """Atomically replace the journal's real file (a symlink stays a symlink)."""
        target = self.target
        try:
            st = os.stat(target)
        except FileNotFoundError:
            st = None
        except OSError as e:
            raise JournalError(f"{self.path}: cannot write{what}: {e.strerror}; nothing was changed") from None
        if st is not None and not st.st_mode & 0o222:
            raise JournalError(f"{self.path}: the journal is read-only (mode {st.st_mode & 0o777:04o}){what}; "
                               "nothing was changed (chmod u+w to let labtui write it)")
        try:
            write_atomic(target, text, fsync_dir=True)  # keeps the file's mode
        except OSError as e:
            reason = "disk full" if e.errno == errno.ENOSPC else e.strerror
            raise JournalError(f"{self.path}: cannot write{what}: {reason}; nothing was changed") from None

    @contextlib.contextmanager
    def edit(self, run_id: str | None = None, field: str | None = None) -> Iterator[Any]:
        """Yield a tomlkit document under the lock; write it atomically on success.

        An exception inside the block writes nothing.  A file that does not parse raises
        JournalError before the block runs and is left untouched; so does one that tomlkit
        cannot parse, or whose edit does not read back as exactly what was edited.
        ``run_id`` / ``field`` only name what is being changed in error messages.
        """
        what = self._what(run_id, field)
        with self.lock():
            raw = self._raw()
            text = "" if raw is None else self._decode(raw)
            # tomllib first: it is strict where tomlkit is lenient, and its errors are clear.
            if text:
                self._verified(raw, text)
            doc = self._tomlkit(text, what)
            yield doc
            self._commit(doc, text, what)

    def _commit(self, doc: Any, text: str, what: str) -> None:
        """(Under the lock.) Write the edited whole document ``doc`` of ``text``, if it changed;
        never something that does not read back as exactly what was meant."""
        new_text = self._dump(doc, text, what)
        if new_text == text:
            return
        new_data = self._parse_fast(new_text)
        if not journal_span.same(new_data, self._unwrap(doc, what)):
            raise self._cannot_edit(what, None)
        self._write(new_text, what)
        self._store_cache(new_text, new_data)

    @contextlib.contextmanager
    def edit_run(self, run_id: str, field: str | None = None) -> Iterator[Any]:
        """Yield the run's tomlkit table under the lock; write it atomically on success.

        Only the run's own table span of the text is parsed, edited and replaced (see
        :mod:`tui.core.journal_span`) when that can be proven safe; otherwise the whole
        document is edited.  :class:`UnknownRun` if there is no such run (nothing written).
        """
        what = self._what(run_id, field)
        with self.lock():
            raw = self._raw()
            text = "" if raw is None else self._decode(raw)
            cached, ids, rec = self._run_record(raw, text, run_id)
            span = journal_span.locate(text, run_id, ids, rec)
            if span is None:
                doc = self._tomlkit(text, what)
                yield self._run_table(doc, run_id, what)
                self._commit(doc, text, what)
                return
            s, e = span
            piece = text[s:e]
            doc = self._tomlkit(piece, what)
            yield self._run_table(doc, run_id, what)
            new_piece = self._dump(doc, piece, what)
            if new_piece == piece:
                return
            if e < len(text) and not new_piece.endswith("\n"):
                new_piece += "\r\n" if piece.endswith("\r\n") else "\n"
            try:
                alone = tomllib.loads(new_piece)
            except (tomllib.TOMLDecodeError, RecursionError) as err:
                raise self._cannot_edit(what, err) from None
            if not journal_span.same(alone, self._unwrap(doc, what)) or list(alone) != ["runs"] \
                    or list(alone["runs"]) != [run_id]:
                raise self._cannot_edit(what, None)
            new_text = text[:s] + new_piece + text[e:]
            self._write(new_text, what)
            new_rec = alone["runs"][run_id]
            new_raw = new_text.encode("utf-8")
            if cached is None and raw is not None and len(raw) >= CACHE_MIN_BYTES:
                cached = journal_cache.open_cache(self.cache_path, journal_cache.digest(raw))  # just stored
            if cached is not None:
                journal_cache.update(self.cache_path, cached, journal_cache.digest(new_raw), run_id, new_rec)

    def _run_record(self, raw: bytes | None, text: str, run_id: str):
        """``(cache lines or None, every run id, the run's record)`` from a verified parse of ``text``.

        A large journal's cache, when it matches, is read for this run only.  UnknownRun if the
        journal has no such run.
        """
        if raw is not None and len(raw) >= CACHE_MIN_BYTES:
            cached = journal_cache.open_cache(self.cache_path, journal_cache.digest(raw))
            if cached is not None and cached.ids is not None and self._shape_ok(cached.rest):
                if run_id not in cached.index:
                    raise UnknownRun(run_id, cached.ids)
                rec = cached.record(run_id)
                if rec is not None:
                    return cached, cached.ids, rec
        data = self._verified(raw, text)[0] if text else {}
        runs = data.get("runs") or {}
        if run_id not in runs:
            raise UnknownRun(run_id, list(runs))
        return None, list(runs), runs[run_id]

    def _shape_ok(self, data: dict) -> bool:
        try:
            self._check_shape(data)
        except JournalError:
            return False
        return True

    def _store_cache(self, text: str, data: dict) -> None:
        raw = text.encode("utf-8")
        if len(raw) >= CACHE_MIN_BYTES:
            journal_cache.store(self.cache_path, journal_cache.digest(raw), data)

    def _tomlkit(self, text: str, what: str) -> Any:
        try:
            return tomlkit.parse(text)
        except ParseError as e:  # pragma: no cover - tomllib caught it already
            raise JournalError(self._where(text, e)) from None
        except Exception as e:  # tomlkit raises assorted errors on valid TOML (RecursionError too)
            raise self._cannot_edit(what, e) from None

    def _dump(self, doc: Any, original: str, what: str) -> str:
        try:
            new = tomlkit.dumps(doc)
        except Exception as e:  # RecursionError included
            raise self._cannot_edit(what, e) from None
        if "\r\n" in original and original.count("\r\n") == original.count("\n"):
            new = re.sub(r"(?<!\r)\n", "\r\n", new)  # a CRLF journal stays CRLF
        return new

    def _unwrap(self, doc: Any, what: str) -> Any:
        try:
            return doc.unwrap()
        except Exception as e:  # RecursionError included
            raise self._cannot_edit(what, e) from None

    def _run_table(self, doc: Any, run_id: str, what: str) -> Any:
        try:
            return doc["runs"][run_id]
        except Exception as e:  # RecursionError included
            raise self._cannot_edit(what, e) from None

    def _cannot_edit(self, what: str, err: BaseException | None) -> JournalError:
        why = f" ({type(err).__name__}: {' '.join(str(err).split())})" if err is not None else ""
        return JournalError(f"{self.path}: labtui cannot edit this journal safely{what}{why}; nothing was "
                            "changed (valid TOML that tomlkit cannot round-trip, e.g. a sub-table "
                            "far from its table: move it under its table)")


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
