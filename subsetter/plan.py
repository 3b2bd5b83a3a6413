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
from datajoint_core.condition import Fragment, Raw, Top, combine
from datajoint_core.graph.dependencies import display_name
from datajoint_core.graph.diagram import Diagram
from datajoint_core.graph.propagate import topological_order
from datajoint_core.naming import tier_of

from .recipe import Recipe, RecipeError, Restriction, Upstream

if TYPE_CHECKING:
    from datajoint_core.connection import Connection
    from datajoint_core.graph.sql import RestrictionSQL


@dataclass(frozen=True)
class PlanTable:
    """One table of the subset."""

    node: str  # quoted full name on the source
    schema: str
    table: str  # stored name, e.g. "#stimulus"
    display: str  # schema.ClassName, as recipes name it
    status: str  # "restricted", "whole" or "referenced"
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


def _restricted(connection: Connection, node: str, restriction: Restriction) -> Any:
    table = dj.FreeTable(connection, node)
    expr: Any = table
    try:
        if restriction.where is not None:
            expr = expr & restriction.where
        if restriction.sample is not None:
            expr = expr & _sample(table, restriction.sample.percent, restriction.sample.seed)
        if restriction.limit is not None:
            expr = expr & Top(restriction.limit, list(restriction.order_by) or "KEY")
    except dj.DataJointError as err:
        raise restriction.location.error(str(err)) from None
    return expr


def _sample(table: Any, percent: float, seed: int) -> Raw:
    """~``percent`` % of rows, chosen by a hash of the primary key and the seed (deterministic,
    and the same on every table that carries that key)."""
    adapter = table.adapter
    parts = ", ".join(adapter.cast_text_sql(adapter.quote(k)) for k in table.primary_key)
    hashed = adapter.random_hash_sql(f"CONCAT_WS('|', %s, {parts})")
    threshold = round(percent * 10_000)
    sql = f"MOD({hashed}, 1000000) < {threshold}"
    return Raw(Fragment(sql, (str(seed),)), frozenset(table.primary_key))


def build_plan(recipe: Recipe, connection: Connection) -> Plan:
    """The subset a recipe selects on ``connection`` (counts included)."""
    _check_schemas(recipe, connection)
    diagram = _diagram(recipe, connection)
    names = table_names(diagram, recipe.schemas)
    for restriction in recipe.restrictions:
        diagram = diagram.restrict(
            _restricted(connection, _resolve(restriction, names), restriction)
        )
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
    restricted = diagram._mode is not None
    sql = diagram.sql() if restricted else None
    shown = topological_order(graph, diagram.nodes_to_show)
    left_out: dict[str, str] = {}
    kept = _apply_include_exclude(recipe, diagram, shown, left_out)
    reasons = _reasons(recipe, diagram) if restricted else {}
    tables: dict[str, PlanTable] = {}
    status: dict[str, str] = {}
    for node in reversed(kept):
        status[node] = _status(recipe, graph, node, sql, status)
    for node in kept:
        tables[node] = _table(connection, diagram, sql, node, status, reasons)
    plan_tables = [tables[n] for n in kept]
    counted = [_counted(connection, t) for t in plan_tables]
    if recipe.prune:
        pruned = {t.node for t in counted if t.count == 0 and t.status != "whole"}
        for t in counted:
            if t.node in pruned:
                left_out[t.display] = "no rows (pruned)"
        counted = [t for t in counted if t.node not in pruned]
    return Plan(counted, diagram, left_out)


def _apply_include_exclude(
    recipe: Recipe, diagram: Diagram, shown: list[str], left_out: dict[str, str]
) -> list[str]:
    """Tables that pass include/exclude; a left-out table takes its descendants with it, so
    that no kept row references a row that is not kept."""
    import networkx as nx

    graph = diagram.graph
    _check_patterns(recipe, diagram)
    dropped: set[str] = set()
    for node in shown:
        data = graph.nodes[node]
        name = _display(graph, node)
        if not recipe.keeps(name, f"{data['schema']}.{data['table']}"):
            dropped.add(node)
            left_out[name] = "excluded by the recipe"
    for node in list(dropped):
        for child in nx.descendants(graph, node):
            if child in shown and child not in dropped:
                dropped.add(child)
                left_out[_display(graph, child)] = f"depends on excluded {_display(graph, node)}"
    return [n for n in shown if n not in dropped]


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


def _reasons(recipe: Recipe, diagram: Diagram) -> dict[str, list[str]]:
    """Per restricted table: the recipe restrictions on it, or the tables that pass them on."""
    graph = diagram.graph
    out: dict[str, list[str]] = {}
    for node, restriction in diagram.propagation().restrictions.items():
        seen: list[str] = []
        for term in restriction.terms:
            if term.seed is not None and term.seed < len(recipe.restrictions):
                text = recipe.restrictions[term.seed].describe().partition(": ")[2]
            else:
                text = f"via {_display(graph, term.source)}" if term.source else "restricted"
            if text not in seen:
                seen.append(text)
        out[node] = seen
    return out


def _status(
    recipe: Recipe, graph: Any, node: str, sql: RestrictionSQL | None, done: dict[str, str]
) -> str:
    if sql is not None and sql.is_restricted(node):
        return "restricted"
    if recipe.upstream is Upstream.ALL:
        return "whole"
    children = [c for c in set(graph.successors(node)) if c in done]
    if not children or any(done[c] == "whole" for c in children):
        return "whole"
    return "referenced"


def _table(
    connection: Connection,
    diagram: Diagram,
    sql: RestrictionSQL | None,
    node: str,
    status: dict[str, str],
    reasons: dict[str, list[str]],
) -> PlanTable:
    data = diagram.graph.nodes[node]
    order = ", ".join(connection.adapter.quote(k) for k in data["primary_key"])
    state = status[node]
    reason = {
        "restricted": "; ".join(reasons.get(node, [])),
        "whole": "whole table",
        "referenced": "rows the subset references",
    }[state]
    base = _rows_of(connection, diagram, sql, node, list(data["attributes"]), status)
    count = _rows_of(connection, diagram, sql, node, [], status, count=True)
    select = Fragment(f"{base.sql} ORDER BY {order}", base.params)
    return PlanTable(
        node=node,
        schema=data["schema"],
        table=data["table"],
        display=_display(diagram.graph, node),
        status=state,
        reason=reason,
        select=select,
        count_sql=count,
    )


def _rows_of(
    connection: Connection,
    diagram: Diagram,
    sql: RestrictionSQL | None,
    node: str,
    columns: list[str],
    status: dict[str, str],
    *,
    count: bool = False,
) -> Fragment:
    """``SELECT columns`` (or ``count(*)``) ``FROM node`` restricted to the rows the subset
    keeps of ``node``."""
    q = connection.adapter.quote
    if status[node] == "restricted":
        assert sql is not None
        return sql.count(node) if count else sql.select(node, columns)
    cols = "count(*)" if count else ", ".join(q(c) for c in columns)
    if status[node] == "whole":
        return Fragment(f"SELECT {cols} FROM {node}")
    cond = _referenced(connection, diagram, sql, node, status)
    return Fragment(f"SELECT {cols} FROM {node} WHERE {cond.sql}", cond.params)


def _referenced(
    connection: Connection,
    diagram: Diagram,
    sql: RestrictionSQL | None,
    node: str,
    status: dict[str, str],
) -> Fragment:
    """The rows of ``node`` that kept rows of its kept children reference (OR over edges)."""
    q = connection.adapter.quote
    parts = []
    for _, child, data in diagram.graph.out_edges(node, data=True):
        if child not in status:
            continue
        pairs = list(data["attr_map"].items())  # child column -> parent column
        child_cols = [c for c, _ in pairs]
        rows = _rows_of(connection, diagram, sql, child, child_cols, status)
        mine = ", ".join(q(p) for _, p in pairs)
        target = mine if len(pairs) == 1 else f"({mine})"
        parts.append(Fragment(f"{target} IN ({rows.sql})", rows.params))
    return combine(parts, "OR")


def _counted(connection: Connection, table: PlanTable) -> PlanTable:
    count = int(connection.fetchall(table.count_sql.sql, table.count_sql.params)[0][0])
    return PlanTable(**{**table.__dict__, "count": count})


__all__ = ["Plan", "PlanTable", "RecipeError", "build_plan", "table_names"]
