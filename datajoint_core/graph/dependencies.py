"""The catalog of loaded schemas, cached per connection, and the foreign-key graph built from it.

A load reads the catalog of all requested schemas at once (a fixed number of queries, however
many tables), then follows foreign keys to the schemas upstream and downstream of them.
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from typing import TYPE_CHECKING

import networkx as nx

from ..errors import DataJointError
from ..heading import Heading, headings_from_catalog, inherit_types

if TYPE_CHECKING:
    from ..connection import Connection

_MAX_HOPS = 64


class Catalog:
    """Headings of the schemas read so far on one connection."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.headings: dict[str, Heading] = {}  # full table name -> heading
        self.tables: dict[str, tuple[str, str]] = {}  # full table name -> (schema, table)
        self.schemas: set[str] = set()
        self._upstream_loaded: set[str] = set()  # schemas whose upstream schemas are loaded too

    def load(self, schemas: Iterable[str]) -> None:
        """Read the catalog of the schemas not read yet (one round of queries for all)."""
        missing = sorted(set(schemas) - self.schemas)
        if not missing:
            return
        conn = self.connection
        catalog = conn.adapter.read_catalog(conn.fetchall, missing)
        for key, heading in headings_from_catalog(catalog, conn.adapter, self.headings).items():
            name = conn.adapter.full_name(*key)
            self.headings[name] = heading
            self.tables[name] = key
        if self.schemas:  # children read earlier may reference the new parents
            keyed = {self.tables[name]: heading for name, heading in self.headings.items()}
            inherit_types(keyed, conn.adapter)
            for key, heading in keyed.items():
                self.headings[conn.adapter.full_name(*key)] = heading
        self.schemas.update(missing)

    def invalidate(self, schema: str) -> None:
        """Forget a schema after its tables changed (declare, drop)."""
        self.schemas.discard(schema)
        self._upstream_loaded.clear()
        for name in [n for n, (s, _) in self.tables.items() if s == schema]:
            del self.headings[name]
            del self.tables[name]

    def heading(self, schema: str, table: str) -> Heading | None:
        if schema not in self._upstream_loaded:
            # with the schemas upstream: foreign-key columns take their parents' core types
            self._upstream_loaded |= self.closure([schema], downstream=False)
        return self.headings.get(self.connection.adapter.full_name(schema, table))

    def closure(self, schemas: Iterable[str], *, downstream: bool = True) -> set[str]:
        """The schemas and those their foreign keys reach (upstream; downstream if asked)."""
        conn = self.connection
        found = set(schemas)
        for _ in range(_MAX_HOPS):
            self.load(found)
            upstream = {
                conn.adapter.split_full_name(fk.parent)[0]
                for name, heading in self.headings.items()
                if self.tables[name][0] in found
                for fk in heading.foreign_keys
            }
            more = upstream - found
            if downstream:
                more |= set(conn.adapter.referencing_schemas(conn.fetchall, sorted(found)))
            more -= found
            if not more:
                return found
            found |= more
        raise DataJointError("foreign keys reach too many schemas")


def catalog_of(connection: Connection) -> Catalog:
    """The connection's catalog cache."""
    cache = getattr(connection, "_catalog", None)
    if cache is None:
        cache = Catalog(connection)
        connection._catalog = cache  # type: ignore[attr-defined]
    return cache


def master_candidates(table_name: str) -> list[str]:
    """The names a Part's master may have, nearest first: ``a__b__c`` -> ``[a__b, a]``.

    A Part of a Part is named after its own master, so the nearest existing one is the master.
    """
    from ..user_tables import tier_of

    bare = tier_of(table_name)[1]
    prefix = table_name[: len(table_name) - len(bare)]
    segments = bare.split("__")
    return [prefix + "__".join(segments[:i]) for i in range(len(segments) - 1, 0, -1)]


def master_of(table_name: str, existing: Container[str] | None = None) -> str | None:
    """The master's table name of a Part (the nearest one in ``existing`` if given)."""
    for candidate in master_candidates(table_name):
        if existing is None or candidate in existing:
            return candidate
    return None


def build_graph(
    connection: Connection, schemas: Iterable[str], *, downstream: bool = True
) -> nx.MultiDiGraph:
    """The foreign-key graph of ``schemas`` and the schemas their foreign keys reach.

    Node data: ``schema``, ``table``, ``primary_key``, ``attributes``, ``master`` (a Part's
    nearest master, else None). Edge data: ``attr_map`` {child column: parent column},
    ``aliased``, ``primary`` (the key lies in the child's primary key) and ``nullable`` (a child
    column of the key may be NULL).
    """
    catalog = catalog_of(connection)
    found = catalog.closure(schemas, downstream=downstream)
    graph = nx.MultiDiGraph()
    _add_nodes(graph, catalog, found)
    _add_edges(graph, catalog)
    return graph


def _add_nodes(graph: nx.MultiDiGraph, catalog: Catalog, schemas: set[str]) -> None:
    adapter = catalog.connection.adapter
    tables_of: dict[str, set[str]] = {}
    for schema, table in catalog.tables.values():
        tables_of.setdefault(schema, set()).add(table)
    for name, (schema, table) in catalog.tables.items():
        if schema not in schemas:
            continue
        heading = catalog.headings[name]
        master = master_of(table, tables_of[schema])
        graph.add_node(
            name,
            schema=schema,
            table=table,
            primary_key=tuple(heading.primary_key),
            attributes=tuple(heading.names),
            master=adapter.full_name(schema, master) if master else None,
        )


def _add_edges(graph: nx.MultiDiGraph, catalog: Catalog) -> None:
    adapter = catalog.connection.adapter
    for name in list(graph.nodes):
        heading = catalog.headings[name]
        for fk in heading.foreign_keys:
            if fk.parent not in graph:
                schema = adapter.split_full_name(fk.parent)[0]
                raise DataJointError(
                    f"{name} references {fk.parent}, which cannot be loaded: "
                    f"activate schema {schema} (or grant access to it)"
                )
            attr_map = dict(fk.attr_map)
            graph.add_edge(
                fk.parent,
                name,
                attr_map=attr_map,
                aliased=fk.aliased,
                primary=set(attr_map) <= set(heading.primary_key),
                nullable=any(heading[c].nullable for c in attr_map if c in heading),
            )
