"""User metric patterns (Guild AI's output-scalars are the model) and the journal glue."""

from __future__ import annotations

import json
import re
from typing import Any, Iterable

from ..errors import UserError
from ..journal import Journal
from .goals import goals_from_config


class Patterns:
    """User regexes (Guild-style output scalars) plus whether the default parser also runs.

    Named groups: ``step``/``iter``/``epoch`` set x; ``key`` + ``value`` give a dynamic
    metric name; any other named group is a metric of that name.  A pattern without named
    groups but one group uses ``name`` (from a ``scalars`` table) as the metric name.
    Macros: ``\\value`` (a number), ``\\key`` (a non-space word), ``\\step`` (an integer).
    """

    def __init__(self, regexes: Iterable[tuple[str | None, str]] = (), defaults: bool = True,
                 where: str = "pattern", goals: dict[str, str] | None = None,
                 files: Iterable[str] = ()):
        self.defaults = defaults
        self.files: list[str] = list(files)  # declared metric files (globs; ``files.metric_files``)
        self.goals: dict[str, str] = dict(goals or {})  # metric direction (goals.goal_of); not parsing
        self.items: list[tuple[str | None, re.Pattern]] = []
        self.source = []
        for name, rx in regexes:
            self.source.append((name, rx))
            num = r"[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|nan|inf)"
            text = rx.replace(r"\key", r"(?P<key>[^\s:=]+)").replace(r"\step", r"(?P<step>\d+)")
            if "(?P<key>" in text and "(?P<value>" not in text:
                text = text.replace(r"\value", f"(?P<value>{num})", 1)
            text = text.replace(r"\value", f"(?:{num})")
            try:
                if re.compile(text).groups == 0 and r"\value" in rx:
                    text = rx.replace(r"\value", f"({num})", 1).replace(r"\value", f"(?:{num})")
            except re.error:
                pass
            try:
                rc = re.compile(text)
            except re.error as e:
                raise UserError(f"{where}: bad metrics pattern {rx!r}: {e}") from None
            if not rc.groupindex and rc.groups != 1:
                raise UserError(f"{where}: metrics pattern {rx!r} needs named groups "
                                f"(?P<name>...) or exactly one group with a name")
            if not rc.groupindex and not name:
                raise UserError(f"{where}: metrics pattern {rx!r} has no named group")
            self.items.append((name, rc))

    def signature(self) -> str:
        return json.dumps([self.defaults, self.source])

    def __bool__(self) -> bool:
        """Whether the patterns change parsing (goals alone do not)."""
        return bool(self.items) or not self.defaults

    @classmethod
    def from_config(cls, cfg: Any, where: str) -> "Patterns":
        """From ``[experiments.NAME.metrics]``: ``patterns`` (list), ``scalars`` (table),
        ``defaults`` (bool), ``goals`` (table of name = "max" | "min"), ``files`` (list of globs
        relative to the run's working folder; ``{run_dir}``, ``{run_id}``)."""
        if cfg is None:
            return cls()
        if not isinstance(cfg, dict):
            raise UserError(f"{where}: metrics must be a table")
        unknown = set(cfg) - {"patterns", "scalars", "defaults", "goals", "files"}
        if unknown:
            raise UserError(f"{where}: unknown metrics keys: {', '.join(sorted(unknown))}")
        pats = cfg.get("patterns", [])
        if isinstance(pats, str):
            pats = [pats]
        if not isinstance(pats, list) or not all(isinstance(p, str) for p in pats):
            raise UserError(f"{where}: metrics.patterns must be a list of regex strings")
        scal = cfg.get("scalars", {})
        if not isinstance(scal, dict) or not all(isinstance(v, str) for v in scal.values()):
            raise UserError(f"{where}: metrics.scalars must be a table of name = regex")
        defaults = cfg.get("defaults", True)
        if not isinstance(defaults, bool):
            raise UserError(f"{where}: metrics.defaults must be true or false")
        goals = goals_from_config(cfg.get("goals"), where)
        files = cfg.get("files", [])
        if isinstance(files, str):
            files = [files]
        if not isinstance(files, list) or not all(isinstance(f, str) and f for f in files):
            raise UserError(f"{where}: metrics.files must be a list of file globs")
        return cls([(None, p) for p in pats] + list(scal.items()), defaults, where, goals, files)



def patterns_for_run(data: dict, run_id: str) -> Patterns:
    """The experiment's ``[experiments.NAME.metrics]`` patterns for a run (UserError if bad)."""
    rec = (data.get("runs") or {}).get(run_id) or {}
    exp = rec.get("experiment")
    cfg = ((data.get("experiments") or {}).get(exp) or {}).get("metrics") if exp else None
    return Patterns.from_config(cfg, f"experiment {exp}") if cfg is not None else Patterns()


def as_journal(journal) -> Journal:
    """A Journal, or the journal at a path."""
    return journal if isinstance(journal, Journal) else Journal(journal)
