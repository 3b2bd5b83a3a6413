"""Restriction propagation over the dependency graph: pure, no database, no SQL.

The graph is a ``networkx.MultiDiGraph`` of full table names with one edge parent -> child per
foreign key (edge data ``attr_map`` {child column: parent column}, ``aliased``, ``primary``) and
node data ``primary_key``, ``attributes`` and ``master``. :func:`propagate` turns the seeds (the
caller's restriction conditions, by table) into one :class:`NodeRestriction` per reached table:
downstream (RESTRICT, CASCADE) or upstream (TRACE). Each restriction only names its own seeds and
its *direct* neighbours, so the result stays linear in the size of the graph; ``graph/sql.py``
turns terms into SQL.

Example::

    result = propagate(graph, {"`lab`.`session`": [Seed(0, frozenset({"subject_id"}))]},
                       Mode.CASCADE)
    result.restrictions["`lab`.`trial`"].terms  # (Term(Rule.COPY, source="`lab`.`session`"),)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from itertools import pairwise
from typing import Any

import networkx as nx

from datajoint_core.errors import DataJointError

Pairs = tuple[tuple[str, str], ...]
Attrs = frozenset[str] | None


class Mode(Enum):
    """Where restrictions flow and how they converge: downstream with AND for subsets
    (restrict), downstream with OR for deletes (cascade), upstream with OR for the ancestors'
    rows that the seed's rows reference (trace)."""

    RESTRICT = "restrict"
    CASCADE = "cascade"
    TRACE = "trace"

    @property
    def operator(self) -> str:
        """How a node's terms combine."""
        return "AND" if self is Mode.RESTRICT else "OR"


class PartIntegrity(Enum):
    """What a cascade does about Part rows reached without their master."""

    ENFORCE = "enforce"
    IGNORE = "ignore"
    CASCADE = "cascade"


class Rule(Enum):
    """Why a term restricts a node (semantics.md §4)."""

    SEED = "seed"
    COPY = "copy"
    RENAMED = "renamed"
    PROJECT = "project"


@dataclass(frozen=True)
class Seed:
    """One restriction condition the caller placed on a table.

    ``attributes`` are the columns the condition mentions; ``None`` (unknown) and the empty set
    (e.g. ``dj.Top``) are never copied to children.
    """

    id: int
    attributes: frozenset[str] | None


@dataclass(frozen=True)
class Term:
    """One reason a node is restricted, read off one neighbour (the ``source``).

    SEED: the caller's condition ``seed``. COPY: the ``source``'s whole restriction applies as is
    (same column names). RENAMED / PROJECT: ``(node cols) IN (SELECT source cols FROM source as
    restricted)`` with ``attr_map`` as (node column, source column) pairs: downstream the node is
    the child and the source its parent; upstream (TRACE) the other way round. A row whose
    foreign-key columns are NULL matches no row of the source (``IN`` is never true for NULL), so
    a restricted parent excludes it and a cascade never reaches it (semantics.md §4).
    """

    rule: Rule
    seed: int | None = None
    source: str | None = None
    attr_map: Pairs = ()


@dataclass(frozen=True)
class NodeRestriction:
    """The terms restricting one node, never empty: combined with the mode's operator (AND in
    RESTRICT mode, OR otherwise), or with OR when ``any_of`` (a subset's referenced ancestors).
    """

    terms: tuple[Term, ...]
    attributes: frozenset[str] | None
    any_of: bool = False


@dataclass(frozen=True)
class Propagation:
    """The outcome of :func:`propagate`.

    ``restrictions`` holds the restricted nodes with each node after the sources its terms read
    (topological order; reversed in TRACE mode). ``nodes`` is the diagram kept: every node in
    RESTRICT mode, the restricted ones in CASCADE mode (seeds and their descendants) and TRACE
    mode (seeds and their ancestors). ``upward`` (CASCADE with PartIntegrity.CASCADE only) lists
    the (part, master) pairs of :func:`uncovered_parts`: the caller materialises the master keys
    of the reached part rows (see :func:`upward_attr_map`), adds them as a Seed on the master
    and calls :func:`propagate` again, until the materialised key sets stop changing.
    """

    mode: Mode
    restrictions: dict[str, NodeRestriction]
    nodes: tuple[str, ...]
    upward: tuple[tuple[str, str], ...] = ()


# ---------------------------------------------------------------------------------------------
# topological order


def topological_order(graph: nx.MultiDiGraph, nodes: Iterable[str] | None = None) -> list[str]:
    """Sort ``nodes`` (default: all) parents first, each Part right after its master.

    Ties are broken by name, so the order is deterministic. Each master is contracted with its
    parts (part-of-part included) into one group; if that contraction makes a cycle (a part's
    parent depends on the master), a plain topological sort is returned instead.

    Raises DataJointError naming the tables if the graph has a cycle.
    """
    sub = _subgraph(graph, nodes)
    _check_acyclic(sub)
    groups = _groups(sub)
    contracted = _contract(sub, groups)
    if not nx.is_directed_acyclic_graph(contracted):
        return list(nx.lexicographical_topological_sort(sub, key=str))
    order: list[str] = []
    for root in nx.lexicographical_topological_sort(contracted, key=str):
        order.extend(_sort_group(sub, root, groups[root]))
    return order


def _subgraph(graph: nx.MultiDiGraph, nodes: Iterable[str] | None) -> nx.MultiDiGraph:
    if nodes is None:
        return graph
    wanted = list(dict.fromkeys(nodes))
    missing = [n for n in wanted if n not in graph]
    if missing:
        raise DataJointError(f"Not in the dependency graph: {', '.join(missing)}")
    return graph.subgraph(wanted)


def _check_acyclic(graph: nx.MultiDiGraph) -> None:
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        return
    names = [edge[0] for edge in cycle] + [cycle[0][0]]
    raise DataJointError(f"The dependency graph has a cycle: {' -> '.join(names)}")


def _group_root(graph: nx.MultiDiGraph, node: str) -> str:
    """The outermost master of ``node`` present in ``graph`` (``node`` itself if none)."""
    seen = {node}
    master = graph.nodes[node].get("master")
    while master is not None and master in graph and master not in seen:
        seen.add(master)
        node = master
        master = graph.nodes[node].get("master")
    return node


def _groups(graph: nx.MultiDiGraph) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for node in graph:
        groups.setdefault(_group_root(graph, node), []).append(node)
    return groups


def _contract(graph: nx.MultiDiGraph, groups: Mapping[str, list[str]]) -> nx.DiGraph:
    root_of = {node: root for root, members in groups.items() for node in members}
    contracted = nx.DiGraph()
    contracted.add_nodes_from(groups)
    contracted.add_edges_from(
        (root_of[u], root_of[v]) for u, v in graph.edges() if root_of[u] != root_of[v]
    )
    return contracted


def _sort_group(graph: nx.MultiDiGraph, root: str, members: list[str]) -> list[str]:
    if len(members) == 1:
        return members
    group = graph.subgraph(members)
    return list(nx.lexicographical_topological_sort(group, key=lambda n: (n != root, n)))


# ---------------------------------------------------------------------------------------------
# propagation


def propagate(
    graph: nx.MultiDiGraph,
    seeds: Mapping[str, Sequence[Seed]],
    mode: Mode,
    part_integrity: PartIntegrity = PartIntegrity.ENFORCE,
) -> Propagation:
    """Propagate the seeds' restrictions to every descendant of a seeded table (every ancestor
    in TRACE mode).

    A node's terms are its own seeds plus one term per foreign key from each restricted
    neighbour upstream (downstream in TRACE mode), identical terms merged, in the order: seeds,
    then neighbours in graph order. ``part_integrity`` only matters in CASCADE mode, where
    PartIntegrity.CASCADE fills ``upward``. Raises DataJointError for a seed on a table outside
    the graph or a cyclic graph.

    Example: ``propagate(g, {subject: [Seed(0, frozenset({"species"}))]}, Mode.RESTRICT)``
    """
    seeded = _seeded(graph, seeds)
    order = topological_order(graph)
    up = mode is Mode.TRACE
    walk = list(reversed(order)) if up else order
    position = {node: i for i, node in enumerate(walk)}
    spread = nx.ancestors if up else nx.descendants
    reached = set(seeded).union(*(spread(graph, n) for n in seeded))
    restrictions: dict[str, NodeRestriction] = {}
    for node in walk:
        if node in reached:
            restrictions[node] = _node_restriction(
                graph, node, seeded.get(node, ()), restrictions, position, up=up
            )
    upward = mode is Mode.CASCADE and part_integrity is PartIntegrity.CASCADE
    return Propagation(
        mode=mode,
        restrictions=restrictions,
        nodes=tuple(order) if mode is Mode.RESTRICT else tuple(restrictions),
        upward=uncovered_parts(graph, restrictions) if upward else (),
    )


def _seeded(graph: nx.MultiDiGraph, seeds: Mapping[str, Sequence[Seed]]) -> dict[str, list[Seed]]:
    unknown = [node for node in seeds if node not in graph]
    if unknown:
        raise DataJointError(f"Restriction on a table outside the graph: {', '.join(unknown)}")
    return {node: list(node_seeds) for node, node_seeds in seeds.items() if node_seeds}


def _node_restriction(
    graph: nx.MultiDiGraph,
    node: str,
    seeds: Sequence[Seed],
    restrictions: Mapping[str, NodeRestriction],
    position: Mapping[str, int],
    *,
    up: bool,
) -> NodeRestriction:
    found: dict[Term, Attrs] = {}
    for seed in seeds:
        found.setdefault(Term(Rule.SEED, seed=seed.id), seed.attributes)
    for source, data in _source_edges(graph, node, position, up=up):
        if source in restrictions:
            if up:
                term, attributes = upward_term(graph, source, node, data, restrictions[source])
            else:
                term, attributes = edge_term(graph, source, node, data, restrictions[source])
            found.setdefault(term, attributes)
    return NodeRestriction(terms=tuple(found), attributes=_union(found.values()))


def _source_edges(
    graph: nx.MultiDiGraph, node: str, position: Mapping[str, int], *, up: bool
) -> Iterator[tuple[str, dict[str, Any]]]:
    """The edges a node's terms come over: from its parents, or (upward) its children."""
    if up:
        edges = [(c, k, d) for _, c, k, d in graph.out_edges(node, keys=True, data=True)]
    else:
        edges = [(p, k, d) for p, _, k, d in graph.in_edges(node, keys=True, data=True)]
    for source, _, data in sorted(edges, key=lambda e: (position[e[0]], str(e[1]))):
        yield source, data


def edge_term(
    graph: nx.MultiDiGraph,
    parent: str,
    child: str,
    edge: Mapping[str, Any],
    parent_restriction: NodeRestriction,
) -> tuple[Term, Attrs]:
    """The term one foreign key gives ``child`` from its restricted ``parent``, and its columns."""
    attr_map: dict[str, str] = dict(edge.get("attr_map") or {})
    if _is_aliased(edge, attr_map):
        rule = Rule.RENAMED
    elif copy_applies(graph, parent, child, attr_map, parent_restriction.attributes):
        return Term(Rule.COPY, source=parent), parent_restriction.attributes
    else:
        rule = Rule.PROJECT
    pairs = _pairs(graph, parent, attr_map)
    return Term(rule, source=parent, attr_map=pairs), frozenset(attr_map)


def upward_term(
    graph: nx.MultiDiGraph,
    child: str,
    parent: str,
    edge: Mapping[str, Any],
    child_restriction: NodeRestriction,
) -> tuple[Term, Attrs]:
    """The term one foreign key gives ``parent`` from its restricted ``child`` (TRACE mode):
    the parent rows the child's rows reference. The child's restriction is copied when the key
    renames nothing and the restriction names only the parent's primary-key attributes (as the
    reference's upward rule does); otherwise a semijoin on the key's columns."""
    attr_map: dict[str, str] = dict(edge.get("attr_map") or {})
    aliased = _is_aliased(edge, attr_map)
    parent_key = set(graph.nodes[parent].get("primary_key", ()))
    attributes = child_restriction.attributes
    if not aliased and attributes and attributes <= parent_key:
        return Term(Rule.COPY, source=child), attributes
    rank = {col: i for i, col in enumerate(graph.nodes[parent].get("primary_key", ()))}
    pairs = tuple(
        sorted(((p, c) for c, p in attr_map.items()), key=lambda pc: (rank.get(pc[0], 0), pc[0]))
    )
    rule = Rule.RENAMED if aliased else Rule.PROJECT
    return Term(rule, source=child, attr_map=pairs), frozenset(attr_map.values())


def copy_applies(
    graph: nx.MultiDiGraph,
    parent: str,
    child: str,
    edge_attr_map: Mapping[str, str],
    restriction_attributes: frozenset[str] | None,
) -> bool:
    """Whether the parent's restriction can be copied to ``child`` as is (the COPY rule).

    True, as in the reference, when the foreign key renames nothing, lies wholly in the child's
    primary key, and carries every attribute the restriction mentions. A key with a secondary
    (possibly NULL) column never copies: a NULL references no parent row, and a copied condition
    on the key's other columns would select it anyway. Unknown or empty attributes never copy.
    """
    if parent not in graph or child not in graph:
        raise DataJointError(f"Not in the dependency graph: {parent if child in graph else child}")
    if not restriction_attributes or any(c != p for c, p in edge_attr_map.items()):
        return False
    child_key = set(graph.nodes[child].get("primary_key", ()))
    return restriction_attributes <= set(edge_attr_map) <= child_key


def _is_aliased(edge: Mapping[str, Any], attr_map: Mapping[str, str]) -> bool:
    return bool(edge.get("aliased")) or any(c != p for c, p in attr_map.items())


def _pairs(graph: nx.MultiDiGraph, parent: str, attr_map: Mapping[str, str]) -> Pairs:
    """(child, parent) column pairs in the order of the parent's primary key."""
    rank = {col: i for i, col in enumerate(graph.nodes[parent].get("primary_key", ()))}
    return tuple(sorted(attr_map.items(), key=lambda cp: (rank.get(cp[1], len(rank)), cp[0])))


def _union(parts: Iterable[Attrs]) -> Attrs:
    union: set[str] = set()
    for part in parts:
        if part is None:
            return None
        union |= part
    return frozenset(union)


# ---------------------------------------------------------------------------------------------
# parts and masters


def uncovered_parts(
    graph: nx.MultiDiGraph, restrictions: Mapping[str, NodeRestriction]
) -> tuple[tuple[str, str], ...]:
    """(part, master) pairs of restricted Parts whose rows may lack a restricted master row.

    A part is *covered* (left out) when its master is restricted and every restricted path into
    the part goes through the master over foreign keys that carry the master's key unrenamed, so
    each reached part row's master row is reached too. Any seed on the part, any other restricted
    parent, or a renamed key makes it uncovered. Once the caller has seeded the master with the
    materialised master keys, an uncovered pair keeps being reported; the caller stops when
    those keys no longer change. Under PartIntegrity.ENFORCE these are the parts whose deleted
    row counts must be checked.
    """
    memo: dict[tuple[str, str], bool] = {}
    pairs = ((part, _master_of(graph, part)) for part in restrictions)
    return tuple(
        (part, master)
        for part, master in pairs
        if master is not None and not _covered(graph, part, master, restrictions, memo)
    )


def _master_of(graph: nx.MultiDiGraph, part: str) -> str | None:
    master = graph.nodes[part].get("master")
    return master if master is not None and master != part and master in graph else None


def _covered(
    graph: nx.MultiDiGraph,
    node: str,
    master: str,
    restrictions: Mapping[str, NodeRestriction],
    memo: dict[tuple[str, str], bool],
) -> bool:
    if (node, master) not in memo:
        memo[(node, master)] = master in restrictions and _covered_now(
            graph, node, master, restrictions, memo
        )
    return memo[(node, master)]


def _covered_now(
    graph: nx.MultiDiGraph,
    node: str,
    master: str,
    restrictions: Mapping[str, NodeRestriction],
    memo: dict[tuple[str, str], bool],
) -> bool:
    if any(term.rule is Rule.SEED for term in restrictions[node].terms):
        return False
    master_key = graph.nodes[master].get("primary_key", ())
    for parent, _, data in graph.in_edges(node, data=True):
        if parent not in restrictions:
            continue
        attr_map = data.get("attr_map") or {}
        if any(attr_map.get(col) != col for col in master_key):
            return False
        if parent != master and not _covered(graph, parent, master, restrictions, memo):
            return False
    return True


def upward_attr_map(graph: nx.MultiDiGraph, part: str, master: str) -> Pairs:
    """(part column, master column) pairs that identify a part row's master row.

    Composes the attr_maps along the shortest foreign-key path master -> ... -> part (an unrenamed
    edge preferred); falls back to the master's key under the same names.
    """
    master_key = tuple(graph.nodes[master].get("primary_key", ()))
    identity = tuple((col, col) for col in master_key)
    try:
        path = nx.shortest_path(graph, master, part)
    except (nx.NetworkXNoPath, nx.NodeNotFound):
        return identity
    to_master = dict(identity)  # column of the current node -> master column
    for upper, lower in pairwise(path):
        attr_map = _preferred_attr_map(graph, upper, lower)
        to_master = {c: to_master[p] for c, p in attr_map.items() if p in to_master}
    if set(to_master.values()) != set(master_key):
        return identity
    return tuple(sorted(to_master.items(), key=lambda cp: master_key.index(cp[1])))


def _preferred_attr_map(graph: nx.MultiDiGraph, parent: str, child: str) -> dict[str, str]:
    maps = [dict(d.get("attr_map") or {}) for d in graph.get_edge_data(parent, child).values()]
    plain = [m for m in maps if all(c == p for c, p in m.items())]
    return (plain or maps)[0]


def inline_copies(
    restrictions: Mapping[str, NodeRestriction],
    node: str,
    memo: dict[str, tuple[Term, ...]] | None = None,
) -> tuple[Term, ...]:
    """``node``'s terms with each COPY term replaced by the parent's terms, recursively.

    Valid in both modes because a COPY joins terms under the same connective. The result refers
    only to seeds and semijoins, so the restriction can be written on ``node`` alone. ``memo``
    caches the result per node (without it, copies through diamonds are expanded once per path).
    """
    memo = {} if memo is None else memo
    if node not in memo:
        found: dict[Term, None] = {}
        for term in restrictions[node].terms:
            if term.rule is Rule.COPY and term.source is not None:
                found.update(dict.fromkeys(inline_copies(restrictions, term.source, memo)))
            else:
                found[term] = None
        memo[node] = tuple(found)
    return memo[node]
