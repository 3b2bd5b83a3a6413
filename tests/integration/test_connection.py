"""Connection on both backends: parameters, hostile names, transactions, errors, reconnect."""

from __future__ import annotations

import pytest

import datajoint_core as dj
from datajoint_core import errors

from ..conftest import Server


def _make_table(conn: dj.Connection, schema: str, table: str = "t") -> str:
    a = conn.adapter
    conn.execute(a.create_schema_sql(schema))
    full = a.full_name(schema, table)
    conn.execute(f"CREATE TABLE {full} ({a.quote('id')} int NOT NULL PRIMARY KEY, v varchar(40))")
    return full


def test_parameters_and_hostile_values(inst: dj.Instance, schema_name: str) -> None:
    conn = inst.connection
    full = _make_table(conn, schema_name)
    hostile = "'; DROP TABLE t; -- %s %% \\ \" `"
    conn.execute(f"INSERT INTO {full} VALUES (%s, %s)", (1, hostile))
    assert conn.fetchall(f"SELECT v FROM {full} WHERE v = %s", (hostile,)) == [(hostile,)]


@pytest.mark.parametrize("name", ["a`b", 'a"b', "x'y", "sp ace;--"])
def test_hostile_identifiers(inst: dj.Instance, schema_name: str, name: str) -> None:
    conn = inst.connection
    a = conn.adapter
    conn.execute(a.create_schema_sql(schema_name))
    full = a.full_name(schema_name, name)
    conn.execute(f"CREATE TABLE {full} ({a.quote(name)} int PRIMARY KEY)")
    conn.execute(f"INSERT INTO {full} VALUES (%s)", (7,))
    assert conn.fetchall(f"SELECT {a.quote(name)} FROM {full}") == [(7,)]
    catalog = a.read_catalog(conn.fetchall, [schema_name])
    assert [(c.table, c.name) for c in catalog.columns] == [(name, name)]


def test_transactions_commit_and_cancel(inst: dj.Instance, schema_name: str) -> None:
    conn = inst.connection
    full = _make_table(conn, schema_name)
    with conn.transaction:
        assert conn.in_transaction
        conn.execute(f"INSERT INTO {full} VALUES (1, 'a')")
    assert not conn.in_transaction
    conn.start_transaction()
    conn.execute(f"INSERT INTO {full} VALUES (2, 'b')")
    conn.cancel_transaction()
    with pytest.raises(ZeroDivisionError), conn.transaction:
        conn.execute(f"INSERT INTO {full} VALUES (3, 'c')")
        raise ZeroDivisionError
    assert conn.fetchall(f"SELECT id FROM {full}") == [(1,)]


def test_snapshot_is_read_only_and_consistent(
    inst: dj.Instance, server: Server, schema_name: str
) -> None:
    conn = inst.connection
    full = _make_table(conn, schema_name)
    conn.execute(f"INSERT INTO {full} VALUES (1, 'a')")
    other = server.instance()
    try:
        with conn.snapshot():
            assert conn.fetchall(f"SELECT count(*) FROM {full}")[0][0] == 1
            other.connection.execute(f"INSERT INTO {full} VALUES (2, 'b')")
            assert conn.fetchall(f"SELECT count(*) FROM {full}")[0][0] == 1
            with pytest.raises(errors.QueryError):
                conn.execute(f"INSERT INTO {full} VALUES (3, 'c')")
    finally:
        other.close()
    assert conn.fetchall(f"SELECT count(*) FROM {full}")[0][0] == 2


def test_stream_yields_batches(inst: dj.Instance, schema_name: str) -> None:
    conn = inst.connection
    full = _make_table(conn, schema_name)
    conn.execute(f"INSERT INTO {full} (id) VALUES " + ",".join(f"({i})" for i in range(25)))
    batches = list(conn.stream(f"SELECT id FROM {full} ORDER BY id", (), batch_rows=10))
    assert [len(b) for b in batches] == [10, 10, 5]
    assert not conn.in_transaction
    early = conn.stream(f"SELECT id FROM {full}", (), batch_rows=10)
    next(early)
    early.close()  # a consumer that stops early leaves no transaction open
    assert not conn.in_transaction


def test_error_translation(inst: dj.Instance, schema_name: str) -> None:
    conn = inst.connection
    a = conn.adapter
    parent = _make_table(conn, schema_name, "parent")
    child = a.full_name(schema_name, "child")
    conn.execute(
        f"CREATE TABLE {child} (id int PRIMARY KEY, "
        f"FOREIGN KEY (id) REFERENCES {parent} (id) ON UPDATE CASCADE ON DELETE RESTRICT)"
    )
    conn.execute(f"INSERT INTO {parent} VALUES (1, 'a')")
    with pytest.raises(errors.DuplicateError):
        conn.execute(f"INSERT INTO {parent} VALUES (1, 'b')")
    with pytest.raises(errors.IntegrityError, match="parent"):
        conn.execute(f"INSERT INTO {child} VALUES (2)")
    conn.execute(f"INSERT INTO {child} VALUES (1)")
    with pytest.raises(errors.IntegrityError):
        conn.execute(f"DELETE FROM {parent}")
    with pytest.raises(errors.MissingTableError):
        conn.execute(f"SELECT * FROM {a.full_name(schema_name, 'nope')}")
    with pytest.raises(errors.QueryError):
        conn.execute("SELEKT 1")
    assert conn.fetchall("SELECT 1") == [(1,)]  # still usable after errors


def test_bad_credentials(server: Server) -> None:
    if server.origin == "embedded":
        pytest.skip("the embedded server trusts every local user")
    with pytest.raises(errors.AccessError):
        dj.Instance(
            server.host, "no_such_user_x", "wrong", port=server.port, backend=server.backend
        )


def test_lost_connection_then_reconnect(inst: dj.Instance, server: Server) -> None:
    conn = inst.connection
    victim = conn.session_id()
    killer = server.instance()
    try:
        killer.connection.execute(conn.adapter.kill_session_sql(), (victim,))
    finally:
        killer.close()
    assert conn.fetchall("SELECT 1") == [(1,)]  # reconnected transparently
    assert conn.session_id() != victim


def test_lost_connection_inside_transaction_is_an_error(inst: dj.Instance, server: Server) -> None:
    conn = inst.connection
    conn.start_transaction()
    victim = conn.session_id()
    killer = server.instance()
    try:
        killer.connection.execute(conn.adapter.kill_session_sql(), (victim,))
    finally:
        killer.close()
    with pytest.raises(errors.LostConnectionError, match="inside a transaction"):
        conn.fetchall("SELECT 1")
    assert not conn.in_transaction
    assert conn.fetchall("SELECT 1") == [(1,)]


def test_no_reconnect_when_disabled(server: Server) -> None:
    inst = server.instance(database__reconnect=False)
    conn = inst.connection
    killer = server.instance()
    try:
        killer.connection.execute(conn.adapter.kill_session_sql(), (conn.session_id(),))
    finally:
        killer.close()
    with pytest.raises(errors.LostConnectionError):
        conn.fetchall("SELECT 1")
