"""Helpers for running the real ``subset`` command against the test servers."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from ..conftest import Server

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


def write_recipe(tmp_path: Path, server: Server, body: str, name: str = "recipe.yaml") -> Path:
    text = "version: 1\n" + source_block(server) + textwrap.dedent(body)
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.fixture
def cli_env(server: Server) -> dict[str, str]:
    return {PASSWORD_VAR: server.password}
