"""The catalog of loaded schemas, cached per connection, and the foreign-key graph built from it.

A load reads the catalog of all requested schemas at once (a fixed number of queries, however
many tables), then follows foreign keys to the schemas upstream and downstream of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import networkx as nx

from ..errors import DataJointError
from ..heading import Heading, headings_from_catalog

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
        self.schemas.update(missing)

    def invalidate(self, schema: str) -> None:
        """Forget a schema after its tables changed (declare, drop)."""
        self.schemas.discard(schema)
        for name in [n for n, (s, _) in self.tables.items() if s == schema]:
            del self.headings[name]
            del self.tables[name]

    def heading(self, schema: str, table: str) -> Heading | None:
        self.load([schema])
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


def master_of(table_name: str) -> str | None:
    from ..user_tables import split_part

    split = split_part(table_name)
    return split[0] if split else None


def build_graph(
    connection: Connection, schemas: Iterable[str], *, downstream: bool = True
) -> nx.MultiDiGraph:
    """The foreign-key graph of ``schemas`` and the schemas their foreign keys reach."""
    catalog = catalog_of(connection)
    adapter = connection.adapter
    found = catalog.closure(schemas, downstream=downstream)
    graph = nx.MultiDiGraph()
    for name, (schema, table) in catalog.tables.items():
        if schema not in found:
            continue
        heading = catalog.headings[name]
        master = master_of(table)
        graph.add_node(
            name,
            schema=schema,
            table=table,
            primary_key=tuple(heading.primary_key),
            attributes=tuple(heading.names),
            master=adapter.full_name(schema, master) if master else None,
        )
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
            )
    for _, data in graph.nodes(data=True):
        if data["master"] is not None and data["master"] not in graph:
            data["master"] = None  # a name with "__" whose "master" does not exist
    return graph
