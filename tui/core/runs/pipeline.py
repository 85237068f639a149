"""Pipelines: experiments run one after another, each starting from the previous one's weights.

```toml
[pipelines.dinet]
stages = ["frame64", "frame128", "frame256", "clip256"]   # experiment names, in order
```

``labtui run dinet`` (a pipeline name resolves when no experiment has that name) queues every
stage at once (:mod:`tui.core.runs.queue`): stage k waits with ``--after <stage k-1>:finished``
and starts with ``--init-from`` stage k-1's newest complete checkpoint, resolved when stage k
starts (``{init_from}`` / ``$LABTUI_INIT_FROM``).  A stage that fails cancels the stages after
it.  Each stage's journal record says ``pipeline = "dinet"``, ``pipeline_id = "dinet_1"`` (this
instance) and ``pipeline_stage = k``.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from ..errors import UserError
from ..journal import Journal
from .launch import launch
from .model import as_journal


def pipelines(data: dict) -> dict[str, Any]:
    p = data.get("pipelines")
    return p if isinstance(p, dict) else {}


def stages_of(data: dict, name: str) -> list[str]:
    """The experiments of pipeline ``name`` (UserError, one line, if it is malformed)."""
    spec = pipelines(data).get(name)
    stages = spec.get("stages") if isinstance(spec, dict) else None
    if not isinstance(stages, list) or not stages or not all(isinstance(s, str) for s in stages):
        raise UserError(f"pipeline {name!r}: stages must be a list of experiment names")
    exps = data.get("experiments") or {}
    missing = [s for s in stages if s not in exps]
    if missing:
        raise UserError(f"pipeline {name!r}: no experiment {', '.join(map(repr, missing))}; known: "
                        + (", ".join(exps) or "none"))
    return list(stages)


def _instance_id(data: dict, name: str) -> str:
    pat = re.compile(re.escape(name) + r"_(\d+)$")
    n = 0
    for rec in (data.get("runs") or {}).values():
        m = pat.match(str(rec.get("pipeline_id", ""))) if isinstance(rec, dict) else None
        if m:
            n = max(n, int(m.group(1)))
    return f"{name}_{n + 1}"


def launch_pipeline(journal: Journal | str | None, name: str, gpus: Any = None,
                    min_free_mem: Any = None, after: Any = None,
                    warn: Callable[[str], None] | None = None) -> tuple[str, list[str]]:
    """Queue every stage of pipeline ``name``: (the instance id, the stages' run ids in order).

    ``gpus`` / ``min_free_mem`` apply to every stage (default: each template's own); ``after``
    holds up the first stage."""
    j = as_journal(journal)
    data = j.read()
    stages = stages_of(data, name)
    inst = _instance_id(data, name)
    ids: list[str] = []
    for k, exp in enumerate(stages, 1):
        prev = ids[-1] if ids else None
        ids.append(launch(
            j, experiment=exp, gpus=gpus, min_free_mem=min_free_mem, warn=warn, queue=True,
            after=[f"{prev}:finished"] if prev else after, defer_init_from=prev,
            extra={"pipeline": name, "pipeline_id": inst, "pipeline_stage": k}))
    return inst, ids
