"""Notifications: THE event names, their one-line texts, and the desktop notification escape
(OSC 9 / OSC 777) the app writes to its terminal when the user asked for it.

Events: ``run_ended`` (finished), ``run_failed`` (failed or lost), ``run_stopped`` (a stop
rule), ``run_killed`` (a person), ``flag`` (NaN, cliff, traceback, silent).  The run's shim
runs the user's hook on them (``tui.core.hooks``); the app shows a toast and rings the bell
(``tui.app.state`` finds them in its polls).

The user config (``~/.config/labtui/config.toml``, :mod:`tui.core.config`) may say
``notify = "osc"`` (default ``"off"``): then the app also writes :func:`osc_notification`
(both OSC 9 and OSC 777, which iTerm2, kitty, WezTerm, Windows Terminal and foot understand;
they travel over SSH).  Every text that goes into one is :func:`clean` (no control
character, bounded length): a run id or a stop reason cannot carry an escape.
"""

from __future__ import annotations

import re

from .errors import UserError
from .status import Status

EVENTS = ("run_ended", "run_failed", "run_stopped", "run_killed", "flag")
_BY_STATUS = {Status.FINISHED: "run_ended", Status.FAILED: "run_failed", Status.LOST: "run_failed",
              Status.STOPPED: "run_stopped", Status.KILLED: "run_killed"}
NOTIFY_MODES = ("off", "osc")
MAX_TITLE = 60
MAX_BODY = 200
# Every C0/C1 control, DEL, and the bidi marks (tui.core.text's set), plus ';' in the OSC 777
# title (its field separator).
_CTRL = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]+")


def event_for(status: object) -> str | None:
    """The event of a run that ended in ``status`` (None for a status that is not an end)."""
    s = Status.parse(status)
    return _BY_STATUS.get(s) if s is not None else None


def message(run_id: str, status: object = None, reason: str | None = None,
            flag: str | None = None) -> str:
    """One line for a toast or a desktop notification: ``lab3 stopped: val_loss 0.18 < 0.2 at
    step 500``, ``lab3 failed (traceback)``, ``lab3: new flag NaN@1200``."""
    if flag and status is None:
        return f"{run_id}: new flag {flag}"
    text = f"{run_id} {Status.parse(status) or status}"
    if reason:
        text += f": {reason}"
    if flag:
        text += f" ({flag})"
    return text


def clean(text: str, limit: int) -> str:
    """``text`` without any control character (runs of them become one space), at most
    ``limit`` characters (cut with ``…``)."""
    t = _CTRL.sub(" ", str(text)).strip()
    return t if len(t) <= limit else t[: max(0, limit - 1)] + "…"


def osc_notification(title: str, body: str) -> str:
    """The desktop notification escape: OSC 9 (body) then OSC 777 (title; body), each ended by
    BEL.  Both texts are :func:`clean`; ``;`` cannot end the 777 title early."""
    t = clean(title, MAX_TITLE).replace(";", ",")
    b = clean(body, MAX_BODY)
    return f"\x1b]9;{t}: {b}\x07\x1b]777;notify;{t};{b}\x07"


def notify_mode(cfg: dict, where: object = "config") -> str:
    """The user config's ``notify`` (``"off"`` when absent); UserError for another value."""
    v = cfg.get("notify", "off")
    if v is False:
        return "off"
    if v not in NOTIFY_MODES:
        raise UserError(f"{where}: notify = {v!r}: \"osc\" (desktop notifications through the "
                        "terminal) or \"off\"")
    return v
