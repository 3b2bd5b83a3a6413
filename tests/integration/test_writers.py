"""Parquet, DuckDB and staging outputs of real tables, on both backends; the round trip of a
snapshot into the other backend; atomicity of every output."""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import datajoint_core as dj
from datajoint_core import errors
from datajoint_core.fetch import arrow_schema
from datajoint_core.graph.dependencies import build_graph
from subsetter.guard import Action, permit
from subsetter.load import load_snapshot, open_snapshot
from subsetter.writers.base import ForeignKeyMeta, OutputExistsError, TableMeta
from subsetter.writers.duckdb import DuckDBWriter
from subsetter.writers.instance import MANIFEST_TABLE, InstanceWriter, staging_manifests
from subsetter.writers.parquet import ParquetWriter

from ..conftest import BACKENDS, Server, server_for
from .pipeline import declare_lab

TEXTS = ["", None, "NULL", '"q"', "a\nb", "\\N", "x,y\tz", "ünï ✓", "\\", "'; drop table x; --"]


@contextmanager
def staging_writer(
    staging: dj.Instance, mapping: dict[str, str], if_exists: str = "fail", **kwargs: Any
) -> Iterator[InstanceWriter]:
    """A staging writer with the guard's permit for the mapped schemas, released afterwards."""
    schemas = list(mapping.values())
    with permit(staging.connection, schemas, Action(if_exists), source=None) as granted:
        yield InstanceWriter(granted, mapping, if_exists, **kwargs)


@dataclass
class Source:
    inst: dj.Instance
    schemas: list[str]
    items: list[tuple[TableMeta, dj.FreeTable]]

    @property
    def metas(self) -> list[TableMeta]:
        return [m for m, _ in self.items]


def declare_extras(conn: dj.Connection, schema_name: str, lab: dict[str, Any]) -> None:
    """A table of every core type with hostile values, and a table in a second schema."""
    schema = lab["schema"]

    @schema
    class Sample(dj.Manual):
        definition = """
        sample_id : int32
        token : uuid
        ---
        i8 = null : int8
        i16 = null : int16
        i64 = null : int64
        u8 = null : uint8
        u16 = null : uint16
        u32 = null : uint32
        u64 = null : uint64
        f32 = null : float32
        f64 = null : float64
        flag = null : bool
        day = null : date
        at = null : datetime
        at_ms = null : datetime(3)
        price = null : decimal(12,3)
        code = null : char(4)
        label = null : varchar(64)   # a 'label'
        kind = null : enum('a', 'b c', '')
        doc = null : json
        raw = null : bytes
        payload = null : <blob>
        """

    Sample.insert(
        [
            dict(
                sample_id=i,
                token=uuid.UUID(int=i * 7919),
                i8=-128 if i == 0 else (None if text is None else i),
                i16=-(2**15),
                i64=-(2**63) if i == 0 else 2**63 - 1,
                u8=255,
                u16=65535,
                u32=2**32 - 1,
                u64=2**64 - 1 - i,
                f32=1.5,
                f64=1e-300 if i == 0 else -2.5,
                flag=None if text is None else bool(i % 2),
                day=datetime.date(1999, 12, 31 - i),
                at=datetime.datetime(2024, 2, 29, 23, 59, 59),
                at_ms=datetime.datetime(2024, 1, 2, 3, 4, 5, 123000),
                price=decimal.Decimal("-123456789.125"),
                code=[None, "ab", "", "abcd"][i % 4],
                label=text,
                kind=[None, "a", "b c", ""][i % 4],
                doc=None if text is None else {"text": text, "n": [1, None, 2.5]},
                raw=None if text is None else text.encode() + b'\x00\xff",\n',
                payload={"i": i, "text": text},
            )
            for i, text in enumerate(TEXTS)
        ]
    )
    other = dj.Schema(schema_name + "_b", connection=conn, context={"Subject": lab["Subject"]})

    @other
    class Link(dj.Manual):
        definition = """
        link_id : int32
        ---
        -> Subject
        """

    Link.insert([(1, 1), (2, 3)])


def collect(conn: dj.Connection, schemas: list[str]) -> list[tuple[TableMeta, dj.FreeTable]]:
    """TableMeta of every table of ``schemas``, parents first, as the lead's run builds them."""
    graph = build_graph(conn, schemas)
    items = []
    for node in nx.lexicographical_topological_sort(graph):
        free = dj.FreeTable(conn, node)
        schema, table = conn.adapter.split_full_name(node)
        fks = tuple(
            ForeignKeyMeta(*conn.adapter.split_full_name(fk.parent), fk.attr_map)
            for fk in free.heading.foreign_keys
        )
        meta = TableMeta(schema, table, free.heading, arrow_schema(free), free.describe(), fks)
        items.append((meta, free))
    return items


@pytest.fixture
def source(inst: dj.Instance, schema_name: str) -> Iterator[Source]:
    conn = inst.connection
    lab = declare_lab(conn, schema_name)
    try:
        declare_extras(conn, schema_name, lab)
        schemas = [schema_name, schema_name + "_b"]
        yield Source(inst, schemas, collect(conn, schemas))
    finally:
        if conn.in_transaction:  # a read interrupted by a test; its rollback must not undo this
            conn.cancel_transaction()
        conn.execute(conn.adapter.drop_schema_sql(schema_name + "_b"))


@pytest.fixture
def targets() -> Iterator[list[tuple[dj.Instance, str]]]:
    """(instance, schema) pairs to drop after the test."""
    made: list[tuple[dj.Instance, str]] = []
    yield made
    for target, schema in reversed(made):  # schemas referencing others first
        conn = target.connection
        if conn.in_transaction:
            conn.cancel_transaction()
        conn.execute(conn.adapter.drop_schema_sql(schema))
        target.close()


def other_server(backend: str) -> Server:
    return server_for(next(b for b in BACKENDS if b != backend))


def failing(batches: Iterator[pa.RecordBatch], after: int) -> Iterator[pa.RecordBatch]:
    try:
        for n, batch in enumerate(batches):
            if n == after:
                raise RuntimeError("the source went away")
            yield batch
    finally:
        getattr(batches, "close", lambda: None)()  # ends the source's read transaction


def write(writer: Any, src: Source, *, fail_in: str | None = None, batch_size: int = 2) -> None:
    """Open, write every table, commit (abort on any failure), as the lead's api.run does."""
    writer.open(src.metas)
    try:
        for meta, free in src.items:
            batches = free.iter_batches(batch_size)
            if meta.table == fail_in:
                batches = failing(batches, 1)
            writer.write_table(meta, batches)
        counts = {m.key: {"rows": len(f)} for m, f in src.items}
        writer.commit({"source": f"{src.inst.connection.backend}://test", "tables": counts})
    except BaseException:
        writer.abort()
        raise


def key_of(row: dict[str, Any], key: list[str]) -> tuple[str, ...]:
    return tuple(str(row[k]) for k in key)


def contents(conn: dj.Connection, schema: str, table: str) -> list[dict[str, Any]]:
    free = dj.FreeTable(conn, conn.adapter.full_name(schema, table))
    return sorted(free.to_dicts(), key=lambda r: key_of(r, free.primary_key))


def shape(conn: dj.Connection, schema: str, table: str, rename: dict[str, str]) -> Any:
    """Attributes (name, type, key, nullable, comment) and foreign keys (parent, columns), with
    parent schemas renamed by ``rename``: what must survive a copy."""
    heading = dj.FreeTable(conn, conn.adapter.full_name(schema, table)).heading
    attrs = [(a.name, a.type, a.in_key, a.nullable, a.comment) for a in heading.attributes]
    fks = sorted(
        (rename.get(s, s), t, fk.attr_map)
        for fk in heading.foreign_keys
        for s, t in [conn.adapter.split_full_name(fk.parent)]
    )
    return attrs, fks, heading.comment


def assert_copied(src: Source, target: dj.Instance, schema_map: dict[str, str]) -> None:
    conn = target.connection
    for meta, free in src.items:
        schema = schema_map.get(meta.schema, meta.schema)
        expected = sorted(free.to_dicts(), key=lambda r: key_of(r, meta.primary_key))
        assert contents(conn, schema, meta.table) == expected, meta.key
        source_shape = shape(src.inst.connection, meta.schema, meta.table, schema_map)
        assert shape(conn, schema, meta.table, {}) == source_shape, meta.key


def arrow_rows(meta: TableMeta, table: pa.Table) -> list[dict[str, Any]]:
    return sorted(table.to_pylist(), key=lambda r: key_of(r, meta.primary_key))


def source_arrow(free: dj.FreeTable) -> pa.Table:
    return free.to_arrow()


# -- Parquet and DuckDB ------------------------------------------------------------------------


def test_parquet_holds_the_tables_with_their_types(source: Source, tmp_path: Path) -> None:
    write(ParquetWriter(tmp_path / "snap"), source)
    for meta, free in source.items:
        path = tmp_path / "snap" / f"{meta.display}.parquet"
        table = pq.read_table(path)
        assert table.schema.remove_metadata().equals(meta.arrow_schema), meta.key
        assert arrow_rows(meta, table) == arrow_rows(meta, source_arrow(free)), meta.key
        stored = pq.read_schema(path).metadata
        assert stored[b"datajoint.table"] == meta.table.encode()
        assert stored[b"datajoint.definition"] == free.describe().encode()
    assert (tmp_path / "snap" / f"{source.schemas[0]}.Stimulus.parquet").exists()  # #stimulus
    assert sorted(p.name for p in tmp_path.iterdir()) == ["snap"]


def test_duckdb_holds_the_tables_with_their_types(source: Source, tmp_path: Path) -> None:
    target = tmp_path / "subset.duckdb"
    write(DuckDBWriter(target, primary_keys=True, foreign_keys=True), source)
    with open_snapshot(target) as snapshot:
        assert [m.key for m in snapshot.tables] == [m.key for m in source.metas]
        for (meta, free), back in zip(source.items, snapshot.tables):
            table = pa.Table.from_batches(list(snapshot.batches(back, 3)), back.arrow_schema)
            assert table.schema.equals(meta.arrow_schema), meta.key
            assert arrow_rows(meta, table) == arrow_rows(meta, source_arrow(free)), meta.key
            assert back.heading.attributes == meta.heading.attributes
    import duckdb

    db = duckdb.connect(str(target), read_only=True)
    try:
        enforced = db.execute(
            "SELECT table_name, parent_table, enforced FROM _subset.foreign_keys ORDER BY 1, 2"
        ).fetchall()
    finally:
        db.close()
    assert ("link", "subject", False) in enforced  # across schemas: listed, not enforced
    assert ("trial", "#stimulus", True) in enforced
    assert sorted(p.name for p in tmp_path.iterdir()) == ["subset.duckdb"]


# -- staging -----------------------------------------------------------------------------------


def test_staging_same_backend_fail_replace_append(
    source: Source, server: Server, targets: list[tuple[dj.Instance, str]]
) -> None:
    mapping = {s: s + "_stg" for s in source.schemas}
    staging = server.instance()
    targets += [(staging, s) for s in mapping.values()]
    with staging_writer(staging, mapping, "fail") as writer:
        write(writer, source)
    assert_copied(source, staging, mapping)
    stored = staging_manifests(staging.connection, mapping[source.schemas[0]])
    assert [m["source"] for m in stored] == [f"{source.inst.connection.backend}://test"]

    with pytest.raises(OutputExistsError), staging_writer(staging, mapping, "fail") as writer:
        write(writer, source)
    with (
        pytest.raises(RuntimeError, match="went away"),
        staging_writer(staging, mapping, "replace") as writer,
    ):
        write(writer, source, fail_in="trial")
    assert_copied(source, staging, mapping)  # the old copy, untouched
    with pytest.raises(errors.DuplicateError), staging_writer(staging, mapping, "append") as writer:
        write(writer, source)
    assert_copied(source, staging, mapping)  # nothing of the failed append stayed

    with staging_writer(staging, mapping, "replace") as writer:
        write(writer, source)
    assert_copied(source, staging, mapping)
    conn = staging.connection
    catalog = conn.adapter.read_catalog(conn.fetchall, list(mapping.values()))
    hidden = sorted(t.table for t in catalog.tables if t.table.startswith("~"))
    assert hidden == [MANIFEST_TABLE, MANIFEST_TABLE]  # no loading or replaced tables left


def test_staging_failure_on_a_new_target_leaves_nothing(
    source: Source, server: Server, targets: list[tuple[dj.Instance, str]]
) -> None:
    mapping = {s: s + "_new" for s in source.schemas}
    staging = server.instance()
    targets += [(staging, s) for s in mapping.values()]
    with pytest.raises(RuntimeError, match="went away"), staging_writer(staging, mapping) as writer:
        write(writer, source, fail_in="trial__event")
    conn = staging.connection
    assert not any(conn.fetchall(conn.adapter.schema_exists_sql(), (s,)) for s in mapping.values())


@pytest.mark.parametrize("direction", ["staging", "parquet", "duckdb"])
def test_copy_into_the_other_backend(
    source: Source,
    backend: str,
    tmp_path: Path,
    targets: list[tuple[dj.Instance, str]],
    direction: str,
) -> None:
    """MySQL -> PostgreSQL and back: straight to staging, or through a snapshot and load."""
    other = other_server(backend).instance()
    mapping = {s: s + "_x" for s in source.schemas}
    targets += [(other, s) for s in mapping.values()]
    if direction == "staging":
        with staging_writer(other, mapping, source_adapter_name=backend) as writer:
            write(writer, source)
    else:
        path = tmp_path / ("snap" if direction == "parquet" else "snap.duckdb")
        writer = ParquetWriter(path) if direction == "parquet" else DuckDBWriter(path)
        write(writer, source)
        counts = load_snapshot(path, other, schema_map=mapping, batch_rows=3)
        assert counts == {m.display: len(f) for m, f in source.items}
    assert_copied(source, other, mapping)


def test_load_snapshot_refuses_an_existing_copy(
    source: Source, server: Server, tmp_path: Path, targets: list[tuple[dj.Instance, str]]
) -> None:
    write(ParquetWriter(tmp_path / "snap"), source)
    staging = server.instance()
    mapping = {s: s + "_ld" for s in source.schemas}
    targets += [(staging, s) for s in mapping.values()]
    load_snapshot(tmp_path / "snap", staging, schema_map=mapping)
    with pytest.raises(OutputExistsError):
        load_snapshot(tmp_path / "snap", staging, schema_map=mapping)
    load_snapshot(tmp_path / "snap", staging, schema_map=mapping, if_exists="replace")
    assert_copied(source, staging, mapping)


def test_staging_refuses_an_incomplete_subset(
    source: Source, server: Server, targets: list[tuple[dj.Instance, str]]
) -> None:
    """Rows whose parent is missing fail the load (row by row, or when the keys are added)."""
    mapping = {s: s + "_bad" for s in source.schemas}
    staging = server.instance()
    targets += [(staging, s) for s in mapping.values()]
    with pytest.raises(errors.IntegrityError), staging_writer(staging, mapping) as writer:
        writer.open(source.metas)
        try:
            for meta, free in source.items:
                batches = iter(()) if meta.table == "session" else free.iter_batches(100)
                writer.write_table(meta, batches)
            writer.commit({})
        except BaseException:
            writer.abort()
            raise
    conn = staging.connection
    assert not any(conn.fetchall(conn.adapter.schema_exists_sql(), (s,)) for s in mapping.values())


@pytest.mark.parametrize("count", [False, True])
@pytest.mark.parametrize("distinct", [False, True])
def test_orphans_sql_finds_a_row_without_its_parent(
    inst: dj.Instance, schema_name: str, distinct: bool, count: bool
) -> None:
    """The foreign-key check of the staging loader and `verify` (every form), with hostile
    names, and NULL keys that reference nothing."""
    conn = inst.connection
    adapter = conn.adapter
    q = adapter.quote
    conn.execute(adapter.create_schema_sql(schema_name))
    parent = adapter.full_name(schema_name, 'p`"; x')
    child = adapter.full_name(schema_name, "c`'\"")
    a, b = 'a"b', "c`d"
    key = f"{q(a)} int NOT NULL, {q(b)} int NOT NULL, PRIMARY KEY ({q(a)}, {q(b)})"
    conn.execute(f"CREATE TABLE {parent} ({key})")
    conn.execute(f"CREATE TABLE {child} (id int NOT NULL PRIMARY KEY, {q(a)} int, {q(b)} int)")
    conn.execute(f"INSERT INTO {parent} VALUES (1, 1), (1, 2)")
    conn.execute(f"INSERT INTO {child} VALUES (1, 1, 1), (2, 1, 2), (3, 1, 2), (4, NULL, 7)")
    sql = adapter.orphans_sql(child, parent, [(a, a), (b, b)], distinct, count)
    assert conn.fetchall(sql) == ([(0,)] if count else [])  # NULL keys reference no row
    conn.execute(f"INSERT INTO {child} VALUES (5, 2, 1), (6, 2, 1)")
    found = conn.fetchall(sql)
    assert int(found[0][0]) == (1 if distinct else 2) if count else len(found) == 1


def test_the_insert_fallback_copies_every_type(
    source: Source, server: Server, targets: list[tuple[dj.Instance, str]]
) -> None:
    """The multi-row INSERT used where a server refuses LOAD DATA LOCAL gives the same rows."""
    from datajoint_core.declare.ddl import compile_table

    staging = server.instance()
    conn = staging.connection
    insert_rows = getattr(conn.adapter, "_insert_rows", None)
    if insert_rows is None:
        pytest.skip("this backend has a single bulk path")
    schema = source.schemas[0] + "_ins"
    targets.append((staging, schema))
    meta, free = next((m, f) for m, f in source.items if m.table == "sample")
    conn.execute(conn.adapter.create_schema_sql(schema))
    for statement in compile_table(meta.heading, schema, "sample", conn.adapter):
        conn.execute(statement)
    full_name = conn.adapter.full_name(schema, "sample")
    with conn.transaction:
        for batch in free.iter_batches(3):
            insert_rows(conn._raw, full_name, batch.schema.names, batch)
    expected = sorted(free.to_dicts(), key=lambda r: key_of(r, meta.primary_key))
    assert contents(conn, schema, "sample") == expected
