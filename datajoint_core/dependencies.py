"""``connection.dependencies``: the reference's foreign-key graph object on a connection.

A thin view over :func:`datajoint_core.graph.dependencies.build_graph` (itself made from the
connection's catalog): a networkx ``MultiDiGraph`` of full table names with one edge per foreign
key, keyed by the child's foreign-key columns as the reference keys them, loaded on demand for
the schemas activated on the connection.

>>> deps = schema.connection.dependencies            # doctest: +SKIP
>>> deps.load()                                       # doctest: +SKIP
>>> deps.parents("`lab`.`session`")                   # doctest: +SKIP
[('`lab`.`subject`', {'attr_map': {'subject_id': 'subject_id'}, 'primary': True, ...})]
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

import networkx as nx

from .graph.dependencies import build_graph
from .graph.propagate import topological_order

if TYPE_CHECKING:
    from .catalog import Catalog


class _Connection(Protocol):
    """What the graph object needs of its connection (``connection.py`` sits below this)."""

    schemas: Any

    @property
    def catalog(self) -> Catalog: ...


class Dependencies(nx.MultiDiGraph):
    """The foreign keys among the loaded tables (``connection.dependencies``).

    Edge data: ``attr_map`` {child column: parent column}, ``primary`` (the key lies in the
    child's primary key), ``aliased`` (a column is renamed), ``multi`` (the key is not the whole
    of the child's primary key) and ``nullable``. It may be built empty (networkx algorithms
    construct graphs of the same class without arguments).
    """

    def __init__(self, connection: _Connection | None = None, **attr: Any) -> None:
        super().__init__(**attr)
        self._conn = connection
        self._loaded = False
        self._loaded_schemas: set[str] = set()

    def clear(self) -> None:
        """Forget the graph; the next use loads it again."""
        self._loaded = False
        self._loaded_schemas = set()
        super().clear()

    def load(self, force: bool = True, schema_names: Iterable[str] | None = None) -> None:
        """Read the foreign keys of ``schema_names`` (default: the schemas activated on the
        connection) and of the schemas upstream of them; ``force=False`` keeps a loaded graph."""
        if self._loaded and not force:
            return
        conn = self._conn
        assert conn is not None, "a Dependencies made without a connection cannot load"
        names = set(conn.schemas if schema_names is None else schema_names)
        if force:  # read the catalog again: another session may have changed it
            for name in names:
                conn.catalog.invalidate(name)
        graph = build_graph(conn, sorted(names), downstream=False) if names else nx.MultiDiGraph()
        self._fill(graph)
        self._loaded_schemas = names
        self._loaded = True

    def _fill(self, graph: nx.MultiDiGraph) -> None:
        super().clear()
        self.add_nodes_from(graph.nodes(data=True))
        for parent, child, data in graph.edges(data=True):
            primary_key = set(graph.nodes[child]["primary_key"])
            props = {**data, "multi": set(data["attr_map"]) != primary_key}
            self.add_edge(parent, child, key=tuple(data["attr_map"]), **props)

    def _load_closure(self, *, downstream: bool) -> None:
        conn = self._conn
        assert conn is not None, "a Dependencies made without a connection cannot load"
        known = set(conn.schemas)
        if not known:
            self.load()
            return
        found = conn.catalog.closure(known, downstream=downstream)
        if self._loaded and found <= self._loaded_schemas:
            return
        self.load(force=True, schema_names=found)

    def load_all_downstream(self) -> None:
        """Load the activated schemas and every schema whose foreign keys reach them."""
        self._load_closure(downstream=True)

    def load_all_upstream(self) -> None:
        """Load the activated schemas and every schema they reference."""
        self._load_closure(downstream=False)

    # -- questions -------------------------------------------------------------------------
    def topo_sort(self) -> list[str]:
        """The tables parents first, each Part right after its master."""
        return topological_order(self)

    def parents(self, table_name: str, primary: bool | None = None) -> list[tuple[str, dict]]:
        """One ``(parent, edge data)`` per foreign key of ``table_name``; ``primary`` keeps the
        keys inside (True) or outside (False) its primary key."""
        self.load(force=False)
        return [
            (parent, props)
            for parent, _, props in self.in_edges(table_name, data=True)
            if primary is None or props["primary"] == primary
        ]

    def children(self, table_name: str, primary: bool | None = None) -> list[tuple[str, dict]]:
        """One ``(child, edge data)`` per foreign key referencing ``table_name``."""
        self.load(force=False)
        return [
            (child, props)
            for _, child, props in self.out_edges(table_name, data=True)
            if primary is None or props["primary"] == primary
        ]

    def descendants(self, full_table_name: str) -> list[str]:
        """The table, then every table depending on it, in topological order."""
        self.load(force=False)
        below = nx.descendants(self, full_table_name)
        return [full_table_name, *topological_order(self, below)]

    def ancestors(self, full_table_name: str) -> list[str]:
        """Every table the table depends on, then the table, in reverse topological order."""
        self.load(force=False)
        above = nx.ancestors(self, full_table_name)
        return list(reversed([*topological_order(self, above), full_table_name]))
