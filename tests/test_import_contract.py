"""The import layers are a checked contract: bot -> prompts -> retrieval -> config, no cycles.

Every import counts, at module level or inside a function (a deferred import is still a
dependency, and a cycle hidden in a function is still a cycle). ``corpus`` is data: anyone may
import it and it imports nothing of ours.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "prompts", "retrieval", "config", "corpus")
#: What each package may import besides itself.
ALLOWED: dict[str, set[str]] = {
    "bot": {"prompts", "retrieval", "config", "corpus"},
    "prompts": {"retrieval", "config", "corpus"},
    "retrieval": {"config", "corpus"},
    "config": set(),
    "corpus": set(),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def imported_names(name: str, path: Path, known: set[str]) -> Iterator[tuple[str, int]]:
    """(module, line) for every import of one of ``known`` in the file, relative ones resolved.

    ``from a.b import c`` is an import of ``a.b.c`` when that is a module, else of ``a.b``.
    """
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                anchor = parts[: len(parts) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                yield (f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base), node.lineno


def import_graph() -> dict[str, dict[str, int]]:
    """Our module -> {our module it imports: first line}."""
    known = modules()
    graph: dict[str, dict[str, int]] = {}
    for name, path in known.items():
        edges = graph.setdefault(name, {})
        for target, line in imported_names(name, path, set(known)):
            if target in known and target != name:
                edges.setdefault(target, line)
    return graph


def layer_violations() -> list[str]:
    found = []
    for source, targets in import_graph().items():
        top = source.split(".")[0]
        for target, line in sorted(targets.items()):
            other = target.split(".")[0]
            if other != top and other not in ALLOWED[top]:
                found.append(f"{source} imports {target} (line {line}): {top} may not import {other}")
    return found


def cycles() -> list[str]:
    """One cycle per strongly connected group of modules, e.g. ``a.x -> a.y -> a.x``."""
    graph = import_graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def connect(v: str) -> None:  # Tarjan
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, {})):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    named = []
    for group in groups:
        cycle = " -> ".join(_cycle_through(graph, set(group), group[0]))
        named.append(cycle if len(group) == 2 else f"{cycle} (with {', '.join(group)})")
    return sorted(named)


def _cycle_through(graph: dict[str, dict[str, int]], group: set[str], start: str) -> list[str]:
    """The shortest cycle from ``start`` back to itself inside ``group`` (breadth first)."""
    paths = [[start]]
    seen = {start}
    while paths:
        path = paths.pop(0)
        for w in sorted(graph[path[-1]]):
            if w == start:
                return [*path, start]
            if w in group and w not in seen:
                seen.add(w)
                paths.append([*path, w])
    return [start]


def test_each_layer_imports_only_the_layers_below_it() -> None:
    assert layer_violations() == []


def test_no_module_imports_itself_back_through_others() -> None:
    assert cycles() == []


def test_the_checker_sees_imports_inside_functions(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text("def f():\n    from prompts.desk import Desk\n")
    assert ("prompts.desk", 2) in set(imported_names("retrieval.m", path, set(modules())))


@pytest.mark.parametrize("package", PACKAGES)
def test_every_package_is_under_contract(package: str) -> None:
    assert package in ALLOWED and any(m.split(".")[0] == package for m in modules())
