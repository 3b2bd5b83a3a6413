"""``datajoint_core.migrate``: one-shot corrections of an existing pipeline, as the reference
names them (idempotent deploy-time settings are in :mod:`datajoint_core.deploy`).

- :func:`add_job_metadata_columns` gives Computed and Imported tables declared without them the
  hidden ``_job_start_time``, ``_job_duration`` and ``_job_version`` columns that ``populate()``
  fills, typed and commented exactly as the reference declares them (``jobs.add_job_metadata``).
- :func:`rebuild_lineage` writes a schema's ``~lineage`` table again.

The reference's other migrations move DataJoint 0.14 pipelines to 2.0: external and filepath
storage (object stores, which datajoint_core has none of), blob columns, copies of schemas for a
side-by-side upgrade. They are not offered here.
"""

from __future__ import annotations

from typing import Any

from .declare.parser import split_type
from .errors import DataJointError
from .heading import join_comment
from .naming import Tier, tier_of
from .schema import Schema
from .table import Table

# (name, core type, nullable, default, comment): the reference's JOB_METADATA_DEFINITION.
JOB_METADATA = (
    ("_job_start_time", "datetime(3)", True, None, "when computation began"),
    ("_job_duration", "float32", True, None, "computation duration in seconds"),
    ("_job_version", "varchar(64)", False, "", "code version"),
)


def _targets(target: Any) -> list[tuple[Any, str, str]]:
    """(connection, schema, table) of a Schema's tables, of a table class or of a table."""
    if isinstance(target, Schema):
        if target.connection is None or target.database is None:
            raise DataJointError("Schema is not activated.")
        return [(target.connection, target.database, t) for t in target.list_tables()]
    if isinstance(target, type) and issubclass(target, Table):
        target = target()
    if isinstance(target, Table):
        schema = target.connection.adapter.split_full_name(target.full_table_name)[0]
        return [(target.connection, schema, target.table_name)]
    raise DataJointError(
        f"target must be a Table class, Table instance, or Schema, got {type(target)}"
    )


def _auto_populated(table: str) -> bool:
    return "__" not in tier_of(table)[1] and tier_of(table)[0] in (Tier.IMPORTED, Tier.COMPUTED)


def _column_statements(connection: Any, schema: str, table: str, name: str) -> list[str]:
    """``ALTER TABLE ... ADD COLUMN`` of one job column, and its comment where that is a
    statement of its own (PostgreSQL)."""
    adapter = connection.adapter
    _, core, nullable, default, text = next(c for c in JOB_METADATA if c[0] == name)
    base, args = split_type(core)
    comment = join_comment(core, text)
    clause = (
        " DEFAULT NULL"
        if nullable
        else f" NOT NULL DEFAULT {adapter.string_literal(default or '')}"
    )
    full = adapter.full_name(schema, table)
    column = (
        f"{adapter.quote(name)} {adapter.core_to_native(base, args)}{clause}"
        f"{adapter.column_comment_sql(comment)}"
    )
    heading = connection.catalog.heading(schema, table)
    table_comment = heading.comment if heading is not None else ""
    after = adapter.comment_statements(full, table_comment, {name: comment})
    return [f"ALTER TABLE {full} ADD COLUMN {column}", *after]


def add_job_metadata_columns(target: Any, dry_run: bool = True) -> dict[str, Any]:
    """Add the hidden job columns to the Computed and Imported tables of ``target`` (a Schema,
    a table class or a table) that lack them; rows already there keep NULL. Returns
    ``tables_analyzed``, ``tables_modified``, ``columns_added`` and per-table ``details``;
    ``dry_run=True`` (the default) changes nothing. Running it again adds nothing.
    """
    result: dict[str, Any] = {
        "tables_analyzed": 0,
        "tables_modified": 0,
        "columns_added": 0,
        "details": [],
    }
    columns: dict[str, set[tuple[str, str]]] = {}  # schema -> (table, column), hidden ones too
    targets = _targets(target)
    if isinstance(target, Schema):  # as the reference: a schema's other tables are not counted
        targets = [t for t in targets if _auto_populated(t[2])]
    for connection, schema, table in targets:
        result["tables_analyzed"] += 1
        if not _auto_populated(table):
            continue
        if schema not in columns:
            catalog = connection.adapter.read_catalog(connection.fetchall, [schema])
            columns[schema] = {(c.table, c.name) for c in catalog.columns}
        missing = [c[0] for c in JOB_METADATA if (table, c[0]) not in columns[schema]]
        label = f"{schema}.{table}"
        if not missing:
            done = {"table": label, "status": "already_migrated", "columns_added": 0}
            result["details"].append(done)
            continue
        statements = [
            s for name in missing for s in _column_statements(connection, schema, table, name)
        ]
        if not dry_run:
            try:
                for statement in statements:
                    connection.execute(statement)
            except DataJointError as err:
                raise DataJointError(f"Migration failed: {err}") from err
            finally:
                connection.catalog.invalidate(schema)
        result["tables_modified"] += 1
        result["columns_added"] += len(missing)
        result["details"].append(
            {
                "table": label,
                "status": "pending" if dry_run else "migrated",
                "columns_added": len(missing),
                "sql_statements": statements,
            }
        )
    return result


def rebuild_lineage(schema: Schema, dry_run: bool = True) -> dict[str, Any]:
    """:meth:`Schema.rebuild_lineage` with a report: ``tables_analyzed``, ``lineage_entries``
    and ``status`` (``dry_run`` or ``rebuilt``)."""
    tables = schema.list_tables()
    if dry_run:
        return {"tables_analyzed": len(tables), "lineage_entries": 0, "status": "dry_run"}
    schema.rebuild_lineage()
    return {
        "tables_analyzed": len(tables),
        "lineage_entries": len(schema.lineage),
        "status": "rebuilt",
    }


__all__ = ["add_job_metadata_columns", "rebuild_lineage"]
