"""Recipe + source connection -> an ordered plan: which tables, which rows (as SQL), how many.

Restricted tables get the AND-converged restriction of ``Diagram.restrict(...)``; their ancestors
are kept whole (``upstream: all``) or trimmed to the rows the subset references
(``upstream: referenced``), so the subset is referentially complete either way.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import datajoint_core as dj
from datajoint_core.condition import Fragment, Top, read_sql
from datajoint_core.graph.dependencies import display_name
from datajoint_core.graph.diagram import Diagram
from datajoint_core.graph.sql import sample_condition
from datajoint_core.graph.subset import Status
from datajoint_core.naming import tier_of

from .errors import SubsetError
from .recipe import Location, Recipe, RecipeError, Restriction
from .sqlcheck import order_names

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


@dataclass(frozen=True)
class Step:
    """One recipe restriction and the rows its table keeps once it (and those before it)
    applied: the preview shows each restriction's effect."""

    restriction: Restriction
    table: str  # schema.ClassName
    rows: int


@dataclass
class Plan:
    tables: list[PlanTable]
    diagram: Diagram
    left_out: dict[str, str]  # display name -> why it is not in the subset
    steps: list[Step] = field(default_factory=list)

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
    steps = []
    for restriction in recipe.restrictions:
        node = _resolve(restriction, names)
        display = _display(diagram.graph, node)
        _check_columns(recipe, restriction, dj.FreeTable(connection, node), display)
        label = restriction.describe().partition(": ")[2]
        diagram = diagram.restrict(_restricted(diagram, node, restriction), label=label)
        rows = _step_rows(recipe, restriction, diagram[node], display)
        steps.append(Step(restriction, display, rows))
    plan = _plan(recipe, connection, diagram)
    plan.steps = steps
    _check_names(plan)
    return plan


def _check_names(plan: Plan) -> None:
    """Outputs, manifests and messages name tables by class: two tables of one class name
    (``#stimulus`` and ``stimulus`` in one schema) cannot both be in a subset."""
    seen: dict[str, PlanTable] = {}
    for table in plan.tables:
        other = seen.setdefault(table.display, table)
        if other is not table:
            raise SubsetError(
                f"{table.display} names two tables, {other.key} and {table.key}: leave one "
                "out with `exclude`"
            )


def _check_schemas(recipe: Recipe, connection: Connection) -> None:
    """Every entry of `schemas` exists on the source, and every restriction's schema is one
    of them; the source's schemas tell which of the two holds a typo."""
    present = set(connection.list_schemas())
    for i, schema in enumerate(recipe.schemas):
        if schema not in present:
            raise recipe.location(f"schemas[{i}]").error(
                f"schema '{schema}' does not exist on the source", sorted(present), near=schema
            )
    for restriction in recipe.restrictions:
        schema = restriction.table.split(".", 1)[0]
        if schema in recipe.schemas:
            continue
        message = f"schema '{schema}' of '{restriction.table}' is not in `schemas`"
        if schema in present:
            raise restriction.table_location.error(f"{message}: add it to `schemas`")
        message += " and does not exist on the source"
        listed = difflib.get_close_matches(schema, recipe.schemas, n=1, cutoff=0.6)
        other = difflib.get_close_matches(schema, sorted(present), n=1, cutoff=0.6)
        if listed:
            message += f" (did you mean '{listed[0]}'?)"
        elif other:
            message += f" (did you mean '{other[0]}'? add it to `schemas` too)"
        raise restriction.table_location.error(message)


def _where_items(restriction: Restriction) -> list[tuple[str, Any]]:
    """(key path, condition) of each mapping or string of a restriction's `where`."""
    path = f"{restriction.location.key}.where"
    where = restriction.where
    if isinstance(where, list):
        return [(f"{path}[{i}]", item) for i, item in enumerate(where)]
    return [] if where is None else [(path, where)]


def _check_columns(recipe: Recipe, restriction: Restriction, table: Any, display: str) -> None:
    """The attributes a restriction names exist, else "did you mean" at the recipe line."""
    names = list(table.heading.names)
    for path, condition in _where_items(restriction):
        if isinstance(condition, dict):
            for key in condition:
                if key not in names:
                    raise recipe.location(f"{path}.{key}").error(
                        f"{display} has no attribute '{key}'", names, near=key
                    )
        else:
            try:
                read_sql(condition, table.adapter.sqlglot_dialect, names, display)
            except dj.DataJointError as err:
                raise recipe.location(path).error(str(err)) from None
    path = f"{restriction.location.key}.order_by"
    for i, item in enumerate(restriction.order_by):
        for name in order_names([item]):
            if name != "KEY" and name not in names:
                where = recipe.location(f"{path}[{i}]")  # or `order_by` itself, a string
                raise where.error(f"{display} has no attribute '{name}' to order by", names, name)


def _step_rows(recipe: Recipe, restriction: Restriction, expr: Any, display: str) -> int:
    """The rows ``expr`` selects; a condition the source refuses (a type error, an unknown
    function or column in a subquery) is located at the recipe line that holds it."""
    try:
        return len(expr)
    except (dj.errors.LostConnectionError, dj.errors.AccessError):
        raise
    except dj.errors.QueryError as err:
        key = restriction.location.key + (".where" if restriction.where is not None else "")
        location: Location = recipe.location(key)
        message = f"the source refused this restriction of {display}: {_brief(err)}"
        raise location.error(message) from None


def _brief(err: Exception) -> str:
    """The server's message in one line, without the statement it may quote (the recipe line
    says which condition it was): ``near 'ILIKE 'a')) AS _keys)' at line 1`` keeps its start."""
    lines = str(err).strip().splitlines()
    text = " ".join(lines[0].split()) if lines else type(err).__name__
    text = re.sub(r"( near '.{0,16}).*' at line \d+$", r"\1...'", text)
    return text if len(text) <= 200 else text[:197] + "..."


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
