"""``subset clean``: remove a recipe's rows from its staging output, or drop the staging schemas.

Only the staging output's connection is ever opened; a target that is the source is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import datajoint_core as dj
from datajoint_core.condition import Fragment, Raw
from datajoint_core.graph.dependencies import build_graph
from datajoint_core.graph.propagate import topological_order

from .recipe import ConnectionSpec, Output, Recipe, resolve_path

if TYPE_CHECKING:
    from .plan import Plan, PlanTable

_LOCAL = {"localhost", "127.0.0.1", "::1", ""}


def _host(name: str | None) -> str:
    return "localhost" if (name or "") in _LOCAL else (name or "")


def is_source(recipe: Recipe, target: ConnectionSpec, schema_map: dict[str, str]) -> bool:
    """True when ``target`` (after ``schema_map``) names a schema of the recipe's source."""
    source = recipe.source
    if source.embedded is not None or target.embedded is not None:
        same = (
            source.embedded is not None
            and target.embedded is not None
            and resolve_path(recipe, source.embedded) == resolve_path(recipe, target.embedded)
        )
    else:
        same = (
            source.backend == target.backend
            and _host(source.host) == _host(target.host)
            and source.port == target.port
            and (source.database or "") == (target.database or "")
        )
    return same and any(schema_map.get(s, s) in recipe.schemas for s in recipe.schemas)


def _mapped(recipe: Recipe, output: Output) -> Recipe:
    """The recipe with its schema names as the staging output names them."""
    restrictions = []
    for r in recipe.restrictions:
        schema, _, rest = r.table.partition(".")
        restrictions.append(replace(r, table=f"{output.target_schema(schema)}.{rest}"))
    return replace(
        recipe,
        schemas=tuple(output.target_schema(s) for s in recipe.schemas),
        restrictions=tuple(restrictions),
        include=(),
        exclude=(),
    )


def clean_staging(
    recipe: Recipe, output: Output, *, drop: bool, confirm: Callable[[str], bool]
) -> str:
    from .api import SubsetError, connect

    assert output.connection is not None
    if is_source(recipe, output.connection, output.schema_map):
        raise SubsetError(
            f"output '{output.name}' is the source itself; clean never touches the source"
        )
    target = connect(output.connection, recipe)
    try:
        if drop:
            return _drop(target, [output.target_schema(s) for s in recipe.schemas], confirm)
        return _delete(target, _mapped(recipe, output), confirm)
    finally:
        target.close()


def _drop(target: dj.Instance, schemas: list[str], confirm: Callable[[str], bool]) -> str:
    conn = target.connection
    present = [s for s in schemas if s in conn.list_schemas()]
    if not present:
        return "nothing to drop"
    graph = build_graph(conn, present)
    tables = [t for t in topological_order(graph) if graph.nodes[t]["schema"] in present]
    listing = "\n".join(f"  {t}" for t in tables)
    if not confirm(f"About to drop schemas {present} with {len(tables)} tables:\n{listing}"):
        return "nothing dropped"
    inside = set(tables)
    for root in [t for t in tables if not inside & set(graph.predecessors(t))]:
        dj.FreeTable(conn, root).drop(prompt=False)  # and everything downstream of it
    for schema in present:
        dj.Schema(schema, connection=conn, create_schema=False).drop(prompt=False)
    return f"dropped schemas {', '.join(present)}"


def _delete(target: dj.Instance, recipe: Recipe, confirm: Callable[[str], bool]) -> str:
    from .plan import build_plan

    conn = target.connection
    plan = build_plan(recipe, conn)
    doomed = _doomed(plan)
    if not doomed:
        return "nothing to delete"
    listing = "\n".join(f"  {t.display}: {t.count:,} rows" for t, _ in doomed)
    if not confirm(f"About to delete (with every row that references them):\n{listing}"):
        return "nothing deleted"
    total = 0
    with conn.transaction:
        for table, expr in doomed:
            expr.delete(prompt=False)
            total += table.count
    return f"deleted {total:,} rows of the recipe from {len(doomed)} tables (and their dependents)"


def _doomed(plan: Plan) -> list[tuple[PlanTable, Any]]:
    """The restricted tables, leaves first, as tables restricted to the subset's keys; Parts go
    with their masters."""
    graph = plan.diagram.graph
    restricted = {t.node: t for t in plan.tables if t.status == "restricted" and t.count}
    sql = plan.diagram.sql()
    doomed = []
    for table in reversed(list(restricted.values())):
        master = graph.nodes[table.node].get("master")
        if master in restricted:
            continue
        free = dj.FreeTable(plan.diagram.connection, table.node)
        q = free.adapter.quote
        key = free.primary_key
        keys = sql.select(table.node, key)
        cols = ", ".join(q(k) for k in key)
        target = cols if len(key) == 1 else f"({cols})"
        cond = Fragment(f"{target} IN (SELECT * FROM ({keys.sql}) AS _keys)", keys.params)
        doomed.append((table, free & Raw(cond, frozenset(key))))
    return doomed
