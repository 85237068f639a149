"""Lineage: one walk up a run's resume chain, one tree order for tables.

Works on anything that maps a run id to its parent: the journal's ``runs`` table (dicts with
a ``parent`` key), ``RunInfo`` objects (``.parent``), or a plain ``{id: parent}`` mapping.
Cycles and dangling parents in a hand-edited journal are cut, never followed forever.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping


def parent_of(rec: Any) -> str | None:
    """The parent id of a journal record, a RunInfo, or a bare parent string."""
    if rec is None:
        return None
    if isinstance(rec, str):
        return rec
    if isinstance(rec, Mapping):
        p = rec.get("parent")
    else:
        p = getattr(rec, "parent", None)
    return p if isinstance(p, str) else None


def chain(runs: Mapping[str, Any], run_id: str) -> list[str]:
    """Ids from the lineage root down to ``run_id`` (``run_id`` last; itself alone if unknown)."""
    out = [run_id]
    seen = {run_id}
    cur = parent_of(runs.get(run_id))
    while cur is not None and cur in runs and cur not in seen:
        out.append(cur)
        seen.add(cur)
        cur = parent_of(runs[cur])
    out.reverse()
    return out


def root(runs: Mapping[str, Any], run_id: str) -> str:
    return chain(runs, run_id)[0]


def tree_order(infos: Iterable[Any]) -> list[tuple[int, Any]]:
    """Runs (objects with ``.id`` and ``.parent``) in the given order, each resume chain under
    its parent: ``[(depth, run), ...]``; every run appears exactly once."""
    infos = list(infos)
    by_id = {r.id: r for r in infos}
    kids: dict[str, list] = {}
    roots = []
    for r in infos:
        if r.parent in by_id and r.parent != r.id:
            kids.setdefault(r.parent, []).append(r)
        else:
            roots.append(r)
    out: list[tuple[int, Any]] = []
    seen: set[str] = set()

    def walk(r: Any, depth: int) -> None:
        stack = [(r, depth)]
        while stack:
            node, d = stack.pop()
            if node.id in seen:
                continue
            seen.add(node.id)
            out.append((d, node))
            for k in reversed(kids.get(node.id, [])):
                stack.append((k, d + 1))

    for r in roots:
        walk(r, 0)
    for r in infos:  # cycles written by hand
        walk(r, 0)
    return out
