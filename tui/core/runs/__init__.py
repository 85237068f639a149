"""Runs: launch, kill, resume, notes/tags, listing and reconcile.

A run's truth lives in files: the journal entry (what was asked, notes), the shim's
``state.json`` (pids + create times), ``kill.json`` (a labtui kill was asked) and
``exit.json`` (how it ended).  Listing (:func:`list_runs`, :func:`get_run`) reads them and
``/proc`` and never writes; :func:`reconcile` writes the live status back, on purpose.

Modules: ``model`` (RunInfo, pure listing), ``live`` (status from files + /proc),
``reconcile`` (write-back), ``launch`` (ids, the shim), ``template`` (placeholders, --set values), ``kill``, ``resume``,
``edit`` (notes, tags, verdict).  The shim and the detached killer are ``tui.core.shim`` and
``tui.core.killer`` (``python -m`` entry points that running shims use).
"""

from ..errors import UserError
from ..rundir import checkpoint_step
from ..status import LIVE, STATUSES, Status, final_status
from .edit import TAG_RE, VERDICTS, add_note, add_tags, edit_run, set_verdict
from .kill import DEFAULT_GRACE, cancel_queued, kill, kill_detached, kill_outcome, killable, start_kill
from .launch import launch, shim_env, wait_started
from .live import STARTING_TIMEOUT, live_status
from .model import RunInfo, get_run, lineage, list_runs, tree_order
from . import queue
from .pipeline import launch_pipeline
from .reconcile import reconcile
from .resume import latest_checkpoint, resume, resume_warning
from .template import parse_sets, parse_value, render_command

__all__ = [
    "DEFAULT_GRACE", "LIVE", "STARTING_TIMEOUT", "STATUSES", "TAG_RE", "VERDICTS", "RunInfo",
    "Status", "UserError", "add_note", "add_tags", "checkpoint_step", "edit_run", "final_status",
    "get_run", "kill", "kill_detached", "kill_outcome", "cancel_queued", "killable", "latest_checkpoint", "launch", "lineage", "list_runs",
    "launch_pipeline", "live_status", "parse_sets", "queue", "parse_value", "reconcile", "render_command", "resume", "resume_warning",
    "set_verdict", "shim_env", "start_kill", "tree_order", "wait_started",
]
