"""The foreign-key graph of some schemas, built from their connection's catalog
(:class:`datajoint_core.catalog.Catalog`), which follows foreign keys to the schemas upstream and
downstream of them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

from ..errors import DataJointError
from ..naming import class_name, master_of, to_camel

if TYPE_CHECKING:
    import networkx as nx

    from ..catalog import Catalog


class HasCatalog(Protocol):
    """What the graph needs of a connection: its catalog."""

    @property
    def catalog(self) -> Catalog: ...


def build_graph(
    connection: HasCatalog, schemas: Iterable[str], *, downstream: bool = True
) -> nx.MultiDiGraph:
    """The foreign-key graph of ``schemas`` and the schemas their foreign keys reach.

    Node data: ``schema``, ``table``, ``primary_key``, ``attributes``, ``master`` (a Part's
    nearest master, else None). Edge data: ``attr_map`` {child column: parent column},
    ``aliased``, ``primary`` (the key lies in the child's primary key), ``multi`` (the child's
    primary key is not exactly the key's columns: one parent row, many child rows) and
    ``nullable`` (a child column of the key may be NULL).
    """
    import networkx as nx  # on first use: `import datajoint_core` stays light

    catalog = connection.catalog
    found = catalog.closure(schemas, downstream=downstream)
    graph = nx.MultiDiGraph()
    _add_nodes(graph, catalog, found)
    _add_edges(graph, catalog)
    return graph


def _add_nodes(graph: nx.MultiDiGraph, catalog: Catalog, schemas: set[str]) -> None:
    adapter = catalog.adapter
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
    adapter = catalog.adapter
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
                multi=set(attr_map) != set(heading.primary_key),
                nullable=any(heading[c].nullable for c in attr_map if c in heading),
            )


def display_name(graph: nx.MultiDiGraph, node: str) -> str:
    """``schema.Class`` of a node, Parts under their masters: ``lab.Trial.Event``."""
    data = graph.nodes[node]
    master = data.get("master")
    if master is None or master not in graph:
        return f"{data['schema']}.{class_name(data['table'], ())}"
    own = data["table"][len(graph.nodes[master]["table"]) + 2 :]
    return f"{display_name(graph, master)}.{to_camel(own)}"
