"""Architecture rules that a grep can check."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = [ROOT / "datajoint_core", ROOT / "subsetter"]
BACKEND_CHECK = re.compile(
    r"""(backend|\.name|adapter_name)\s*(==|!=|\bin\b)\s*\(?\s*["'](mysql|postgresql|postgres|mariadb)["']"""
)
DRIVER_IMPORT = re.compile(r"^\s*(import|from)\s+(pymysql|psycopg2)\b", re.MULTILINE)


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
