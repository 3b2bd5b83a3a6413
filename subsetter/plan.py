"""Recipe + source connection -> an ordered plan: which tables, which rows (as SQL), how many.

Restricted tables get the AND-converged restriction of ``Diagram.restrict(...)``; their ancestors
are kept whole (``upstream: all``) or trimmed to the rows the subset references
(``upstream: referenced``), so the subset is referentially complete either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import datajoint_core as dj
from datajoint_core.condition import Fragment, Top
from datajoint_core.graph.dependencies import display_name
from datajoint_core.graph.diagram import Diagram
from datajoint_core.graph.sql import sample_condition
from datajoint_core.graph.subset import Status
from datajoint_core.naming import tier_of

from .recipe import Recipe, RecipeError, Restriction

if TYPE_CHECKING:
    from datajoint_core.connection import Connection


@dataclass(frozen=True)
class PlanTable:
    """One table of the subset."""

    node: str  # quoted full name on the source
    schema: str
    table: str  # stored name, e.g. "#stimulus"
    display: str  # schema.ClassName, as recipes name it
    status: Status
    reason: str  # what reached it, for the preview
    select: Fragment  # the rows, primary key order
    count_sql: Fragment
    count: int = 0

    @property
    def key(self) -> str:
        return f"{self.schema}.{self.table}"


@dataclass
class Plan:
    tables: list[PlanTable]
    diagram: Diagram
    left_out: dict[str, str]  # display name -> why it is not in the subset

    def counts(self) -> dict[str, int]:
        return {t.display: t.count for t in self.tables}


def _display(graph: Any, node: str) -> str:
    return display_name(graph, node)


def table_names(diagram: Diagram, schemas: Sequence[str]) -> dict[str, str]:
    """Every accepted spelling of a table (``lab.Session``, ``lab.session``) -> its node."""
    names: dict[str, str] = {}
    for node, data in diagram.graph.nodes(data=True):
        schema, table = data["schema"], data["table"]
        if schema not in schemas:
            continue
        names[_display(diagram.graph, node)] = node
        names[f"{schema}.{table}"] = node
        names[f"{schema}.{tier_of(table)[1]}"] = node
    return names


def _resolve(restriction: Restriction, names: dict[str, str]) -> str:
    if restriction.table in names:
        return names[restriction.table]
    choices = sorted({n for n in names if any(c.isupper() for c in n)})
    raise restriction.table_location.error(
        f'unknown table "{restriction.table}"', choices, near=restriction.table
    )


def _restricted(diagram: Diagram, node: str, restriction: Restriction) -> Any:
    """The seed of one recipe restriction. ``limit`` / ``order_by`` pick the top rows of what
    the restrictions before it left on the table (the README's "in order"), so that seed reads
    the diagram so far; ``where`` and ``sample`` select row by row, the same either way."""
    table = dj.FreeTable(diagram.connection, node)
    expr: Any = diagram[node] if restriction.limit is not None and diagram.mode else table
    try:
        if restriction.where is not None:
            expr = expr & restriction.where
        if restriction.sample is not None:
            sample = restriction.sample
            expr = expr & sample_condition(
                table.adapter, table.primary_key, sample.percent, sample.seed
            )
        if restriction.limit is not None:
            expr = expr & Top(restriction.limit, list(restriction.order_by) or "KEY")
    except dj.DataJointError as err:
        raise restriction.location.error(str(err)) from None
    return expr


def build_plan(recipe: Recipe, connection: Connection) -> Plan:
    """The subset a recipe selects on ``connection`` (counts included)."""
    _check_schemas(recipe, connection)
    diagram = _diagram(recipe, connection)
    names = table_names(diagram, recipe.schemas)
    for restriction in recipe.restrictions:
        node = _resolve(restriction, names)
        label = restriction.describe().partition(": ")[2]
        diagram = diagram.restrict(_restricted(diagram, node, restriction), label=label)
    return _plan(recipe, connection, diagram)


def _check_schemas(recipe: Recipe, connection: Connection) -> None:
    present = set(connection.list_schemas())
    for i, schema in enumerate(recipe.schemas):
        if schema not in present:
            raise recipe.location(f"schemas[{i}]").error(
                f"schema '{schema}' does not exist on the source", sorted(present), near=schema
            )


def _diagram(recipe: Recipe, connection: Connection) -> Diagram:
    schemas = [dj.Schema(s, connection=connection, create_schema=False) for s in recipe.schemas]
    diagram = Diagram(schemas)
    outside = {
        data["schema"]
        for node, data in diagram.graph.nodes(data=True)
        if data["schema"] not in recipe.schemas
        and any(c in diagram.nodes_to_show for c in diagram.graph.successors(node))
    }
    if outside:
        raise recipe.location("schemas").error(
            f"tables in {sorted(recipe.schemas)} reference schema(s) {sorted(outside)}; "
            "add them to `schemas` so that the subset is complete"
        )
    return diagram


def _plan(recipe: Recipe, connection: Connection, diagram: Diagram) -> Plan:
    graph = diagram.graph
    _check_patterns(recipe, diagram)

    def keep(node: str) -> bool:
        data = graph.nodes[node]
        return recipe.keeps(_display(graph, node), f"{data['schema']}.{data['table']}")

    subset = diagram.subset(upstream=recipe.upstream.value, keep=keep)
    left_out = {_display(graph, n): why for n, why in subset.plan.left_out.items()}
    tables = []
    for item in subset.plan.tables:
        data = graph.nodes[item.node]
        count_sql = subset.count(item.node)
        count = int(connection.fetchall(count_sql.sql, count_sql.params)[0][0])
        if recipe.prune and count == 0 and item.status is not Status.WHOLE:
            left_out[_display(graph, item.node)] = "no rows (pruned)"
            continue
        columns = list(data["attributes"])
        tables.append(
            PlanTable(
                node=item.node,
                schema=data["schema"],
                table=data["table"],
                display=_display(graph, item.node),
                status=item.status,
                reason="; ".join(item.reasons),
                select=subset.select(item.node, columns, ordered=recipe.ordered),
                count_sql=count_sql,
                count=count,
            )
        )
    return Plan(tables, diagram, left_out)


def _check_patterns(recipe: Recipe, diagram: Diagram) -> None:
    """An `include` / `exclude` pattern that matches no table is a typo, not a no-op."""
    import fnmatch

    names = table_names(diagram, recipe.schemas)
    for key, patterns in (("include", recipe.include), ("exclude", recipe.exclude)):
        for i, pattern in enumerate(patterns):
            if not any(fnmatch.fnmatchcase(name, pattern) for name in names):
                choices = sorted({n for n in names if any(c.isupper() for c in n)})
                raise recipe.location(f"{key}[{i}]").error(
                    f"pattern '{pattern}' matches no table", choices, near=pattern
                )


__all__ = ["Plan", "PlanTable", "RecipeError", "build_plan", "table_names"]
