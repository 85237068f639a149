"""Experiment templates: ``--set`` values, placeholders, and a template's command, cwd and env.

Placeholders (``{name}``) in ``command``, ``cwd``, ``env`` values, resume ``set`` values and
string param defaults: every param, and the ones labtui fills itself (:data:`CONTEXT`).  An
unknown one is a one-line :class:`UserError` before anything starts.
"""

from __future__ import annotations

import re
import shlex
import string
from pathlib import Path
from typing import Any, Iterable

from ..errors import UserError
from ..journal import Journal, tomllib


def parse_value(text: str) -> Any:
    """A ``--set`` value: TOML scalar if it parses (1e-4, 4, true, "x"), else the raw string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_sets(items: Iterable[str] | None) -> dict:
    out = {}
    for item in items or []:
        key, sep, val = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UserError(f"bad --set {item!r}: expected KEY=VALUE")
        out[key] = parse_value(val.strip())
    return out


def placeholders(template: str) -> list[str]:
    names = []
    try:
        for _lit, field, _spec, _conv in string.Formatter().parse(template):
            if field is not None:
                names.append(field)
    except ValueError as e:
        raise UserError(f"bad command template {template!r}: {e}") from None
    return names


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, list):
        return ",".join(_fmt(x) for x in v)
    return str(v)


# Placeholders labtui fills itself (beside every param): where each is set.
CONTEXT = {"run_id": "every run", "run_dir": "every run", "resume_from": "resumes",
           "parent_run_dir": "resumes", "init_from": "runs started with --init-from"}
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _check_fields(exp_name: str, template: str, values: dict, what: str) -> None:
    for f in placeholders(template):
        if not f or not _NAME_RE.match(f):
            raise UserError(f"experiment {exp_name!r}: bad placeholder {{{f}}} in {what}")
        if f in values:
            continue
        if f in CONTEXT:
            raise UserError(f"experiment {exp_name!r}: placeholder {{{f}}} in {what} is only set on "
                            f"{CONTEXT[f]}")
        if what == "command":
            raise UserError(
                f"experiment {exp_name!r}: command needs param {f!r}; "
                f"add it to [experiments.{exp_name}.params] or pass --set {f}=VALUE")
        raise UserError(f"experiment {exp_name!r}: unknown placeholder {{{f}}} in {what}; known: "
                        + ", ".join(sorted(values)))


def render_text(exp_name: str, template: str, values: dict, what: str) -> str:
    """Fill ``{name}`` placeholders with plain values (cwd, env values, recipe values)."""
    _check_fields(exp_name, template, values, what)
    return template.format_map({k: _fmt(v) for k, v in values.items()})


def render_command(exp_name: str, template: str, params: dict) -> list[str]:
    """Fill ``{param}`` placeholders (each value shell-quoted) and split into argv."""
    _check_fields(exp_name, template, params, "command")
    quoted = {k: shlex.quote(_fmt(v)) for k, v in params.items()}
    try:
        return shlex.split(template.format_map(quoted))
    except ValueError as e:
        raise UserError(f"experiment {exp_name!r}: cannot split command: {e}") from None


def check_types(exp_name: str, defaults: dict, params: dict) -> None:
    """A ``--set`` value must have its template default's type when that is a number or bool."""
    for k, v in params.items():
        if k not in defaults:
            continue
        d = defaults[k]
        if isinstance(d, bool):
            ok, kind = isinstance(v, bool), "true or false"
        elif isinstance(d, int):
            ok, kind = isinstance(v, int) and not isinstance(v, bool), "an integer"
        elif isinstance(d, float):
            ok, kind = isinstance(v, (int, float)) and not isinstance(v, bool), "a number"
        else:
            continue
        if not ok:
            raise UserError(f"bad --set {k}={_fmt(v) if v != '' else ''}: experiment {exp_name!r} "
                            f"param {k!r} is {kind} (default {_fmt(d)})")


def template_cwd(j: Journal, tmpl_cwd: Any, exp_name: str, values: dict) -> Path | None:
    if tmpl_cwd is None:
        return None
    if not isinstance(tmpl_cwd, str) or not tmpl_cwd.strip():
        raise UserError(f"experiment {exp_name!r}: cwd must be a folder path")
    p = Path(render_text(exp_name, tmpl_cwd, values, "cwd")).expanduser()
    return p if p.is_absolute() else j.root / p


def template_env(tmpl_env: Any, exp_name: str, values: dict) -> dict:
    if tmpl_env is None:
        return {}
    if not isinstance(tmpl_env, dict):
        raise UserError(f"experiment {exp_name!r}: env must be a table of NAME = \"value\"")
    return {str(k): render_text(exp_name, str(_fmt(v)), values, f"env {k}") for k, v in tmpl_env.items()}
