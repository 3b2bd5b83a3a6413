"""``Table.delete()`` and ``Table.drop()``, driven by the dependency graph.

The Diagram computes what a delete reaches and ``graph/cascade.py`` plans the order and the
part-integrity rules; this module does the mutation: freezing conditions, prompts, one
transaction, the statements, the return value.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from .context import ask
from .errors import DataJointError
from .graph.cascade import check_deleted_parts, check_drop_parts, delete_order, drop_order
from .graph.dependencies import build_graph
from .graph.diagram import Diagram, part_integrity_of
from .graph.propagate import PartIntegrity
from .graph.sql import literal_keys

if TYPE_CHECKING:
    from .graph.sql import RestrictionSQL
    from .table import Table

logger = logging.getLogger("datajoint_core")


def _frozen(table: Table) -> Any:
    """The table restricted to literal keys when its condition reads a table the cascade
    deletes from (itself or a descendant), which would shrink under the condition before this
    table's own delete runs. Conditions on other tables, the usual case, stay as they are, so
    a large delete never turns into a long list of literal keys."""
    import networkx as nx

    where = table.where_fragment()
    if table._top is None and where is None:
        return table
    name = table.full_table_name
    graph = build_graph(table.connection, [table.connection.adapter.split_full_name(name)[0]])
    reached = {name} | nx.descendants(graph, name)
    if table._top is None and not any(n in where.sql for n in reached):  # type: ignore[union-attr]
        return table
    keys = table.make_sql(table.primary_key)
    rows = table.connection.fetchall(keys.sql, keys.params)
    frozen = table._replace(_where=(), _top=None, _mentioned=frozenset(table.primary_key))
    fragment = literal_keys(table.connection.adapter, table.primary_key, rows)
    return frozen._replace(_where=(fragment,))


def _count(diagram: Diagram, sql: RestrictionSQL, node: str) -> int:
    fragment = sql.count(node)
    return int(diagram.connection.fetchall(fragment.sql, fragment.params)[0][0])


def delete(
    table: Table,
    *,
    transaction: bool = True,
    prompt: bool | None = None,
    part_integrity: str = "enforce",
) -> int:
    """Delete ``table``'s restricted rows and every row depending on them; return its count.

    Inside an open transaction with ``prompt=False`` the delete joins it, so the caller's
    rollback undoes it. When nothing is deleted from ``table`` itself, nothing is kept.
    """
    deleted = delete_counts(
        table, transaction=transaction, prompt=prompt, part_integrity=part_integrity
    )
    return deleted.get(table.full_table_name, 0)


def delete_counts(
    table: Table,
    *,
    transaction: bool = True,
    prompt: bool | None = None,
    part_integrity: str = "enforce",
) -> dict[str, int]:
    """:func:`delete`, returning the rows deleted from each table (by full name), or ``{}``
    when nothing was deleted or kept."""
    conn = table.connection
    if prompt is None:
        prompt = bool(conn.config["safemode"])
    if conn.in_transaction and transaction and prompt:
        raise DataJointError("delete() inside an open transaction cannot prompt; pass prompt=False")
    diagram = Diagram.cascade(_frozen(table), part_integrity=part_integrity)
    sql = diagram.sql()
    seed_name = table.full_table_name
    if not _count(diagram, sql, seed_name):
        logger.info("nothing to delete")
        return {}
    own = transaction and not conn.in_transaction
    question = "Proceed with the delete (no transaction)?"
    if prompt and not own and not _confirm(diagram.preview(), question):
        return {}
    if own:
        conn.start_transaction()
    try:
        deleted = _delete_leaves_first(diagram, sql)
        if diagram.part_integrity is PartIntegrity.ENFORCE:
            check_deleted_parts(diagram.graph, deleted)
        keep = bool(deleted.get(seed_name)) and (
            not (prompt and own) or _confirm(deleted, "Commit deletes?")
        )
    except BaseException:
        if own:
            conn.cancel_transaction()
        raise
    if own:
        (conn.commit_transaction if keep else conn.cancel_transaction)()
    if not keep:
        logger.info("delete cancelled" if deleted.get(seed_name) else "nothing deleted")
        return {}
    return deleted


def _confirm(counts: dict[str, int], question: str) -> bool:
    summary = "\n".join(f"  {n}: {c} rows" for n, c in counts.items() if c)
    return ask(f"About to delete:\n{summary}\n{question}")


def _delete_leaves_first(diagram: Diagram, sql: RestrictionSQL) -> dict[str, int]:
    """One DELETE per restricted table (a few on MariaDB), leaves first; each its row count."""
    deleted: dict[str, int] = {}
    for node in delete_order(diagram.graph, diagram.restricted_tables()):
        deleted[node] = sum(
            diagram.connection.execute(statement.sql, statement.params)
            for statement in sql.delete_statements(node)
        )
        if deleted[node]:
            logger.info("deleted %d rows from %s", deleted[node], node)
    return deleted


def drop(table: Table, *, prompt: bool | None = None, part_integrity: str = "enforce") -> None:
    """Drop ``table`` and every table downstream of it, leaves first, across schemas."""
    conn = table.connection
    if prompt is None:
        prompt = bool(conn.config["safemode"])
    choices = (PartIntegrity.ENFORCE, PartIntegrity.IGNORE)
    try:
        integrity = part_integrity_of(part_integrity, choices)
    except ValueError as err:
        raise ValueError(f"{err} (for drop; 'cascade' applies to delete only)") from None
    graph = build_graph(conn, [conn.adapter.split_full_name(table.full_table_name)[0]])
    targets = drop_order(graph, table.full_table_name)
    if integrity is PartIntegrity.ENFORCE:
        check_drop_parts(graph, targets)
    if prompt:
        listing = "\n".join(f"  {t}" for t in targets)
        if not ask(f"About to drop:\n{listing}\nProceed?"):
            logger.info("drop cancelled")
            return
    catalog = conn.catalog
    for node in reversed(targets):
        schema, bare = conn.adapter.split_full_name(node)
        for statement in conn.adapter.drop_table_statements(schema, bare):
            conn.execute(statement)
        catalog.invalidate(schema)
        logger.info("dropped %s", node)
