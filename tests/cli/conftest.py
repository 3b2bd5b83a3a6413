"""Helpers for running the real ``subset`` command against the test servers."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import datajoint_core as dj

from ..conftest import Server
from ..integration.pipeline import declare_lab

PASSWORD_VAR = "SUBSET_TEST_PASSWORD"


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> Any:
    """Run ``python -m subsetter ARGS``; return the CompletedProcess (text)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "subsetter", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=300,
    )


def source_block(server: Server) -> str:
    return textwrap.dedent(
        f"""\
        source:
          backend: {server.backend}
          host: "{server.host}"
          port: {server.port}
          user: {server.user}
          password: ${{{PASSWORD_VAR}:-}}
        """
    )


def staging_output(
    server: Server, schema_map: dict[str, str] | None = None, if_exists: str = "replace"
) -> str:
    """A staging output on ``server`` as one YAML flow mapping, for a line of a recipe body."""
    mapping = ", ".join(f"{k}: {v}" for k, v in (schema_map or {}).items())
    renamed = f", schema_map: {{{mapping}}}" if mapping else ""
    return (
        f'{{type: instance, backend: {server.backend}, host: "{server.host}", '
        f'port: {server.port}, user: {server.user}, password: "${{{PASSWORD_VAR}:-}}"'
        f"{renamed}, if_exists: {if_exists}}}"
    )


def write_recipe(tmp_path: Path, server: Server, body: str, name: str = "recipe.yaml") -> Path:
    text = "version: 1\n" + source_block(server) + textwrap.dedent(body)
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.fixture
def cli_env(server: Server) -> dict[str, str]:
    return {PASSWORD_VAR: server.password}


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel, built once per session from a clean copy of the source."""
    from .wheel import build_wheel

    return build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture
def wheel_bin(wheel: Path) -> Iterator[Path]:
    """The ``bin`` directory of a venv with this session's wheel installed (not editable)."""
    from .wheel import installed

    with installed(wheel) as bindir:
        yield bindir


@pytest.fixture
def demo_schemas(inst: Any) -> Iterator[tuple[str, str, str]]:
    """Three fresh schema names (lab, ephys, analysis) for the demo pipeline, dropped after."""
    import uuid

    base = f"djtest_{uuid.uuid4().hex[:8]}"
    names = (f"{base}_lab", f"{base}_ephys", f"{base}_analysis")
    yield names
    conn = inst.connection
    if conn.in_transaction:
        conn.cancel_transaction()
    for name in reversed(names):  # dependants first
        conn.execute(conn.adapter.drop_schema_sql(name))


@pytest.fixture
def demo_tmp() -> Iterator[Path]:
    """A temporary directory for an embedded server, outside pytest's own: run as root, the server
    runs as the OS user ``pgserver``, and every pytest session resets pytest's directory to mode
    0700 (another session starting would lock the server out). Servers left there are stopped."""
    import shutil
    import tempfile

    from datajoint_core.embedded import stop_embedded

    path = Path(tempfile.mkdtemp(prefix="subset-test-"))
    path.chmod(0o755)
    yield path
    for pid_file in path.rglob("postmaster.pid"):
        stop_embedded(pid_file.parent)
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def lab(inst: dj.Instance, schema_name: str) -> dict[str, Any]:
    return declare_lab(inst.connection, schema_name)


@pytest.fixture
def staging_name(inst: dj.Instance, schema_name: str) -> Any:
    name = f"{schema_name}_stg"
    yield name
    inst.connection.execute(inst.connection.adapter.drop_schema_sql(name))
