"""A staging output end to end: run into a staging schema, verify, clean rows, drop schemas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import datajoint_core as dj

from ..conftest import Server
from .conftest import run_cli, staging_output, write_recipe


def _rows(inst: dj.Instance, schema: str, table: str) -> list[dict[str, Any]]:
    conn = inst.connection
    return dj.FreeTable(conn, conn.adapter.full_name(schema, table)).to_dicts(order_by="KEY")


def test_staging_run_clean_and_drop(
    tmp_path: Path,
    server: Server,
    inst: dj.Instance,
    schema_name: str,
    staging_name: str,
    lab: dict[str, Any],
    cli_env: dict[str, str],
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
        outputs:
          staging: {staging_output(server, {schema_name: staging_name})}
        """,
    )
    result = run_cli("run", str(recipe), env=cli_env)
    assert result.returncode == 0, result.stderr
    sessions = _rows(inst, staging_name, "session")
    assert [(r["subject_id"], r["session_id"]) for r in sessions] == [(1, 1), (1, 2)]
    for table in ("subject", "#stimulus", "trial", "trial__event", "pairing"):
        source = lab["schema"].connection.adapter.full_name(schema_name, table)
        expected = len(dj.FreeTable(inst.connection, source))
        got = len(_rows(inst, staging_name, table))
        if table in ("#stimulus",):
            assert got == expected  # kept whole
        else:
            assert 0 < got <= expected
    again = run_cli("run", str(recipe), env=cli_env)  # replace: the same rows again
    assert again.returncode == 0, again.stderr
    assert _rows(inst, staging_name, "session") == sessions
    url = f"{server.backend}://{server.user}@{server.host}:{server.port}"
    verified = run_cli(
        "verify", url, "--schema", staging_name, env={"SUBSET_PASSWORD": server.password}
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "FAIL" not in verified.stdout
    assert f"ok   {staging_name}.Session: count: 2 rows" in verified.stdout.splitlines()

    cleaned = run_cli("clean", str(recipe), "--yes", env=cli_env)
    assert cleaned.returncode == 0, cleaned.stderr
    for table in ("subject", "session", "trial", "trial__event", "pairing"):
        assert _rows(inst, staging_name, table) == [], table
    assert len(_rows(inst, staging_name, "#stimulus")) == 2  # kept-whole ancestors stay
    assert len(lab["Session"]()) == 4  # the source is untouched

    dropped = run_cli("clean", str(recipe), "--drop", "--yes", env=cli_env)
    assert dropped.returncode == 0, dropped.stderr
    assert staging_name not in inst.connection.list_schemas()
    assert schema_name in inst.connection.list_schemas()


def test_clean_refuses_without_a_staging_output(
    tmp_path: Path, server: Server, schema_name: str, lab: dict[str, Any], cli_env: dict[str, str]
) -> None:
    recipe = write_recipe(
        tmp_path,
        server,
        f"""\
        schemas: [{schema_name}]
        outputs:
          snap: {{type: parquet, path: ./snap}}
        """,
    )
    result = run_cli("clean", str(recipe), "--yes", env=cli_env)
    assert result.returncode == 2
    assert "no staging output" in result.stderr
    assert len(lab["Subject"]()) == 3
