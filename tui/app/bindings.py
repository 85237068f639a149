"""Every key binding of the app, found from the classes themselves so nothing can go stale.

:func:`binding_classes` lists the app class, then every screen, dialog and widget of
``tui.app`` that declares bindings with ids (the plot's cursor keys, the GPU view, the dialogs):
the keymap check (``app.binding_ids``/``binding_scopes``) and the help screen (``?``) both read
it, so a new screen's keys are rebindable, clash-checked and listed in the help without a list
to keep up to date.  :func:`key_text` spells keys as the user types them in the config.
"""

from __future__ import annotations

from textual.binding import Binding
from textual.dom import DOMNode

# scope names (what a keymap clash names, and the help's section titles); order of the help
NAMES = {
    "LabApp": "main screen",
    "MetricPlot": "plot",
    "DetailScreen": "detail screen",
    "CompareScreen": "compare screen",
    "GpuScreen": "GPU process view",
    "GpuKillDialog": "GPU process kill dialog",
    "MetricsScreen": "metric chooser",
    "ActionDialog": "every dialog",
    "HelpScreen": "help",
}
PACKAGE = __name__.rsplit(".", 1)[0]  # tui.app


def _subclasses(cls) -> list:
    return [s for c in cls.__subclasses__() for s in (c, *_subclasses(c))]


def own_bindings(cls) -> list[Binding]:
    """The bindings with an id that ``cls`` declares (its BINDINGS list, which Textual merges
    with the base classes' ones at run time)."""
    return [b for b in cls.__dict__.get("BINDINGS", ()) if isinstance(b, Binding) and b.id]


def scope_name(cls) -> str:
    name = NAMES.get(cls.__name__)
    if name:
        return name
    base = cls.__name__
    for suffix, word in (("Dialog", " dialog"), ("Screen", " screen")):
        if base.endswith(suffix) and base != suffix:
            return _words(base[: -len(suffix)]) + word
    return _words(base)


def _words(camel: str) -> str:
    out = ""
    for i, ch in enumerate(camel):
        if ch.isupper() and i and not camel[i - 1].isupper():
            out += " "
        out += ch.lower()
    return out


def binding_classes(app_cls: type) -> dict[str, type]:
    """{scope name: class}: the app first, then every class of tui.app (loaded) with id'd
    bindings of its own, in the help's order (known scopes first, the rest by name)."""
    found = {c for c in _subclasses(DOMNode)
             if c.__module__.startswith(PACKAGE + ".") and own_bindings(c) and c is not app_cls}
    order = list(NAMES)[:-1]  # the help's own keys come last

    def rank(c) -> tuple:
        n = c.__name__
        return (order.index(n) if n in order else len(order) + (n == "HelpScreen"), scope_name(c))

    found_sorted = sorted(found, key=rank)
    return {scope_name(app_cls): app_cls, **{scope_name(c): c for c in found_sorted}}


def key_text(app, keys: str) -> str:
    """``"left,left_square_bracket"`` → ``"← ["``: each key as the footer shows it; keys with
    a modifier and ``enter`` spelled out (``ctrl+s``) as they are written in the config."""
    out = []
    for k in keys.split(","):
        k = k.strip()
        if not k:
            continue
        out.append(k if ("+" in k or k == "enter") else app.get_key_display(Binding(k, "")))
    return " ".join(out)
