"""``subset clean``: remove a recipe's rows from its staging output, or drop the staging schemas.

The guard decides first (:func:`subsetter.guard.permit`): only schemas the tool created are
cleaned or dropped, never the source's (the source is asked who it is, read-only).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import datajoint_core as dj
from datajoint_core.cascade import delete_counts
from datajoint_core.graph.dependencies import build_graph, display_name
from datajoint_core.graph.propagate import topological_order
from datajoint_core.graph.subset import Status

from .connect import connect
from .errors import Hints, UnsafeTargetError
from .guard import Action, Permit, Source, permit
from .progress import quantity
from .recipe import Output, Recipe

if TYPE_CHECKING:
    from .plan import Plan, PlanTable


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
    assert output.connection is not None
    source = connect(recipe.source, recipe)
    try:
        where = Source.of(source.connection, recipe.schemas)
    finally:
        source.close()
    target = connect(output.connection, recipe, role="target")
    schemas = [output.target_schema(s) for s in recipe.schemas]
    try:
        with permit(
            target.connection,
            schemas,
            Action.DROP if drop else Action.DELETE,
            source=where,
            hints=Hints(output.name),
            target=output.connection.describe(),
        ) as granted:
            if drop:
                return _drop(granted, confirm)
            return _delete(target, _mapped(recipe, output), confirm)
    finally:
        target.close()


def _drop(granted: Permit, confirm: Callable[[str], bool]) -> str:
    conn = granted.connection
    present = [s for s in granted.schemas if s in granted.existing]
    if not present:
        return "nothing to drop"
    graph = build_graph(conn, present)
    _check_contained(graph, present)
    tables = [t for t in topological_order(graph) if graph.nodes[t]["schema"] in present]
    listing = "\n".join(f"  {display_name(graph, t)}" for t in tables)
    what = f"{', '.join(present)} with {quantity(len(tables), 'table')}"
    if not confirm(f"About to drop schemas {what}:\n{listing}"):
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
    _check_contained(plan.diagram.graph, recipe.schemas)
    doomed = _doomed(plan)
    if not doomed:
        return "nothing to delete"
    listing = "\n".join(f"  {t.display}: {quantity(t.count, 'row')}" for t, _ in doomed)
    if not confirm(f"About to delete (with every row that references them):\n{listing}"):
        return "nothing deleted"
    deleted: dict[str, int] = {}
    graph = plan.diagram.graph
    with conn.transaction:
        for _, expr in doomed:  # leaves first: each cascade deletes only what is left
            for node, rows in delete_counts(expr, prompt=False).items():
                name = display_name(graph, node)
                deleted[name] = deleted.get(name, 0) + rows
    order = {t.display: i for i, t in enumerate(plan.tables)}  # parents first
    shown = {n: deleted[n] for n in sorted(deleted, key=lambda n: order.get(n, len(order)))}
    shown = {name: rows for name, rows in shown.items() if rows}
    lines = "".join(f"\n  {name}: {quantity(rows, 'row')}" for name, rows in shown.items())
    total = quantity(sum(shown.values()), "row")
    return f"deleted {total} from {quantity(len(shown), 'table')}:{lines}"


def _check_contained(graph: Any, schemas: Sequence[str]) -> None:
    """Refuse when a table outside ``schemas`` references one inside: cascading into it would
    touch a schema the tool did not create."""
    for parent, child in graph.edges():
        inside, outside = graph.nodes[parent]["schema"], graph.nodes[child]["schema"]
        if inside in schemas and outside not in schemas:
            raise UnsafeTargetError(
                f"{child} (schema '{outside}', not cleaned) references {parent}: cleaning would "
                f"cascade into it; remove that reference first"
            )


def _doomed(plan: Plan) -> list[tuple[PlanTable, Any]]:
    """The restricted tables, leaves first, as tables restricted to the subset's keys; Parts go
    with their masters."""
    diagram = plan.diagram
    graph = diagram.graph
    restricted = {t.node: t for t in plan.tables if t.status is Status.RESTRICTED and t.count}
    doomed = []
    for table in reversed(list(restricted.values())):
        if graph.nodes[table.node].get("master") in restricted:
            continue
        doomed.append((table, diagram[table.node]))
    return doomed
