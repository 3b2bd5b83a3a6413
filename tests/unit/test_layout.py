"""Architecture rules that a grep can check."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = [ROOT / "datajoint_core", ROOT / "subsetter"]
BACKEND_CHECK = re.compile(
    r"""(backend|\.name|adapter_name)\s*(==|!=|\bin\b)\s*\(?\s*["'](mysql|postgresql|postgres|mariadb)["']"""
)
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
    assert upward == {
        ("datajoint_core.table", "datajoint_core.cascade"),
        ("datajoint_core.connection", "datajoint_core.dependencies"),
    }


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
