"""Compile a restriction propagation into SQL: one CTE per restricted table, so a table's query
grows linearly with the number of hops above it, never with the number of paths."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from ..condition import FALSE, Fragment, combine
from .propagate import Mode, Propagation, Rule, inline_copies

if TYPE_CHECKING:
    import networkx as nx

    from ..adapters.base import Adapter


class RestrictionSQL:
    """SQL for the restricted tables of one propagation."""

    def __init__(
        self,
        adapter: Adapter,
        graph: nx.MultiDiGraph,
        propagation: Propagation,
        seeds: Mapping[int, Fragment],
    ) -> None:
        self.adapter = adapter
        self.graph = graph
        self.propagation = propagation
        self.seeds = seeds
        self.operator = "AND" if propagation.mode is Mode.RESTRICT else "OR"
        self.order = list(propagation.restrictions)
        self.cte = {node: f"_r{i}" for i, node in enumerate(self.order)}
        self._conditions: dict[str, tuple[Fragment, frozenset[str]]] = {}

    def is_restricted(self, node: str) -> bool:
        return node in self.propagation.restrictions

    def condition(self, node: str) -> tuple[Fragment, frozenset[str]]:
        """The WHERE condition of ``node`` and the restricted tables (CTEs) it needs."""
        if node not in self._conditions:
            q = self.adapter.quote
            parts: list[Fragment] = []
            needs: set[str] = set()
            for term in inline_copies(self.propagation.restrictions, node):
                if term.rule is Rule.SEED:
                    parts.append(self.seeds.get(term.seed, FALSE))  # type: ignore[arg-type]
                    continue
                parent = term.parent
                assert parent is not None
                child_cols = ", ".join(q(c) for c, _ in term.attr_map)
                parent_cols = ", ".join(q(p) for _, p in term.attr_map)
                target = child_cols if len(term.attr_map) == 1 else f"({child_cols})"
                parts.append(
                    Fragment(f"{target} IN (SELECT {parent_cols} FROM {self.cte[parent]})")
                )
                needs.add(parent)
                needs |= self.condition(parent)[1]
            self._conditions[node] = (combine(parts, self.operator), frozenset(needs))
        return self._conditions[node]

    def _with(self, needs: frozenset[str]) -> Fragment:
        if not needs:
            return Fragment("")
        q = self.adapter.quote
        clauses: list[str] = []
        params: list[object] = []
        for node in self.order:
            if node in needs:
                cond = self.condition(node)[0]
                key = ", ".join(q(c) for c in self.graph.nodes[node]["primary_key"])
                clauses.append(f"{self.cte[node]} AS (SELECT {key} FROM {node} WHERE {cond.sql})")
                params += cond.params
        return Fragment("WITH " + ", ".join(clauses) + " ", tuple(params))

    def select(
        self, node: str, fields: Sequence[str] | None = None, distinct: bool = False
    ) -> Fragment:
        """``SELECT fields FROM node WHERE <restriction>`` with the CTEs it needs."""
        q = self.adapter.quote
        cols = list(fields) if fields is not None else list(self.graph.nodes[node]["attributes"])
        select = ", ".join(q(c) for c in cols)
        if not self.is_restricted(node):
            return Fragment(f"SELECT {select} FROM {node}")
        cond, needs = self.condition(node)
        head = self._with(needs)
        verb = "SELECT DISTINCT" if distinct else "SELECT"
        return Fragment(
            f"{head.sql}{verb} {select} FROM {node} WHERE {cond.sql}", head.params + cond.params
        )

    def count(self, node: str) -> Fragment:
        if not self.is_restricted(node):
            return Fragment(f"SELECT count(*) FROM {node}")
        cond, needs = self.condition(node)
        head = self._with(needs)
        return Fragment(
            f"{head.sql}SELECT count(*) FROM {node} WHERE {cond.sql}", head.params + cond.params
        )
