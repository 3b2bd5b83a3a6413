"""Architecture rules that a grep can check."""

from __future__ import annotations

import importlib.util
import io
import re
import tokenize
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = [ROOT / "datajoint_core", ROOT / "subsetter"]
BACKEND_CHECK = re.compile(
    r"""(backend|\.name|adapter_name)\s*(==|!=|\bin\b)\s*\(?\s*["'](mysql|postgresql|postgres|mariadb)["']"""
)
DIALECT_CHECK = re.compile(r"""(sqlglot_dialect|dialect)\s*(==|!=|\bin\b)\s*\(?\s*["']\w+["']""")
BACKEND_NAMES = {"mysql", "mariadb", "postgresql", "postgres"}
DRIVER_IMPORT = re.compile(r"^\s*(import|from)\s+(pymysql|psycopg2|MySQLdb)\b", re.MULTILINE)


def _sources() -> list[Path]:
    return [p for pkg in PACKAGES for p in pkg.rglob("*.py")]


def test_no_backend_checks_outside_adapters() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in _sources()
        if "adapters" not in path.parts
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if BACKEND_CHECK.search(line)
    ]
    assert offenders == []


def _backend_fact_lines(source: str) -> list[int]:
    """Lines of code (not docstrings or comments) naming two backends: a table of backend facts."""
    names: dict[int, set[str]] = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.STRING:
            value = token.string.strip("\"'")
            if value in BACKEND_NAMES:
                names.setdefault(token.start[0], set()).add(value)
    return sorted(n for n, found in names.items() if len(found) > 1)


def test_backend_facts_only_in_adapters() -> None:
    """Ports, aliases and capabilities by backend live in adapters/facts.py; nothing else
    compares a dialect with a name or lists backends (mysql and postgresql in one expression)."""
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in _sources()
        if "adapters" not in path.parts
        for n in [
            *_backend_fact_lines(path.read_text()),
            *(
                i
                for i, line in enumerate(path.read_text().splitlines(), 1)
                if DIALECT_CHECK.search(line)
            ),
        ]
    ]
    assert offenders == []


def test_the_grep_catches_backend_facts() -> None:
    assert _backend_fact_lines('PORTS = {"mysql": 3306, "postgresql": 5432}\n') == [1]
    assert _backend_fact_lines('ALIASES = {"postgres": "postgresql"}\n') == [1]
    assert _backend_fact_lines('"""a backend name ("mysql", "postgresql")"""\n') == []
    assert _backend_fact_lines('spec = Spec("postgresql", None)  # mysql too\n') == []
    assert DIALECT_CHECK.search('if adapter.sqlglot_dialect == "mysql":')
    assert DIALECT_CHECK.search("if dialect != 'postgres':")
    assert not DIALECT_CHECK.search("if dialect == adapter.sqlglot_dialect:")


def test_drivers_imported_only_by_their_adapter() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in _sources()
        if "adapters" not in path.parts and DRIVER_IMPORT.search(path.read_text())
    ]
    assert offenders == []


def test_tests_do_not_import_driver_exceptions() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "tests").rglob("*.py")
        if path.name != "test_layout.py" and DRIVER_IMPORT.search(path.read_text())
    ]
    assert offenders == []


def test_the_grep_catches_a_backend_check() -> None:
    assert BACKEND_CHECK.search('if conn.backend == "postgresql":')
    assert BACKEND_CHECK.search("if backend in ('mysql',):")
    assert not BACKEND_CHECK.search("backend = server.backend")


def _import_graph() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "import_graph", ROOT / "tools" / "import_graph.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_no_import_cycles() -> None:
    """Every import counts (function-local and type-only ones too), but declared upward calls."""
    tool = _import_graph()
    graph, upward = tool.graph()
    assert tool.cycles(graph) == []
    assert upward == {("datajoint_core.table", "datajoint_core.cascade")}  # at most one


def test_the_import_graph_finds_a_cycle(tmp_path: Path) -> None:
    tool = _import_graph()
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from . import b\n")
    (pkg / "b.py").write_text("def f():\n    from .a import x\n")
    (pkg / "c.py").write_text("def g():\n    # upward: allowed\n    from .a import y\n")
    (pkg / "d.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .c import g\n"
    )
    graph, upward = tool.graph(tmp_path, ("pkg",))
    assert tool.cycles(graph, ("pkg",)) == [["pkg.a", "pkg.b"]]
    assert upward == {("pkg.c", "pkg.a")}
    assert ("pkg.d", "pkg.c") in graph.edges


def _private_uses(path: Path) -> list[str]:
    """Private names of datajoint_core that a subsetter module uses: imported (``from
    datajoint_core.x import _y``), or passed / read as ``._y`` / ``_y=`` on something that is not
    the module's own object (``self`` / ``cls``)."""
    import ast

    found = []
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("datajoint_core"):
            found += [f"import {a.name}" for a in node.names if a.name.startswith("_")]
            found += [f"import {node.module}" for p in node.module.split(".") if p.startswith("_")]
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            owner = node.value
            mine = isinstance(owner, ast.Name) and owner.id in ("self", "cls")
            if not mine and not node.attr.startswith("__"):
                found.append(f".{node.attr}")
        elif isinstance(node, ast.keyword) and (node.arg or "").startswith("_"):
            found.append(f"{node.arg}=")
    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    return [f"{where}: {use}" for use in found]


def test_subsetter_uses_only_public_names_of_the_core() -> None:
    offenders = [u for p in (ROOT / "subsetter").rglob("*.py") for u in _private_uses(p)]
    assert offenders == []


def test_the_private_name_check_catches_them(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from datajoint_core.declare.ddl import _fk_indexes\n"
        "d = diagram._copy()\n"
        "h = replace(heading, _by_name={})\n"
        "self._mine = 1\n"
    )
    uses = [u.split(": ", 1)[1] for u in _private_uses(sample.resolve())]
    assert uses == ["import _fk_indexes", "._copy", "_by_name="]
