"""The real ``subset`` command: help, exit codes, recipe errors, preview."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

import datajoint_core as dj
from subsetter.cli import cli as main

from ..conftest import Server
from .conftest import run_cli, write_recipe

ROOT = Path(__file__).resolve().parents[2]


def test_every_command_has_help_and_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    for name, command in main.commands.items():
        assert command.help and "Example:" in command.help, name
        assert f"subset {name}" in readme, f"README does not mention `subset {name}`"
    result = run_cli("--help")
    assert result.returncode == 0
    for name in main.commands:
        assert name in result.stdout


def test_validate_ok() -> None:
    result = run_cli("validate", str(ROOT / "subsetter" / "recipes" / "demo.yaml"))
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout


@pytest.mark.parametrize(
    ("body", "line", "key", "text"),
    [
        ("schema: [a]\n", 4, "schema", "did you mean 'schemas'"),
        ("schemas: [a]\nupstream: sometimes\n", 5, "upstream", "expected one of"),
        ("schemas: [a]\nrestrictions:\n  - table: a.T\n    limit: -3\n", 7, "limit", ""),
    ],
)
def test_recipe_mistakes_exit_2_with_location(
    tmp_path: Path, body: str, line: int, key: str, text: str
) -> None:
    path = tmp_path / "bad.yaml"
    head = "version: 1\nsource: {embedded: ./pg}\noutputs: {o: {type: parquet, path: ./o}}\n"
    path.write_text(head + body)
    result = run_cli("validate", str(path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"{path}:{line}: " in result.stderr
    assert key in result.stderr
    assert text in result.stderr


def test_missing_recipe_file_is_exit_2() -> None:
    result = run_cli("validate", "/nonexistent/recipe.yaml")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_preview_json_equals_diagram_preview(
    tmp_path: Path, server: Server, schema_name: str, lab: dict[str, Any], cli_env: dict[str, str]
) -> None:
    recipe = write_recipe(
        tmp_path,
        server,
        f"""\
        schemas: [{schema_name}]
        restrictions:
          - table: {schema_name}.Subject
            where: {{species: mouse}}
          - table: {schema_name}.Session
            where: "session_date < '2024-02-15'"
        prune: true
        outputs:
          out: {{type: parquet, path: ./out}}
        """,
    )
    result = run_cli("preview", str(recipe), "--json", env=cli_env)
    assert result.returncode == 0, result.stderr
    got = {t["table"]: t["rows"] for t in json.loads(result.stdout)["tables"]}
    expected = (
        dj.Diagram(lab["schema"])
        .restrict(lab["Subject"] & {"species": "mouse"})
        .restrict(lab["Session"] & "session_date < '2024-02-15'")
        .prune()
        .preview()
    )
    adapter = lab["Subject"]().adapter
    short = {
        "subject": "Subject",
        "session": "Session",
        "trial": "Trial",
        "trial__event": "Trial.Event",
        "pairing": "Pairing",
    }
    want = {f"{schema_name}.{short[adapter.split_full_name(k)[1]]}": v for k, v in expected.items()}
    restricted = {k: v for k, v in got.items() if k in want}
    assert restricted == want
    assert got[f"{schema_name}.Stimulus"] == 2  # an ancestor kept whole


def test_diagram_in_every_format(
    tmp_path: Path, server: Server, schema_name: str, lab: dict[str, Any], cli_env: dict[str, str]
) -> None:
    """``subset diagram``: Mermaid and DOT text with the restricted tables' counts (no pydot
    needed), and an SVG file when Graphviz is installed."""
    recipe = write_recipe(
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
    mermaid = run_cli("diagram", str(recipe), env=cli_env)
    assert mermaid.returncode == 0, mermaid.stderr
    assert mermaid.stdout.startswith("flowchart LR") and mermaid.stdout.endswith("\n")
    assert 'Subject["Subject (2)"]:::manual' in mermaid.stdout
    assert 'Trial_Event["Event (3)"]:::part' in mermaid.stdout
    dot = run_cli("diagram", str(recipe), "--format", "dot", env=cli_env)
    assert dot.returncode == 0, dot.stderr
    assert dot.stdout.startswith("digraph {")
    assert '"Trial" [' in dot.stdout and "<br/>4 rows>" in dot.stdout
    assert f'subgraph "cluster_{schema_name}" {{' in dot.stdout
    if shutil.which("dot"):
        out = tmp_path / "d.svg"
        svg = run_cli("diagram", str(recipe), "--format", "svg", "--out", str(out), env=cli_env)
        assert svg.returncode == 0, svg.stderr
        assert "<svg" in out.read_text() and "2 rows" in out.read_text()


def test_unknown_table_suggests(
    tmp_path: Path, server: Server, schema_name: str, lab: dict[str, Any], cli_env: dict[str, str]
) -> None:
    recipe = write_recipe(
        tmp_path,
        server,
        f"""\
        schemas: [{schema_name}]
        restrictions:
          - table: {schema_name}.Sesion
            where: {{subject_id: 1}}
        outputs:
          out: {{type: parquet, path: ./out}}
        """,
    )
    result = run_cli("preview", str(recipe), env=cli_env)
    assert result.returncode == 2, result.stderr
    assert re.search(r"recipe.yaml:\d+: restrictions\[0\]\.table", result.stderr)
    assert f'did you mean "{schema_name}.Session"' in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_attribute_in_where_is_located(
    tmp_path: Path, server: Server, schema_name: str, lab: dict[str, Any], cli_env: dict[str, str]
) -> None:
    recipe = write_recipe(
        tmp_path,
        server,
        f"""\
        schemas: [{schema_name}]
        restrictions:
          - table: {schema_name}.Session
            where: "sesion_date > '2024-01-01'"
        outputs:
          out: {{type: parquet, path: ./out}}
        """,
    )
    result = run_cli("preview", str(recipe), env=cli_env)
    assert result.returncode == 2
    assert "restrictions[0]" in result.stderr
    assert "sesion_date" in result.stderr
    assert "Traceback" not in result.stderr


def test_connection_failure_is_exit_1_without_password(tmp_path: Path, server: Server) -> None:
    secret = "s3cret-Pa55word-xyz"
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        "version: 1\nsource:\n  backend: mysql\n  host: 127.0.0.1\n  port: 1\n  user: nobody\n"
        "  password: ${PW}\nschemas: [x]\noutputs:\n  o: {type: parquet, path: ./o}\n"
    )
    result = run_cli("preview", str(recipe), env={"PW": secret})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert secret not in result.stderr + result.stdout
    assert "cannot connect" in result.stderr
    debug = run_cli("--debug", "preview", str(recipe), env={"PW": secret})
    assert "Traceback" in debug.stderr
