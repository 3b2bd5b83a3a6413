"""``datajoint_core.deploy``: idempotent operations a deploy hook runs on an existing pipeline,
as the reference offers them (:mod:`datajoint_core.migrate` holds the one-shot ones).

>>> from datajoint_core.deploy import set_replica_identity
>>> set_replica_identity(schema, mode="full")                    # doctest: +SKIP
{'tables_analyzed': 12, 'tables_modified': 0, 'ddl': ['ALTER TABLE "lab"."session" ...', ...]}

The reference's ``add_prov_column`` is not offered: it retrofits the hidden ``_prov`` column of
entry provenance, which datajoint_core does not record.
"""

from __future__ import annotations

from typing import Any

from .connection import Connection
from .errors import DataJointError
from .schema import Schema
from .table import Table


def target_tables(target: Any, what: str) -> tuple[Connection, list[str]]:
    """The connection and the full table names of a Schema, a table class or a table."""
    if isinstance(target, Schema):
        if target.connection is None or target.database is None:
            raise DataJointError(
                f"Schema is not activated. Call schema.activate(...) before {what}()."
            )
        adapter = target.connection.adapter
        names = [adapter.full_name(target.database, t) for t in target.list_tables()]
        return target.connection, names
    if isinstance(target, type) and issubclass(target, Table):
        target = target()
    if isinstance(target, Table):
        return target.connection, [target.full_table_name]
    raise DataJointError(
        f"target must be a Schema or Table class/instance; got {type(target).__name__}"
    )


def set_replica_identity(target: Any, mode: str = "full", dry_run: bool = True) -> dict[str, Any]:
    """Set PostgreSQL's ``REPLICA IDENTITY`` (``"full"`` or ``"default"``) of every table of a
    schema, or of one table: how much of an old row the write-ahead log keeps, which some
    change-data-capture consumers (Databricks Lakehouse Sync) need whole.

    Returns ``tables_analyzed``, ``tables_modified`` and the ``ddl``; ``dry_run=True`` (the
    default) runs nothing. Re-running is harmless. PostgreSQL only.
    """
    normalized = mode.lower() if isinstance(mode, str) else mode
    if normalized not in ("default", "full"):
        raise DataJointError(f"mode must be 'default' or 'full'; got {mode!r}")
    connection, tables = target_tables(target, "set_replica_identity")
    adapter = connection.adapter
    if adapter.replica_identity_sql(adapter.full_name("s", "t"), normalized) is None:
        raise DataJointError(
            f"set_replica_identity is PostgreSQL-only; the {adapter.name} adapter does not "
            "support REPLICA IDENTITY."
        )
    result: dict[str, Any] = {"tables_analyzed": len(tables), "tables_modified": 0, "ddl": []}
    for name in tables:
        statement = adapter.replica_identity_sql(name, normalized)
        assert statement is not None
        result["ddl"].append(statement)
        if not dry_run:
            connection.execute(statement)
            result["tables_modified"] += 1
    return result


__all__ = ["set_replica_identity"]
