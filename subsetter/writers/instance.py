"""Staging output: the subset declared and loaded into a database (MySQL, PostgreSQL, embedded).

>>> granted = permit(conn, ["lab_staging"], Action.REPLACE, source=src)  # doctest: +SKIP
>>> writer = InstanceWriter(granted, {"lab": "lab_staging"}, if_exists="replace")  # doctest: +SKIP

Tables are declared from the source headings on the target's own backend (MySQL to PostgreSQL
and back) and loaded with its bulk path (COPY; LOAD DATA LOCAL or multi-row INSERT) in one
transaction. With ``fail`` and ``replace`` every table is declared and loaded under a hidden
name (``~sub_<run>_<n>``) and renamed into place by ``commit`` (one RENAME TABLE on MySQL, one
transaction on PostgreSQL), so a failed or killed run never leaves partial tables behind
(the next run drops hidden leftovers); ``append`` loads into the existing tables in one
transaction. Where the adapter says so (PostgreSQL), foreign keys are added after the rows are
in, checked by one join each instead of row by row. The manifest of each run goes into the
marker table ``~subset_manifest`` of every target schema (see :func:`staging_manifests`).

Only a :class:`~subsetter.guard.Permit` opens a writer: the guard has checked that the target is
not the source and carries the tool's marker, and holds the target's locks, so hidden tables found
there were left by runs that are gone.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from datajoint_core.declare.ddl import compile_table, foreign_key_indexes
from datajoint_core.errors import DataJointError, IntegrityError
from datajoint_core.heading import Attribute, ForeignKey, Heading

from ..errors import Hints, OutputExistsError
from ..guard import MARKER_TABLE, Permit
from ..recipe import IfExists
from .base import ForeignKeyMeta, TableMeta, TableResult

if TYPE_CHECKING:
    import pyarrow

    import datajoint_core as dj
    from datajoint_core.adapters.base import Adapter, Catalog

logger = logging.getLogger("subsetter")

MANIFEST_TABLE = MARKER_TABLE
_TEMPORARY = re.compile(r"^~(sub|old)_[0-9a-f]{8}_\d+$")
_NOW_CALL = re.compile(r"^(CURRENT_TIMESTAMP|NOW)\(\)$", re.IGNORECASE)


@dataclass
class _Target:
    meta: TableMeta
    schema: str  # target schema
    table: str  # final name
    load_name: str  # where rows go during the run (the final name when appending)
    existed: bool


class InstanceWriter:
    """Write the subset into the database of ``granted`` (a permit of :mod:`subsetter.guard`);
    ``schema_map`` renames source schemas on the target."""

    name = "staging"

    def __init__(
        self,
        granted: Permit,
        schema_map: Mapping[str, str] | None = None,
        if_exists: str | IfExists = "fail",
        source_adapter_name: str | None = None,
        hints: Hints | None = None,
    ) -> None:
        self.permit = granted
        self.schema_map = dict(schema_map or {})
        self.if_exists = IfExists(if_exists)
        self.source_adapter_name = source_adapter_name
        self.hints = hints or Hints()
        self.run = secrets.token_hex(4)
        self._targets: dict[str, _Target] = {}
        self._created_tables: list[tuple[str, str]] = []
        self._created_schemas: list[str] = []
        # foreign keys to add, and to check, once the rows are in, with the tables by class name
        # (the load names are hidden ones): (child, parent, SQL) and (child, parent, table, key)
        self._deferred: list[tuple[str, str, str]] = []
        self._orphan_checks: list[tuple[str, str, str, ForeignKey]] = []
        self._rows: dict[str, int] = {}  # rows loaded, by table
        self._checks_off = False
        self._manifest: dict[str, Any] | None = None

    @property
    def _conn(self) -> dj.Connection:
        return self.permit.connection

    def describe(self) -> str:
        p = self._conn.params
        schemas = sorted({t.schema for t in self._targets.values()})
        where = f"{self._conn.backend}://{p.user or ''}@{p.host}:{p.port}"
        return f"{where} ({', '.join(schemas)})" if schemas else where

    # -- open: declare -------------------------------------------------------------------
    def open(self, tables: Sequence[TableMeta]) -> None:
        conn = self._conn
        if conn.in_transaction:
            raise DataJointError("the staging connection is inside a transaction already")
        shadow = self.if_exists is not IfExists.APPEND
        targets: dict[str, _Target] = {}
        for n, meta in enumerate(tables):
            schema = self.schema_map.get(meta.schema, meta.schema)
            if any(t.schema == schema and t.table == meta.table for t in targets.values()):
                raise DataJointError(
                    f"two tables would be written to {schema}.{meta.table} ({meta.display})"
                )
            load_name = f"~sub_{self.run}_{n}" if shadow else meta.table
            targets[meta.key] = _Target(meta, schema, meta.table, load_name, False)
        schemas = sorted({t.schema for t in targets.values()})
        self.permit.covers(schemas)
        catalog = conn.adapter.read_catalog(conn.fetchall, schemas)
        existing = {(t.schema, t.table) for t in catalog.tables}
        for target in targets.values():
            target.existed = (target.schema, target.table) in existing
        self._check_existing(catalog, targets)
        self._targets = targets
        try:
            self._drop_temporary(catalog)
            self._declare(schemas, existing)
            if self._orphan_checks:  # checked in bulk by stage(), once the rows are in
                conn.execute(conn.adapter.key_checks_sql[False])  # type: ignore[index]
                self._checks_off = True
            conn.start_transaction()
        except BaseException:
            self.abort()
            raise

    def _check_existing(self, catalog: Catalog, targets: dict[str, _Target]) -> None:
        present = [f"{t.schema}.{t.table}" for t in targets.values() if t.existed]
        if not present or self.if_exists is IfExists.APPEND:
            return
        if self.if_exists is IfExists.FAIL:
            shown = ", ".join(present[:5]) + (" ..." if len(present) > 5 else "")
            raise OutputExistsError(
                f"{self.hints.subject('the target')}: {len(present)} tables exist already "
                f"({shown}); {self.hints.option('if_exists', 'replace')} to replace them"
            )
        written = {(t.schema, t.table) for t in targets.values()}
        for fk in catalog.foreign_keys:
            child = (fk.schema, fk.table)
            hidden = _TEMPORARY.match(fk.table) is not None  # dropped before declaring
            if (fk.ref_schema, fk.ref_table) in written and child not in written and not hidden:
                raise DataJointError(
                    f"cannot replace {fk.ref_schema}.{fk.ref_table}: {fk.schema}.{fk.table} "
                    "on the target references it and is not part of the subset"
                )

    def _declare(self, schemas: Sequence[str], existing: set[tuple[str, str]]) -> None:
        conn = self._conn
        adapter = conn.adapter
        for schema in schemas:
            adopted = schema in self.permit.existing and schema not in self.permit.marked
            if self.permit.create_schema(schema):
                self._created_schemas.append(schema)
            elif adopted:  # the marker goes again if this run fails
                self._created_tables.append((schema, MARKER_TABLE))
        targets = list(self._targets.values())
        by_source = {
            (t.meta.schema, t.meta.table): adapter.full_name(t.schema, t.load_name) for t in targets
        }
        named = {by_source[(t.meta.schema, t.meta.table)]: t.meta.display for t in targets}

        def parent(fk: ForeignKeyMeta) -> str | None:
            name = by_source.get((fk.parent_schema, fk.parent_table))
            if name is None:
                schema = self.schema_map.get(fk.parent_schema, fk.parent_schema)
                if (schema, fk.parent_table) in existing:
                    name = adapter.full_name(schema, fk.parent_table)
            return name

        for target in self._targets.values():
            if target.existed and target.load_name == target.table:
                continue  # appending to a table that is there
            heading = target_heading(target.meta, parent, adapter, self.source_adapter_name)
            if adapter.key_checks_sql is not None and heading.foreign_keys:
                full_name = adapter.full_name(target.schema, target.load_name)
                self._orphan_checks += [
                    (target.meta.display, named.get(fk.parent, fk.parent), full_name, fk)
                    for fk in heading.foreign_keys
                ]
            elif adapter.foreign_keys_after_load and heading.foreign_keys:
                full_name = adapter.full_name(target.schema, target.load_name)
                self._deferred += [
                    (
                        target.meta.display,
                        named.get(fk.parent, fk.parent),
                        foreign_key_sql(full_name, fk, adapter),
                    )
                    for fk in heading.foreign_keys
                ]
                # the indexes the keys would bring are made now, the keys at commit
                indexes = (*heading.indexes, *foreign_key_indexes(heading, adapter))
                heading = replace(heading, foreign_keys=(), indexes=indexes)
            for statement in compile_table(heading, target.schema, target.load_name, adapter):
                conn.execute(statement)
            self._created_tables.append((target.schema, target.load_name))
        for schema in schemas:
            conn.catalog.invalidate(schema)

    def _drop_temporary(self, catalog: Catalog) -> None:
        """Drop hidden tables that killed runs left behind (children before parents)."""
        stale = {(t.schema, t.table) for t in catalog.tables if _TEMPORARY.match(t.table)}
        for schema, table in _children_first(stale, catalog):
            logger.info("dropping %s.%s, left by an interrupted run", schema, table)
            for statement in self._conn.adapter.drop_table_statements(schema, table):
                self._conn.execute(statement)

    # -- load ----------------------------------------------------------------------------
    def write_table(self, meta: TableMeta, batches: Iterator[pyarrow.RecordBatch]) -> TableResult:
        target = self._targets.get(meta.key)
        if target is None:
            raise DataJointError(f"{meta.key} was not announced to open()")
        conn = self._conn
        full_name = conn.adapter.full_name(target.schema, target.load_name)
        columns = list(meta.arrow_schema.names)
        rows = 0
        for batch in batches:
            rows += conn.bulk_insert(full_name, columns, batch)
        self._rows[full_name] = rows
        return TableResult(rows)

    # -- commit / abort ------------------------------------------------------------------
    def stage(self, manifest: dict[str, Any]) -> None:
        """Everything short of publishing: foreign keys checked, rows committed under their
        hidden names (appended rows stay in the open transaction until :meth:`publish`)."""
        conn = self._conn
        for child, parent, statement in self._deferred:  # checks every row at once
            try:
                conn.execute(statement)
            except IntegrityError as err:
                raise IntegrityError(
                    f"{child}: rows reference rows of {parent} that are not in the subset ({err})"
                ) from err
        for child, parent, table, fk in self._orphan_checks:
            # key values once where the child has many rows per parent row (unknown: each row)
            distinct = self._rows.get(table, 0) > 4 * self._rows.get(fk.parent, 1 << 62)
            if conn.fetchall(conn.adapter.orphans_sql(table, fk.parent, fk.attr_map, distinct)):
                raise IntegrityError(
                    f"{child}: rows reference rows of {parent} that are not in the subset"
                )
        self._restore_checks()
        if self.if_exists is not IfExists.APPEND:
            conn.commit_transaction()
        self._manifest = manifest

    def publish(self) -> None:
        """Rename the loaded tables into place and store the manifest, in one transaction."""
        import datetime

        if self._manifest is None:
            raise DataJointError("publish() before stage()")
        conn = self._conn
        adapter = conn.adapter
        targets = list(self._targets.values())
        aside = [
            (t.schema, t.table, f"~old_{self.run}_{n}")
            for n, t in enumerate(targets)
            if t.existed and t.load_name != t.table
        ]
        renames = aside + [
            (t.schema, t.load_name, t.table) for t in targets if t.load_name != t.table
        ]
        written = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds")
        document = json.dumps(self._manifest, default=str)
        if not conn.in_transaction:
            conn.start_transaction()
        try:
            for statement in adapter.rename_table_statements(renames):
                conn.execute(statement)
            for schema in sorted({t.schema for t in targets}):
                full_name = adapter.full_name(schema, MANIFEST_TABLE)
                if self.if_exists is IfExists.REPLACE:
                    conn.execute(adapter.delete_sql(full_name, "1 = 1"))
                sql = adapter.insert_sql(full_name, ["run", "written", "manifest"], 1)
                conn.execute(sql, (self.run, written, document))
        except BaseException:
            conn.cancel_transaction()
            raise
        conn.commit_transaction()
        # the subset is live: nothing below may undo it
        self._created_tables, self._created_schemas = [], []
        for schema, _, old in reversed(aside):  # children before parents
            for statement in adapter.drop_table_statements(schema, old):
                conn.execute(statement)
        for schema in {t.schema for t in targets}:
            conn.catalog.invalidate(schema)

    def commit(self, manifest: dict[str, Any]) -> None:
        """:meth:`stage`, then :meth:`publish`."""
        self.stage(manifest)
        self.publish()

    def _restore_checks(self) -> None:
        if self._checks_off:
            self._checks_off = False
            self._conn.execute(self._conn.adapter.key_checks_sql[True])  # type: ignore[index]

    def abort(self) -> None:
        """Roll back the rows and drop every table and schema this run created."""
        conn = self._conn
        if conn.in_transaction:
            try:
                conn.cancel_transaction()
            except DataJointError as err:
                logger.warning("rollback on the staging target failed: %s", err)
        try:
            self._restore_checks()
        except DataJointError as err:  # a lost connection has lost the setting with it
            logger.warning("restoring key checks on the staging target failed: %s", err)
        adapter = conn.adapter
        # children before parents (tables were declared parents first), then the schemas
        statements = [
            statement
            for schema, table in reversed(self._created_tables)
            for statement in adapter.drop_table_statements(schema, table)
        ] + [adapter.drop_schema_sql(schema) for schema in self._created_schemas]
        for statement in statements:
            try:
                conn.execute(statement)
            except DataJointError as err:  # the next run drops hidden leftovers
                logger.warning("cleaning up the staging target: %s: %s", statement, err)
        for schema in {t.schema for t in self._targets.values()}:
            conn.catalog.invalidate(schema)
        self._created_tables, self._created_schemas = [], []


def target_heading(
    meta: TableMeta,
    parent: Callable[[ForeignKeyMeta], str | None],
    adapter: Adapter,
    source_adapter_name: str | None = None,
) -> Heading:
    """The heading to declare on the target: foreign keys point at ``parent(fk)`` (the target's
    full name of the parent; None leaves the key out), types and defaults portable."""
    fks = []
    for fk in meta.foreign_keys:
        name = parent(fk)
        if name is None:
            logger.warning(
                "%s: parent %s.%s is neither in the subset nor on the target; "
                "its foreign key is not declared",
                meta.key,
                fk.parent_schema,
                fk.parent_table,
            )
            continue
        fks.append(ForeignKey(name, fk.attr_map))
    attributes = tuple(_portable(a, adapter, source_adapter_name) for a in meta.heading.attributes)
    return replace(meta.heading, attributes=attributes, foreign_keys=tuple(fks))


def foreign_key_sql(full_name: str, fk: ForeignKey, adapter: Adapter) -> str:
    """ALTER TABLE adding a foreign key, as ``compile_table`` would have declared it."""
    child = ", ".join(adapter.quote(c) for c, _ in fk.attr_map)
    parent = ", ".join(adapter.quote(p) for _, p in fk.attr_map)
    return (
        f"ALTER TABLE {full_name} ADD FOREIGN KEY ({child}) REFERENCES {fk.parent} ({parent}) "
        "ON UPDATE CASCADE ON DELETE RESTRICT"
    )


def _portable(attr: Attribute, adapter: Adapter, source: str | None) -> Attribute:
    default = attr.default
    if default is not None and _NOW_CALL.match(default):
        default = "CURRENT_TIMESTAMP"
    type_ = attr.type if attr.core else _native_type(attr.type, source, adapter)
    return replace(
        attr, type=type_, default=default, autoincrement=False, expression=None, source=None
    )


def _native_type(native: str, source: str | None, adapter: Adapter) -> str:
    """A native (non-core) type in the target's dialect, translated by sqlglot (best effort)."""
    from datajoint_core.adapters import get_adapter

    if source is None:
        return native
    dialect = get_adapter(source).sqlglot_dialect
    if dialect == adapter.sqlglot_dialect:
        return native
    from sqlglot import exp

    try:
        return exp.DataType.build(native, dialect=dialect).sql(dialect=adapter.sqlglot_dialect)
    except Exception:  # sqlglot raises several kinds; the server will judge the type
        return native


def _children_first(tables: set[tuple[str, str]], catalog: Catalog) -> list[tuple[str, str]]:
    """``tables`` ordered so that no table is dropped before a table that references it."""
    parents: dict[tuple[str, str], set[tuple[str, str]]] = {t: set() for t in tables}
    for fk in catalog.foreign_keys:
        child, parent = (fk.schema, fk.table), (fk.ref_schema, fk.ref_table)
        if child in parents and parent in parents and child != parent:
            parents[child].add(parent)
    order: list[tuple[str, str]] = []
    remaining = set(tables)
    while remaining:
        referenced = {p for t in remaining for p in parents[t]}
        leaves = sorted(remaining - referenced) or sorted(remaining)
        order += leaves
        remaining -= set(leaves)
    return order


def staging_manifests(connection: dj.Connection, schema: str) -> list[dict[str, Any]]:
    """The manifests stored by the runs that wrote into ``schema``, oldest first."""
    adapter = connection.adapter
    if not connection.fetchall(adapter.schema_exists_sql(), (schema,)):
        return []
    catalog = adapter.read_catalog(connection.fetchall, [schema])
    if not any(t.table == MANIFEST_TABLE for t in catalog.tables):
        return []
    rows = connection.fetchall(
        f"SELECT {adapter.quote('manifest')} FROM {adapter.full_name(schema, MANIFEST_TABLE)} "
        f"ORDER BY {adapter.quote('written')}"
    )
    return [json.loads(r[0]) if isinstance(r[0], (str, bytes)) else r[0] for r in rows]
