"""Run detail (Enter): command, params, GPUs, times, exit code, checkpoints, notes, and a followed log.

The log has the focus at once (arrows/PgUp/PgDn scroll it); ``/`` searches it (``n``/``N``:
next/previous match, wrapping; an empty search ends it), ``o``
opens the whole log file in ``$PAGER`` (default ``less``) with the app suspended.
"""

from __future__ import annotations

import datetime as dt
import os
import shlex
import subprocess

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import RichLog, Static

from ...core.metrics import EOL_NL, LogTail, logged_config
from ...core.gitinfo import run_code_differs
from ...core.rundir import RunDir
from ...core.stoprules import stop_reason
from ...core.text import inert
from ...core.slurm import describe as describe_slurm
from ..fmt import gpus_text, log_text, show_path, status_text
from ..widgets.keybar import KeyBar
from ..widgets.keys import Input

TAIL_BYTES = 512 * 1024
MAX_LINES = 5000


class LogChunk(Message):
    def __init__(self, lines: list[str], reset: bool) -> None:
        super().__init__()
        self.lines = lines
        self.reset = reset


class Checkpoints(Message):
    """A run's checkpoint names (oldest step first), what ``latest`` names, and the config dumps
    its log starts with (worker thread)."""

    def __init__(self, names: list[str], latest: str | None, config: list | None = None) -> None:
        super().__init__()
        self.names = names
        self.latest = latest
        self.config = config or []


def read_checkpoints(run_dir) -> tuple[list[str], str | None, list]:
    """(Worker thread.) The complete checkpoints of a run, its ``latest`` pointer and its logged
    config (``[(name, {key: value text})]``), via core."""
    rd = RunDir(run_dir)
    return [p.name for p in rd.checkpoints()], rd.latest_pointer(), logged_config(rd.log)


CONFIG_KEYS = 16  # a logged config's keys in the detail view (HF TrainingArguments has 100+)


def info_table(info, checkpoints: list[str], latest: str | None, differs: str | None = None,
               config: list | None = None) -> Table:
    t = Table(box=None, show_header=False, padding=(0, 1), expand=True)
    t.add_column("k", style="bold", no_wrap=True, width=11)
    t.add_column("v", ratio=1)
    st = status_text(info.status)
    if info.exit_code is not None or info.signal:
        st.append(f"   exit {info.exit_code if info.exit_code is not None else ''}"
                  f"{' ' + info.signal if info.signal else ''}", style="dim")
    t.add_row("status", st)
    why = stop_reason(info)
    if why:
        t.add_row("stopped", Text(inert(why)))
    if (info.extra or {}).get("stop"):
        t.add_row("stop rules", Text(inert(str(info.extra["stop"]))))
    t.add_row("experiment", Text(info.experiment or "-"))
    t.add_row("command", Text(info.command))
    if info.params:
        t.add_row("params", Text("  ".join(f"{k}={v}" for k, v in info.params.items())))
    t.add_row("gpus", Text(gpus_text(info.gpus, none="-")))
    if info.slurm is not None:  # job id, node, pending reason, "slurm: not responding"
        t.add_row("slurm", Text(describe_slurm(info.slurm)))
    times = Text(str(info.started or "-"))
    if info.ended:
        times.append(f"  →  {info.ended}")
    t.add_row("times", times)
    if info.parent:
        lin = Text(f"resumed from {info.parent}")
        if info.resume_step is not None:
            lin.append(f" at step {info.resume_step}")
        t.add_row("lineage", lin)
    extra = info.extra or {}
    if extra.get("init_from"):
        t.add_row("init from", Text(f"{extra['init_from']}"
                                    + (f"  ({extra['init_checkpoint']})" if extra.get("init_checkpoint") else "")
                                    + "  (weights only: a new curve)"))
    if extra.get("cwd"):
        t.add_row("cwd", Text(str(extra["cwd"])))
    git = extra.get("git")
    if isinstance(git, dict) and git.get("commit"):
        code = Text(f"{str(git['commit'])[:10]}" + (f" on {git['branch']}" if git.get("branch") else ""))
        if git.get("dirty"):
            code.append("  + uncommitted changes (code.diff)", style="yellow")
        t.add_row("code", code)
    if differs:  # vs the run it continues (or was initialised from): as `labtui show` says it
        t.add_row("" if isinstance(git, dict) and git.get("commit") else "code", Text(differs, style="yellow"))
    if checkpoints:
        ck = Text(", ".join(checkpoints[-6:]))
        if latest:
            ck.append(f"  (latest: {latest})", style="green")
        t.add_row("checkpoints", ck)
    for name, vals in config or ():  # the config dumps the trainer printed (`labtui show`: all)
        shown = ", ".join(f"{k}={v}" for k, v in list(vals.items())[:CONFIG_KEYS])
        more = f", … (+{len(vals) - CONFIG_KEYS} more: labtui show)" if len(vals) > CONFIG_KEYS else ""
        t.add_row("config", Text(inert(f"{name}: {shown}{more}")))  # `labtui show`: logged config
    if info.tags or info.verdict:
        t.add_row("tags", Text(" ".join(info.tags) + (f"  verdict: {info.verdict}" if info.verdict else "")))
    for i, n in enumerate(info.notes):
        at = n.get("at")
        line = Text(f"{at:%Y-%m-%d %H:%M}  " if isinstance(at, dt.date) else "", style="dim")
        line.append(n.get("text", ""))
        t.add_row("notes" if i == 0 else "", line)
    t.add_row("folder", Text(show_path(info.run_dir), style="dim"))
    return t


class DetailScreen(Screen):
    BINDINGS = [
        Binding("escape,q", "back", "Back", id="detail_back"),
        Binding("f", "toggle_follow", "Follow", id="detail_follow"),
        Binding("G", "end", "End", id="detail_end", show=False),
        Binding("slash", "search", "Search", key_display="/", id="detail_search"),
        Binding("n", "next_match", "Next", id="detail_next_match"),
        Binding("N", "prev_match", "Prev", id="detail_prev_match", show=False),
        Binding("o", "pager", "Pager", id="detail_pager"),
    ]

    def __init__(self, lab, run_id: str) -> None:
        super().__init__()
        self.lab = lab
        self.run_id = run_id
        info = lab.state.infos[run_id]
        self.run_dir = info.run_dir
        self.checkpoints: tuple[list[str], str | None, list] = ([], None, [])  # from _scan_thread
        self._info_sig: tuple | None = None
        # core's one log tail: lines from the last 512 KiB on, started over when the log is replaced
        self.follower = LogTail(RunDir(info.run_dir).log, eol=EOL_NL, start_tail=TAIL_BYTES)
        self.follow = True
        self._busy = False
        self.lines_shown = 0
        self.texts: list[str] = []      # the log's lines as shown (plain text), for search
        self.query_text = ""            # the current search ("" = none)
        self.matches: list[int] = []    # line numbers of the lines that match it
        self.match_at: int | None = None  # index in matches of the line shown

    def compose(self) -> ComposeResult:
        yield Static(Text(f"run {self.run_id}"), classes="title", id="detail-title")
        with VerticalScroll(id="detail-info"):
            yield Static(id="info")
        yield RichLog(id="detail-log", markup=False, highlight=False, wrap=False, max_lines=MAX_LINES,
                      auto_scroll=True)
        yield Input(placeholder="search the log (enter: find, esc: cancel)", id="detail-search",
                    compact=True)
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#detail-search", Input).display = False
        self.query_one(RichLog).focus()  # the log scrolls at once, no Tab first
        self.refresh_info()
        self._scan_checkpoints()
        self._read()

    def refresh_info(self) -> None:
        """Redraw the info table when the run's record or its checkpoints changed (no file is
        read here: the checkpoints come from a worker, the record from the app's poll)."""
        info = self.lab.state.infos.get(self.run_id)
        if info is None:
            return
        infos = self.lab.state.infos  # "code differs" vs the parent: from the poll's records too
        differs = run_code_differs(info, lambda other: (infos[other].extra or {}).get("git") if other in infos else None)
        sig = (info, self.checkpoints, differs)
        if sig == self._info_sig:
            return  # nothing changed: no redraw
        self._info_sig = sig
        names, latest, config = self.checkpoints
        self.query_one("#info", Static).update(info_table(info, names, latest, differs, config))

    def _scan_checkpoints(self) -> None:
        self.run_worker(self._scan_thread, thread=True, group="checkpoints", exit_on_error=False)

    def _scan_thread(self) -> None:
        self.post_message(Checkpoints(*read_checkpoints(self.run_dir)))

    def on_checkpoints(self, msg: Checkpoints) -> None:
        self.checkpoints = (msg.names, msg.latest, msg.config)
        self.refresh_info()
        if self.is_attached:  # re-armed after each scan: scans never overlap
            self.set_timer(self.lab.poll_interval, self._scan_checkpoints)

    def _read(self) -> None:
        if self._busy:
            return
        self._busy = True
        self.run_worker(self._read_thread, thread=True, group="log", exit_on_error=False)

    def _read_thread(self) -> None:
        try:
            info = self.lab.state.infos.get(self.run_id)
            # an ended run's log is complete: its last line shows even without a newline
            lines, reset = self.follower.lines(MAX_LINES, final=info is not None and not info.alive)
        except OSError:
            lines, reset = [], False
        self.post_message(LogChunk(lines, reset))

    def on_log_chunk(self, msg: LogChunk) -> None:
        self._busy = False
        log = self.query_one(RichLog)
        if msg.reset:
            log.clear()
            self.lines_shown = 0
            self.texts.clear()
        for line in msg.lines:
            t = log_text(line)
            log.write(t, scroll_end=self.follow)
            self.texts.append(t.plain)
        self.lines_shown += len(msg.lines)
        drop = len(self.texts) - MAX_LINES  # RichLog drops its oldest lines past MAX_LINES: so do we
        if drop > 0:
            del self.texts[:drop]
        if self.query_text and msg.lines:
            self._find(keep=True)
        self.refresh_info()
        if self.is_attached:
            self.set_timer(self.lab.poll_interval, self._read)

    def action_toggle_follow(self) -> None:
        self.follow = not self.follow
        self.query_one(RichLog).auto_scroll = self.follow
        self.notify("following the log" if self.follow else "not following", timeout=2)

    def action_end(self) -> None:
        self.query_one(RichLog).scroll_end(animate=False)

    # ------------------------------------------------------------------ back, search, pager
    def action_back(self) -> None:
        box = self.query_one("#detail-search", Input)
        if box.display:  # esc in the search box closes it, not the screen
            box.display = False
            self.query_one(RichLog).focus()
            return
        self.app.pop_screen()

    def action_search(self) -> None:
        box = self.query_one("#detail-search", Input)
        box.display = True
        box.value = self.query_text
        box.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        box = self.query_one("#detail-search", Input)
        box.display = False
        self.query_one(RichLog).focus()
        self.query_text = event.value.strip()
        self.match_at = None
        self._find()

    def check_action(self, action: str, parameters) -> bool | None:
        if action in ("next_match", "prev_match"):
            return bool(self.query_text)  # without a search, n/N are not offered
        return True

    def _find(self, keep: bool = False) -> None:
        """Find the query's lines (case-insensitive); show the first one below the view's top
        (``keep``: the log grew, stay on the line shown)."""
        q = self.query_text.lower()
        shown = self.matches[self.match_at] if keep and self.match_at is not None else None
        self.matches = [i for i, t in enumerate(self.texts) if q in t.lower()] if q else []
        if not self.matches:
            self.match_at = None
            self._title(f"/{self.query_text}: not found" if q else "")
            return
        if shown is not None and shown in self.matches:
            self.match_at = self.matches.index(shown)
            self._title()
            return
        top = int(self.query_one(RichLog).scroll_y)
        self.match_at = next((k for k, i in enumerate(self.matches) if i >= top), 0)
        self._show()

    def _step(self, d: int) -> None:
        if not self.matches:
            self._find()
            return
        self.match_at = ((self.match_at or 0) + d) % len(self.matches) if self.match_at is not None else 0
        self._show()

    def action_next_match(self) -> None:
        self._step(1)

    def action_prev_match(self) -> None:
        self._step(-1)

    def _show(self) -> None:
        """Scroll to the current match (two lines of context above); stop following."""
        assert self.match_at is not None
        line = self.matches[self.match_at]
        log = self.query_one(RichLog)
        if self.follow:
            self.follow = False
            log.auto_scroll = False
        log.scroll_to(y=max(0, line - 2), animate=False, immediate=True)
        self._title()

    def _title(self, text: str | None = None) -> None:
        t = Text(f"run {self.run_id}")
        if text is None and self.match_at is not None:
            text = (f"/{self.query_text}: {self.match_at + 1} of {len(self.matches)} "
                    f"(line {self.matches[self.match_at] + 1})  n/N: next/previous")
        if text:
            t.append("   " + inert(text), style="cyan")
        self.query_one("#detail-title", Static).update(t)

    def action_pager(self) -> None:
        """The whole log in $PAGER (default ``less``), the app suspended meanwhile."""
        path = RunDir(self.run_dir).log
        cmd = shlex.split(os.environ.get("PAGER") or "less") or ["less"]
        try:
            with self.app.suspend():
                subprocess.run([*cmd, str(path)], check=False)
        except Exception as e:  # noqa: BLE001 - no terminal to hand over (tests), no pager...
            self.lab.say(f"cannot open the log in {cmd[0]}: {type(e).__name__}: {e}", severity="error")
