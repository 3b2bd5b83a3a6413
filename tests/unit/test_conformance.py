"""The pure parts of the conformance runner: the module shim, the classifier, the comparison."""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import datajoint_core
import datajoint_core.errors
from conformance.classify import Failure, classify
from conformance.compare import compare, summarize
from conformance.plugins import dj_alias
from conformance.run import ours_side, reference_side, suite_env
from conformance.suite import Cache


@pytest.fixture
def shim() -> Iterator[None]:
    dj_alias.install()
    try:
        yield
    finally:
        dj_alias.uninstall()


def test_resolve_maps_public_modules_and_refuses_private_ones() -> None:
    assert dj_alias.resolve("datajoint") == "datajoint_core"
    assert dj_alias.resolve("datajoint.errors") == "datajoint_core.errors"
    assert dj_alias.resolve("datajoint.settings") == "datajoint_core.settings"
    with pytest.raises(ModuleNotFoundError, match=dj_alias.PRIVATE_MARK) as err:
        dj_alias.resolve("datajoint.heading")  # datajoint_core.heading exists, but is not public
    assert err.value.name == "datajoint.heading"


def test_a_public_module_datajoint_core_lacks_is_named_as_such() -> None:
    lacking = [
        name
        for name in sorted(dj_alias.PUBLIC_MODULES)
        if "." not in name and importlib.util.find_spec(f"datajoint_core.{name}") is None
    ]
    if not lacking:
        pytest.skip("datajoint_core has every public module of the reference")
    with pytest.raises(ModuleNotFoundError, match=dj_alias.MISSING_MARK):
        dj_alias.resolve(f"datajoint.{lacking[0]}")


def test_the_import_returns_datajoint_core_modules_themselves(shim: None) -> None:
    dj = importlib.import_module("datajoint")
    errors = importlib.import_module("datajoint.errors")
    assert dj is datajoint_core
    assert errors is datajoint_core.errors
    assert errors.__name__ == "datajoint_core.errors"  # no twin, nothing renamed
    from datajoint.errors import DataJointError

    assert DataJointError is datajoint_core.DataJointError


def test_a_private_module_import_fails_cleanly(shim: None) -> None:
    with pytest.raises(ModuleNotFoundError, match="private module") as err:
        importlib.import_module("datajoint.declare")
    assert err.value.name == "datajoint.declare"
    assert "datajoint.declare" not in __import__("sys").modules


def test_other_imports_are_untouched(shim: None) -> None:
    assert importlib.import_module("json").__name__ == "json"
    assert importlib.import_module("datajoint_core.heading").__name__ == "datajoint_core.heading"


def test_a_public_module_loading_is_named_by_its_datajoint_path(shim: None) -> None:
    """A lazily loaded public module shows as ``datajoint.<m>`` in sys.modules (as the suite's
    lazy-import tests look for it), the same object; a private one gets no such name."""
    import sys

    for name in ("datajoint_core.cli", "datajoint.cli"):
        sys.modules.pop(name, None)
    cli = importlib.import_module("datajoint_core.cli")
    assert sys.modules["datajoint.cli"] is cli
    importlib.import_module("datajoint_core.heading")
    assert "datajoint.heading" not in sys.modules


def test_subprocesses_of_the_ours_run_import_datajoint_as_datajoint_core(tmp_path: Path) -> None:
    """``python -m datajoint.cli`` in the ours run's environment runs datajoint_core's console
    (the shim is installed by sitecustomize); the reference run's environment has no shim."""
    cache = Cache(tmp_path)
    ours = suite_env(ours_side(cache), tmp_path / "r.jsonl")
    done = subprocess.run(
        [sys.executable, "-m", "datajoint.cli", "-V"], env=ours, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"datajoint_core {datajoint_core.__version__}\n"
    theirs = suite_env(reference_side(cache), tmp_path / "r.jsonl")
    assert "ours_site" not in theirs["PYTHONPATH"] and "ours_site" in ours["PYTHONPATH"]


COLLECT_PRIVATE = """ImportError while importing test module 'tests/unit/test_pk_rules.py'.
Traceback:
tests/unit/test_pk_rules.py:12: in <module>
    from datajoint.heading import Heading
E   ModuleNotFoundError: No module named 'datajoint.heading': datajoint.heading is a private \
module of the reference (the conformance shim maps only public module paths)"""

SETUP_CONNECTION = """    @pytest.fixture(scope="session")
    def connection_root_bare(db_creds_root, configure_datajoint):
>       connection = dj.Connection(**db_creds_root)
E       TypeError: Connection.__init__() got an unexpected keyword argument 'host'
tests/conftest.py:424: TypeError"""

SETUP_JOBS = """    def schema_any(connection_test, prefix):
        schema_any = dj.Schema(prefix + "_test1", schema.LOCALS_ANY, connection=connection_test)
>       for job in schema_any.jobs:
E       AttributeError: 'Schema' object has no attribute 'jobs'"""

CALL_ASSERT = """    def test_nulls(schema_simp):
>       assert len(A & "x IS NULL") == 2
E       AssertionError: assert 3 == 2"""

MOCK = """>           mock.assert_called_once()
E           AssertionError: Expected 'to_arrays' to be called once. Called 0 times."""


@pytest.mark.parametrize(
    ("message", "longrepr", "populate", "cls", "group"),
    [
        ("", COLLECT_PRIVATE, False, "a", "imports private module datajoint.heading"),
        (
            "ImportError: cannot import name '_load_thread_safe' from 'datajoint_core.instance'",
            "",
            False,
            "a",
            "imports private name dj.instance._load_thread_safe",
        ),
        ("", MOCK, False, "a", "mocks an implementation detail"),
        (
            "TypeError: Connection.__init__() got an unexpected keyword argument 'host'",
            SETUP_CONNECTION,
            False,
            "c",
            "Connection.__init__(host=...)",
        ),
        (
            "TypeError: Connection.__init__() got an unexpected keyword argument 'host'",
            SETUP_CONNECTION,
            True,
            "b",
            "the test uses populate; fails first on: Connection.__init__(host=...)",
        ),
        (
            "AttributeError: 'Schema' object has no attribute 'jobs'",
            SETUP_JOBS,
            False,
            "b",
            "fails on jobs",
        ),
        (
            "AttributeError: module 'datajoint_core' has no attribute 'MatCell'",
            "",
            False,
            "c",
            "dj.MatCell",
        ),
        (
            "ModuleNotFoundError: No module named 'datajoint.codecs': datajoint.codecs "
            + dj_alias.MISSING_MARK,
            "",
            False,
            "c",
            "module datajoint.codecs",
        ),
        ("TypeError: fetch() got an unexpected keyword argument 'squeeze'", "", False, "c", None),
        ("AssertionError: assert 3 == 2", CALL_ASSERT, False, "d", "AssertionError: assert N == N"),
        ("Failed: DID NOT RAISE DuplicateError", "", False, "d", None),
        ("AttributeError: 'tuple' object has no attribute 'tolist'", "", False, "d", None),
        ("ModuleNotFoundError: No module named 'pydot'", "", False, "e", None),
    ],
)
def test_classifier(
    message: str, longrepr: str, populate: bool, cls: str, group: str | None
) -> None:
    verdict = classify(Failure(message, longrepr, populate, "call"))
    assert verdict.cls == cls
    if group is not None:
        assert verdict.group == group
    assert verdict.reason and "\n" not in verdict.reason


PACKAGE_NAME = """>       assert "datajoint.errors.DataJointError: Invalid restriction" == str(
E       assert "datajoint.er...restriction" == "datajoint_co...restriction"
E
E         - datajoint_core.errors.DataJointError: Invalid restriction
E         ?          -----
E         + datajoint.errors.DataJointError: Invalid restriction"""

OTHER_TEXT = PACKAGE_NAME.replace("+ datajoint.errors.DataJointError: Invalid", "+ Invalid")

PYDANTIC = """    def test_port_must_be_integer(self):
        with pytest.raises(ValidationError):
>           dj.config.database.port = "not_an_integer"
E           datajoint_core.errors.ConfigError: config 'database.port': Input should be a valid \
integer, got 'not_an_integer'"""

MOCKED = """E   AttributeError: 'QueryExpression' object has no attribute 'lineage_available'"""


@pytest.mark.parametrize(
    ("longrepr", "mocks", "cls", "group"),
    [
        (PACKAGE_NAME, False, "e", "the package's name in the compared text (datajoint_core)"),
        (OTHER_TEXT, False, "d", None),  # a different message: a real difference
        (PYDANTIC, False, "d", "pydantic's own types of dj.config (ValidationError, SecretStr)"),
        (MOCKED, True, "a", "sets private attributes to mocks"),
        (MOCKED, False, "c", "QueryExpression.lineage_available"),
    ],
)
def test_classifier_reads_the_diff_pydantic_and_mocks(
    longrepr: str, mocks: bool, cls: str, group: str | None
) -> None:
    verdict = classify(Failure("", longrepr, phase="call", mocks_internals=mocks))
    assert verdict.cls == cls
    if group is not None:
        assert verdict.group.startswith(group)


def test_a_fixture_failing_on_jobs_says_so() -> None:
    message = "AttributeError: 'Schema' object has no attribute 'jobs'"
    verdict = classify(Failure(message, SETUP_JOBS, phase="setup"))
    assert (verdict.cls, verdict.group) == ("b", "fails on jobs in a fixture")


def test_compare_counts_only_reference_passing_tests_and_spreads_import_errors() -> None:
    reference = {
        "tests/a.py::t1": {"outcome": "passed", "file": "tests/a.py"},
        "tests/a.py::t2": {"outcome": "failed", "file": "tests/a.py"},  # fails on the reference
        "tests/b.py::t3": {"outcome": "passed", "file": "tests/b.py", "populate_in_test": True},
        "tests/c.py::t4": {"outcome": "passed", "file": "tests/c.py"},
    }
    ours = {
        "tests/a.py::t1": {"outcome": "passed"},
        "tests/a.py::t2": {"outcome": "passed"},
        "tests/b.py::t3": {"outcome": "failed", "message": "AssertionError: assert 1 == 2"},
    }
    collect_errors = {"tests/c.py": {"message": "", "longrepr": COLLECT_PRIVATE}}
    rows = {row.nodeid: row for row in compare(reference, ours, collect_errors)}
    assert set(rows) == {"tests/a.py::t1", "tests/b.py::t3", "tests/c.py::t4"}
    assert rows["tests/b.py::t3"].cls == "b"  # the reference's record says the test populates
    assert (rows["tests/c.py::t4"].outcome, rows["tests/c.py::t4"].cls) == ("error", "a")
    summary = summarize(reference, list(rows.values()))
    assert (summary.public_passed, summary.public_total) == (1, 1)
    assert summary.files["tests/c.py"] == {"reference": 1, "error": 1, "a": 1}


def test_results_plugin_tells_tests_that_set_private_attributes_to_mocks() -> None:
    from conformance.plugins import dj_results

    mocked = "expr = QueryExpression()\nexpr._heading = MagicMock()\nexpr._heading.names = []\n"
    plain = "expr = Table()\nassert expr._heading == other\n"  # reads, does not set

    def flagged(source: str) -> bool:
        found = dj_results.MOCK_TEXT.search(source) and dj_results.PRIVATE_SET.search(source)
        return bool(found)

    assert flagged(mocked)
    assert not flagged(plain)
    assert not flagged("x = MagicMock()\nx.value = 1\n")
