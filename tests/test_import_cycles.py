"""No import cycle between the project's modules.

The import graph is read with ``ast`` from the source of the shipped packages. Counted: every
``import`` / ``from ... import`` anywhere in a module, module-level or inside a function
(a lazy import is still a dependency; it only hides the cycle until that code runs), relative
imports resolved. Not counted: imports under ``if TYPE_CHECKING:`` (never run), and the
implicit import of a module's parent package (``import nlp.sentiment`` first runs
``nlp/__init__.py``; every submodule would otherwise form a cycle with an ``__init__`` that
re-exports it). ``from pkg import name`` counts ``pkg.name`` when that is a module, else ``pkg``.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO_ROOT

PACKAGES = ("ingest", "nlp", "search", "alerts", "reports", "ui", "cityradar")


def project_modules(root: Path = REPO_ROOT) -> dict[str, Path]:
    modules: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """ids of the nodes inside ``if TYPE_CHECKING:`` blocks."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else (
                test.attr if isinstance(test, ast.Attribute) else "")
            if name == "TYPE_CHECKING":
                for child in node.body:
                    skipped.update(id(n) for n in ast.walk(child))
    return skipped


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    def known(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    skipped = _type_checking_nodes(tree)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(filter(None, (known(alias.name) for alias in node.names)))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            for alias in node.names:
                candidate = f"{source}.{alias.name}"
                target = candidate if candidate in modules else known(source)
                if target:
                    found.add(target)
    found.discard(module)
    return found


def import_graph(root: Path = REPO_ROOT) -> dict[str, set[str]]:
    modules = project_modules(root)
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def describe(component: list[str], graph: dict[str, set[str]]) -> str:
    members = set(component)
    return "; ".join(f"{m} -> {', '.join(sorted(graph[m] & members))}" for m in component)


def test_the_project_has_no_import_cycle() -> None:
    graph = import_graph()
    assert {"nlp.pipeline", "search.store", "cityradar.cli"} <= set(graph)  # the tree was read
    found = cycles(graph)
    assert not found, "import cycles:\n" + "\n".join(describe(c, graph) for c in found)


def test_the_cycle_check_sees_lazy_and_relative_imports(tmp_path: Path) -> None:
    """The checker finds a cycle hidden in a function-level import and one through a relative
    import, and ignores TYPE_CHECKING-only imports."""
    package = tmp_path / "nlp"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def build():\n    from nlp.b import thing\n    return thing\n")
    (package / "b.py").write_text("from .a import build\nthing = 1\n")
    (package / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from nlp.d import x\n")
    (package / "d.py").write_text("import nlp.c\nx = 1\n")
    for other in PACKAGES[:-1]:
        (tmp_path / other).mkdir(exist_ok=True)
    (tmp_path / "cityradar").mkdir()
    graph = import_graph(tmp_path)
    assert graph["nlp.a"] == {"nlp.b"} and graph["nlp.b"] == {"nlp.a"}
    assert graph["nlp.c"] == set() and graph["nlp.d"] == {"nlp.c"}
    assert cycles(graph) == [["nlp.a", "nlp.b"]]
