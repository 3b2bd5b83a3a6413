"""Compile a restriction propagation into SQL: one CTE per restricted table, so a table's query
grows linearly with the number of hops above it, never with the number of paths.

The text is linear; the work depends on the engine. PostgreSQL computes a CTE read twice once.
MariaDB computes a CTE once per reference (MDEV-35357), so there the work still doubles with
each restricted diamond stacked above a table; ``SELECT DISTINCT`` on shared CTEs (see
:meth:`RestrictionSQL._with`) at least keeps its optimizer from exploding as well.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..condition import FALSE, Fragment, Raw, combine
from .propagate import Mode, Propagation, Rule, Term, inline_copies

if TYPE_CHECKING:
    import networkx as nx

    from ..adapters.base import Adapter
    from .subset import SubsetPlan


@dataclass(frozen=True)
class Part:
    """One term of a table's condition. A semijoin also names the CTE it reads and the
    (child column, parent column) pairs, so it can be written as a join instead."""

    fragment: Fragment
    needs: frozenset[str]
    pairs: tuple[tuple[str, str], ...] = ()
    source: str | None = None


class RestrictionSQL:
    """SQL for the restricted tables of one propagation."""

    def __init__(
        self,
        adapter: Adapter,
        graph: nx.MultiDiGraph,
        propagation: Propagation,
        seeds: Mapping[int, Fragment],
        seed_owners: Mapping[int, tuple[str, frozenset[str] | None]] | None = None,
    ) -> None:
        self.adapter = adapter
        self.graph = graph
        self.propagation = propagation
        self.seeds = seeds
        self.seed_owners = seed_owners or {}
        self.operator = propagation.mode.operator
        self.order = list(propagation.restrictions)
        self.cte = {node: f"_r{i}" for i, node in enumerate(self.order)}
        self._conditions: dict[str, tuple[Fragment, frozenset[str]]] = {}
        self._inlined: dict[str, tuple[Term, ...]] = {}
        self._read: dict[str, list[str]] = {}  # node -> columns its readers take from its CTE
        for restriction in propagation.restrictions.values():
            for term in restriction.terms:
                if term.source is not None:
                    read = self._read.setdefault(term.source, [])
                    read += [c for _, c in term.attr_map if c not in read]

    def is_restricted(self, node: str) -> bool:
        return node in self.propagation.restrictions

    def condition(self, node: str) -> tuple[Fragment, frozenset[str]]:
        """The WHERE condition of ``node`` and the restricted tables (CTEs) it needs."""
        if node not in self._conditions:
            parts = self.parts(node)
            needs = frozenset().union(*(p.needs for p in parts))
            any_of = self.propagation.restrictions[node].any_of
            operator = "OR" if any_of else self.operator
            self._conditions[node] = (combine([p.fragment for p in parts], operator), needs)
        return self._conditions[node]

    def parts(self, node: str) -> list[Part]:
        """The terms of ``node``'s condition, each on its own (combined with ``operator``)."""
        parts: list[Part] = []
        via: set[str] = set()
        for term in inline_copies(self.propagation.restrictions, node, self._inlined):
            owner = self._copied_from(node, term)
            if owner is not None:
                if owner not in via:
                    via.add(owner)
                    _, attributes = self.seed_owners[term.seed]  # type: ignore[index]
                    keys = self.graph.nodes[owner]["primary_key"]
                    pairs = tuple((c, c) for c in keys if c in (attributes or ()))
                    parts.append(self._part(owner, pairs, self._owner_semijoin(owner, term)))
                continue
            if term.rule is Rule.SEED:
                parts.append(Part(self.seeds.get(term.seed, FALSE), frozenset()))  # type: ignore[arg-type]
                continue
            assert term.source is not None
            parts.append(self._part(term.source, term.attr_map, self._semijoin(term)))
        return parts

    def _part(self, source: str, pairs: tuple[tuple[str, str], ...], fragment: Fragment) -> Part:
        needs = frozenset({source}) | self.condition(source)[1]
        return Part(fragment, needs, pairs, self.cte[source])

    def _copied_from(self, node: str, term: Term) -> str | None:
        """The seed table of a seed condition copied down to ``node``, when the copy can be
        written as a semijoin on the seed table's keys instead.

        Repeating the seed's own text on every descendant (``MOD(subject_id, 10) = 0``) makes
        each of them scan; ``subject_id IN (SELECT subject_id FROM <seed's CTE>)`` uses their
        primary-key prefix. (The copy rule guarantees the columns are the seed's key columns.)
        """
        if term.rule is not Rule.SEED or term.seed is None or term.seed not in self.seed_owners:
            return None
        if self.propagation.mode is Mode.TRACE:  # a copy upward keeps the condition's own rows
            return None
        owner, attributes = self.seed_owners[term.seed]
        if owner == node or not attributes or owner not in self.propagation.restrictions:
            return None
        keys = set(self.graph.nodes[owner]["primary_key"])
        mine = set(self.graph.nodes[node]["attributes"])
        return owner if attributes <= keys and attributes <= mine else None

    def _owner_semijoin(self, owner: str, term: Term) -> Fragment:
        q = self.adapter.quote
        _, attributes = self.seed_owners[term.seed]  # type: ignore[index]
        cols = [c for c in self.graph.nodes[owner]["primary_key"] if c in (attributes or ())]
        listed = ", ".join(q(c) for c in cols)
        target = listed if len(cols) == 1 else f"({listed})"
        return Fragment(f"{target} IN (SELECT {listed} FROM {self.cte[owner]})")

    def _semijoin(self, term: Term) -> Fragment:
        """``(node cols) IN (SELECT source cols FROM <source's CTE>)``: a row whose foreign key
        is NULL matches none (semantics.md §4)."""
        q = self.adapter.quote
        mine = ", ".join(q(c) for c, _ in term.attr_map)
        theirs = ", ".join(q(p) for _, p in term.attr_map)
        target = mine if len(term.attr_map) == 1 else f"({mine})"
        return Fragment(f"{target} IN (SELECT {theirs} FROM {self.cte[term.source]})")  # type: ignore[index]

    def _with(self, needs: frozenset[str], roots: Iterable[str] = ()) -> Fragment:
        """The WITH clause defining the CTEs in ``needs`` for a statement on ``roots``.

        A CTE selects the node's primary key and the columns its readers take (upstream, a
        child's foreign-key columns). One that two or more terms read is written
        ``SELECT DISTINCT``, which keeps engines from merging it into each reader: MariaDB copies
        a merged CTE once per reference and its join-order search then grows exponentially with
        the diamonds above a table. (The primary key is selected, so DISTINCT never changes the
        rows.)
        """
        if not needs:
            return Fragment("")
        q = self.adapter.quote
        readers = Counter(p for n in needs | set(roots) for p in self._parents(n))
        clauses: list[str] = []
        params: list[object] = []
        for node in self.order:
            if node in needs:
                cond = self.condition(node)[0]
                columns = list(self.graph.nodes[node]["primary_key"])
                columns += [c for c in self._read.get(node, ()) if c not in columns]
                key = ", ".join(q(c) for c in columns)
                verb = "SELECT DISTINCT" if readers[node] > 1 else "SELECT"
                clauses.append(f"{self.cte[node]} AS ({verb} {key} FROM {node} WHERE {cond.sql})")
                params += cond.params
        return Fragment("WITH " + ", ".join(clauses) + " ", tuple(params))

    def _parents(self, node: str) -> list[str]:
        """The restricted parents ``node``'s condition reads, once per term."""
        if not self.is_restricted(node):
            return []
        terms = inline_copies(self.propagation.restrictions, node, self._inlined)
        parents = [t.source for t in terms if t.rule is not Rule.SEED and t.source is not None]
        owners = {o for t in terms if (o := self._copied_from(node, t)) is not None}
        return parents + sorted(owners)

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
        head = self._with(needs, [node])
        verb = "SELECT DISTINCT" if distinct else "SELECT"
        return Fragment(
            f"{head.sql}{verb} {select} FROM {node} WHERE {cond.sql}", head.params + cond.params
        )

    def delete_statements(self, node: str) -> list[Fragment]:
        """The DELETE statements of one restricted table.

        Where the server has a multi-table DELETE (MariaDB runs ``DELETE ... WHERE k IN (SELECT
        ...)`` as a scan with a subquery per row), each term of the OR-combined condition is its
        own statement, a semijoin term joining its source's key set; elsewhere one
        ``WITH ... DELETE``.
        """
        adapter = self.adapter
        key = list(self.graph.nodes[node]["primary_key"])
        if not adapter.multi_table_delete:
            cond, needs = self.condition(node)
            head = self._with(needs, [node])
            text = adapter.delete_restricted_sql(node, key, head.sql, cond.sql)
            return [Fragment(text, head.params + cond.params)]
        statements = []
        q = adapter.quote
        for part in self.parts(node):
            head = self._with(part.needs, [node])
            if part.source is None:
                text = adapter.delete_restricted_sql(node, key, head.sql, part.fragment.sql)
                statements.append(Fragment(text, head.params + part.fragment.params))
                continue
            cols = ", ".join(f"{q(p)} AS {q(c)}" for c, p in part.pairs)
            keys = f"{head.sql}SELECT DISTINCT {cols} FROM {part.source}"
            text = adapter.delete_joined_sql(node, [c for c, _ in part.pairs], keys)
            statements.append(Fragment(text, head.params))
        return statements

    def count(self, node: str) -> Fragment:
        if not self.is_restricted(node):
            return Fragment(f"SELECT count(*) FROM {node}")
        cond, needs = self.condition(node)
        head = self._with(needs, [node])
        return Fragment(
            f"{head.sql}SELECT count(*) FROM {node} WHERE {cond.sql}", head.params + cond.params
        )


def sample_condition(adapter: Adapter, key: Sequence[str], percent: float, seed: int) -> Raw:
    """About ``percent`` % of rows, chosen by a hash of the primary key ``key`` and ``seed``:
    deterministic, and the same on every table that carries that key."""
    parts = ", ".join(adapter.cast_text_sql(adapter.quote(k)) for k in key)
    hashed = adapter.random_hash_sql(f"CONCAT_WS('|', %s, {parts})")
    threshold = round(percent * 10_000)
    return Raw(Fragment(f"MOD({hashed}, 1000000) < {threshold}", (str(seed),)), frozenset(key))


class SubsetSQL:
    """The SQL of a :class:`~datajoint_core.graph.subset.SubsetPlan`: each table's rows, count
    and key set, with the CTEs they need (restricted tables and referenced ancestors alike)."""

    def __init__(
        self,
        plan: SubsetPlan,
        adapter: Adapter,
        graph: nx.MultiDiGraph,
        sql: RestrictionSQL | None,
    ) -> None:
        self.plan = plan
        self.adapter = adapter
        self.graph = graph
        self._sql = sql

    def _restricted(self, node: str) -> bool:
        return self._sql is not None and self._sql.is_restricted(node)

    def select(self, node: str, fields: Sequence[str], *, ordered: bool = True) -> Fragment:
        """``SELECT fields`` of the rows the subset keeps of ``node``; ``ordered`` sorts them
        by the primary key (the same rows in the same order from the same source state)."""
        q = self.adapter.quote
        if self._restricted(node):
            assert self._sql is not None
            base = self._sql.select(node, fields)
        else:
            base = Fragment(f"SELECT {', '.join(q(c) for c in fields)} FROM {node}")
        if not ordered:
            return base
        order = ", ".join(q(k) for k in self.graph.nodes[node]["primary_key"])
        return Fragment(f"{base.sql} ORDER BY {order}", base.params)

    def count(self, node: str) -> Fragment:
        if self._restricted(node):
            assert self._sql is not None
            return self._sql.count(node)
        return Fragment(f"SELECT count(*) FROM {node}")

    def key_set(self, node: str) -> Raw:
        """A restriction selecting, by primary key, the rows the subset keeps of ``node``
        (valid on ``node`` and on any query with its key's columns)."""
        q = self.adapter.quote
        key = list(self.graph.nodes[node]["primary_key"])
        select = self.select(node, key, ordered=False)
        cols = ", ".join(q(c) for c in key)
        target = cols if len(key) == 1 else f"({cols})"
        fragment = Fragment(
            f"{target} IN (SELECT {cols} FROM ({select.sql}) AS _keys)", select.params
        )
        return Raw(fragment, frozenset(key))


def literal_keys(
    adapter: Adapter, columns: Sequence[str], keys: Iterable[Sequence[Any]]
) -> Fragment:
    """``(cols) IN ((%s, %s), ...)``: a set of keys frozen as parameters (``1 = 0`` for none)."""
    rows = list(keys)
    if not rows:
        return Fragment("1 = 0")
    q = adapter.quote
    if len(columns) == 1:
        marks = ", ".join(["%s"] * len(rows))
        return Fragment(f"{q(columns[0])} IN ({marks})", tuple(r[0] for r in rows))
    row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    cols = "(" + ", ".join(q(c) for c in columns) + ")"
    return Fragment(
        f"{cols} IN ({', '.join([row] * len(rows))})", tuple(v for r in rows for v in r)
    )
