"""Record every test's outcome as JSON lines (a pytest plugin, both conformance runs).

Writes to the file named by ``DJ_CONFORMANCE_RESULTS``: one ``{"kind": "test", ...}`` line per
test (nodeid, file, outcome, the crash message and the full failure text, whether the test's own
code or one of its fixtures uses populate / make / key_source / jobs, and whether it sets private
attributes to mocks) and one ``{"kind": "collect_error", ...}`` line per module that failed to
import. Lines are flushed as
they come, so a crash loses nothing already run.

Stdlib and pytest only: this file is put on the pytest subprocess's path by itself.
"""

from __future__ import annotations

import inspect
import json
import os
import re
from typing import Any, TextIO

import pytest

POPULATE_TEXT = re.compile(r"\.populate\(|\bkey_source\b|\.jobs\b|\bmake\(|\.progress\(|\bJob\b")
# a test that sets private attributes (``expr._heading = ...``) and builds mocks
MOCK_TEXT = re.compile(r"\bMagicMock\b|\bMock\(|\bmock\.patch\b")
PRIVATE_SET = re.compile(r"\w\._[a-z]\w*\s*=[^=]")

_meta: dict[str, dict[str, Any]] = {}
_phases: dict[str, dict[str, pytest.TestReport]] = {}
_out: TextIO | None = None


def _source(obj: object) -> str:
    try:
        return inspect.getsource(obj)  # type: ignore[arg-type]
    except (OSError, TypeError):
        return ""


def _write(record: dict[str, Any]) -> None:
    global _out
    path = os.environ.get("DJ_CONFORMANCE_RESULTS")
    if not path:
        return
    if _out is None:
        _out = open(path, "a", encoding="utf-8")  # noqa: SIM115 -- kept open for the session
    _out.write(json.dumps(record) + "\n")
    _out.flush()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        defs = info.name2fixturedefs if info is not None else {}
        fixtures = sorted(
            name
            for name, fixturedefs in defs.items()
            if any(POPULATE_TEXT.search(_source(d.func)) for d in fixturedefs)
        )
        source = _source(getattr(item, "obj", None))
        _meta[item.nodeid] = {
            "file": item.nodeid.split("::", 1)[0],
            "populate_in_test": bool(POPULATE_TEXT.search(source)),
            "populate_fixtures": fixtures,
            "mocks_internals": bool(MOCK_TEXT.search(source) and PRIVATE_SET.search(source)),
        }


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _phases.setdefault(report.nodeid, {})[report.when] = report


def _message(report: pytest.TestReport) -> str:
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2])
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return str(crash.message)
    return str(report.longrepr or "").strip().splitlines()[-1:][0] if report.longrepr else ""


def pytest_runtest_logfinish(nodeid: str, location: tuple[str, int | None, str]) -> None:
    phases = _phases.pop(nodeid, {})
    setup, call, teardown = (phases.get(w) for w in ("setup", "call", "teardown"))
    outcome, culprit = "passed", None
    if setup is not None and setup.failed:
        outcome, culprit = "error", setup
    elif setup is not None and setup.skipped:
        outcome, culprit = "skipped", setup
    elif call is not None and call.failed:
        outcome, culprit = "failed", call
    elif call is not None and call.skipped:
        outcome, culprit = "skipped", call
    elif teardown is not None and teardown.failed:
        outcome, culprit = "error", teardown
    if culprit is not None and hasattr(culprit, "wasxfail"):
        outcome = "skipped"
    record: dict[str, Any] = {"kind": "test", "nodeid": nodeid, "outcome": outcome}
    record.update(_meta.get(nodeid, {"file": nodeid.split("::", 1)[0]}))
    if culprit is not None:
        record["phase"] = culprit.when
        record["message"] = _message(culprit)
        record["longrepr"] = "" if outcome == "skipped" else culprit.longreprtext
    _write(record)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:
        _write(
            {
                "kind": "collect_error",
                "nodeid": report.nodeid,
                "message": _message(report),  # type: ignore[arg-type]
                "longrepr": report.longreprtext,
            }
        )
