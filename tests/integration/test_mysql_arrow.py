"""The bulk export (``Connection.stream_arrow``: MySQL's packed CSV lines, PostgreSQL's COPY) gives
exactly the batches that fetching the rows and converting them (``rows_to_batch``) gives, for
every core type, NULLs and awkward values included, inside a snapshot; on MySQL with both
drivers."""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

import datajoint_core as dj
from datajoint_core.adapters.mysql import MySQLAdapter
from datajoint_core.adapters.mysql_arrow import packed_sql
from datajoint_core.fetch import arrow_schema, rows_to_batch

from ..conftest import Server, server_for

TYPES = {
    "i8": "int8",
    "i16": "int16",
    "i32": "int32",
    "i64": "int64",
    "u8": "uint8",
    "u16": "uint16",
    "u32": "uint32",
    "u64": "uint64",
    "f32": "float32",
    "f64": "float64",
    "flag": "bool",
    "amount": "decimal(12,3)",
    "code": "char(4)",
    "name": "varchar(40)",
    "day": "date",
    "moment": "datetime",
    "precise": "datetime(6)",
    "tag": "uuid",
    "doc": "json",
    "raw": "bytes",
    "mood": "enum('happy','Sad','with \"quote\"')",
    "arr": "<blob>",
}
TEXTS = ["", "a,b", 'say "hi"', "two\nlines", "back\\slash", "tab\tctrl-z\x1a", "héllo ✓", "NULL"]
BYTES = [b"", bytes(range(256)), b'"', b",\n", b"\x00", b"\\N"]


def row(i: int) -> dict[str, Any]:
    """Row ``i``: every column NULL in turn, the others cycling through awkward values."""
    values: dict[str, Any] = {
        "i8": [-128, 127, 0][i % 3],
        "i16": [-32768, 32767][i % 2],
        "i32": -(2**31) + i,
        "i64": [2**62 + 1, -(2**63), 2**63 - 1][i % 3],
        "u8": [0, 255][i % 2],
        "u16": 65535 - i,
        "u32": 2**32 - 1 - i,
        "u64": [0, 2**64 - 1, 2**63 + 12345][i % 3],
        "f32": [1.25, -0.1, 3.4e38, 1e-38][i % 4],
        "f64": [1 / 3, -1e300, 5e-324, 0.1 + 0.2][i % 4],
        "flag": bool(i % 2),
        "amount": decimal.Decimal("123456789.125") * (-1) ** i / (i + 1),
        "code": ["abcd", "ab", "", " x", "é"][i % 5],
        "name": TEXTS[i % len(TEXTS)],
        "day": datetime.date(1000, 1, 1) + datetime.timedelta(days=1234 * i),
        "moment": datetime.datetime(2024, 1, 2, 3, 4, 5) + datetime.timedelta(seconds=77777 * i),
        "precise": datetime.datetime(2000, 1, 1, 0, 0, 0, (i * 123457) % 1_000_000),
        "tag": uuid.UUID(int=(2**128 - 1) // (i + 1)),
        "doc": [{"a": [1, 2.5, None, 'x"y']}, [1, "two"], {"s": "text,\n"}, 3][i % 4],
        "raw": BYTES[i % len(BYTES)],
        "mood": ["happy", "Sad", 'with "quote"'][i % 3],
        "arr": np.arange(i % 5, dtype=np.float64),
    }
    names = list(TYPES)
    values[names[i % len(names)]] = None
    return {"id": i, **values}


ROWS = 200  # more than len(TYPES) * a batch: NULLs land at every position of a batch


@pytest.fixture
def typed(inst: dj.Instance, schema_name: str) -> Any:
    schema = dj.Schema(schema_name, connection=inst.connection)
    lines = "\n".join(f"{name} = null : {type_}" for name, type_ in TYPES.items())

    class Typed(dj.Manual):
        definition = f"id : int32\n---\n{lines}\n"

    schema(Typed)
    Typed.insert([row(i) for i in range(ROWS)])
    return Typed


def select_sql(table: Any, order: str = "") -> str:
    q = table.connection.adapter.quote
    columns = ", ".join(q(n) for n in table.heading.names)
    return f"SELECT {columns} FROM {table.full_table_name}{order}"


def exported(conn: dj.Connection, sql: str, schema: pa.Schema, batch_rows: int) -> pa.Table:
    with conn.snapshot():
        batches = conn.stream_arrow(sql, (), schema, batch_rows)
        assert batches is not None
        got = list(batches)
    assert all(b.num_rows <= batch_rows for b in got)
    assert all(b.schema.equals(schema) for b in got)
    return pa.Table.from_batches(got, schema)


def fetched(conn: dj.Connection, table: Any, sql: str, schema: pa.Schema) -> pa.Table:
    rows = conn.fetchall(sql)
    return pa.Table.from_batches([rows_to_batch(rows, table, schema)], schema)


def assert_same(got: pa.Table, want: pa.Table) -> None:
    assert got.num_rows == want.num_rows
    for name in want.schema.names:
        a, b = got.column(name).combine_chunks(), want.column(name).combine_chunks()
        if pa.types.is_dictionary(b.type):  # each batch has its own dictionary
            a, b = a.cast(pa.string()), b.cast(pa.string())
        assert a.type == b.type, name
        if not a.equals(b):
            diffs = [
                (i, x, y) for i, (x, y) in enumerate(zip(a.to_pylist(), b.to_pylist())) if x != y
            ]
            pytest.fail(f"{name}: {diffs[:3]}")


@pytest.mark.parametrize("batch_rows", [7, 1000])
def test_export_equals_fetch(typed: Any, batch_rows: int) -> None:
    conn = typed.connection
    schema = arrow_schema(typed)
    sql = select_sql(typed, f" ORDER BY {conn.adapter.quote('id')} DESC")
    got = exported(conn, sql, schema, batch_rows)
    assert got.column("id").to_pylist() == list(reversed(range(ROWS)))
    assert_same(got, fetched(conn, typed, sql, schema))


@pytest.fixture(params=["mysqlclient", "pymysql"])
def mysql_driver(request: pytest.FixtureRequest) -> Iterator[dj.Instance]:
    """A MariaDB/MySQL Instance on the given driver."""
    server: Server = server_for("mysql")
    instance = server.instance()
    conn = instance.connection
    conn.adapter = MySQLAdapter(driver=request.param)
    conn.connect()
    yield instance
    instance.close()


def test_both_drivers_export_the_same(mysql_driver: dj.Instance) -> None:
    conn = mysql_driver.connection
    name = f"djtest_{uuid.uuid4().hex[:10]}"
    try:
        schema = dj.Schema(name, connection=conn)
        lines = "\n".join(f"{n} = null : {t}" for n, t in TYPES.items())

        class Typed(dj.Manual):
            definition = f"id : int32\n---\n{lines}\n"

        schema(Typed)
        Typed.insert([row(i) for i in range(60)])
        arrow = arrow_schema(Typed)
        sql = select_sql(Typed, " ORDER BY `id`")
        assert_same(exported(conn, sql, arrow, 9), fetched(conn, Typed, sql, arrow))
    finally:
        conn.execute(conn.adapter.drop_schema_sql(name))


def test_mysql_keeps_the_order_or_declines() -> None:
    adapter = MySQLAdapter()
    schema = pa.schema([pa.field("a", pa.int32()), pa.field("b`c", pa.string())])
    moved = packed_sql(
        "SELECT `a`, `b``c` FROM t WHERE x ORDER BY `b``c` DESC, `a`", schema, adapter.quote
    )
    assert moved is not None
    assert moved.endswith("AS _dj_rows ORDER BY _dj_rows.`b``c` DESC, _dj_rows.`a`")
    assert "ORDER BY" not in moved.split("FROM (", 1)[1].split(") AS _dj_rows")[0]
    for sql in (
        "SELECT `a`, `b``c` FROM t ORDER BY `a` + 1",  # an expression
        "SELECT `a`, `b``c` FROM t ORDER BY `a` LIMIT 3",  # not at the end
        "SELECT `a`, `b``c` FROM t ORDER BY `z`",  # not an output column
        "SELECT `a`, `b``c` FROM (SELECT * FROM u ORDER BY `a`) AS v",  # inside a subquery
    ):
        assert packed_sql(sql, schema, adapter.quote) is None, sql


def test_unread_export_then_another_query(typed: Any) -> None:
    conn = typed.connection
    schema = arrow_schema(typed)
    with conn.snapshot():
        batches = conn.stream_arrow(select_sql(typed), (), schema, 5)
        assert batches is not None
        assert next(iter(batches)).num_rows == 5
        assert conn.fetchall("SELECT 1") == [(1,)]  # the rest of the export is discarded
        rows = conn.stream(select_sql(typed), (), 5)
        assert len(next(iter(rows))) == 5
        assert len(typed) == ROWS


def test_killed_session_during_export(mysql_driver: dj.Instance) -> None:
    """A session killed in the middle of an export is a LostConnectionError (MySQL, both
    drivers; PostgreSQL's COPY path is not this module's)."""
    conn = mysql_driver.connection
    name = f"djtest_{uuid.uuid4().hex[:10]}"
    schema = dj.Schema(name, connection=conn)

    class Typed(dj.Manual):
        definition = "id : int32\n---\n" + "\n".join(f"{n} = null : {t}" for n, t in TYPES.items())

    try:
        schema(Typed)
        Typed.insert([row(i) for i in range(ROWS)])
        _kill_during_export(conn, Typed, server_for("mysql"))
    finally:
        conn.execute(conn.adapter.drop_schema_sql(name))


def _kill_during_export(conn: dj.Connection, typed: Any, server: Server) -> None:
    q = conn.adapter.quote
    schema = arrow_schema(typed)
    columns = ", ".join(f"a.{q(n)} AS {q(n)}" for n in schema.names)
    t = typed.full_table_name
    # 800k rows: far more than the server can send before the kill
    sql = f"SELECT {columns} FROM {t} AS a CROSS JOIN {t} AS b CROSS JOIN {t} AS c WHERE c.id < 20"
    victim = conn.session_id()
    killer = server.instance()
    try:
        with pytest.raises(dj.errors.LostConnectionError), conn.snapshot():
            batches = conn.stream_arrow(sql, (), schema, 5)
            assert batches is not None
            stream = iter(batches)
            next(stream)
            killer.connection.execute(conn.adapter.kill_session_sql(), (victim,))
            for _ in stream:
                pass
    finally:
        killer.close()
    assert conn.fetchall("SELECT 1") == [(1,)]  # reconnected


def test_large_blobs_travel_as_they_are(
    inst: dj.Instance, schema_name: str, request: pytest.FixtureRequest
) -> None:
    """A 10 MB blob: 60 % of MariaDB's max_allowed_packet (hex in a packed line would exceed
    it). PostgreSQL's COPY path reads tables with binary columns in 64 MB CSV blocks (a value's
    hex must fit in one)."""
    conn = inst.connection
    schema = dj.Schema(schema_name, connection=conn)

    class Big(dj.Manual):
        definition = "id : int32\n---\ntag = null : uuid\nraw = null : bytes\nnote : varchar(8)\n"

    schema(Big)
    size = 10_000_000  # MariaDB's default max_allowed_packet is 16 MiB
    Big.insert(
        [
            {"id": 1, "tag": uuid.UUID(int=1), "raw": b"a" * (size // 2), "note": "big"},
            {"id": 2, "tag": None, "raw": None, "note": "nulls"},
            {"id": 3, "tag": uuid.UUID(int=3), "raw": b"", "note": "empty"},
        ]
    )
    # doubled on the server: pymysql sends bytes as hex, and 2 x 10 MB would not fit a packet
    q = conn.adapter.quote
    twice = f"CONCAT({q('raw')}, {q('raw')})" if conn.backend == "mysql" else "raw || raw"
    conn.execute(f"UPDATE {Big.full_table_name} SET {q('raw')} = {twice} WHERE {q('id')} = 1")
    arrow = arrow_schema(Big)
    sql = select_sql(Big, f" ORDER BY {conn.adapter.quote('id')}")
    got = exported(conn, sql, arrow, 2)
    assert got.column("raw").to_pylist() == [b"a" * size, None, b""]
    assert_same(got, fetched(conn, Big, sql, arrow))


def test_a_value_beyond_the_copy_block_is_a_clear_error(
    inst: dj.Instance, schema_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL only (MySQL has no block limit): with the block made small, a larger value
    fails with a DataJointError that says so, not pyarrow's straddling message alone."""
    conn = inst.connection
    if conn.backend != "postgresql":
        pytest.skip("PostgreSQL's COPY export only")
    from datajoint_core.adapters import pg_copy

    monkeypatch.setattr(pg_copy, "_BINARY_BLOCK", 1 << 16)
    schema = dj.Schema(schema_name, connection=conn)

    @schema
    class Blobby(dj.Manual):
        definition = "id : int32\n---\nraw : bytes\n"

    Blobby.insert1({"id": 1, "raw": b"x" * 100_000})
    table = dj.FreeTable(conn, Blobby.full_table_name)
    select = table.make_sql()
    with conn.snapshot():
        batches = conn.stream_arrow(select.sql, select.params, arrow_schema(table), 1000)
        assert batches is not None
        with pytest.raises(dj.DataJointError, match="larger than PostgreSQL's COPY export"):
            list(batches)
