"""``subset verify`` of a recipe's outputs, a snapshot or a database's named schemas, on both
backends: only the output's schemas are read, counts are checked against the manifest there too,
and tables are named by class."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import datajoint_core as dj
from subsetter import api

from ..conftest import Server
from .conftest import run_cli, staging_output, write_recipe

# the subset of subject 1: Stimulus, Subject, Session, Trial, Trial.Event (Pairing has no rows
# and is pruned) and their foreign keys: Session, Trial (2), Trial.Event
TABLES, FOREIGN_KEYS = 5, 4


def _recipe(tmp_path: Path, server: Server, schema: str, staging: str) -> Path:
    return write_recipe(
        tmp_path,
        server,
        f"""\
        schemas: [{schema}]
        restrictions:
          - table: {schema}.Subject
            where: {{subject_id: 1}}
        upstream: referenced
        outputs:
          snap: {{type: parquet, path: ./snap}}
          db: {{type: duckdb, path: ./snap.duckdb}}
          staging: {staging_output(server, {schema: staging})}
        """,
    )


def _url(server: Server) -> str:
    return f"{server.backend}://{server.user}@{server.host}:{server.port}"


def _counts(schema: str) -> list[str]:
    """The count lines of the subset of subject 1 (sessions 1-2, their trials and events)."""
    rows = {"Stimulus": 2, "Subject": 1, "Session": 2, "Trial": 3, "Trial.Event": 3}
    return [f"ok   {schema}.{t}: count: {n} row{'s' * (n != 1)}" for t, n in rows.items()]


def test_verify_a_recipe_each_output_where_it_is_written(
    tmp_path: Path,
    server: Server,
    inst: dj.Instance,
    schema_name: str,
    staging_name: str,
    lab: dict[str, Any],
    cli_env: dict[str, str],
) -> None:
    recipe = _recipe(tmp_path, server, schema_name, staging_name)
    assert run_cli("run", str(recipe), env=cli_env).returncode == 0

    result = run_cli("verify", str(recipe), env=cli_env)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == f"{len(lines) - 4} passed, 0 failed"
    headers = [line for line in lines if not line.startswith(" ")][:-1]
    assert headers == ["snap:", "db:", "staging:"]
    for name, schema in (("snap", schema_name), ("db", schema_name), ("staging", staging_name)):
        block = lines[lines.index(f"{name}:") + 1 :]
        block = block[: next(i for i, line in enumerate(block) if not line.startswith(" "))]
        counts = [line.strip() for line in block if ": count: " in line]
        assert sorted(counts) == sorted(_counts(schema)), name
        fks = [line.strip() for line in block if ": foreign key: " in line]
        assert len(fks) == FOREIGN_KEYS and all(line.startswith("ok   ") for line in fks)
        assert (
            f"ok   {schema}.Trial.Event: foreign key: (subject_id, session_id, trial_id) -> "
            f"{schema}.Trial: every row resolves" in fks
        )
        assert all(re.match(rf"ok   {schema}\.[A-Z]", line) for line in counts + fks), name

    only = run_cli("verify", str(recipe), "--output", "staging", env=cli_env)
    assert only.returncode == 0, only.stdout + only.stderr
    assert only.stdout.splitlines()[0] == "staging:"
    assert only.stdout.splitlines()[-1] == f"{TABLES + FOREIGN_KEYS} passed, 0 failed"

    # a row gone from the staging copy: its count no longer matches the run's manifest
    conn = inst.connection
    event = dj.FreeTable(conn, conn.adapter.full_name(staging_name, "trial__event"))
    (event & {"event_id": 2}).delete(prompt=False, part_integrity="ignore")
    broken = run_cli("verify", str(recipe), "-o", "staging", env=cli_env)
    assert broken.returncode == 1
    assert f"FAIL {staging_name}.Trial.Event: count: 2 rows, manifest says 3" in broken.stdout
    assert broken.stdout.splitlines()[-1] == f"{TABLES - 1 + FOREIGN_KEYS} passed, 1 failed"

    unknown = run_cli("verify", str(recipe), "-o", "nope", env=cli_env)
    assert unknown.returncode == 2
    assert "no output named 'nope'" in unknown.stderr and "recipe.yaml:" in unknown.stderr


def test_verify_a_database_reads_only_the_schemas_named(
    tmp_path: Path,
    server: Server,
    inst: dj.Instance,
    schema_name: str,
    staging_name: str,
    lab: dict[str, Any],
    cli_env: dict[str, str],
) -> None:
    recipe = _recipe(tmp_path, server, schema_name, staging_name)
    assert run_cli("run", str(recipe), env=cli_env).returncode == 0
    env = {"SUBSET_PASSWORD": server.password}

    named = run_cli("verify", _url(server), "--schema", staging_name, env=env)
    assert named.returncode == 0, named.stdout + named.stderr
    lines = named.stdout.splitlines()
    assert lines[-1] == f"{TABLES + FOREIGN_KEYS} passed, 0 failed"
    assert all(line.startswith(f"ok   {staging_name}.") for line in lines[:-1])
    assert sorted(line for line in lines if ": count: " in line) == sorted(_counts(staging_name))

    bare = run_cli("verify", _url(server), env=env)
    assert bare.returncode == 2
    assert "--schema" in bare.stderr and "Traceback" not in bare.stderr
    missing = run_cli("verify", _url(server), "-s", f"{schema_name}_nope", env=env)
    assert missing.returncode == 1
    assert f"Error: schema '{schema_name}_nope' does not exist on {_url(server)}" in missing.stderr
    misplaced = run_cli("verify", str(tmp_path / "snap"), "--schema", staging_name)
    assert misplaced.returncode == 2 and "--schema" in misplaced.stderr

    # someone else's schema, dropped while verify runs, is none of its business
    decoy = f"{schema_name}_decoy"
    other = server.instance()
    try:
        dj.Schema(decoy, connection=other.connection)
        thing = other.connection.adapter.full_name(decoy, "thing")
        other.connection.execute(f"CREATE TABLE {thing} (id INT PRIMARY KEY)")
        target = server.instance()
        statements: list[str] = []
        original = target.connection.query

        def query(sql: str, args: Any = (), **kw: Any) -> Any:
            statements.append(f"{sql} {args}")
            if len(statements) == 1:
                other.connection.execute(other.connection.adapter.drop_schema_sql(decoy))
            return original(sql, args, **kw)

        target.connection.query = query  # type: ignore[method-assign]
        try:
            checks = api.verify(target, [staging_name])
        finally:
            target.close()
        assert checks and all(c.ok for c in checks)
        assert not [s for s in statements if decoy in s]
        assert not [s for s in statements if schema_name in s.replace(staging_name, "")]
    finally:
        other.connection.execute(other.connection.adapter.drop_schema_sql(decoy))
        other.close()


def test_verify_snapshots_by_path(
    tmp_path: Path,
    server: Server,
    schema_name: str,
    staging_name: str,
    lab: dict[str, Any],
    cli_env: dict[str, str],
) -> None:
    recipe = _recipe(tmp_path, server, schema_name, staging_name)
    assert run_cli("run", str(recipe), "-o", "snap", "-o", "db", env=cli_env).returncode == 0
    for path in ("snap", "snap.duckdb"):
        result = run_cli("verify", str(tmp_path / path))
        assert result.returncode == 0, result.stdout + result.stderr
        lines = result.stdout.splitlines()
        assert lines[-1] == f"{TABLES + FOREIGN_KEYS} passed, 0 failed"
        assert set(_counts(schema_name)) <= set(lines)
    staged = run_cli("verify", str(recipe), env=cli_env)  # the staging output was not written
    assert staged.returncode == 1
    assert f"schema '{staging_name}' does not exist on output 'staging'" in staged.stderr
