"""``subset run`` end to end on both backends: outputs hold exactly the previewed rows, verify
passes, the source is untouched, and failures leave nothing half-written."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

import datajoint_core as dj
from datajoint_core.fetch import arrow_schema
from subsetter import api
from subsetter.plan import Plan
from subsetter.progress import ProgressEvent

from ..conftest import Server
from .conftest import PASSWORD_VAR, run_cli, staging_output, write_recipe


def _recipe(tmp_path: Path, server: Server, schema: str, extra: str = "", **kw: str) -> Path:
    upstream = kw.get("upstream", "all")
    return write_recipe(
        tmp_path,
        server,
        f"""\
        schemas: [{schema}]
        restrictions:
          - table: {schema}.Subject
            where: {{species: mouse}}
          - table: {schema}.Session
            where: "session_date < '2024-02-15'"
        upstream: {upstream}
        outputs:
          parquet: {{type: parquet, path: ./snap}}
          duckdb: {{type: duckdb, path: ./snap.duckdb}}
        {textwrap.indent(extra, "  ").strip()}
        """,
    )


def _source_rows(inst: dj.Instance, plan: Plan) -> dict[str, list[dict[str, Any]]]:
    """What the subset must hold, table by table, read from the source with the plan's SQL."""
    out = {}
    for table in plan.tables:
        free = dj.FreeTable(inst.connection, table.node)
        rows = inst.connection.fetchall(table.select.sql, table.select.params)
        from datajoint_core.fetch import rows_to_batch

        out[table.key] = rows_to_batch(rows, free, arrow_schema(free)).to_pylist()
    return out


def _checksums(inst: dj.Instance, schema: str) -> dict[str, str]:
    conn = inst.connection
    out = {}
    for table in dj.Schema(schema, connection=conn, create_schema=False).list_tables():
        free = dj.FreeTable(conn, conn.adapter.full_name(schema, table))
        rows = free.to_dicts(order_by="KEY")
        out[table] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return out


def test_run_writes_exactly_the_preview(
    tmp_path: Path,
    server: Server,
    inst: dj.Instance,
    schema_name: str,
    lab: dict[str, Any],
    cli_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = _checksums(inst, schema_name)
    recipe = _recipe(tmp_path, server, schema_name)
    result = run_cli("run", str(recipe), env=cli_env)
    assert result.returncode == 0, result.stderr
    monkeypatch.setenv(PASSWORD_VAR, server.password)
    plan = api.preview(recipe)
    expected = _source_rows(inst, plan)
    manifest = json.loads((tmp_path / "snap" / "manifest.json").read_text())
    for table in plan.tables:
        path = tmp_path / "snap" / f"{table.display}.parquet"
        got = pq.read_table(path)
        assert (
            got.schema.remove_metadata()
            == arrow_schema(dj.FreeTable(inst.connection, table.node)).remove_metadata()
        ), table.key
        assert got.to_pylist() == expected[table.key], table.key
        entry = manifest["tables"][table.display]
        assert (entry["schema"], entry["table"], entry["rows"]) == (
            table.schema,
            table.table,
            table.count,
        )
    assert "password" not in json.dumps(manifest).lower() or server.password == ""
    import duckdb

    db = duckdb.connect(str(tmp_path / "snap.duckdb"), read_only=True)
    for table in plan.tables:
        count = db.execute(f'SELECT count(*) FROM "{table.schema}"."{table.table}"').fetchone()
        assert count is not None and count[0] == table.count
    db.close()
    for target in ("snap", "snap.duckdb"):
        verified = run_cli("verify", str(tmp_path / target))
        assert verified.returncode == 0, verified.stdout + verified.stderr
    assert _checksums(inst, schema_name) == before  # the source is untouched


def test_upstream_referenced_is_smaller_and_complete(
    tmp_path: Path,
    server: Server,
    inst: dj.Instance,
    schema_name: str,
    lab: dict[str, Any],
    cli_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(PASSWORD_VAR, server.password)

    def recipe(upstream: str) -> Path:
        return write_recipe(
            tmp_path,
            server,
            f"""\
            schemas: [{schema_name}]
            restrictions:
              - table: {schema_name}.Session
                where: {{subject_id: 2}}
            exclude: ["{schema_name}.Pairing"]
            upstream: {upstream}
            outputs:
              parquet: {{type: parquet, path: ./snap}}
            """,
            name=f"{upstream}.yaml",
        )

    whole = {t.display: t for t in api.preview(recipe("all")).tables}
    trimmed_recipe = recipe("referenced")
    trimmed = {t.display: t for t in api.preview(trimmed_recipe).tables}
    assert sum(t.count for t in trimmed.values()) < sum(t.count for t in whole.values())
    subject, stimulus = trimmed[f"{schema_name}.Subject"], trimmed[f"{schema_name}.Stimulus"]
    assert (subject.status.value, subject.count, whole[subject.display].count) == (
        "referenced",
        1,
        3,
    )
    assert (stimulus.count, whole[stimulus.display].count) == (1, 2)  # subject 2 saw stimulus 2
    result = run_cli("run", str(trimmed_recipe), env=cli_env)
    assert result.returncode == 0, result.stderr
    assert run_cli("verify", str(tmp_path / "snap")).returncode == 0


def test_target_equal_to_source_is_refused(
    tmp_path: Path, server: Server, schema_name: str, lab: dict[str, Any], cli_env: dict[str, str]
) -> None:
    recipe = write_recipe(
        tmp_path,
        server,
        f"""\
        schemas: [{schema_name}]
        outputs:
          again: {staging_output(server, if_exists="append")}
        """,
    )
    result = run_cli("run", str(recipe), env=cli_env)
    assert result.returncode in (1, 2)
    assert "source" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture
def reader(server: Server, inst: dj.Instance, schema_name: str) -> Iterator[tuple[str, str]]:
    """A new account that may only SELECT from the test schema: (user, password)."""
    user, password = f"subset_ro_{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex}"
    conn = inst.connection
    q = conn.adapter.quote
    if server.backend == "mysql":
        hosts = ("%%", "localhost")  # '%' doubled: SQL text is always formatted
        for host in hosts:
            conn.execute(f"CREATE USER '{user}'@'{host}' IDENTIFIED BY %s", (password,))
            conn.execute(f"GRANT SELECT ON {q(schema_name)}.* TO '{user}'@'{host}'")
    else:
        conn.execute(f"CREATE ROLE {q(user)} LOGIN PASSWORD %s", (password,))
        conn.execute(f"GRANT USAGE ON SCHEMA {q(schema_name)} TO {q(user)}")
        conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {q(schema_name)} TO {q(user)}")
    yield user, password
    if server.backend == "mysql":
        for host in hosts:
            conn.execute(f"DROP USER '{user}'@'{host}'")
    else:
        conn.execute(f"DROP OWNED BY {q(user)}")
        conn.execute(f"DROP ROLE {q(user)}")


def _as_reader(recipe: Path, server: Server, user: str) -> None:
    text = recipe.read_text().replace(f"user: {server.user}\n", f"user: {user}\n", 1)
    recipe.write_text(text)


def test_select_only_account_suffices(
    tmp_path: Path,
    server: Server,
    inst: dj.Instance,
    schema_name: str,
    lab: dict[str, Any],
    reader: tuple[str, str],
) -> None:
    before = _checksums(inst, schema_name)
    recipe = _recipe(tmp_path, server, schema_name)
    _as_reader(recipe, server, reader[0])
    result = run_cli("run", str(recipe), env={PASSWORD_VAR: reader[1]})
    assert result.returncode == 0, result.stderr
    assert run_cli("verify", str(tmp_path / "snap")).returncode == 0
    assert reader[1] not in result.stdout + result.stderr
    assert reader[1] not in (tmp_path / "snap" / "manifest.json").read_text()
    assert _checksums(inst, schema_name) == before


def test_connection_killed_mid_run_leaves_nothing(
    tmp_path: Path,
    server: Server,
    schema_name: str,
    lab: dict[str, Any],
    reader: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(PASSWORD_VAR, reader[1])
    recipe = _recipe(tmp_path, server, schema_name)
    _as_reader(recipe, server, reader[0])
    killer = server.instance()
    sessions = (
        "SELECT id FROM information_schema.processlist WHERE user = %s"
        if server.backend == "mysql"
        else "SELECT pid FROM pg_stat_activity WHERE usename = %s"
    )
    victims: list[int] = []

    def kill_once(event: ProgressEvent) -> None:
        if not victims:  # the source connection is the reader's only session
            for (pid,) in killer.connection.fetchall(sessions, (reader[0],)):
                killer.connection.execute(killer.connection.adapter.kill_session_sql(), (pid,))
                victims.append(pid)

    try:
        with pytest.raises((api.SubsetError, dj.DataJointError)):
            api.run(recipe, outputs=["parquet"], progress=kill_once)
    finally:
        killer.close()
    assert victims
    assert not (tmp_path / "snap").exists()
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]
    api.run(recipe, outputs=["parquet"])
    assert (tmp_path / "snap" / "manifest.json").exists()


def test_process_killed_mid_run_leaves_nothing(
    tmp_path: Path, server: Server, schema_name: str, lab: dict[str, Any], cli_env: dict[str, str]
) -> None:
    recipe = _recipe(tmp_path, server, schema_name)
    script = textwrap.dedent(
        f"""
        import os, signal
        from subsetter import api
        seen = []
        def die(event):
            if event.table is not None:
                seen.append(event.table)
            if len(set(seen)) == 3:
                os.kill(os.getpid(), signal.SIGKILL)
        api.run({str(recipe)!r}, progress=die)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], env={**os.environ, **cli_env}, capture_output=True
    )
    assert proc.returncode == -signal.SIGKILL
    assert not (tmp_path / "snap").exists()
    assert not (tmp_path / "snap.duckdb").exists()
    result = run_cli("run", str(recipe), env=cli_env)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "snap" / "manifest.json").exists()
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]


def test_every_core_type_exports_exactly(
    tmp_path: Path, server: Server, inst: dj.Instance, schema_name: str, cli_env: dict[str, str]
) -> None:
    """The export path (COPY on PostgreSQL, a cursor on MySQL) gives the same Arrow values and
    types as fetching the rows, for every core type and NULL."""
    import datetime
    import decimal

    schema = dj.Schema(schema_name, connection=inst.connection)

    @schema
    class Zoo(dj.Manual):
        definition = """
        id : int32
        ---
        i8 = null : int8
        u32 = null : uint32
        f32 = null : float32
        f64 = null : float64
        flag = null : bool
        amount = null : decimal(8,3)
        code = null : char(3)
        name = null : varchar(40)
        day = null : date
        moment = null : datetime(3)
        token = null : uuid
        doc = null : json
        raw = null : bytes
        kind = null : enum('a', 'b c', 'd,e')
        """

    Zoo.insert(
        [
            dict(
                id=1,
                i8=-5,
                u32=4_000_000_000,
                f32=1.5,
                f64=-2.25e10,
                flag=True,
                amount=decimal.Decimal("12.345"),
                code="ab",
                name='quote " comma , newline\nend',
                day=datetime.date(2024, 2, 29),
                moment=datetime.datetime(2024, 3, 1, 12, 30, 45, 123000),
                token=uuid.UUID(int=12345),
                doc={"a": [1, 2], "b": "x"},
                raw=b'\x00\x01\xff,\n"',
                kind="b c",
            ),
            dict(id=2, name="", flag=False, kind="d,e", raw=b""),
            dict(id=3),
        ]
    )
    recipe = write_recipe(
        tmp_path,
        server,
        f"""\
        schemas: [{schema_name}]
        outputs:
          parquet: {{type: parquet, path: ./snap}}
        """,
    )
    result = run_cli("run", str(recipe), env=cli_env)
    assert result.returncode == 0, result.stderr
    got = pq.read_table(tmp_path / "snap" / f"{schema_name}.Zoo.parquet")
    expected = Zoo().to_arrow(order_by="KEY")
    assert got.schema.remove_metadata() == expected.schema.remove_metadata()
    assert got.to_pylist() == expected.to_pylist()
