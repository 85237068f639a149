"""The import contract, read from the source (AST) of every module under tui/.

- tui.core never imports textual, tui.app or tui.cli (not even inside a function);
- tui.app never imports tui.cli;
- nothing under tui/ imports torch (torch is the `trainers` extra, not a monitor dependency);
- the import graph between tui modules has no cycle.  Every import counts, top-level or
  inside a function: a function-local import only hides a cycle (it breaks at the first call
  instead of at import time), it does not remove it.  Imports under ``if TYPE_CHECKING:``
  never run and do not count.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

from .conftest import ROOT

PACKAGE = "tui"


@dataclass(frozen=True)
class Import:
    module: str  # the importing tui module
    target: str  # the imported module (a tui module when it is one, else the name as written)
    line: int
    local: bool  # inside a function body
    type_checking: bool  # under `if TYPE_CHECKING:`

    def where(self) -> str:
        kind = "function-local " if self.local else ""
        return f"{self.module}:{self.line} {kind}import {self.target}"


def tui_modules(root: Path = ROOT) -> dict[str, Path]:
    """Dotted name -> file of every module under tui/ (a package is its __init__.py)."""
    out = {}
    for f in sorted((root / PACKAGE).rglob("*.py")):
        parts = list(f.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = f
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


class _Collector(ast.NodeVisitor):
    def __init__(self, module: str, is_package: bool, known: set[str]):
        self.module, self.is_package, self.known = module, is_package, known
        self.imports: list[Import] = []
        self._local = 0
        self._type_checking = 0

    def _add(self, target: str, node: ast.stmt) -> None:
        self.imports.append(Import(self.module, target, node.lineno, self._local > 0,
                                   self._type_checking > 0))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            pkg = self.module if self.is_package else self.module.rpartition(".")[0]
            for _ in range(node.level - 1):
                pkg = pkg.rpartition(".")[0]
            base = f"{pkg}.{node.module}" if node.module else pkg
        else:
            base = node.module or ""
        for alias in node.names:
            sub = f"{base}.{alias.name}"
            # `from pkg import mod` imports the submodule; `from mod import name` the module.
            self._add(sub if sub in self.known else base, node)

    def _function(self, node) -> None:
        self._local += 1
        self.generic_visit(node)
        self._local -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            self._type_checking += 1
            for stmt in node.body:
                self.visit(stmt)
            self._type_checking -= 1
            for stmt in node.orelse:
                self.visit(stmt)
        else:
            self.generic_visit(node)


def collect_imports(root: Path = ROOT) -> list[Import]:
    mods = tui_modules(root)
    known = set(mods)
    out: list[Import] = []
    for name, path in mods.items():
        c = _Collector(name, path.name == "__init__.py", known)
        c.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        out += c.imports
    return out


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def violations(imports: list[Import], importer: str, forbidden: tuple[str, ...]) -> list[str]:
    return [i.where() for i in imports
            if _within(i.module, importer) and any(_within(i.target, f) for f in forbidden)]


def import_graph(imports: list[Import], known: set[str]) -> dict[str, dict[str, Import]]:
    """module -> {imported tui module: the first import statement}, runtime imports only."""
    graph: dict[str, dict[str, Import]] = {m: {} for m in known}
    for i in imports:
        if i.type_checking or i.target not in known or i.target == i.module:
            continue
        graph[i.module].setdefault(i.target, i)
    return graph


def find_cycles(graph: dict[str, dict[str, Import]]) -> list[list[Import]]:
    """One cycle (as its import statements) per strongly connected component (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    sccs: list[set[str]] = []

    def strongconnect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(comp)

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10 * len(graph) + 100))
    try:
        for v in sorted(graph):
            if v not in index:
                strongconnect(v)
    finally:
        sys.setrecursionlimit(limit)

    cycles = []
    for comp in sccs:
        start = min(comp)
        # Shortest path back to `start` inside the component (BFS), as import statements.
        prev: dict[str, Import] = {}
        frontier, seen, found = [start], {start}, None
        while frontier and found is None:
            nxt = []
            for v in frontier:
                for w, imp in sorted(graph[v].items()):
                    if w not in comp:
                        continue
                    if w == start:
                        found = imp
                        break
                    if w not in seen:
                        seen.add(w)
                        prev[w] = imp
                        nxt.append(w)
                if found is not None:
                    break
            frontier = nxt
        path = [found]
        while path[-1].module != start:
            path.append(prev[path[-1].module])
        cycles.append(path[::-1])
    return cycles


def describe(cycle: list[Import]) -> str:
    names = " -> ".join([cycle[0].module] + [i.target for i in cycle])
    return names + "\n" + "\n".join("    " + i.where() for i in cycle)


# ----------------------------------------------------------------------------- the contract

IMPORTS = collect_imports()
MODULES = set(tui_modules())


def test_the_scan_sees_the_packages():
    assert {"tui.core", "tui.core.journal", "tui.app", "tui.cli", "tui.cli.main"} <= MODULES
    assert any(i.module == "tui.cli.app" and i.target == "tui.app.app" and i.local for i in IMPORTS)


def test_core_never_imports_textual_app_or_cli():
    bad = violations(IMPORTS, "tui.core", ("textual", "tui.app", "tui.cli"))
    assert not bad, "tui.core must stay Textual-free and know nothing of the app or the CLI:\n" + "\n".join(bad)


def test_the_first_frame_is_textual_free():
    """The CLI paints the app's first frame before Textual loads: nothing it imports (its
    modules, and theirs) may import textual, or the frame waits for it."""
    graph = import_graph(IMPORTS, MODULES)
    seen, todo = set(), ["tui.app.firstframe"]
    while todo:
        m = todo.pop()
        if m not in seen:
            seen.add(m)
            todo.extend(graph.get(m, {}))
    assert {"tui.app.cells", "tui.app.plotdraw", "tui.app.state", "tui.app.model"} <= seen
    bad = [i.where() for i in IMPORTS if i.module in seen and not i.local and not i.type_checking
           and _within(i.target, "textual")]
    assert not bad, "the first frame's modules import textual:\n" + "\n".join(bad)


def test_app_never_imports_cli():
    bad = violations(IMPORTS, "tui.app", ("tui.cli",))
    assert not bad, "the app calls core, never the CLI:\n" + "\n".join(bad)


def test_nothing_in_tui_imports_torch():
    bad = violations(IMPORTS, PACKAGE, ("torch",))
    assert not bad, "torch is the `trainers` extra; the monitor must not import it:\n" + "\n".join(bad)


def test_no_import_cycles():
    cycles = find_cycles(import_graph(IMPORTS, MODULES))
    assert not cycles, "import cycles between tui modules:\n" + "\n".join(describe(c) for c in cycles)


# ----------------------------------------------------------------------------- the checker itself

def _fake_tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        f = tmp_path / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(text, encoding="utf-8")
    return tmp_path


def test_checker_finds_forbidden_imports_anywhere(tmp_path):
    root = _fake_tree(tmp_path, {
        "tui/__init__.py": "",
        "tui/core/__init__.py": "",
        "tui/core/a.py": "def f():\n    import textual.app\n    from ..cli import main\n",
        "tui/core/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import torch\n",
        "tui/cli/__init__.py": "from .main import main\n",
        "tui/cli/main.py": "def main():\n    pass\n",
        "tui/app/__init__.py": "",
        "tui/app/x.py": "from tui.cli.main import main\n",
    })
    imps = collect_imports(root)
    assert violations(imps, "tui.core", ("textual", "tui.app", "tui.cli")) == [
        "tui.core.a:2 function-local import textual.app", "tui.core.a:3 function-local import tui.cli.main"]
    assert violations(imps, "tui", ("torch",)) == ["tui.core.b:3 import torch"]
    assert violations(imps, "tui.app", ("tui.cli",)) == ["tui.app.x:1 import tui.cli.main"]


def test_checker_finds_and_prints_a_cycle_hidden_in_a_function(tmp_path):
    root = _fake_tree(tmp_path, {
        "tui/__init__.py": "",
        "tui/core/__init__.py": "",
        "tui/core/runs.py": "from . import procs\n\ndef f():\n    from .gpus import resolve\n",
        "tui/core/gpus.py": "from tui.core.procs import x\n\ndef g():\n    from tui.core import runs\n",
        "tui/core/procs.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .runs import R\n",
    })
    graph = import_graph(collect_imports(root), set(tui_modules(root)))
    cycles = find_cycles(graph)
    assert len(cycles) == 1
    assert describe(cycles[0]).splitlines() == [
        "tui.core.gpus -> tui.core.runs -> tui.core.gpus",
        "    tui.core.gpus:4 function-local import tui.core.runs",
        "    tui.core.runs:4 function-local import tui.core.gpus",
    ]
