"""Errors that are shown to the user as one line."""

import errno


class UserError(Exception):
    """Bad input or a refused action; the message is one line, shown as-is, exit status 1."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split("\n")))


# A full disk or quota (EFBIG: a file-size limit, the same for the user): nothing can be written.
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def disk_full(e: BaseException) -> UserError | None:
    """The one-line error for a write that failed on a full disk (``None`` for any other error).

    Every labtui write is atomic (temp file + ``os.replace``), so a failed one changed nothing.
    """
    if not isinstance(e, OSError) or e.errno not in DISK_FULL_ERRNOS:
        return None
    where = f"{e.filename}: " if e.filename else ""
    return UserError(f"disk full: {where}{e.strerror or e}; nothing was changed")
