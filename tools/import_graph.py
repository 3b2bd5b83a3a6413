"""Print the import graph of the project's packages and its cycles.

Every import counts, module-level, inside a function or for type checking only (a
function-local import hides a cycle from Python, not from a reader), except a call declared
upward: an import preceded by a comment line starting ``# upward:`` that says why.
``python tools/import_graph.py [--edges]``; exits 1 when a cycle exists.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("datajoint_core", "subsetter")


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path, name: str, known: set[str], upward: set[tuple[str, str]]) -> set[str]:
    """The project modules ``path`` imports (``from . import x`` resolved to ``pkg.x``);
    declared upward calls go into ``upward`` instead."""
    text = path.read_text()
    lines = text.splitlines()
    tree = ast.parse(text, str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        declared = node.lineno >= 2 and lines[node.lineno - 2].strip().startswith("# upward:")
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                (upward.add((name, target)) if declared else found.add(target))
    return found


def graph(
    root: Path = ROOT, packages: tuple[str, ...] = PACKAGES
) -> tuple[nx.DiGraph, set[tuple[str, str]]]:
    """The import graph of ``packages`` under ``root``, and the declared upward calls (left out
    of it)."""
    files = {module_name(p, root): p for pkg in packages for p in (root / pkg).rglob("*.py")}
    known = set(files)
    g = nx.DiGraph()
    g.add_nodes_from(known)
    upward: set[tuple[str, str]] = set()
    for name, path in files.items():
        for target in imports(path, name, known, upward):
            g.add_edge(name, target)
    return g, upward


def cycles(g: nx.DiGraph, packages: tuple[str, ...] = PACKAGES) -> list[list[str]]:
    """Strongly connected components with more than one module (package roots left out:
    ``datajoint_core`` re-exports everything by design)."""
    inner = g.subgraph(n for n in g if n not in packages)
    return [sorted(c) for c in nx.strongly_connected_components(inner) if len(c) > 1]


def main() -> int:
    g, upward = graph()
    if "--edges" in sys.argv:
        for a, b in sorted(g.edges()):
            print(f"{a} -> {b}")
    found = cycles(g)
    print(f"{g.number_of_nodes()} modules, {g.number_of_edges()} imports, {len(found)} cycles")
    for a, b in sorted(upward):
        print(f"  declared upward call: {a} -> {b}")
    for component in found:
        print("  cycle: " + ", ".join(component))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
