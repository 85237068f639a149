"""``report.md`` + ``img/*.png``: the lab report (``labtui report``).

Layout: a header (journal, period, runs by status), the diary (one section per day), then per
experiment the comparison table, the flags called out, verdicts and tags, and one overlay
picture per main metric.  Every path in the document is relative to it (``img/...``), so the
folder can be zipped or pushed to a wiki.  Journal text (ids, notes, reasons, commands) is
data: it goes through ``markdown.text`` / ``markdown.code`` and renders literally.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Sequence

from ..errors import UserError
from ..fsio import write_atomic
from ..journal import Journal
from ..metrics import goal_of
from ..runs import STATUSES, RunInfo, list_runs
from ..text import age
from . import table as C
from . import diary as D
from . import markdown as MD
from .plot import figure_to_file, load_metrics, run_curves

IMG = "img"
MAX_PICTURES = 4           # overlay pictures per experiment: the main metric + goals
NOT_PICTURED = ("epoch", "lr", "learning_rate")
PICTURE = {"width": 900, "height": 450}
NO_EXPERIMENT = "(no experiment)"


def write_report(journal: Journal, out: str | Path, ids: Sequence[str] = (), tag: str | None = None,
                 experiment: str | None = None, since: str | None = None, until: str | None = None,
                 images: bool = True) -> Path:
    """Write ``out/report.md`` (and ``out/img/*.png``); returns the report's path."""
    out = Path(out)
    d0, d1 = D.parse_day(since, "--since"), D.parse_day(until, "--until")
    data = journal.read()
    infos = C.select(journal, data, list_runs(journal, data), ids, tag, experiment)
    evs = D.events(infos, d0, d1)
    if d0 is not None or d1 is not None:  # the runs with something to say in the period
        active = {e.run for e in evs}
        infos = [r for r in infos if r.id in active]
    if not infos:
        raise UserError("no run matches: nothing to report")
    img_dir = out / IMG
    if images:
        img_dir.mkdir(parents=True, exist_ok=True)
        for old in img_dir.glob("*.png"):  # pictures of an earlier report of this folder
            old.unlink()
    lines = _header(journal, infos, evs)
    lines += _diary(evs, {r.id: r for r in infos})
    names: set[str] = set()
    metrics: dict = {}
    groups: dict[str, list[RunInfo]] = {}
    for r in infos:
        groups.setdefault(r.experiment or NO_EXPERIMENT, []).append(r)
    lines += ["## Experiments", ""]
    for exp, runs in groups.items():
        lines += _experiment(journal, data, exp, runs, out, names, metrics, images)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "report.md"
    write_atomic(path, "\n".join(lines).rstrip("\n") + "\n")
    return path


def _header(journal: Journal, infos: list[RunInfo], evs: list[D.Event]) -> list[str]:
    counts = Counter(str(r.status) for r in infos)
    by_status = ", ".join(f"{counts[s]} {s}" for s in STATUSES if counts[s])
    lines = ["# Lab report", "", f"Journal: {MD.code(journal.path.name)}  ", f"Runs: {len(infos)} ({by_status})  "]
    if evs:
        a, b = evs[0].at.date(), evs[-1].at.date()
        lines.append(f"Period: {a.isoformat()}" + (f" to {b.isoformat()}" if b != a else ""))
    return lines + [""]


def _run(rid: str) -> str:
    return f"**{MD.text(rid)}**"


def _event_line(e: D.Event, info: RunInfo | None) -> str:
    d = e.detail
    t = e.at.strftime("%H:%M")
    if e.kind == "launched":
        exp = f" ({MD.text(d['experiment'])})" if d.get("experiment") else ""
        return f"- {t} launched {_run(e.run)}{exp}: {MD.code(d['command'])}"
    if e.kind == "resumed":
        frm = f" from checkpoint {MD.code(d['checkpoint'])}" if d.get("checkpoint") else ""
        step = f" (step {C.fmt(d['step'])})" if d.get("step") is not None else ""
        return f"- {t} resumed {_run(d['parent'])} as {_run(e.run)}{frm}{step}: {MD.code(d['command'])}"
    if e.kind == "note":
        return f"- {t} note on {_run(e.run)}: {MD.text(d['text'])}"
    if e.kind == "queued":
        after = d.get("after") or []
        after = (" after " + ", ".join(MD.text(str(a)) for a in after)) if isinstance(after, list) and after else ""
        return f"- {t} queued {_run(e.run)}{after}: {MD.code(d['command'])}"
    took = age(d.get("duration"), long=True)
    took = f" after {took}" if took else ""
    if e.kind == "finished":
        return f"- {t} finished {_run(e.run)}{took}"
    if e.kind == "killed":
        why = f": {MD.text(d['reason'])}" if d.get("reason") else ""
        return f"- {t} killed {_run(e.run)}{took}{why}"
    if e.kind == "stopped":
        why = f" by its rule: {MD.text(d['reason'])}" if d.get("reason") else " by one of its rules"
        return f"- {t} stopped {_run(e.run)}{took}{why}"
    if e.kind == "cancelled":
        why = f": {MD.text(d['reason'])}" if d.get("reason") else ""
        return f"- {t} cancelled {_run(e.run)} before it started{why}"
    if e.kind == "failed":
        how = f"signal {d['signal']}" if d.get("signal") else f"exit {C.fmt(d.get('exit_code'))}"
        tb = f": {MD.code(d['traceback'])}" if d.get("traceback") else ""
        return f"- {t} failed {_run(e.run)} ({MD.text(how)}){took}{tb}"
    return f"- {t} {MD.text(e.kind)} {_run(e.run)}{took}"


def _diary(evs: list[D.Event], infos: dict[str, RunInfo]) -> list[str]:
    lines = ["## Diary", ""]
    if not evs:
        return lines + ["Nothing happened in this period.", ""]
    day = None
    for e in evs:
        if e.at.date() != day:
            if day is not None:
                lines.append("")
            day = e.at.date()
            lines += [f"### {day.isoformat()}", ""]
        lines.append(_event_line(e, infos.get(e.run)))
    return lines + [""]


def _pictured(table: C.Table) -> list[str]:
    names = [m for m in table.metrics if m not in NOT_PICTURED]
    main = names[:1]
    rest = [m for m in names[1:] if goal_of(m) is not None]
    return (main + rest)[:MAX_PICTURES]


def _undated(r: RunInfo) -> list[str]:
    return [n["text"] for n in r.notes if n.get("at") is None]


def _leaves(runs: list[RunInfo]) -> list[str]:
    """Runs not resumed by another run of the group (their curve holds their parents')."""
    parents = {r.parent for r in runs if r.parent}
    return [r.id for r in runs if r.id not in parents]


def _experiment(journal: Journal, data: dict, exp: str, runs: list[RunInfo], out: Path,
                names: set[str], metrics: dict, images: bool) -> list[str]:
    table = C.compare(journal, runs, data)
    lines = [f"### {MD.text(exp)}", ""]
    header = table.header()
    body = [table.values(r) for r in table.rows]
    lines += [MD.table(header, body).rstrip("\n"), ""]
    flagged = [r for r in table.rows if r.flags]
    if flagged:
        lines += ["Flags:", ""]
        lines += [f"- {_run(r.info.id)}: {MD.text(', '.join(r.flags))}" for r in flagged]
        lines.append("")
    judged = [r for r in runs if r.verdict or r.tags or _undated(r)]
    if judged:
        lines += ["Verdicts, tags and undated notes:", ""]
        for r in judged:
            parts = ([f"verdict {MD.text(r.verdict)}"] if r.verdict else []) + \
                    ([f"tags {MD.text(' '.join(r.tags))}"] if r.tags else []) + \
                    [f"note: {MD.text(n)}" for n in _undated(r)]
            lines.append(f"- {_run(r.id)}: {'; '.join(parts)}")
        lines.append("")
    if not images:
        return lines
    leaves = _leaves(runs)
    load_metrics(journal, data, leaves, into=metrics)
    runs_table = data.get("runs") or {}
    for m in _pictured(table):
        curves = run_curves(metrics, runs_table, leaves, m)
        if not curves:
            continue
        name = f"{MD.slug(exp)}-{MD.slug(m)}"
        k, base = 2, name
        while name in names:
            name, k = f"{base}-{k}", k + 1
        names.add(name)
        rel = f"{IMG}/{name}.png"
        figure_to_file([(m, curves)], out / rel, title=f"{exp}: {m}", **PICTURE)
        lines += [f"![{MD.text(exp)}: {MD.text(m)}]({rel})", ""]
    return lines
