"""THE incremental log tail: read only what is new in a growing file, by byte offset.

One class serves every reader of a run's output: the metric readers (complete lines, ``\\r``
ending a line too so tqdm redraws count), the app's run-detail log (lines from the last
512 KiB on) and ``labtui log -f`` (raw bytes as written).  A file that shrank, was replaced
(another inode) or was rewritten in place (its first bytes changed) is noticed by
:meth:`LogTail.check` and read again from the start, like ``tail -F``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

MAX_LINE = 1 << 20          # longer lines are skipped (bounded memory)
CHUNK = 4 << 20
EOL_ANY = b"\n\r"           # a line ends at \n or \r (progress bars redrawn with \r count)
EOL_NL = b"\n"


class LogTail:
    """Reads a growing file by byte offset.

    ``eol``: the bytes that end a line (``EOL_ANY`` or ``EOL_NL``).  ``start_tail``: when set,
    reading starts (and, after a reset, restarts) within the last ``start_tail`` bytes, at the
    first complete line there; otherwise at ``offset``.
    """

    HEAD = 64

    def __init__(self, path: str | os.PathLike, *, eol: bytes = EOL_ANY, offset: int = 0,
                 start_tail: int | None = None, max_line: int = MAX_LINE):
        self.path = Path(path)
        self.eol = eol
        self.max_line = max_line
        self.start_tail = start_tail
        self.offset = offset
        self.ident: tuple[int, int] | None = None
        self.head = b""
        self.skipping = False     # discarding up to the next end of line (a huge or cut line)
        self.mtime = 0.0
        self._placed = start_tail is None

    # ------------------------------------------------------------------ state (metrics cache)
    def state(self) -> dict:
        return {"offset": self.offset, "ident": list(self.ident) if self.ident else None,
                "head": self.head.hex(), "skipping": self.skipping, "mtime": self.mtime}

    def set_state(self, st: dict) -> None:
        self.offset = st["offset"]
        self.ident = tuple(st["ident"]) if st.get("ident") else None
        self.head = bytes.fromhex(st.get("head", ""))
        self.skipping = st.get("skipping", False)
        self.mtime = st.get("mtime", 0.0)
        self._placed = True

    def _reset(self) -> None:
        self.offset = 0
        self.head = b""
        self.skipping = False
        self._placed = self.start_tail is None

    def restart(self) -> None:
        """Read the file again from its start at the next :meth:`read` (a whole-document reader)."""
        self._reset()

    def _place(self, size: int) -> None:
        """First read with ``start_tail``: jump near the end and drop the cut first line."""
        self._placed = True
        start = max(0, size - (self.start_tail or 0))
        if start > 0:
            self.offset = start
            self.skipping = True

    # ------------------------------------------------------------------ reading
    def check(self) -> tuple[str, os.stat_result | None]:
        """``("missing"|"same"|"grown"|"reset", stat)``; on reset the offset is back at the start."""
        try:
            st = os.stat(self.path)
        except OSError:
            return "missing", None
        ident = (st.st_dev, st.st_ino)
        reset = False
        if self.ident is not None and (ident != self.ident or st.st_size < self.offset):
            reset = True
        elif self.head and st.st_size >= len(self.head):
            try:
                with open(self.path, "rb") as f:
                    if f.read(len(self.head)) != self.head:
                        reset = True
            except OSError:
                return "missing", None
        if reset:
            self._reset()
        self.ident = ident
        if not self._placed:
            self._place(st.st_size)
        if reset:
            return "reset", st
        return ("grown" if st.st_size > self.offset else "same"), st

    def read(self, handle: Callable[[bytes], None], max_bytes: int | None = None, final: bool = False) -> int:
        """Feed complete new lines (bytes, terminators included) to ``handle(data)``; bytes consumed.
        A partial last line waits for its end, unless ``final`` (the writer is gone: a last line
        without a newline is complete); lines over ``max_line`` bytes are skipped."""
        total = 0
        f = self._open()
        if f is None:
            return 0
        with f:
            while max_bytes is None or total < max_bytes:
                data = f.read(CHUNK)
                if not data:
                    break
                if self.skipping:
                    k = self._first_eol(data)
                    if k < 0:
                        self.offset += len(data)
                        total += len(data)
                        continue
                    self.skipping = False
                    self.offset += k + 1
                    total += k + 1
                    f.seek(self.offset)
                    continue
                cut = self._last_eol(data)
                if cut < 0:
                    if len(data) >= self.max_line:
                        self.skipping = True
                        self.offset += len(data)
                        total += len(data)
                        continue
                    if final and len(data) < CHUNK:
                        handle(data)  # the writer has ended: its last line needs no newline
                        self.offset += len(data)
                        total += len(data)
                    break  # a partial last line waits for its end
                handle(data[:cut + 1] if cut + 1 < len(data) else data)
                self.offset += cut + 1
                total += cut + 1
                rest = len(data) - cut - 1
                if rest >= self.max_line:
                    self.skipping = True
                    self.offset += rest
                    total += rest
                elif rest:
                    f.seek(self.offset)
        return total

    def read_bytes(self, handle: Callable[[bytes], None], chunk: int = 1 << 20) -> int:
        """Feed every new byte (a partial last line included) to ``handle``; bytes consumed."""
        total = 0
        f = self._open()
        if f is None:
            return 0
        with f:
            while True:
                data = f.read(chunk)
                if not data:
                    break
                self.offset += len(data)
                total += len(data)
                handle(data)
        return total

    def lines(self, max_lines: int | None = None, final: bool = False) -> tuple[list[str], bool]:
        """(new complete lines decoded, without terminators; whether the file started over).
        What a log view shows: the last ``max_lines`` of what is new.  ``final``: the writer has
        ended, so a last line without its newline is complete too (returned once)."""
        status, _st = self.check()
        reset = status == "reset"
        if status == "missing" or (status == "same" and not final):
            return [], reset
        out: list[str] = []

        def handle(data: bytes) -> None:
            out.extend(split_lines(data, self.eol))
            if max_lines is not None and len(out) > 2 * max_lines:
                del out[:-max_lines]

        self.read(handle)
        if final and not self.skipping:
            rest: list[bytes] = []
            self.read_bytes(rest.append)
            tail = b"".join(rest)
            if tail:
                out.extend(split_lines(tail, self.eol) or [tail.decode("utf-8", "replace")])
        return (out[-max_lines:] if max_lines is not None else out), reset

    # ------------------------------------------------------------------ helpers
    def _open(self):
        """The file at our offset (its head recorded for rewrite checks, a first read placed);
        None when it cannot be opened."""
        try:
            f = open(self.path, "rb")
        except OSError:
            return None
        if len(self.head) < self.HEAD:
            self.head = f.read(self.HEAD)
        if not self._placed:
            self._place(os.fstat(f.fileno()).st_size)
        f.seek(self.offset)
        return f

    def _first_eol(self, data: bytes) -> int:
        if self.eol == EOL_NL:
            return data.find(b"\n")
        a, b = data.find(b"\n"), data.find(b"\r")
        if a < 0:
            return b
        if b < 0:
            return a
        return min(a, b)

    def _last_eol(self, data: bytes) -> int:
        if self.eol == EOL_NL:
            return data.rfind(b"\n")
        return max(data.rfind(b"\n"), data.rfind(b"\r"))


def split_lines(data: bytes, eol: bytes = EOL_NL) -> list[str]:
    """Complete lines of ``data`` (which ends with a terminator) decoded, terminators dropped."""
    text = data.decode("utf-8", "replace")
    if eol != EOL_NL and "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def last_lines_offset(path: str | os.PathLike, n: int) -> int:
    """Byte offset where the last ``n`` lines of a file start (reads backwards in blocks)."""
    size = os.path.getsize(path)
    if n <= 0:
        return size
    with open(path, "rb") as f:
        pos = size
        count = 0
        block = 1 << 16
        while pos > 0:
            step = min(block, pos)
            pos -= step
            f.seek(pos)
            chunk = f.read(step)
            end = len(chunk)
            if pos + end == size and chunk.endswith(b"\n"):
                end -= 1  # the newline that ends the file does not start a line
            while True:
                i = chunk.rfind(b"\n", 0, end)
                if i < 0:
                    break
                count += 1
                if count >= n:
                    return pos + i + 1
                end = i
    return 0
