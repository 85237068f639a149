"""`g`: the GPU process view (nvitop-style): per GPU its processes with pid, user, GPU memory,
CPU, run (or ``foreign``) and command; ``k`` kills one of the user's own foreign processes.

Everything shown comes from the app's latest GPU snapshot (``tui.core.gpus``); other users'
command lines are plain text (``tui.core.text.inert``: never a terminal escape).  The kill goes
through :func:`tui.core.gpus.kill_foreign` after a confirmation, with the same rules as
``labtui gpus --kill`` (a run's process: use ``k`` on the run; another user's: refused).
"""

from __future__ import annotations

import psutil
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, DataTable, Static

from ...core import gpus as G
from ...core import procs
from ...core.text import inert
from ..widgets.keybar import KeyBar

KILL_GRACE = 5.0  # seconds between SIGTERM and SIGKILL, as `labtui gpus --kill`
COLUMNS = ("GPU / PID", "user", "GPU mem", "CPU", "run", "command")


def _t(v) -> Text:
    """A value from a snapshot as plain text (never markup, never a terminal escape)."""
    return Text(inert(G.fmt(v)))


class GpuKillDialog(ModalScreen[bool]):
    """Confirm killing one foreign GPU process."""

    DEFAULT_CSS = """
    GpuKillDialog { align: center middle; }
    GpuKillDialog .dialog { border: round $error; }
    """
    BINDINGS = [
        Binding("y", "yes", "Kill", id="gpu_kill_yes"),
        Binding("n,escape", "no", "Cancel", id="gpu_kill_no"),
    ]

    def __init__(self, proc: G.GpuProcess) -> None:
        super().__init__()
        self.proc = proc

    def compose(self) -> ComposeResult:
        p = self.proc
        body = Text()
        body.append(f"PID {p.pid}", style="bold")
        body.append(f"  user {inert(G.fmt(p.user))}  {G.fmt(p.mem_used, 'B')} on GPU {p.gpu}\n")
        body.append(inert(G.fmt(p.name)))
        body.append(f"\n\nSIGTERM, then SIGKILL after {KILL_GRACE:g} s (as `labtui gpus --kill`).")
        with Vertical(classes="dialog"):
            yield Static(Text("Kill this GPU process?"), classes="dialog-title")
            yield Static(body, classes="dialog-body")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel (n)", id="gpu-kill-cancel")
                yield Button("Kill (y)", id="gpu-kill-ok", variant="error")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "gpu-kill-ok")

    def action_yes(self) -> None:
        self.dismiss(True)

    def action_no(self) -> None:
        self.dismiss(False)


class GpuScreen(Screen):
    """Per GPU a line (name, utilisation, memory), then its processes, biggest first."""

    BINDINGS = [
        Binding("escape,g", "close", "Back", id="gpu_view_close"),
        Binding("k", "kill_proc", "Kill process", id="gpu_view_kill"),
    ]

    def __init__(self, lab) -> None:
        super().__init__()
        self.lab = lab
        self._cpu: dict[int, psutil.Process] = {}  # pid -> Process (cpu_percent needs the previous call)
        self._shown = None

    def compose(self) -> ComposeResult:
        yield Static(Text("GPU processes  (k kills one of your own foreign processes, esc back)"),
                     classes="title")
        yield DataTable(id="gpu-procs", cursor_type="row", zebra_stripes=False)
        yield KeyBar()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for c in COLUMNS:
            table.add_column(c, key=c)
        self.fill()
        table.focus()
        self.set_interval(1.0, self.fill)

    def snapshot(self):
        return self.lab.state.gpu_snapshot

    def cpu(self, gp: G.GpuProcess) -> str:
        """The process's CPU share since the last refresh; only for a visible pid whose create
        time is the snapshot's (never another process that reused the pid)."""
        pid = gp.pid
        if not gp.visible or not isinstance(gp.create_time, (int, float)):
            return "n/a"
        p = self._cpu.get(pid)
        try:
            if p is None or not procs.same_start(p.create_time(), float(gp.create_time)):
                p = psutil.Process(pid)
                if not procs.same_start(p.create_time(), float(gp.create_time)):
                    return "n/a"
                self._cpu[pid] = p
                p.cpu_percent(None)  # the first call only starts the measurement
                return "…"
            return f"{p.cpu_percent(None):.0f}%"
        except (psutil.Error, OSError):
            self._cpu.pop(pid, None)
            return "n/a"

    def rows(self, snap) -> list[tuple[str, tuple]]:
        """(row key, cells) for a snapshot: a GPU's line, then its processes by GPU memory."""
        if snap is None:
            return [("msg", (Text("waiting for the first GPU sample…", style="dim"), *[""] * 5))]
        if not snap.ok:
            return [("msg", (Text(inert(snap.reason or "no GPU"), style="dim"), *[""] * 5))]
        out = []
        for g in snap.gpus:
            mem = f"{G.fmt(g.mem_used, 'B')} / {G.fmt(g.mem_total, 'B')}"
            out.append((f"gpu:{g.index}", (Text(f"GPU {g.index}", style="bold"), Text(""), Text(mem),
                                           Text(f"util {G.fmt(g.util, '%')}"), Text(""),
                                           Text(inert(g.error or G.fmt(g.name)),
                                                style="bold red" if g.error or g.lost else "bold"))))
            ps = [p for p in snap.processes if p.gpu == g.index]
            ps.sort(key=lambda p: -(p.mem_used if isinstance(p.mem_used, (int, float)) else 0))
            for p in ps:
                run = Text(p.run_id, style="bold") if p.run_id else Text("foreign", style="dim")
                cpu = self.cpu(p)
                out.append((f"pid:{g.index}:{p.pid}", (Text(f"  {p.pid}"), _t(p.user),
                                                       Text(G.fmt(p.mem_used, "B")), Text(cpu), run,
                                                       _t(p.name))))
        return out

    def fill(self) -> None:
        table = self.query_one(DataTable)
        snap = self.snapshot()
        rows = self.rows(snap)
        keep = self.selected_key()
        table.clear()
        for key, cells in rows:
            table.add_row(*cells, key=key)
        if keep is not None:
            keys = [k for k, _ in rows]
            if keep in keys:
                table.move_cursor(row=keys.index(keep), animate=False)
        self._shown = snap

    def selected_key(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        try:
            return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except Exception:  # noqa: BLE001 - an empty or changing table: nothing selected
            return None

    def selected_process(self) -> G.GpuProcess | None:
        key = self.selected_key()
        if not key or not key.startswith("pid:") or self._shown is None:
            return None
        _, gpu, pid = key.split(":")
        for p in self._shown.processes:
            if p.pid == int(pid) and p.gpu == int(gpu):
                return p
        return None

    def action_close(self) -> None:
        self.app.pop_screen()

    def action_kill_proc(self) -> None:
        p = self.selected_process()
        if p is None:
            self.lab.say("select a process (a PID row) to kill", severity="warning")
            return
        if p.run_id:  # the core refuses it too; say what to do instead
            self.lab.say(f"PID {p.pid} belongs to run {p.run_id}: kill the run with k on the main screen",
                         severity="warning", timeout=6)
            return
        snap = self._shown
        lab = procs.lab_id(self.lab.journal.path)

        def chosen(yes: bool | None) -> None:
            if yes:
                self.lab.run_core(f"kill PID {p.pid}",
                                  lambda: G.kill_foreign(p.pid, snapshot=snap, grace=KILL_GRACE, lab=lab),
                                  ok=str)

        self.app.push_screen(GpuKillDialog(p), chosen)
