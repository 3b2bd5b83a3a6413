"""DuckDB output: one file, one DuckDB schema per source schema, the metadata in ``_subset``.

>>> writer = DuckDBWriter("out/subset.duckdb", if_exists="replace")   # doctest: +SKIP

The rows are loaded as they come, at DuckDB's columnar speed, without indexes: a primary key is
an ART index that DuckDB builds row by row on insert (or in bulk by ``ALTER TABLE ... ADD
PRIMARY KEY`` after the load), which measured 3-7x the time of the load itself on 2.8M rows,
100-300 MB of memory outside ``memory_limit`` and a file 10x the size -- while the subset is
referentially complete by construction and ``subset verify`` checks it. So by default the keys
live in the metadata: ``_subset.tables.primary_key`` and every foreign key in
``_subset.foreign_keys`` (``enforced`` false). With ``primary_keys=True`` each table gets its
primary key after its load, and with ``foreign_keys=True`` too, the foreign keys DuckDB can
enforce (same schema, parent in the file; DuckDB cannot add them later, so such a child table is
created once its parents have their keys). ``_subset.tables`` also holds each table's
definition, heading and Arrow schema; ``_subset.manifest`` the manifest. The file is written as
``<path>.tmp-<pid>-<random>`` and renamed into place by
``publish``; only a file with that metadata is ever replaced.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pyarrow as pa

from ..errors import Hints
from ..recipe import IfExists
from .base import ForeignKeyMeta, TableMeta, TableResult
from .files import check_target, clean_stale, fsync_path, publish_path, remove, temp_sibling
from .meta import conform, foreign_keys_to_json, heading_to_json

META_SCHEMA = "_subset"
_MEMORY = re.compile(r"^\d+(\.\d+)?\s*[KMGT]i?B$", re.IGNORECASE)
_METADATA_DDL = (
    f"CREATE SCHEMA {META_SCHEMA}",
    f"CREATE TABLE {META_SCHEMA}.tables (position INTEGER, schema_name VARCHAR, "
    "table_name VARCHAR, definition VARCHAR, primary_key VARCHAR, foreign_keys VARCHAR, "
    'heading VARCHAR, arrow_schema BLOB, "rows" BIGINT)',
    f"CREATE TABLE {META_SCHEMA}.foreign_keys (schema_name VARCHAR, table_name VARCHAR, "
    "parent_schema VARCHAR, parent_table VARCHAR, columns VARCHAR, parent_columns VARCHAR, "
    "enforced BOOLEAN)",
    f"CREATE TABLE {META_SCHEMA}.manifest (manifest VARCHAR)",
)
_SIMPLE = {
    pa.int8(): "TINYINT",
    pa.int16(): "SMALLINT",
    pa.int32(): "INTEGER",
    pa.int64(): "BIGINT",
    pa.uint8(): "UTINYINT",
    pa.uint16(): "USMALLINT",
    pa.uint32(): "UINTEGER",
    pa.uint64(): "UBIGINT",
    pa.float16(): "FLOAT",
    pa.float32(): "FLOAT",
    pa.float64(): "DOUBLE",
    pa.bool_(): "BOOLEAN",
    pa.date32(): "DATE",
    pa.date64(): "DATE",
    pa.string(): "VARCHAR",
    pa.large_string(): "VARCHAR",
    pa.string_view(): "VARCHAR",
    pa.binary(): "BLOB",
    pa.large_binary(): "BLOB",
    pa.binary_view(): "BLOB",
}
_TIMESTAMPS = {"s": "TIMESTAMP_S", "ms": "TIMESTAMP_MS", "us": "TIMESTAMP", "ns": "TIMESTAMP_NS"}


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def duckdb_type(type_: pa.DataType, core_type: str = "") -> str:
    """The DuckDB column type for an Arrow type (``core_type``: the attribute's DataJoint type,
    which makes a json column JSON and an enum an ENUM of its labels)."""
    from datajoint_core.declare.parser import enum_values, split_type

    base = split_type(core_type)[0] if core_type else ""
    if base == "json":
        return "JSON"
    if base == "enum":
        return "ENUM(" + ", ".join(literal(v) for v in enum_values(core_type)) + ")"
    if isinstance(type_, pa.BaseExtensionType):
        if type_.extension_name == "arrow.uuid":
            return "UUID"
        if type_.extension_name == "arrow.json":
            return "JSON"
        return duckdb_type(type_.storage_type)
    if pa.types.is_dictionary(type_):
        return duckdb_type(type_.value_type)
    if type_ in _SIMPLE:
        return _SIMPLE[type_]
    if pa.types.is_decimal(type_) and type_.precision <= 38:
        return f"DECIMAL({type_.precision},{type_.scale})"
    if pa.types.is_timestamp(type_):
        return "TIMESTAMPTZ" if type_.tz else _TIMESTAMPS[type_.unit]
    if pa.types.is_time(type_):
        return "TIME"
    if pa.types.is_fixed_size_binary(type_):
        return "BLOB"
    raise ValueError(f"no DuckDB type for Arrow type {type_}")


def is_duckdb_file(path: Path) -> bool:
    try:
        with open(path, "rb") as stream:
            return stream.read(12)[8:12] == b"DUCK"
    except OSError:
        return False


def is_subset_file(path: Path) -> bool:
    """A DuckDB file that holds the ``_subset`` metadata of an earlier output."""
    if not is_duckdb_file(path):
        return False
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            found = con.execute(
                "SELECT count(*) FROM information_schema.tables "
                "WHERE table_schema = ? AND table_name IN ('tables', 'manifest')",
                [META_SCHEMA],
            ).fetchone()
    except duckdb.Error:
        return False
    return bool(found and found[0] == 2)


F = TypeVar("F", bound=Callable[..., Any])


def _interruptible(method: F) -> F:
    """A Ctrl-C or SIGTERM that lands inside a DuckDB statement comes back as DuckDB's
    RuntimeError("Query interrupted"): raise it as the interruption it is."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except RuntimeError as err:
            if str(err) == "Query interrupted":
                raise KeyboardInterrupt() from err
            raise

    return wrapper  # type: ignore[return-value]


class DuckDBWriter:
    """A DuckDB database file, published atomically by :meth:`publish`.

    ``memory_limit`` bounds DuckDB's buffers and ``threads`` its workers (each keeps buffers of
    its own; the load is one stream of batches anyway). Memory stays flat whatever the number of
    tables: a table is created when its rows arrive.
    """

    name = "duckdb"

    def __init__(
        self,
        path: str | os.PathLike[str],
        if_exists: str | IfExists = "fail",
        *,
        memory_limit: str = "256MB",
        threads: int = 1,
        primary_keys: bool = False,
        foreign_keys: bool = False,
        hints: Hints | None = None,
    ) -> None:
        self.target = Path(path).absolute()
        self.hints = hints or Hints()
        self._staged = False
        self.if_exists = IfExists(if_exists)
        if self.if_exists is IfExists.APPEND:
            raise ValueError("a DuckDB output can only fail or replace when it exists")
        if not _MEMORY.match(memory_limit):
            raise ValueError(f"memory_limit {memory_limit!r}: expected e.g. '256MB'")
        self.memory_limit = memory_limit
        self.threads = max(1, int(threads))
        self.primary_keys = primary_keys
        self.foreign_keys = foreign_keys and primary_keys  # DuckDB references a primary key
        self._tmp: Path | None = None
        self._con: duckdb.DuckDBPyConnection | None = None
        self._pending: dict[tuple[str, str], TableMeta] = {}  # declared when their rows come
        self._keys: dict[tuple[str, str], list[str]] = {}

    def describe(self) -> str:
        return f"DuckDB file {self.target}"

    def check(self) -> None:
        """Refuse, before any work, a target that exists (``fail``) or is not a subset file."""
        replace = self.if_exists is IfExists.REPLACE
        ours = is_subset_file(self.target)
        check_target(self.target, replace, ours, self.hints, f"the {META_SCHEMA} metadata")

    @_interruptible
    def open(self, tables: Sequence[TableMeta]) -> None:
        if META_SCHEMA in {m.schema for m in tables}:
            raise ValueError(f"a source schema named {META_SCHEMA!r} clashes with the metadata")
        self.check()
        self.target.parent.mkdir(parents=True, exist_ok=True)
        clean_stale(self.target)
        self._tmp = temp_sibling(self.target)
        self._con = con = duckdb.connect(str(self._tmp))
        con.execute(f"SET memory_limit = {literal(self.memory_limit)}")
        con.execute(f"SET threads = {self.threads}")
        con.execute("SET preserve_insertion_order = false")
        # one transaction for the whole file: a commit per table cost ~20 ms each (200 tables:
        # 8.0 s instead of 4.2 s), and nothing of a failed run needs to be undone anyway
        con.execute("BEGIN TRANSACTION")
        for statement in _METADATA_DDL:
            con.execute(statement)
        for schema in dict.fromkeys(m.schema for m in tables):
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}")
        self._keys = {(m.schema, m.table): m.primary_key for m in tables}
        self._pending = {}
        for position, meta in enumerate(tables):
            self._describe(con, meta, position)
            self._pending[(meta.schema, meta.table)] = meta

    def _enforced(self, meta: TableMeta) -> list[tuple[ForeignKeyMeta, list[str]]]:
        """The foreign keys DuckDB will enforce, with the parent's key in the parent's order."""
        found = []
        for fk in meta.foreign_keys:
            parent_key = self._keys.get((fk.parent_schema, fk.parent_table))
            by_parent = {p: c for c, p in fk.attr_map}
            if (
                self.foreign_keys
                and fk.parent_schema == meta.schema
                and parent_key is not None
                and sorted(by_parent) == sorted(parent_key)
            ):
                found.append((fk, [by_parent[p] for p in parent_key]))
        return found

    def _describe(self, con: duckdb.DuckDBPyConnection, meta: TableMeta, position: int) -> None:
        """The table's rows in ``_subset.tables`` and ``_subset.foreign_keys``."""
        enforced = {id(fk) for fk, _ in self._enforced(meta)}
        rows = [
            (
                meta.schema,
                meta.table,
                fk.parent_schema,
                fk.parent_table,
                json.dumps([c for c, _ in fk.attr_map]),
                json.dumps([p for _, p in fk.attr_map]),
                id(fk) in enforced,
            )
            for fk in meta.foreign_keys
        ]
        if rows:
            con.executemany(
                f"INSERT INTO {META_SCHEMA}.foreign_keys VALUES (?, ?, ?, ?, ?, ?, ?)", rows
            )
        con.execute(
            f"INSERT INTO {META_SCHEMA}.tables VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)",
            [
                position,
                meta.schema,
                meta.table,
                meta.definition,
                json.dumps(meta.primary_key),
                json.dumps(foreign_keys_to_json(meta.foreign_keys)),
                json.dumps(heading_to_json(meta.heading)),
                meta.arrow_schema.serialize().to_pybytes(),
            ],
        )

    def _declare(self, con: duckdb.DuckDBPyConnection, meta: TableMeta) -> None:
        """CREATE TABLE, without a primary key (added after the load) but with the enforced
        foreign keys (their parents are loaded and keyed by now: parents come first)."""
        if self._pending.pop((meta.schema, meta.table), None) is None:
            return
        lines = []
        for f in meta.arrow_schema:
            attr = meta.heading.get(f.name)
            core = attr.type if attr is not None and attr.core else ""
            required = attr is not None and (attr.in_key or not attr.nullable)
            lines.append(f"{quote(f.name)} {duckdb_type(f.type, core)}{' NOT NULL' * required}")
        for fk, columns in self._enforced(meta):
            parent_key = self._keys[(fk.parent_schema, fk.parent_table)]
            lines.append(
                f"FOREIGN KEY ({', '.join(map(quote, columns))}) "
                f"REFERENCES {quote(meta.schema)}.{quote(fk.parent_table)} "
                f"({', '.join(map(quote, parent_key))})"
            )
        body = ",\n  ".join(lines)
        con.execute(f"CREATE TABLE {quote(meta.schema)}.{quote(meta.table)} (\n  {body}\n)")

    @_interruptible
    def write_table(self, meta: TableMeta, batches: Iterator[pa.RecordBatch]) -> TableResult:
        if self._con is None:
            raise RuntimeError("DuckDBWriter.write_table before open()")
        con = self._con
        self._declare(con, meta)
        schema = meta.arrow_schema.remove_metadata()
        rows = 0
        failure: list[BaseException] = []

        def stream() -> Iterator[pa.RecordBatch]:
            nonlocal rows
            try:
                for batch in batches:
                    batch = conform(batch, schema)
                    rows += batch.num_rows
                    yield batch
            except BaseException as err:  # re-raised below, not DuckDB's wrapper of it
                failure.append(err)
                raise

        cols = ", ".join(quote(f.name) for f in schema)
        view = "_subset_batches"
        con.register(view, pa.RecordBatchReader.from_batches(schema, stream()))
        try:
            con.execute(
                f"INSERT INTO {quote(meta.schema)}.{quote(meta.table)} ({cols}) "
                f"SELECT {cols} FROM {view}"
            )
        except duckdb.Error as err:
            if failure:
                raise failure[0] from err
            raise
        finally:
            try:
                con.unregister(view)
            except duckdb.Error:  # the transaction failed: the file is deleted by abort()
                pass
        if failure:
            raise failure[0]
        if self.primary_keys and meta.primary_key:
            # one bulk index build instead of an insert into the index per row
            con.execute(
                f"ALTER TABLE {quote(meta.schema)}.{quote(meta.table)} "
                f"ADD PRIMARY KEY ({', '.join(map(quote, meta.primary_key))})"
            )
            # a child's foreign key finds a key added in the same transaction: DuckDB 2.0
            # fails inside (INTERNAL Error, VerifyForeignKey); commit it first
            con.execute("COMMIT")
            con.execute("BEGIN TRANSACTION")
        con.execute(
            f'UPDATE {META_SCHEMA}.tables SET "rows" = ? WHERE schema_name = ? AND table_name = ?',
            [rows, meta.schema, meta.table],
        )
        return TableResult(rows)

    @_interruptible
    def stage(self, manifest: dict[str, Any]) -> None:
        """Store the manifest, close the file and flush it to disk."""
        if self._con is None or self._tmp is None:
            raise RuntimeError("DuckDBWriter.stage before open()")
        for meta in list(self._pending.values()):  # tables that got no write_table call
            self.write_table(meta, iter(()))
        self._con.execute(
            f"INSERT INTO {META_SCHEMA}.manifest VALUES (?)", [json.dumps(manifest, default=str)]
        )
        self._con.execute("COMMIT")
        self._con.execute("CHECKPOINT")
        self._con.close()
        self._con = None
        remove(Path(f"{self._tmp}.wal"))
        fsync_path(self._tmp)
        self._staged = True

    def publish(self) -> None:
        """Rename the staged file into place (an earlier subset file is replaced)."""
        if self._tmp is None or not self._staged:
            raise RuntimeError("DuckDBWriter.publish before stage()")
        publish_path(self._tmp, self.target, self.if_exists is IfExists.REPLACE, self.hints)
        self._tmp = None

    def commit(self, manifest: dict[str, Any]) -> None:
        """:meth:`stage`, then :meth:`publish`."""
        self.stage(manifest)
        self.publish()

    def abort(self) -> None:
        if self._con is not None:
            try:
                self._con.close()
            except duckdb.Error:
                pass  # the file is deleted next
            self._con = None
        if self._tmp is not None:
            remove(self._tmp)
            remove(Path(f"{self._tmp}.wal"))
            self._tmp = None
