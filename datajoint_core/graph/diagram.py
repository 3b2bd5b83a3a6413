"""``dj.Diagram``: the dependency graph that renders a pipeline and drives restrict / prune /
preview / cascade, delete and drop.

>>> export = (dj.Diagram(schema)                                    # doctest: +SKIP
...           .restrict(Subject & {"species": "mouse"})
...           .restrict(Session & "session_date > '2024-01-01'")
...           .prune())
>>> export.preview()                                                 # doctest: +SKIP
"""

from __future__ import annotations

import copy
import io
import types
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import networkx as nx

from ..condition import Fragment, Raw
from ..errors import DataJointError
from ..expression import QueryExpression, as_expression
from ..naming import tier_of
from . import render
from .dependencies import build_graph, display_name
from .propagate import (
    Mode,
    PartIntegrity,
    Propagation,
    Seed,
    propagate,
    topological_order,
    upward_attr_map,
)
from .sql import RestrictionSQL, SubsetSQL, literal_keys
from .subset import Upstream, plan_subset

if TYPE_CHECKING:
    from ..connection import Connection

_MAX_UPWARD_ROUNDS = 32


class _HybridMethod:
    """A method usable on the class (``Diagram.cascade(expr)``) and on an instance."""

    def __init__(self, func: Any) -> None:
        self.func = func

    def __get__(self, obj: Any, owner: type) -> Any:
        if obj is None:
            make = owner._for  # type: ignore[attr-defined]
            return lambda expr, *args, **kwargs: self.func(make(expr), expr, *args, **kwargs)
        return types.MethodType(self.func, obj)


def part_integrity_of(
    value: str, choices: Iterable[PartIntegrity] = tuple(PartIntegrity)
) -> PartIntegrity:
    """The PartIntegrity named ``value``; a ValueError naming the choices otherwise (a typo must
    not fall back to another policy)."""
    allowed = [repr(p.value) for p in choices]
    if value not in [p.value for p in choices]:
        names = " or ".join(allowed) if len(allowed) == 2 else ", ".join(allowed[:-1])
        if len(allowed) > 2:
            names += f", or {allowed[-1]}"
        raise ValueError(f"part_integrity must be {names}, got {value!r}")
    return PartIntegrity(value)


def tier_class_name(table_name: str) -> str:
    """``'Manual'``, ``'Lookup'``, ``'Imported'`` or ``'Computed'``: the tier class's name."""
    return tier_of(table_name)[0].name.capitalize()


def _is_table(value: Any) -> bool:
    """A base table (class or instance, restricted or not), not another query expression."""
    expr = as_expression(value)
    return expr is not None and hasattr(expr, "full_table_name")


def _is_schema(value: Any) -> bool:
    """A Schema: it names a database on a connection and is not a table."""
    return (
        not isinstance(value, (type, types.ModuleType))
        and as_expression(value) is None
        and isinstance(getattr(value, "database", None), str)
        and getattr(value, "connection", None) is not None
    )


def _schemas_of(source: Any) -> tuple[Connection, list[str], set[str] | None]:
    """(connection, schemas to load, tables to show or None for all) of a Diagram source:
    a Schema, a module (its ``schema`` or its declared tables), a table, or a list of them."""
    if _is_schema(source):
        return source.connection, [source.database], None
    if isinstance(source, types.ModuleType):
        schema = getattr(source, "schema", None)
        if _is_schema(schema):
            return _schemas_of(schema)
        tables = [v for v in vars(source).values() if isinstance(v, type) and _bound_table(v)]
        if not tables:
            raise DataJointError(f"module {source.__name__} holds no declared tables")
        return _schemas_of(tables)
    if isinstance(source, (list, tuple, set)):
        found = [_schemas_of(s) for s in source]
        if not found:
            raise DataJointError("a Diagram needs at least one schema or table")
        conn = found[0][0]
        schemas = sorted({s for _, ss, _ in found for s in ss})
        shown: set[str] | None = set()
        for _, _, shown_here in found:
            shown = None if shown_here is None or shown is None else shown | shown_here
        return conn, schemas, shown
    if _is_table(source):
        table: Any = as_expression(source)
        return table.connection, [table.database], {table.full_table_name}
    raise DataJointError(f"cannot make a Diagram of {source!r}")


def _bound_table(cls: type) -> bool:
    """A table class declared on a schema (usable without arguments)."""
    bound = getattr(cls, "_bound", None)
    return issubclass(cls, QueryExpression) and callable(bound) and bool(bound())


class Diagram:
    """The dependency graph of some schemas, and a view of some of its tables."""

    def __init__(self, source: Any, context: Any = None) -> None:
        if isinstance(source, Diagram):
            self.__dict__.update(copy.copy(source.__dict__))
            return
        conn, schemas, shown = _schemas_of(source)
        self.connection = conn
        self.graph: nx.MultiDiGraph = build_graph(conn, schemas)
        self.schemas = schemas
        if shown is None:
            shown = {n for n, s in self.graph.nodes(data="schema") if s in schemas}
        self.nodes_to_show: set[str] = set(shown)
        # the tables drawn one by one; the other shown tables are drawn as one node per schema
        self._expanded: set[str] = set(shown)
        self._mode: Mode | None = None
        self._part_integrity = PartIntegrity.ENFORCE
        self._seeds: dict[str, list[Seed]] = {}
        self._fragments: dict[int, Fragment] = {}
        self._labels: dict[int, str] = {}  # seed id -> what the caller called it
        self._counts: dict[str, int] | None = None

    @classmethod
    def _for(cls, expr: Any) -> Diagram:
        """A diagram of the schema of ``expr`` and everything downstream of it."""
        return cls(_seed_table(expr))

    def _copy(self) -> Diagram:
        clone = copy.copy(self)
        clone.nodes_to_show = set(self.nodes_to_show)
        clone._expanded = set(self._expanded)
        clone._seeds = {k: list(v) for k, v in self._seeds.items()}
        clone._fragments = dict(self._fragments)
        clone._labels = dict(self._labels)
        clone._counts = None
        return clone

    # -- the view ------------------------------------------------------------------------
    def __add__(self, other: Any) -> Diagram:
        """The union with another diagram or table (a table expanded in either stays expanded),
        or, with an int, this diagram grown that many levels downstream (all expanded)."""
        clone = self._copy()
        if isinstance(other, int):
            for _ in range(other):
                clone.nodes_to_show |= {
                    c for n in clone.nodes_to_show for c in self.graph.successors(n)
                }
            clone._expanded |= clone.nodes_to_show
        else:
            other_diagram = self._other(other)
            clone.graph = nx.compose(self.graph, other_diagram.graph)
            clone.schemas = sorted(set(self.schemas) | set(other_diagram.schemas))
            clone.nodes_to_show |= other_diagram.nodes_to_show
            clone._expanded |= other_diagram._expanded
        return clone

    def __sub__(self, other: Any) -> Diagram:
        clone = self._copy()
        if isinstance(other, int):
            for _ in range(other):
                clone.nodes_to_show |= {
                    p for n in clone.nodes_to_show for p in self.graph.predecessors(n)
                }
        else:
            clone.nodes_to_show -= self._other(other).nodes_to_show
        return clone

    def __mul__(self, other: Any) -> Diagram:
        clone = self._copy()
        clone.nodes_to_show &= self._other(other).nodes_to_show
        return clone

    @classmethod
    def from_sequence(cls, sequence: Iterable[Any]) -> Diagram:
        """``Diagram(a) + Diagram(b) + ...`` of tables, classes or schemas."""
        diagrams = [cls(source) for source in sequence]
        if not diagrams:
            raise DataJointError("from_sequence() needs at least one source")
        combined = diagrams[0]
        for other in diagrams[1:]:
            combined = combined + other
        return combined

    def add_parts(self) -> Diagram:
        """This diagram with the Part tables of every master it shows."""
        clone = self._copy()
        masters = set(self.nodes_to_show)
        while True:
            parts = {n for n, m in self.graph.nodes(data="master") if m in masters} - masters
            if not parts:
                break
            masters |= parts
        clone.nodes_to_show = masters
        return clone

    def collapse(self) -> Diagram:
        """This diagram drawn with each schema's tables as one node (``+`` with an expanded
        diagram or a table draws those tables one by one again):
        ``dj.Diagram(lab) + dj.Diagram(analysis).collapse()``."""
        clone = self._copy()
        clone._expanded = set()
        return clone

    def _other(self, other: Any) -> Diagram:
        other_diagram = other if isinstance(other, Diagram) else Diagram(other)
        if other_diagram.connection is not self.connection:
            raise DataJointError("diagrams from two different connections cannot be combined")
        return other_diagram

    def __iter__(self) -> Iterator[Any]:
        """The tables shown, parents first, each restricted to the rows the diagram selects (as
        the reference iterates: ``for table in diagram.cascade(...): len(table)``)."""
        return (self.restricted_table(n) for n in self.topological_order())

    def __reversed__(self) -> Iterator[Any]:
        """As :meth:`__iter__`, leaves first."""
        return (self.restricted_table(n) for n in reversed(self.topological_order()))

    def restricted_table(self, node: str) -> Any:
        """A ``FreeTable`` of ``node`` restricted to the rows this diagram selects (the whole
        table where the diagram puts no restriction on it)."""
        from ..table import FreeTable

        table = FreeTable(self.connection, node)
        if self._mode is None or node not in self.propagation().restrictions:
            return table
        return table & self.key_set(node)

    def key_set(self, node: str) -> Raw:
        """A restriction selecting the rows of ``node`` this diagram selects, by primary key:
        ``(key) IN (SELECT key FROM (<the diagram's query>))``. Valid on ``node`` and on any
        query with its primary-key columns."""
        key = list(self.graph.nodes[node]["primary_key"])
        select = self.sql().select(node, key)
        q = self.connection.adapter.quote
        cols = ", ".join(q(c) for c in key)
        target = cols if len(key) == 1 else f"({cols})"
        fragment = Fragment(
            f"{target} IN (SELECT {cols} FROM ({select.sql}) AS _keys)", select.params
        )
        return Raw(fragment, frozenset(key))

    def __getitem__(self, key: Any) -> Any:
        """A table of this diagram restricted to the rows it selects: ``trace[Session]`` (a
        table class: an instance of it) or ``trace["lab.Session"]`` / a full or class name (a
        ``FreeTable``)."""
        if isinstance(key, str):
            node = self._node_named(key)
            return self.restricted_table(node)
        table = as_expression(key)
        if not _is_table(table):
            raise DataJointError(
                f"diagram[...] takes a table class, table or name, not {type(key).__name__}"
            )
        assert table is not None
        node = table.full_table_name  # type: ignore[attr-defined]
        self._check_shown(node)
        if self._mode is None or node not in self.propagation().restrictions:
            return table
        return table & self.key_set(node)

    def _node_named(self, name: str) -> str:
        if name in self.graph:
            self._check_shown(name)
            return name
        wanted = name.lower()
        found = [
            n
            for n in self.nodes_to_show
            if display_name(self.graph, n).lower()
            in (wanted, f"{self.graph.nodes[n]['schema']}.{wanted}".lower())
            or n.lower().rstrip('`"').endswith(wanted)
        ]
        if not found:
            raise DataJointError(f"Table {name!r} is not in this diagram")
        if len(found) > 1:
            raise DataJointError(
                f"Ambiguous table reference {name!r}: matches {', '.join(sorted(found))}. "
                "Use a fully-qualified name."
            )
        return found[0]

    def _check_shown(self, node: str) -> None:
        if node not in self.nodes_to_show:
            what = (
                "trace's subgraph (not an ancestor of the seed)"
                if self._mode is Mode.TRACE
                else "diagram"
            )
            raise DataJointError(f"Table {node} is not in this {what}.")

    def __len__(self) -> int:
        return len(self.nodes_to_show)

    def topological_order(self) -> list[str]:
        return topological_order(self.graph, self.nodes_to_show)

    # -- restrictions --------------------------------------------------------------------
    def _add_seed(self, expr: Any, label: str | None = None) -> str:
        table = _seed_table(expr)
        if table.connection is not self.connection:
            raise DataJointError(
                "the restriction comes from a different connection than the diagram"
            )
        node: str = table.full_table_name
        if node not in self.graph:
            raise DataJointError(f"{node} is not in this diagram")
        seed_id = len(self._fragments)
        self._fragments[seed_id] = _seed_fragment(table)
        self._seeds.setdefault(node, []).append(Seed(seed_id, table.restriction_attributes))
        if label is not None:
            self._labels[seed_id] = label
        return node

    def restrict(self, expr: Any, label: str | None = None) -> Diagram:
        """Keep the rows of ``expr``'s table that match, and downstream only the rows that
        reference kept rows (AND across restrictions). Chains from different seeds.

        A row whose foreign key to a restricted parent is NULL references no kept row, so it is
        left out (as the reference does: sessions restricted through ``Experimenter & ...`` are
        those experimenters' sessions).
        """
        if self._mode in (Mode.CASCADE, Mode.TRACE):
            raise DataJointError(
                f"Cannot apply restrict() on a Diagram produced by Diagram.{self._mode.value}(). "
                f"{self._mode.value} and restrict are mutually exclusive modes."
            )
        clone = self._copy()
        clone._mode = Mode.RESTRICT
        clone._add_seed(expr, label)
        return clone

    @_HybridMethod
    def cascade(self, expr: Any, part_integrity: str = "enforce") -> Diagram:
        """Prepare a delete: ``expr``'s rows and every row that depends on them (OR across paths).
        Ancestors and unrelated tables leave the diagram."""
        integrity = part_integrity_of(part_integrity)
        if self._mode is Mode.CASCADE:
            raise DataJointError("cascade() can be called only once on a diagram")
        if self._mode is not None:
            raise DataJointError(f"cascade() cannot follow {self._mode.value}(): use a new Diagram")
        clone = self._copy()
        clone._mode = Mode.CASCADE
        clone._part_integrity = integrity
        clone._add_seed(expr)
        clone._settle_upward()
        clone.nodes_to_show = set(clone.propagation().nodes)
        clone._expanded = set(clone.nodes_to_show)
        return clone

    @_HybridMethod
    def trace(self, expr: Any) -> Diagram:
        """The rows of ``expr``'s ancestors that its rows reference, through every foreign-key
        path (OR across paths): the upstream mirror of :meth:`cascade`. Only the seed and its
        ancestors stay; ``trace[Session]`` is Session restricted to those rows, ``counts()``
        their numbers.

        >>> trace = dj.Diagram.trace(Trial & {"trial_id": 3})      # doctest: +SKIP
        >>> trace[Session].fetch1("session_date")                   # doctest: +SKIP
        """
        if self._mode is not None:
            raise DataJointError(f"trace() cannot follow {self._mode.value}(): use a new Diagram")
        clone = self._copy()
        clone._mode = Mode.TRACE
        clone._add_seed(expr)
        clone.nodes_to_show = set(clone.propagation().nodes)
        clone._expanded = set(clone.nodes_to_show)
        return clone

    def _settle_upward(self) -> None:
        """part_integrity="cascade": restrict masters to the masters of reached part rows."""
        if self._part_integrity is not PartIntegrity.CASCADE:
            return
        added: dict[tuple[str, str], int] = {}
        seen: dict[tuple[str, str], frozenset[tuple[Any, ...]]] = {}
        for _ in range(_MAX_UPWARD_ROUNDS):
            prop = self.propagation()
            sql = self.sql(prop)
            changed = False
            for part, master in prop.upward:
                pairs = upward_attr_map(self.graph, part, master)
                select = sql.select(part, [c for c, _ in pairs], distinct=True)
                keys = frozenset(
                    tuple(r) for r in self.connection.fetchall(select.sql, select.params)
                )
                if seen.get((part, master)) == keys:
                    continue
                seen[(part, master)] = keys
                changed = True
                fragment = literal_keys(
                    self.connection.adapter, [m for _, m in pairs], sorted(keys, key=repr)
                )
                if (part, master) in added:
                    self._fragments[added[(part, master)]] = fragment
                else:
                    seed_id = len(self._fragments)
                    added[(part, master)] = seed_id
                    self._fragments[seed_id] = fragment
                    self._seeds.setdefault(master, []).append(
                        Seed(seed_id, frozenset(m for _, m in pairs))
                    )
            if not changed:
                return
        raise DataJointError("part_integrity='cascade' did not settle")

    def propagation(self) -> Propagation:
        if self._mode is None:
            raise DataJointError("No restrictions applied: call restrict() or cascade() first")
        return propagate(self.graph, self._seeds, self._mode, self._part_integrity)

    def sql(self, propagation: Propagation | None = None) -> RestrictionSQL:
        prop = propagation or self.propagation()
        owners = {s.id: (node, s.attributes) for node, seeds in self._seeds.items() for s in seeds}
        return RestrictionSQL(self.connection.adapter, self.graph, prop, self._fragments, owners)

    @property
    def mode(self) -> Mode | None:
        return self._mode

    @property
    def part_integrity(self) -> PartIntegrity:
        return self._part_integrity

    def subset(
        self,
        *,
        upstream: Upstream | str = Upstream.ALL,
        keep: Callable[[str], bool] | None = None,
    ) -> SubsetSQL:
        """The subset of the shown tables that this diagram's restrictions select (restrict
        mode, or none): each table's status and reasons (the ``label`` of each restriction),
        its rows, count and key set as SQL. ``upstream="referenced"`` trims the ancestors of
        restricted tables to the rows the subset references; ``keep(node)`` leaves tables out
        (with their descendants, so that the subset stays referentially complete).

        >>> subset = diagram.subset(upstream="referenced")      # doctest: +SKIP
        >>> [(t.node, t.status.value) for t in subset.plan.tables]  # doctest: +SKIP
        """
        if self._mode not in (None, Mode.RESTRICT):
            raise DataJointError(f"subset() needs a restrict() diagram, not a {self._mode}")
        prop = self.propagation() if self._mode is not None else None
        plan = plan_subset(
            self.graph,
            prop,
            self.nodes_to_show,
            upstream=Upstream(upstream),
            keep=keep,
            seed_labels=self._labels,
        )
        sql = self.sql(plan.propagation) if plan.propagation is not None else None
        return SubsetSQL(plan, self.connection.adapter, self.graph, sql)

    def showing(self, nodes: Iterable[str]) -> Diagram:
        """This diagram, showing only ``nodes`` (e.g. to draw a subset)."""
        clone = self._copy()
        clone.nodes_to_show = set(nodes)
        clone._expanded |= clone.nodes_to_show - self.nodes_to_show
        clone._counts = None
        return clone

    def restricted_tables(self) -> list[str]:
        """The restricted tables shown, in topological order."""
        prop = self.propagation()
        return [
            n for n in topological_order(self.graph, self.nodes_to_show) if n in prop.restrictions
        ]

    def preview(self) -> dict[str, int]:
        """``{full_table_name: row_count}`` of the restricted tables shown (one COUNT each)."""
        if self._counts is None:
            sql = self.sql()
            counts = {}
            for node in self.restricted_tables():
                fragment = sql.count(node)
                counts[node] = int(self.connection.fetchall(fragment.sql, fragment.params)[0][0])
            self._counts = counts
        return dict(self._counts)

    counts = preview

    def prune(self) -> Diagram:
        """Remove the restricted tables with no matching rows (without restrictions: the empty
        tables). Removed tables stay in the graph, so a later restrict() flows through them."""
        if self._mode in (Mode.CASCADE, Mode.TRACE):
            raise DataJointError(
                f"prune() cannot be used on a Diagram produced by Diagram.{self._mode.value}(). "
                "Cascade diagrams must retain all descendant tables for safe deletion."
            )
        clone = self._copy()
        if self._mode is None:
            sql_of = {n: Fragment(f"SELECT count(*) FROM {n}") for n in clone.nodes_to_show}
            empty = {n for n, f in sql_of.items() if not int(self.connection.fetchall(f.sql)[0][0])}
        else:
            counts = clone.preview()
            empty = {n for n, c in counts.items() if c == 0}
            clone._counts = {n: c for n, c in counts.items() if c}
        clone.nodes_to_show -= empty
        return clone

    # -- rendering -----------------------------------------------------------------------
    def picture(self) -> render.Picture:
        """What the renderers draw: the tables shown (by class name, each schema's collapsed
        tables as one node), their foreign keys, tiers, clusters and, when restricted, row
        counts."""
        graph = self.graph
        order = self.topological_order()
        counts = self.preview() if self._mode is not None else None
        ids = self._node_ids(order)
        collapsed: dict[str, list[str]] = {}
        for node in order:
            if node not in self._expanded:
                collapsed.setdefault(graph.nodes[node]["schema"], []).append(node)
        group_id = {schema: f"{schema}.tables" for schema in collapsed}
        target = {
            node: group_id[graph.nodes[node]["schema"]] if node not in self._expanded else ids[node]
            for node in order
        }
        nodes: list[render.Node] = []
        placed: set[str] = set()
        for node in order:
            data = graph.nodes[node]
            if node not in self._expanded:
                schema = data["schema"]
                if target[node] not in placed:
                    nodes.append(
                        render.Node(
                            target[node],
                            target[node],
                            render.COLLAPSED,
                            schema,
                            tables=len(collapsed[schema]),
                        )
                    )
                    placed.add(target[node])
                continue
            master = data.get("master")
            shown_master = master if master in self._expanded and master in target else None
            label = ids[node].rsplit(".", 1)[-1] if shown_master else ids[node]
            from_parents = {
                column
                for _, _, edge in graph.in_edges(node, data=True)
                if edge.get("primary")
                for column in edge["attr_map"]
            }
            nodes.append(
                render.Node(
                    ids[node],
                    label,
                    "Part" if master else tier_class_name(data["table"]),
                    data["schema"],
                    master=ids[shown_master] if shown_master else None,
                    count=counts.get(node) if counts is not None else None,
                    introduces_dimension=from_parents < set(data["primary_key"]),
                )
            )
        edges: list[render.Edge] = []
        joined: set[tuple[str, str]] = set()
        for parent, child, data in graph.edges(data=True):
            if parent not in target or child not in target:
                continue
            source, dest = target[parent], target[child]
            if source == dest:
                continue
            group_end = parent not in self._expanded or child not in self._expanded
            if group_end:  # one edge per pair where an end stands for several tables
                if (source, dest) in joined:
                    continue
                joined.add((source, dest))
            bundle = parent not in self._expanded and child not in self._expanded
            renames = "; ".join(f"{c} \u2190 {p}" for c, p in data["attr_map"].items() if c != p)
            edges.append(
                render.Edge(
                    source,
                    dest,
                    bool(data.get("primary")),
                    multi=bool(data.get("multi", True)),
                    aliased=bool(data.get("aliased")),
                    bundle=bundle,
                    renames="" if bundle else renames,
                )
            )
        clusters = tuple((schema, schema) for schema in dict.fromkeys(n.schema for n in nodes))
        direction = self.connection.config["display.diagram_direction"]
        return render.Picture(tuple(nodes), tuple(edges), direction, clusters)

    def _node_ids(self, order: list[str]) -> dict[str, str]:
        """Each table's class name (``Session.Note``), under its schema where two schemas
        shown have a class of the same name."""
        graph = self.graph
        bare = {n: display_name(graph, n).split(".", 1)[1] for n in order}
        seen: dict[str, int] = {}
        for name in bare.values():
            seen[name] = seen.get(name, 0) + 1
        return {
            n: name if seen[name] == 1 else f"{graph.nodes[n]['schema']}.{name}"
            for n, name in bare.items()
        }

    def _theme(self, theme: str | None) -> str:
        return theme or str(self.connection.config["display.diagram_theme"])

    def make_mermaid(self) -> str:
        """Mermaid flowchart text (as the reference draws it; restricted tables with counts)."""
        return render.mermaid(self.picture())

    def make_dot(self, theme: str | None = None) -> Any:
        """The drawing as a ``pydot.Dot`` graph (needs pydot, as in the reference);
        ``theme``: ``light`` or ``dark`` (default: ``display.diagram_theme``)."""
        try:
            return render.pydot_graph(self.picture(), self._theme(theme))
        except ImportError:
            raise DataJointError(
                "make_dot needs the pydot package: pip install pydot "
                "(or use make_mermaid / svg_string)"
            ) from None

    def svg_string(self) -> str:
        """The drawing as SVG text (Graphviz); theme ``auto`` adapts to a dark viewer."""
        return render.svg(self.picture(), self._theme(None))

    def make_svg(self) -> render.SVG:
        """The SVG drawing, displayed as an image by notebooks (its ``.data`` is the text)."""
        return render.SVG(self.svg_string())

    def make_png(self) -> io.BytesIO:
        """The drawing as PNG bytes (Graphviz)."""
        return io.BytesIO(render.png(self.picture(), self._theme(None)))

    def make_image(self) -> Any:
        """The PNG drawing as an image array (needs matplotlib, as in the reference)."""
        try:
            from matplotlib import pyplot as plt
        except ImportError:
            raise DataJointError("make_image needs matplotlib: pip install matplotlib") from None
        return plt.imread(self.make_png())

    def draw(self) -> None:
        """Show the drawing with matplotlib."""
        image = self.make_image()
        from matplotlib import pyplot as plt

        plt.imshow(image)
        plt.gca().axis("off")
        plt.show()

    def save(self, filename: str, format: str | None = None) -> None:
        """Write the drawing to ``filename``: ``png``, ``svg``, ``dot`` or ``mermaid`` (by the
        extension, ``.png`` / ``.svg`` / ``.dot`` / ``.mmd`` / ``.mermaid``, unless ``format``
        says)."""
        if format is None:
            lower = filename.lower()
            suffixes = {
                ".png": "png",
                ".svg": "svg",
                ".dot": "dot",
                ".mmd": "mermaid",
                ".mermaid": "mermaid",
            }
            format = next((f for s, f in suffixes.items() if lower.endswith(s)), None)
        if format is None:
            raise DataJointError("Could not infer format from filename. Specify format explicitly.")
        kind = format.lower()
        if kind == "png":
            with open(filename, "wb") as binary:
                binary.write(self.make_png().getvalue())
            return
        render_as = {
            "svg": self.svg_string,
            "dot": lambda: render.dot(self.picture(), self._theme(None)),
            "mermaid": self.make_mermaid,
        }
        if kind not in render_as:
            raise DataJointError(f"Unsupported file format {format!r}: png, svg, dot or mermaid")
        with open(filename, "w", encoding="utf-8") as stream:
            stream.write(render_as[kind]())

    def _repr_svg_(self) -> str | None:
        return render.svg_or_none(self.picture(), self._theme(None))

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        picture = self.picture()
        bundle = {"text/plain": repr(self), "text/vnd.mermaid": render.mermaid(picture)}
        svg_text = render.svg_or_none(picture, self._theme(None))
        if svg_text:
            bundle["image/svg+xml"] = svg_text
        return bundle

    def __repr__(self) -> str:
        mode = f", {self._mode.value}" if self._mode else ""
        return f"<Diagram of {len(self.nodes_to_show)} tables{mode}>"


def _seed_table(expr: Any) -> Any:
    """The Table (class or restricted instance) a restriction seed is made of."""
    table = as_expression(expr)
    if not _is_table(table):
        kind = "a query expression" if isinstance(table, QueryExpression) else repr(expr)
        raise DataJointError(
            f"a diagram restriction must be a (restricted) table, not {kind}; "
            "restrict the table itself, e.g. Session & {'subject_id': 1}"
        )
    return table


def _seed_fragment(table: Any) -> Fragment:
    """The condition a restricted table puts on its own columns."""
    if table._top is not None:
        q = table.adapter.quote
        key = table.primary_key
        inner = table.make_sql(key)
        cols = ", ".join(q(k) for k in key)
        target = cols if len(key) == 1 else f"({cols})"
        return Fragment(f"{target} IN (SELECT {cols} FROM ({inner.sql}) AS _top)", inner.params)
    where = table.where_fragment()
    return where if where is not None else Fragment("1 = 1")
