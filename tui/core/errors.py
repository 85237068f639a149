"""Errors that are shown to the user as one line."""


class UserError(Exception):
    """Bad input or a refused action; the message is one line, shown as-is, exit status 1."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split("\n")))
