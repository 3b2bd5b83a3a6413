"""Configuration, thread-safe mode and package-level names behave as the reference's
(semantics.md §1; issue 9): the same probe (tests/reference/probe.py) runs with datajoint 2.3.5
and with datajoint_core, in fresh interpreters with the same environment and working directory,
and the documents must agree (values equal; errors of the same builtin classes).

No database server is needed; the reference's interpreter is.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .fidelity import assert_agree, both, probe

Setup = Callable[[Path], Path]  # prepares a directory, returns the working directory


def _boundary(root: Path) -> Path:
    (root / ".git").mkdir()
    return root


def _file(data: dict[str, Any], *, secrets: dict[str, str] | None = None) -> Setup:
    def setup(root: Path) -> Path:
        _boundary(root)
        (root / "datajoint.json").write_text(json.dumps(data))
        if secrets is not None:
            (root / ".secrets").mkdir()
            for name, value in secrets.items():
                (root / ".secrets" / name).write_text(value + "\n")
        work = root / "src" / "pipeline"  # found from a subdirectory
        work.mkdir(parents=True)
        return work

    return setup


def _above_boundary(root: Path) -> Path:
    (root / "datajoint.json").write_text(json.dumps({"database": {"host": "not-here"}}))
    project = root / "project"
    project.mkdir()
    return _boundary(project)


FILE = {
    "database": {"host": "file-host", "user": "file-user", "port": 3310, "use_tls": False},
    "display": {"limit": 7},
    "safemode": False,
    "stores": {"main": {"protocol": "file", "location": "/data/main"}},
    "unrelated": {"tool": "keeps its own keys here"},
}
ENVIRONMENT = {
    "DJ_HOST": "env-host",
    "DJ_USER": "env-user",
    "DJ_PASS": "env-pass",
    "DJ_PORT": "4000",
    "DJ_BACKEND": "postgresql",
    "DJ_DATABASE_NAME": "env-db",
    "DJ_USE_TLS": "true",
    "DJ_LOG_LEVEL": "DEBUG",
    "DJ_SAFEMODE": "false",
    "DJ_RECONNECT": "false",
    "DJ_CREATE_TABLES": "false",
    "DJ_DIAGRAM_DIRECTION": "TB",
    "DJ_JOBS_KEEP_COMPLETED": "true",
    "DJ_JOBS_DEFAULT_PRIORITY": "2",
    "DJ_PROVENANCE_SOURCE": '{"system": "pyrat"}',
    "DJ_QUERY_CACHE": "/tmp/query-cache",
    "DJ_DOWNLOAD_PATH": "/tmp/downloads",
}
CASES: dict[str, tuple[Setup, dict[str, str]]] = {
    "defaults": (_boundary, {}),
    "environment": (_boundary, ENVIRONMENT),
    "backend sets the port": (_boundary, {"DJ_BACKEND": "postgresql"}),
    "empty password": (_boundary, {"DJ_PASS": ""}),
    "file from a subdirectory": (_file(FILE), {}),
    "environment beats the file": (_file(FILE), {"DJ_HOST": "env-host", "DJ_PORT": "4001"}),
    "flat keys in the file": (_file({"database.host": "flat", "display.limit": 5}), {}),
    "secrets fill what is unset": (
        _file(FILE, secrets={"database.user": "s-user", "database.password": "s-pass"}),
        {},
    ),
    "secrets of stores": (
        _file({}, secrets={"stores.main.access_key": "k", "stores.main.secret_key": "s"}),
        {},
    ),
    "no search above the project root": (_above_boundary, {}),
    "ignore the config file": (
        _file(FILE, secrets={"database.password": "s"}),
        {"DJ_IGNORE_CONFIG_FILE": "true"},
    ),
    "DJ_STORES replaces the file's stores": (
        _file(FILE),
        {"DJ_STORES": '{"uc": {"protocol": "http", "token": "t"}}'},
    ),
}


def _dirs(tmp_path: Path, setup: Setup) -> Callable[[str], Path]:
    def make(name: str) -> Path:
        root = tmp_path / name
        root.mkdir()
        return setup(root)

    return make


@pytest.mark.parametrize("case", sorted(CASES))
def test_settings_from_every_source(reference_python: str, tmp_path: Path, case: str) -> None:
    setup, env = CASES[case]
    theirs, ours = both(reference_python, "values", _dirs(tmp_path, setup), env=env)
    assert_agree(theirs, ours)


@pytest.mark.parametrize(
    "scenario, env",
    [
        ("errors", {}),  # unknown keys, invalid values, hasattr, get(default)
        ("changes", {}),  # override(), del, the password, the port when the backend changes
        ("load", {"DJ_HOST": "env-host"}),  # config.load(file) keeps what the environment set
        ("template", {}),  # save_template(): the files written
        ("stores", {}),  # get_store_spec()
        ("thread_safe", {"DJ_THREAD_SAFE": "true"}),
        ("package", {}),  # names, aliases, errors, lazy modules
    ],
)
def test_behaviour(
    reference_python: str, tmp_path: Path, scenario: str, env: dict[str, str]
) -> None:
    theirs, ours = both(reference_python, scenario, _dirs(tmp_path, _boundary), env=env)
    for document in (theirs, ours):
        document.pop("heavy modules after import", None)  # differs on purpose: the next test
    assert_agree(theirs, ours)


def test_import_leaves_numpy_alone(tmp_path: Path) -> None:
    """Not as the reference, on purpose: ``import datajoint_core`` stays fast; ``dj.MatCell``
    loads the blob module (and numpy) when first used."""
    ours = probe(sys.executable, "datajoint_core", "package", _boundary(tmp_path))
    assert "numpy" not in ours["heavy modules after import"]


def _console(python: str, package: str, args: list[str], lines: list[str], cwd: Path) -> str:
    done = subprocess.run(
        [python, "-m", f"{package}.cli", *args],
        input="".join(line + "\n" for line in lines),
        capture_output=True,
        text=True,
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "DJ_IGNORE_CONFIG_FILE": "true"},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_cli_as_the_reference(reference_python: str, tmp_path: Path) -> None:
    """``python -m <package>.cli``: the version line, and a console whose ``dj.config`` carries
    the credentials of the command line."""
    lines = [
        "dj.config['database.user']",
        "dj.config['database.password']",
        "dj.config['database.host']",
        "'host=' in repr(dj.config) and 'p4ss' not in repr(dj.config)",
    ]
    args = ["-u", "someone", "-p", "p4ss", "--host", "db.example.org:3307"]
    for python, package in ((reference_python, "datajoint"), (sys.executable, "datajoint_core")):
        out = _console(python, package, args, lines, tmp_path)
        shown = [word for word in out.split() if word not in (">>>", "...")]
        assert shown == ["'someone'", "'p4ss'", "'db.example.org:3307'", "True"], package
        version = _console(python, package, ["-V"], [], tmp_path)
        assert version.startswith(package + " ") and len(version.split()) == 2
