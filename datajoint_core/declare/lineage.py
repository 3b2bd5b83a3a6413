"""The reference's ``~lineage`` table: where each key and foreign-key attribute originates.

The reference DataJoint reads it for its semantic join check, so tables declared here write it
too: ``schema.table.attribute`` of the table that first declared the attribute.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import QueryError

if TYPE_CHECKING:
    from ..connection import Connection
    from ..heading import Heading

TABLE = "~lineage"


def _origin(conn: Connection, parent: str, column: str) -> str:
    """The lineage of a parent's column: its own ``~lineage`` row, else the parent itself."""
    adapter = conn.adapter
    schema, table = adapter.split_full_name(parent)
    try:
        rows = conn.fetchall(
            f"SELECT {adapter.quote('lineage')} FROM {adapter.full_name(schema, TABLE)} "
            f"WHERE {adapter.quote('table_name')} = %s AND {adapter.quote('attribute_name')} = %s",
            (table, column),
        )
    except QueryError:  # a schema without ~lineage
        rows = []
    return str(rows[0][0]) if rows else f"{schema}.{table}.{column}"


def write_lineage(conn: Connection, schema: str, table: str, heading: Heading) -> None:
    """Create ``~lineage`` if needed and replace this table's rows in it."""
    q = conn.adapter.quote
    target = conn.adapter.full_name(schema, TABLE)
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {target} ({q('table_name')} varchar(64) NOT NULL, "
        f"{q('attribute_name')} varchar(64) NOT NULL, {q('lineage')} varchar(255) NOT NULL, "
        f"PRIMARY KEY ({q('table_name')}, {q('attribute_name')}))"
    )
    rows: dict[str, str] = {}
    for fk in heading.foreign_keys:
        for child, parent_column in fk.attr_map:
            rows.setdefault(child, _origin(conn, fk.parent, parent_column))
    for name in heading.primary_key:
        rows.setdefault(name, f"{schema}.{table}.{name}")
    conn.execute(f"DELETE FROM {target} WHERE {q('table_name')} = %s", (table,))
    if rows:
        values = ", ".join(["(%s, %s, %s)"] * len(rows))
        params = [v for attr, origin in rows.items() for v in (table, attr, origin)]
        conn.execute(
            f"INSERT INTO {target} ({q('table_name')}, {q('attribute_name')}, {q('lineage')}) "
            f"VALUES {values}",
            params,
        )
