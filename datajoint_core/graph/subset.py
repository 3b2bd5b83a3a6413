"""The subset plan: which tables a subset holds, and why. Pure over the graph and a
propagation; ``graph/sql.py`` compiles it.

Restricted tables keep the rows of the AND-converged restriction; the others are kept whole
(``Upstream.ALL``) or, for ancestors of kept tables, trimmed to the rows the kept rows reference
(``Upstream.REFERENCED``: an upward, OR-converged restriction from their kept children, just
as a cascade flows downward). A table left out (``keep`` says no) takes its descendants with it,
so that no kept row references a row that is not kept.

>>> plan = plan_subset(graph, propagation, shown, upstream=Upstream.REFERENCED)  # doctest: +SKIP
>>> [(t.node, t.status) for t in plan.tables]                                      # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum

import networkx as nx

from .dependencies import display_name
from .propagate import NodeRestriction, Propagation, Rule, Term, topological_order


class Status(Enum):
    """Which rows of a table the subset holds."""

    RESTRICTED = "restricted"  # the rows the restrictions select
    WHOLE = "whole"  # every row
    REFERENCED = "referenced"  # the rows that kept rows of other tables reference


class Upstream(Enum):
    """How the ancestors of restricted tables are kept."""

    ALL = "all"  # whole, as Diagram.restrict() leaves them
    REFERENCED = "referenced"  # trimmed to the rows the subset references


@dataclass(frozen=True)
class SubsetTable:
    """One table of the subset, with the reasons it holds what it holds."""

    node: str
    status: Status
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class SubsetPlan:
    """The tables of a subset in topological order, the propagation that selects their rows
    (restricted tables, and referenced ancestors as OR-converged upward terms), and the tables
    left out with the reason (``{node: why}``)."""

    tables: tuple[SubsetTable, ...]
    propagation: Propagation | None
    left_out: dict[str, str] = field(default_factory=dict)

    def table(self, node: str) -> SubsetTable:
        return next(t for t in self.tables if t.node == node)


def plan_subset(
    graph: nx.MultiDiGraph,
    propagation: Propagation | None,
    shown: Iterable[str],
    *,
    upstream: Upstream = Upstream.ALL,
    keep: Callable[[str], bool] | None = None,
    seed_labels: Mapping[int, str] | None = None,
) -> SubsetPlan:
    """The subset of the ``shown`` tables: statuses, reasons, exclusions.

    ``propagation`` is the diagram's (None when nothing is restricted); ``keep(node)`` says
    whether a table may be in the subset (default all); ``seed_labels`` names each seed for the
    reasons (default ``"restricted"``).
    """
    order = topological_order(graph, shown)
    left_out: dict[str, str] = {}
    kept = _apply_keep(graph, order, keep, left_out)
    restricted = propagation.restrictions if propagation is not None else {}
    labels = seed_labels or {}
    status: dict[str, Status] = {}
    for node in reversed(kept):
        status[node] = _status(graph, node, restricted, upstream, status)
    referenced = _referenced(graph, kept, status)
    if propagation is not None:
        propagation = Propagation(
            mode=propagation.mode,
            restrictions={**propagation.restrictions, **referenced},
            nodes=propagation.nodes,
            upward=propagation.upward,
        )
    elif referenced:  # cannot happen: referenced ancestors need restricted children
        raise AssertionError("referenced tables without restrictions")
    tables = tuple(
        SubsetTable(node, status[node], _reasons(graph, node, status[node], restricted, labels))
        for node in kept
    )
    return SubsetPlan(tables, propagation, left_out)


def _apply_keep(
    graph: nx.MultiDiGraph,
    order: list[str],
    keep: Callable[[str], bool] | None,
    left_out: dict[str, str],
) -> list[str]:
    if keep is None:
        return order
    dropped = {node for node in order if not keep(node)}
    for node in dropped:
        left_out[node] = "excluded by the recipe"
    for node in sorted(dropped):
        for child in nx.descendants(graph, node):
            if child in order and child not in dropped:
                dropped.add(child)
                left_out[child] = f"depends on excluded {display_name(graph, node)}"
    return [n for n in order if n not in dropped]


def _status(
    graph: nx.MultiDiGraph,
    node: str,
    restricted: Mapping[str, NodeRestriction],
    upstream: Upstream,
    done: Mapping[str, Status],
) -> Status:
    if node in restricted:
        return Status.RESTRICTED
    if upstream is Upstream.ALL:
        return Status.WHOLE
    children = [c for c in set(graph.successors(node)) if c in done]
    if not children or any(done[c] is Status.WHOLE for c in children):
        return Status.WHOLE
    return Status.REFERENCED


def _referenced(
    graph: nx.MultiDiGraph, kept: list[str], status: Mapping[str, Status]
) -> dict[str, NodeRestriction]:
    """Upward terms for the referenced tables, children first: the rows any kept child row
    references, over each foreign key (OR)."""
    out: dict[str, NodeRestriction] = {}
    for node in reversed(kept):
        if status[node] is not Status.REFERENCED:
            continue
        terms = []
        for _, child, data in sorted(graph.out_edges(node, data=True), key=lambda e: e[1]):
            if child in status:
                pairs = tuple((p, c) for c, p in data["attr_map"].items())
                rule = Rule.RENAMED if data.get("aliased") else Rule.PROJECT
                terms.append(Term(rule, source=child, attr_map=pairs))
        out[node] = NodeRestriction(tuple(dict.fromkeys(terms)), None, any_of=True)
    return out


def _reasons(
    graph: nx.MultiDiGraph,
    node: str,
    status: Status,
    restricted: Mapping[str, NodeRestriction],
    labels: Mapping[int, str],
) -> tuple[str, ...]:
    if status is Status.WHOLE:
        return ("whole table",)
    if status is Status.REFERENCED:
        return ("rows the subset references",)
    seen: list[str] = []
    for term in restricted[node].terms:
        if term.rule is Rule.SEED and term.seed is not None:
            text = labels.get(term.seed, "restricted")
        elif term.source is not None:
            text = f"via {display_name(graph, term.source)}"
        else:
            text = "restricted"
        if text not in seen:
            seen.append(text)
    return tuple(seen)
