"""``--debug`` and ``--verbose`` work before or after the subcommand."""

from __future__ import annotations

from pathlib import Path

import pytest

import datajoint_core as dj

from ..conftest import Server
from ..integration.pipeline import declare_lab
from .conftest import run_cli, write_recipe


@pytest.fixture
def recipe(tmp_path: Path, server: Server, inst: dj.Instance, schema_name: str) -> Path:
    declare_lab(inst.connection, schema_name)
    return write_recipe(
        tmp_path,
        server,
        f"""\
        schemas: [{schema_name}]
        restrictions:
          - table: {schema_name}.Subject
            where: {{species: mouse}}
        outputs:
          out: {{type: parquet, path: ./out}}
        """,
    )


def _placed(flag: str, command: list[str], where: str) -> list[str]:
    return [flag, *command] if where == "before" else [*command, flag]


@pytest.mark.parametrize("flag", ["--verbose", "-v"])
@pytest.mark.parametrize("where", ["before", "after"])
def test_verbose_logs_every_query(
    recipe: Path, cli_env: dict[str, str], flag: str, where: str
) -> None:
    done = run_cli(*_placed(flag, ["preview", str(recipe)], where), env=cli_env)
    assert done.returncode == 0, done.stderr
    assert "DEBUG datajoint_core.sql" in done.stderr
    quiet = run_cli("preview", str(recipe), env=cli_env)
    assert quiet.returncode == 0 and "datajoint_core.sql" not in quiet.stderr


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_shows_the_traceback(
    tmp_path: Path,
    server: Server,
    recipe: Path,
    schema_name: str,
    cli_env: dict[str, str],
    where: str,
) -> None:
    """A mistake found on the server (no such table): exit 2 and one line; with --debug, the
    traceback."""
    typo = recipe.read_text().replace(f"{schema_name}.Subject", f"{schema_name}.Subjekt")
    recipe.write_text(typo)
    plain = run_cli("run", str(recipe), env=cli_env)
    assert plain.returncode == 2 and "Traceback" not in plain.stderr, plain.stderr
    debug = run_cli(*_placed("--debug", ["run", str(recipe)], where), env=cli_env)
    assert debug.returncode == 1
    assert "Traceback (most recent call last)" in debug.stderr, debug.stderr
    assert "Subjekt" in debug.stderr


def test_global_flags_are_in_every_subcommand_help() -> None:
    for command in ("validate", "run", "demo"):
        done = run_cli(command, "--help")
        assert done.returncode == 0
        assert "--debug" in done.stdout and "--verbose" in done.stdout, command


def test_a_flag_after_the_subcommand_is_not_taken_for_an_argument(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nsource: {embedded: ./pg}\nschema: [a]\n")
    done = run_cli("validate", str(bad), "--debug")
    assert "RecipeError" in done.stderr and "Traceback" in done.stderr, done.stderr
    plain = run_cli("validate", str(bad))
    assert plain.returncode == 2 and "Traceback" not in plain.stderr
