"""Action dialogs (ModalScreens): kill, resume, resume with edited params, note, tags, new run.

Dialogs never touch a process or a file: they collect and check input, then hand a core
call (``tui.core.runs``) to ``LabApp.run_core``, which runs it in a thread worker and
reports back.  Dialogs that hold typed input (note, tags, new run, resume) stay open until
the call succeeded and show its one-line error inline; the kill dialog closes at once (a
graceful kill may take a minute) and the app reports the outcome.  Text from runs (ids,
notes, params) is always shown as data (``rich.text.Text``), never as markup.
"""

from __future__ import annotations

import datetime as dt
import json
import string
from typing import Any, Callable

import tomlkit
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Label, RadioButton, RadioSet, Select, Static

from ...core import runs as core_runs
from ...core.errors import UserError
from ...core.gpus import NA, fmt, parse_gpus
from ...core.journal import validate_run_id
from ...core.stoprules import StopRules
from ...core.text import age
from ..fmt import gpus_text, show_path
from ..state import started_ts
from ..widgets.gpu_panel import no_gpu_reason
from ..widgets.keys import Input, TextArea

KILL_MODES = (
    ("graceful", "graceful (SIGINT, then SIGTERM, then SIGKILL)"),
    ("term", "SIGTERM first"),
    ("now", "kill now (SIGKILL)"),
)
VERDICT_CHOICES = ("none", *core_runs.VERDICTS)


def value_text(v: Any) -> str:
    """A param value as text that ``runs.parse_value`` reads back as the same value."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        try:
            same = core_runs.parse_value(v) == v
        except Exception:  # noqa: BLE001
            same = False
        return v if same and v.strip() == v and v else json.dumps(v, ensure_ascii=False)
    try:
        return tomlkit.item(v).as_string()
    except Exception:  # noqa: BLE001
        return str(v)


def parse_param(key: str, text: str) -> Any:
    """One param input, read like ``--set key=text``; UserError for an empty value."""
    if not text.strip():
        raise UserError(f"param {key!r}: empty value")
    return core_runs.parse_sets([f"{key}={text}"])[key]


def placeholders(template: str) -> list[str]:
    out: list[str] = []
    try:
        for _lit, field, _spec, _conv in string.Formatter().parse(template or ""):
            if field and field not in out:
                out.append(field)
    except ValueError:
        pass
    return out


def _when(at: Any) -> str:
    if isinstance(at, dt.datetime):
        return at.strftime("%Y-%m-%d %H:%M")
    return str(at)[:16].replace("T", " ") if at else "—"


def _run_age(app, info) -> str:
    started = started_ts(info)
    return age(app.clock() - started) if started else "—"


def launch_fields(lab, prefix: str, gpus, empty_means: str, default_name: str) -> list:
    """The GPUs input (prefilled from a run's GPUs), each GPU's free memory, and an optional
    name: the tail of the new-run and resume-with-edits forms (see :func:`read_launch_fields`)."""
    value = "" if gpus is None else ("cpu" if gpus == [] else ",".join(str(g) for g in gpus))
    return [
        field("GPUs", Input(value, placeholder=f"0,1 · auto · cpu · empty: {empty_means}",
                            id=f"{prefix}-gpus", compact=True)),
        Static(gpu_free_text(lab.gpu_snapshot), classes="dialog-gpus"),
        field("name", Input(placeholder=f"optional (default: {default_name})", id=f"{prefix}-name",
                            compact=True)),
    ]


def read_launch_fields(screen, prefix: str) -> tuple[str | None, str | None]:
    """(gpus, name) from :func:`launch_fields`; a bad GPU value or name raises UserError before any write."""
    gpus = screen.query_one(f"#{prefix}-gpus", Input).value.strip() or None
    parse_gpus(gpus)  # the one --gpus parser (auto, auto:N, cpu, 0,1)
    name = screen.query_one(f"#{prefix}-name", Input).value.strip() or None
    if name is not None:
        validate_run_id(name)
    return gpus, name


def gpu_free_text(snapshot) -> Text:
    """Each GPU's free memory from the latest snapshot, or why there is none."""
    t = Text()
    if snapshot is None:
        t.append("GPUs: not sampled yet", style="dim")
        return t
    if not snapshot.ok:
        t.append("no NVIDIA GPU", style="yellow")
        why = no_gpu_reason(snapshot)
        if why:
            t.append(f" ({why})", style="dim")
        return t
    users: dict[int, list[str]] = {}
    for p in snapshot.processes:
        if p.run_id:
            users.setdefault(p.gpu, [])
            if p.run_id not in users[p.gpu]:
                users[p.gpu].append(p.run_id)
    for i, g in enumerate(snapshot.gpus):
        if i:
            t.append("  ")
        t.append(f"GPU {g.index}: ", style="bold")
        if g.lost or g.error:
            t.append("lost" if g.lost else "n/a", style="red")
            continue
        if g.mem_total is NA or g.mem_used is NA:
            t.append("free n/a", style="dim")
        else:
            t.append(f"{fmt(g.mem_total - g.mem_used, 'B')} free", style="green")
        if users.get(g.index):
            t.append(f" ({', '.join(users[g.index])})", style="dim")
    return t


class ActionDialog(ModalScreen):
    """Common frame: a titled box, a body, an inline error line, buttons; escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog_cancel")]
    OK_LABEL = "OK"
    OK_VARIANT = "primary"

    def __init__(self, lab_app) -> None:
        super().__init__()
        self.lab = lab_app
        self.busy = False

    def title_text(self) -> Text:  # pragma: no cover - overridden
        return Text("")

    def body(self) -> ComposeResult:  # pragma: no cover - overridden
        yield from ()

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text(), classes="dialog-title")
            with VerticalScroll(classes="dialog-body"):
                yield from self.body()
            yield Static("", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.OK_LABEL, variant=self.OK_VARIANT, id="ok")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one(".dialog-error", Static).display = False

    def show_error(self, msg: str | None) -> None:
        err = self.query_one(".dialog-error", Static)
        err.update(Text(msg or "", style="bold red"))
        err.display = bool(msg)

    @on(Button.Pressed, "#ok")
    def _ok(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_submit()

    @on(Button.Pressed, "#cancel")
    def _cancel_btn(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_cancel()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_submit(self) -> None:  # pragma: no cover - overridden
        pass

    def call_core(self, label: str, fn: Callable[[], Any], ok: Callable[[Any], str],
                  select: Callable[[Any], str | None] | None = None) -> None:
        """Run ``fn`` in the app's action worker; close on success, show the error inline."""
        if self.busy:
            return
        self.busy = True
        self.show_error(None)
        self.query_one("#ok", Button).disabled = True

        def done(result: Any) -> None:
            if self.is_attached and self.app.screen is self:
                self.dismiss(result)

        def failed(msg: str) -> bool:
            self.busy = False
            if not self.is_attached:
                return False  # the dialog was closed meanwhile: the app notifies
            self.query_one("#ok", Button).disabled = False
            self.show_error(msg)
            return True

        self.lab.run_core(label, fn, ok=ok, on_done=done, on_error=failed, select=select)


def field(label: str, widget) -> Horizontal:
    """One form row: a label and its input on one line."""
    return Horizontal(Label(Text(label), classes="field-label"), widget, classes="field")


def _run_table(app, infos) -> Static:
    t = Table(box=None, show_header=True, header_style="bold", padding=(0, 1), expand=False)
    t.add_column("run")
    t.add_column("status")
    t.add_column("GPUs")
    t.add_column("age")
    for info in infos:
        t.add_row(Text(info.id, style="bold"), Text(str(info.status)), Text(gpus_text(info.gpus, none="—")),
                  Text(_run_age(app, info)))
    return Static(t, classes="dialog-runs")


# --------------------------------------------------------------------------- kill
class KillDialog(ActionDialog):
    """``k``: confirm killing one run or the marked runs; dismisses with (mode, reason) or None."""

    OK_LABEL = "Kill"
    OK_VARIANT = "error"

    def __init__(self, lab_app, infos: list, skipped: list[str] = ()) -> None:
        super().__init__(lab_app)
        self.infos = list(infos)
        self.skipped = list(skipped)

    def title_text(self) -> Text:
        if len(self.infos) == 1:
            return Text.assemble("Kill ", (self.infos[0].id, "bold"), "?")
        return Text(f"Kill {len(self.infos)} runs?")

    def body(self) -> ComposeResult:
        yield _run_table(self.lab, self.infos)
        if self.skipped:
            yield Static(Text("not running, skipped: " + ", ".join(self.skipped), style="dim"))
        if any(i.status.waiting for i in self.infos):
            yield Static(Text("a queued run is cancelled (it never starts); a pending Slurm job is "
                              "cancelled at once", style="dim"))
        with RadioSet(id="kill-mode", compact=True):
            for i, (_key, label) in enumerate(KILL_MODES):
                yield RadioButton(label, value=(i == 0))
        yield field("reason", Input(placeholder="optional, becomes a note", id="kill-reason", compact=True))

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#kill-reason", Input).focus()

    @property
    def mode(self) -> str:
        idx = self.query_one("#kill-mode", RadioSet).pressed_index
        return KILL_MODES[idx if idx >= 0 else 0][0]

    @on(Input.Submitted, "#kill-reason")
    def _reason_done(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    def action_submit(self) -> None:
        reason = self.query_one("#kill-reason", Input).value.strip() or None
        self.dismiss((self.mode, reason))


# --------------------------------------------------------------------------- resume
class ResumeDialog(ActionDialog):
    """``r`` (and ``R`` with ``edit=True``): resume a run from its latest complete checkpoint."""

    BINDINGS = [*ActionDialog.BINDINGS,
                Binding("ctrl+s", "submit", "Resume", id="resume_submit", priority=True)]
    OK_LABEL = "Resume"

    def __init__(self, lab_app, info, checkpoint, edit: bool = False, checkpoints=None,
                 warning: str | None = None) -> None:
        super().__init__(lab_app)
        self.info = info
        self.checkpoint = checkpoint
        self.edit = edit
        self.step = core_runs.checkpoint_step(checkpoint)
        # every listed checkpoint (tui.core.checkpoints), newest first: a choice when there are two
        self.choices = [(c.path, c.step) for c in reversed(checkpoints or []) if c.complete]
        if self.choices:
            self.step = dict(self.choices).get(checkpoint, self.step)
        self.warning = warning

    def title_text(self) -> Text:
        return Text.assemble("Resume ", (self.info.id, "bold"), " from ",
                             (self.checkpoint.name, "bold"),
                             " (edit params)" if self.edit else "")

    def body(self) -> ComposeResult:
        t = Text()
        t.append("checkpoint: ", style="dim")
        t.append(show_path(self.checkpoint))
        t.append("\nstep: ", style="dim")
        t.append(str(self.step) if self.step is not None else "?")
        t.append("\nGPUs: ", style="dim")
        t.append(gpus_text(self.info.gpus, none="—"))
        t.append("\nthe new run continues ", style="dim")
        t.append(self.info.id)
        t.append(" in the tree", style="dim")
        yield Static(t, classes="dialog-info")
        if len(self.choices) > 1:
            opts = [(f"{'-' if st is None else st}  {p.name}", str(p)) for p, st in self.choices]
            yield field("from", Select(opts, value=str(self.checkpoint), allow_blank=False,
                                       id="resume-ckpt", compact=True))
        if self.warning:
            yield Static(Text(self.warning, style="yellow"), id="resume-warning")
        if self.edit:
            if not self.info.params:
                yield Static(Text("this run has no params to edit", style="dim"))
            for k, v in self.info.params.items():
                yield field(k, Input(value_text(v), classes="param", name=k, compact=True))
            yield from launch_fields(self.lab, "resume", self.info.gpus, "the parent's", "next in the chain")

    def on_mount(self) -> None:
        super().on_mount()
        inputs = list(self.query("Input.param").results(Input))
        if inputs:
            inputs[0].focus()
        else:
            self.query_one("#ok", Button).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    def changed_params(self) -> dict:
        out = {}
        for inp in self.query("Input.param").results(Input):
            key = inp.name or ""
            v = parse_param(key, inp.value)
            if v != self.info.params.get(key) or type(v) is not type(self.info.params.get(key)):
                out[key] = v
        return out

    def action_submit(self) -> None:
        gpus = name = None
        try:
            params = self.changed_params() if self.edit else {}
            if self.edit:
                gpus, name = read_launch_fields(self, "resume")
        except UserError as e:
            self.show_error(str(e))
            return
        j, rid, ckpt = self.lab.journal, self.info.id, self.checkpoint
        if len(self.choices) > 1:
            ckpt = self.query_one("#resume-ckpt", Select).value
        warnings: list[str] = []

        def work():
            return core_runs.resume(j, rid, params=params or None, from_path=str(ckpt), gpus=gpus,
                                    name=name, warn=warnings.append)

        self.call_core(f"resume {rid}", work, ok=lambda new: f"resumed {rid} as {new}"
                       + (f" ({'; '.join(warnings)})" if warnings else ""),
                       select=lambda new: new)


# --------------------------------------------------------------------------- note
class NoteDialog(ActionDialog):
    """``a``: a multi-line note (ctrl+s saves); the run's earlier notes with their times."""

    BINDINGS = [*ActionDialog.BINDINGS,
                Binding("ctrl+s", "submit", "Save", id="note_save", priority=True)]
    OK_LABEL = "Save"

    def __init__(self, lab_app, info) -> None:
        super().__init__(lab_app)
        self.info = info

    def title_text(self) -> Text:
        return Text.assemble("Note on ", (self.info.id, "bold"), "  (ctrl+s saves, esc cancels)")

    def body(self) -> ComposeResult:
        if self.info.notes:
            t = Text()
            for i, n in enumerate(self.info.notes[-6:]):
                if i:
                    t.append("\n")
                t.append(_when(n.get("at")) + "  ", style="dim")
                t.append(str(n.get("text", "")))
            if len(self.info.notes) > 6:
                t = Text(f"… {len(self.info.notes) - 6} earlier\n", style="dim") + t
            yield Static(t, classes="dialog-notes")
        else:
            yield Static(Text("no notes yet", style="dim"), classes="dialog-notes")
        yield TextArea(id="note-text", soft_wrap=True, show_line_numbers=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#note-text", TextArea).focus()

    def action_submit(self) -> None:
        text = self.query_one("#note-text", TextArea).text
        if not text.strip():
            self.show_error("empty note: write something, or esc to cancel")
            return
        j, rid = self.lab.journal, self.info.id
        self.call_core(f"note {rid}", lambda: core_runs.add_note(j, rid, text), ok=lambda _r: f"note added to {rid}")


# --------------------------------------------------------------------------- tags
class TagsDialog(ActionDialog):
    """``t``: tags (space-separated) and a verdict for one run, or added to the marked runs."""

    BINDINGS = [*ActionDialog.BINDINGS,
                Binding("ctrl+s", "submit", "Save", id="tags_save", priority=True)]
    OK_LABEL = "Save"

    def __init__(self, lab_app, infos: list) -> None:
        super().__init__(lab_app)
        self.infos = list(infos)
        self.single = len(self.infos) == 1

    def title_text(self) -> Text:
        if self.single:
            return Text.assemble("Tags and verdict of ", (self.infos[0].id, "bold"))
        return Text(f"Tag {len(self.infos)} runs")

    def verdict_choices(self) -> list[str]:
        return list(VERDICT_CHOICES) if self.single else ["unchanged", *VERDICT_CHOICES]

    def body(self) -> ComposeResult:
        if not self.single:
            yield _run_table(self.lab, self.infos)
            yield field("tags", Input(placeholder="space-separated: baseline adds, -baseline removes",
                                      id="tags-input", compact=True))
            current = "unchanged"
        else:
            info = self.infos[0]
            yield field("tags", Input(" ".join(str(t) for t in info.tags), id="tags-input", compact=True,
                                      placeholder="space-separated; delete one to remove it"))
            current = info.verdict if info.verdict in core_runs.VERDICTS else "none"
        with RadioSet(id="verdict", compact=True):
            for v in self.verdict_choices():
                yield RadioButton(v, value=(v == current))

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#tags-input", Input).focus()

    @on(Input.Submitted, "#tags-input")
    def _tags_done(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    def action_submit(self) -> None:
        tags = self.query_one("#tags-input", Input).value.split()
        drop: list[str] = []
        if not self.single:  # marked runs: "-tag" removes a tag from each of them
            drop = [t[1:] for t in tags if t.startswith("-") and len(t) > 1]
            tags = [t for t in tags if not t.startswith("-")]
        for t in tags + drop:  # check before any write: a failed action changes nothing
            if not core_runs.TAG_RE.match(t):
                self.show_error(f"bad tag {t!r}: one word, no spaces, quotes, commas or brackets")
                return
        idx = self.query_one("#verdict", RadioSet).pressed_index
        choices = self.verdict_choices()
        verdict = choices[idx] if idx >= 0 else choices[0]
        plan = []  # (run id, tags to add, tags to remove, verdict or "unchanged")
        for info in self.infos:
            cur = [str(t) for t in info.tags]
            add = [t for t in dict.fromkeys(tags) if t not in cur]
            remove = [t for t in cur if t not in tags] if self.single else [t for t in cur if t in drop]
            cur_v = info.verdict if info.verdict in core_runs.VERDICTS else "none"
            v = "unchanged" if verdict == cur_v else verdict
            if add or remove or v != "unchanged":
                plan.append((info.id, add, remove, v))
        if not plan:
            self.dismiss(None)
            self.lab.say("tags: nothing changed", timeout=3)
            return
        j = self.lab.journal

        def work():
            for rid, add, remove, v in plan:
                if add:
                    core_runs.add_tags(j, rid, add)
                if remove:
                    core_runs.add_tags(j, rid, remove, remove=True)
                if v != "unchanged":
                    core_runs.set_verdict(j, rid, None if v == "none" else v)

        names = ", ".join(p[0] for p in plan) if len(plan) <= 3 else f"{len(plan)} runs"
        self.call_core("tags", work, ok=lambda _r: f"tags saved: {names}")


# --------------------------------------------------------------------------- new run
RAW_COMMAND = "\x00command"  # the form's "any command" choice: not a possible template name


class NewRunDialog(ActionDialog):
    """``n``: launch a run from an experiment template, or any command (``labtui run -- CMD``),
    prefilled from the selected run."""

    BINDINGS = [*ActionDialog.BINDINGS,
                Binding("ctrl+s", "submit", "Launch", id="new_run_submit", priority=True)]
    OK_LABEL = "Launch"

    def __init__(self, lab_app, experiments: dict, info=None) -> None:
        super().__init__(lab_app)
        self.experiments = experiments
        self.info = info
        if info is not None and info.experiment in experiments:
            self.first = info.experiment
        elif info is not None or not experiments:  # a run without (a known) template: its command
            self.first = RAW_COMMAND
        else:
            self.first = next(iter(experiments))
        self.generation = 0
        self.shown = self.first

    def title_text(self) -> Text:
        t = Text("New run")
        if self.info is not None:
            t.append(" — params from " if self.first != RAW_COMMAND else " — command from ")
            t.append(self.info.id)
        return t

    def defaults(self, exp: str) -> dict:
        tmpl = self.experiments.get(exp) or {}
        params = dict(tmpl.get("params") or {})
        for k in placeholders(tmpl.get("command") if isinstance(tmpl.get("command"), str) else ""):
            params.setdefault(k, None)
        return params

    def prefill(self, exp: str) -> dict:
        params = self.defaults(exp)
        if self.info is not None and self.info.experiment == exp:
            for k, v in self.info.params.items():
                if k in params:
                    params[k] = v
        return params

    def body(self) -> ComposeResult:
        choices = [(Text(n), n) for n in self.experiments]
        choices.append((Text("(any command)", style="italic"), RAW_COMMAND))
        yield field("experiment", Select(choices, value=self.first, allow_blank=False, id="new-exp",
                                         compact=True))
        yield Vertical(*self._param_widgets(self.first), id="new-params")
        yield from launch_fields(self.lab, "new", self.info.gpus if self.info is not None else None,
                                 "template's", "<experiment>_N")
        # one row: "after" queues the run too; the box queues it for free GPUs alone
        yield Horizontal(Label(Text("after"), classes="field-label"),
                         Input(placeholder="RUN[,RUN] · RUN:finished", id="new-after", compact=True),
                         Checkbox("queue (wait for GPUs)", id="new-queue", compact=True), classes="field")
        yield field("stop", Input(placeholder="val_loss < 0.2; nan; plateau:val_loss:5; max-time 8h",
                                  id="new-stop", compact=True))

    def _param_widgets(self, exp: str) -> list:
        self.generation += 1
        out: list = []
        if exp == RAW_COMMAND:
            cmd = self.info.command if self.info is not None and self.first == RAW_COMMAND else ""
            return [field("command", Input(cmd or "", placeholder="python train.py --lr 3e-4 (no shell)",
                                           classes="param", name="command",
                                           id=f"param-{self.generation}-0", compact=True))]
        for k, v in self.prefill(exp).items():
            out.append(field(k, Input("" if v is None else value_text(v), classes="param", name=k,
                                      id=f"param-{self.generation}-{len(out)}", compact=True)))
        if not out:
            out.append(Static(Text("no params", style="dim")))
        return out

    def on_mount(self) -> None:
        super().on_mount()
        inputs = list(self.query("Input.param").results(Input))
        (inputs[0] if inputs else self.query_one("#new-gpus", Input)).focus()

    @on(Select.Changed, "#new-exp")
    def _exp_changed(self, event: Select.Changed) -> None:
        exp = str(event.value)
        if exp == self.shown or (exp not in self.experiments and exp != RAW_COMMAND):
            return
        self.shown = exp
        box = self.query_one("#new-params", Vertical)
        box.remove_children()  # not awaited: the new inputs have new ids (generation)
        box.mount(*self._param_widgets(exp))
        self.show_error(None)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    def action_submit(self) -> None:
        exp = str(self.query_one("#new-exp", Select).value)
        defaults = self.defaults(exp)
        try:
            params = {}
            current = f"param-{self.generation}-"  # not the previous template's (removal is async)
            command = None
            for inp in self.query("Input.param").results(Input):
                if not (inp.id or "").startswith(current):
                    continue
                key = inp.name or ""
                if exp == RAW_COMMAND:
                    command = inp.value.strip()
                    if not command:
                        raise UserError("empty command: type the command to run")
                    continue
                v = parse_param(key, inp.value)
                if key not in defaults or v != defaults[key] or type(v) is not type(defaults[key]):
                    params[key] = v
            gpus, name = read_launch_fields(self, "new")
            wait = dict(queue=self.query_one("#new-queue", Checkbox).value or None,
                        after=self.query_one("#new-after", Input).value.strip() or None)
            rules = StopRules.from_line(self.query_one("#new-stop", Input).value).to_json()
        except UserError as e:
            self.show_error(str(e))
            return
        j = self.lab.journal
        warnings: list[str] = []
        more = dict(wait, stop_when=rules["when"], stop_on=rules["on"], max_time=rules["max_time"])

        verb = ["started"]

        def work():
            if exp == RAW_COMMAND:
                rid = core_runs.launch(j, command=command, gpus=gpus, name=name, warn=warnings.append, **more)
            else:
                rid = core_runs.launch(j, experiment=exp, params=params, gpus=gpus, name=name,
                                       warn=warnings.append, **more)
            if core_runs.get_run(j, rid).status == core_runs.Status.QUEUED:
                verb[0] = "queued"
            return rid

        def ok(rid):
            return f"{verb[0]} {rid}" + (f" ({'; '.join(warnings)})" if warnings else "")

        self.call_core("launch" if exp == RAW_COMMAND else f"launch {exp}", work, ok=ok,
                       select=lambda rid: rid)
