"""Helpers for the diagram tests: declare pipelines from definition strings, fetch every row,
and compute restrictions and cascades by brute force in Python to compare with the library."""

from __future__ import annotations

import logging
import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import networkx as nx

import datajoint_core as dj

Row = dict[str, Any]
Predicate = Callable[[Row], bool]


def declare(
    schema: dj.Schema, tables: Sequence[tuple[str, str]], tier: type = dj.Manual
) -> dict[str, Any]:
    """Declare ``(ClassName, definition)`` pairs in order; earlier classes are in the context."""
    context: dict[str, Any] = {}
    for name, definition in tables:
        cls = types.new_class(
            name, (tier,), exec_body=lambda ns, d=definition: ns.update(definition=d)
        )
        schema(cls, context=context)
        context[name] = cls
    return context


def short(connection: dj.Connection, counts: Mapping[str, int]) -> dict[str, int]:
    """``{'`db`.`session`': 3}`` -> ``{'session': 3}``."""
    return {connection.adapter.split_full_name(k)[1]: v for k, v in counts.items()}


def node(table: Any) -> str:
    """The full table name of a table class or instance."""
    return table().full_table_name if isinstance(table, type) else table.full_table_name


def fetch_rows(
    connection: dj.Connection, graph: nx.MultiDiGraph, nodes: Sequence[str]
) -> dict[str, list[Row]]:
    """Every row of each table, as dicts of its columns."""
    q = connection.adapter.quote
    out: dict[str, list[Row]] = {}
    for name in nodes:
        cols = list(graph.nodes[name]["attributes"])
        rows = connection.fetchall(f"SELECT {', '.join(q(c) for c in cols)} FROM {name}")
        out[name] = [dict(zip(cols, r)) for r in rows]
    return out


def selected_rows(diagram: dj.Diagram, name: str) -> list[Row]:
    """The rows ``diagram`` includes of table ``name`` (all rows when it is unrestricted)."""
    cols = list(diagram.graph.nodes[name]["attributes"])
    fragment = diagram.sql().select(name, cols)
    return [dict(zip(cols, r)) for r in diagram.connection.fetchall(fragment.sql, fragment.params)]


def key_of(graph: nx.MultiDiGraph, name: str, row: Row) -> tuple[Any, ...]:
    return tuple(row[k] for k in graph.nodes[name]["primary_key"])


def brute_force(
    graph: nx.MultiDiGraph,
    rows: Mapping[str, list[Row]],
    seeds: Mapping[str, Sequence[Predicate]],
    *,
    cascade: bool,
) -> dict[str, list[Row]]:
    """The rows each reached table keeps, computed row by row in Python.

    restrict (AND): a row's seeds hold and, for every foreign key from a restricted parent, the
    referenced parent row is kept -- a NULL foreign key references no row, so a restricted
    parent excludes it (semantics.md §4, as the reference). cascade (OR): a seed holds or some
    foreign key references a marked row (a NULL one never does).
    """
    kept: dict[str, list[Row]] = {}
    for name in nx.topological_sort(graph):
        edges = [(p, d["attr_map"]) for p, _, d in graph.in_edges(name, data=True) if p in kept]
        if not seeds.get(name) and not edges:
            continue
        parent_keys = [
            (amap, {tuple(r[pc] for pc in amap.values()) for r in kept[p]}) for p, amap in edges
        ]

        def verdicts(row: Row, name: str = name, parent_keys: Any = parent_keys) -> list[bool]:
            out = [pred(row) for pred in seeds.get(name, ())]
            for amap, keys in parent_keys:
                values = tuple(row[c] for c in amap)
                out.append(values in keys)  # a NULL is in no parent's keys
            return out

        combine = any if cascade else all
        kept[name] = [r for r in rows.get(name, []) if combine(verdicts(r))]
    return kept


def dangling(graph: nx.MultiDiGraph, rows: Mapping[str, list[Row]]) -> list[str]:
    """Descriptions of rows whose non-NULL foreign key references no row in ``rows``."""
    problems = []
    for parent, child, data in graph.edges(data=True):
        if child not in rows or parent not in rows:
            continue
        amap = data["attr_map"]
        keys = {tuple(r[pc] for pc in amap.values()) for r in rows[parent]}
        for row in rows[child]:
            values = tuple(row[c] for c in amap)
            if None not in values and values not in keys:
                problems.append(f"{child} row {row} -> {parent} {values}")
    return problems


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def sql_log() -> Iterator[list[str]]:
    """The SQL statements run inside the block (logger ``datajoint_core.sql`` at DEBUG)."""
    logger = logging.getLogger("datajoint_core.sql")
    handler = _Collect()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def drop_schemas(connection: dj.Connection, names: Sequence[str]) -> None:
    """Drop schemas in the order given (children's schemas first)."""
    if connection.in_transaction:
        connection.cancel_transaction()
    for name in names:
        connection.execute(connection.adapter.drop_schema_sql(name))
