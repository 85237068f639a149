"""The user's labtui settings: ``~/.config/labtui/config.toml``.

Keys (the Posting model: every binding has an id, a user keymap rebinds ids), the runs table's
columns, and notifications (``docs/stop-rules.md``: read by ``tui.core.notify`` and
``tui.core.hooks``)::

    columns = ["id", "status", "age", "last", "best", "tags"]   # top level: above [keys]
    notify = "osc"        # desktop notifications through the terminal (default "off")
    on_event = "curl ..." # the user hook, unless the lab's [labtui] has one
    hook_timeout = 30

    [keys]
    kill = "K"            # a binding id (see `?` in the app) = key, or several: "K,ctrl+k"
    log_scale = "l"

``$LABTUI_CONFIG`` names another file; ``$XDG_CONFIG_HOME`` moves the default folder.  A
missing file is no config; a file that does not parse, or names an unknown binding id, is a
one-line error naming the file (and line) before the app opens.  The file is only read.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

try:
    import tomllib  # novm: guarded, tomli below on Python 3.10
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib  # type: ignore[no-redef]

from .errors import UserError
from .journal import toml_error

CONFIG_ENV = "LABTUI_CONFIG"


def config_path() -> Path:
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "labtui" / "config.toml"


def load_config(path: str | os.PathLike | None = None) -> dict:
    p = Path(path) if path is not None else config_path()
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise UserError(f"{p}: cannot read the labtui config: {e.strerror or e}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise UserError(f"{p}:{line}: not UTF-8 text ({e.reason})") from None
    try:
        cfg = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise UserError(toml_error(p, text, e)) from None
    return cfg


def load_keymap(known_ids: Iterable[str], path: str | os.PathLike | None = None) -> dict[str, str]:
    """The config's ``[keys]`` as {binding id: keys}, checked against ``known_ids``."""
    where = Path(path) if path is not None else config_path()
    keys = load_config(where).get("keys", {})
    if not isinstance(keys, dict):
        raise UserError(f"{where}: 'keys' must be a table ([keys] with id = \"key\" lines)")
    known = sorted(set(known_ids))
    out: dict[str, str] = {}
    for bid, key in keys.items():
        if bid not in known:
            hint = (" (TOML: a top-level `columns = [...]` goes above [keys])"
                    if bid == "columns" and isinstance(key, list) else "")
            raise UserError(f"{where}: [keys] {bid!r} is not a binding id{hint}; known: {', '.join(known)}")
        if not isinstance(key, str) or not key.strip() or any(not k.strip() for k in key.split(",")):
            raise UserError(f"{where}: [keys] {bid} = {key!r}: a key such as \"K\" or \"ctrl+k\", "
                            "or several separated by commas")
        out[bid] = ",".join(k.strip() for k in key.split(","))
    return out


def check_clashes(scopes: dict[str, list[tuple[str, str]]], keymap: dict[str, str],
                  path: str | os.PathLike | None = None, written: dict[str, str] | None = None) -> None:
    """Refuse a keymap that gives two bindings of one scope the same key.

    ``scopes``: where bindings are active together (a screen, a dialog) → its
    ``[(binding id, keys)]`` with ``keys`` the defaults (comma-separated, spelled as the app
    spells them); ``keymap``: the user's ``[keys]``, already spelled the same way.  Only a
    clash the keymap makes is an error (``kill = "q"`` takes ``q`` from quit: Textual would
    silently drop quit); the first one found is a one-line error naming the file, with the
    keys as the user ``written`` them."""
    where = Path(path) if path is not None else config_path()
    for scope, bindings in scopes.items():
        owner: dict[str, str] = {}
        for bid, default in bindings:
            for key in keymap.get(bid, default).split(","):
                other = owner.setdefault(key, bid)
                if other != bid and (bid in keymap or other in keymap):
                    mine, theirs = (bid, other) if bid in keymap else (other, bid)
                    shown = (written or keymap).get(mine, keymap[mine])
                    raise UserError(f"{where}: [keys] {mine} = {shown!r} clashes with "
                                    f"{theirs} ({key!r}) in the {scope}; bind one of them to another key")


def load_columns(known: Iterable[str], aliases: dict[str, str] | None = None,
                 path: str | os.PathLike | None = None) -> list[str] | None:
    """The runs table's columns the user chose (``columns = [...]``), by their ``known`` names
    (``aliases``: other names for them), in the user's order; None when the config names none.
    An unknown name, a non-list or an empty list is a one-line error naming the file and value."""
    where = Path(path) if path is not None else config_path()
    cols = load_config(where).get("columns")
    if cols is None:
        return None
    known = list(dict.fromkeys(known))
    aliases = aliases or {}
    names = ", ".join(known)
    if not isinstance(cols, list) or not cols:
        raise UserError(f"{where}: columns = {cols!r}: a list of column names such as "
                        f'["id", "status", "last"]; known: {names}')
    out: list[str] = []
    for c in cols:
        name = aliases.get(c, c) if isinstance(c, str) else c
        if name not in known:
            raise UserError(f"{where}: columns: {c!r} is not a column; known: {names}")
        if name not in out:
            out.append(name)
    return out
