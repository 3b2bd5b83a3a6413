"""The SQL of the algebra's operators: semijoins, projections, joins, unions, aggregations.

Functions of the expressions they combine (anything with a heading, an adapter and
``_select``); :mod:`datajoint_core.expression` builds the resulting expressions. The SQL is
written lazily, inside the statement being compiled (:mod:`datajoint_core.compile`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .compile import Compiler, Fragment, Lazy
from .condition import translate
from .errors import DataJointError
from .heading import Attribute, Heading

if TYPE_CHECKING:
    from .adapters.base import Adapter

Expression = Any  # a QueryExpression (expression.py imports this module)

_NAME = r"[A-Za-z_]\w*"
_RENAME = re.compile(rf"^\s*(?P<name>{_NAME})\s*$")
_DUPLICATE = re.compile(rf"^\s*\(\s*(?P<name>{_NAME})\s*\)\s*$")
_CONSTANTS = {"NULL", "CURRENT_TIMESTAMP", "TRUE", "FALSE"}


def semijoin(expr: Expression, other: Expression) -> tuple[Lazy, frozenset[str]]:
    """``expr & other`` as a condition on ``expr``'s columns, and the attributes it matches."""
    q = expr.adapter.quote
    common = [n for n in expr.heading.names if n in other.heading]
    if not common:  # everything if the other is non-empty, else nothing

        def exists(c: Compiler) -> Fragment:
            sub = other._select(c, [])
            return Fragment(f"EXISTS ({sub.sql})", sub.params)

        return Lazy(exists), frozenset()
    cols = ", ".join(q(c) for c in common)
    target = cols if len(common) == 1 else f"({cols})"
    nullable = [c for c in common if expr.heading[c].nullable or other.heading[c].nullable]

    def build(c: Compiler) -> Fragment:
        if not nullable:
            sub = other._select(c, common)
            return Fragment(f"{target} IN ({sub.sql})", sub.params)
        # A NULL in the subquery would make NOT IN unknown for every row, and a NULL here
        # would make the row match neither r & s nor r - s: keep the condition two-valued.
        guard = " AND ".join(f"{q(n)} IS NOT NULL" for n in nullable)
        alias = c.alias("n")
        sub = other._select(c, common)
        sql = f"{guard} AND {target} IN (SELECT * FROM ({sub.sql}) AS {alias} WHERE {guard})"
        return Fragment(sql, sub.params)

    return Lazy(build), frozenset(common)


def project(
    heading: Heading,
    attributes: Sequence[Any],
    named: Mapping[str, str],
    adapter: Adapter,
    label: str,
) -> tuple[list[Attribute], list[str]]:
    """The attributes of ``proj(*attributes, **named)`` over ``heading`` (in heading order,
    renamed copies where their originals were), and the names it introduces."""
    renames: dict[str, str] = {}
    copies: dict[str, str] = {}
    computed: dict[str, str] = {}
    for new, text in named.items():
        found = _RENAME.match(text)
        if found and found["name"] in heading and found["name"].upper() not in _CONSTANTS:
            renames[new] = found["name"]
        elif (found := _DUPLICATE.match(text)) and found["name"] in heading:
            copies[new] = found["name"]
        else:
            computed[new] = text
    keep = {k for k in heading.primary_key if k not in renames.values()}
    excluded: set[str] = set()
    for item in attributes:
        if item is Ellipsis:
            keep |= {a for a in heading.secondary_attributes if a not in renames.values()}
        elif not isinstance(item, str):
            raise DataJointError(f"{item!r} is not a valid data type for an attribute in .proj")
        elif item.strip().startswith("-"):
            excluded.add(heading[item.strip()[1:].strip()].name)
        else:
            keep.add(heading[item.strip()].name)
    if excluded & set(heading.primary_key):
        raise DataJointError(
            f"{label}: cannot exclude primary key attribute(s) "
            f"{sorted(excluded & set(heading.primary_key))}"
        )
    keep -= excluded
    new_names = [*renames, *copies, *computed]
    clash = sorted({n for n in new_names if n in keep or new_names.count(n) > 1})
    if clash:
        raise DataJointError(f"{label}: attribute(s) {clash} already exist")
    attrs: list[Attribute] = []
    for attr in heading.attributes:
        if attr.name in keep:
            attrs.append(attr)
        for new, old in [*renames.items(), *copies.items()]:
            if old == attr.name:
                attrs.append(replace(attr, name=new, source=old))
    for new, text in computed.items():
        sql = translate(text, adapter, heading.names, label)
        attrs.append(Attribute(name=new, type="", core=False, expression=sql))
    return attrs, new_names


def _operands(a: Expression, b: Expression, c: Compiler) -> tuple[Fragment, Fragment]:
    """The two sides of a join: a table itself where it is bare (and not the other side's
    table too), else a derived table."""
    first = a._from.render(c) if a._bare_table() else a._derived("j").render(c)
    if b._bare_table() and b._from.render(c).sql != first.sql:
        return first, b._from.render(c)
    return first, b._derived("j").render(c)


def join_source(a: Expression, b: Expression, common: Sequence[str], left: bool) -> Lazy:
    """The FROM clause of ``a * b`` (``LEFT JOIN`` with ``left``), joined USING ``common``."""
    q = a.adapter.quote

    def build(c: Compiler) -> Fragment:
        first, second = _operands(a, b, c)
        kind = "LEFT JOIN" if left else "JOIN"
        if common:
            on = f" USING ({', '.join(q(n) for n in common)})"
        elif left:
            on = " ON TRUE"
        else:
            kind, on = "CROSS JOIN", ""
        return Fragment(f"{first.sql} {kind} {second.sql}{on}", first.params + second.params)

    return Lazy(build)


def union_source(first: Expression, second: Expression, names: Sequence[str]) -> Lazy:
    """The FROM clause of a union: the two SELECTs of ``names``, as a derived table."""

    def build(c: Compiler) -> Fragment:
        alias = c.alias("u")
        a, b = first._select(c, names), second._select(c, names)
        return Fragment(f"({a.sql} UNION {b.sql}) AS {alias}", a.params + b.params)

    return Lazy(build)


def grouped(
    joined: Expression, group: Heading, named: Mapping[str, str], label: str
) -> tuple[Heading, Lazy]:
    """The heading and FROM clause of GROUP BY ``group``'s attributes over ``joined``, with the
    named aggregate expressions."""
    adapter = joined.adapter
    q = adapter.quote
    names = group.names
    computed = {
        new: translate(sql, adapter, joined.heading.names, label) for new, sql in named.items()
    }
    select = [q(n) for n in names] + [f"({sql}) AS {q(new)}" for new, sql in computed.items()]
    by = f" GROUP BY {', '.join(q(n) for n in names)}" if names else ""

    def build(c: Compiler) -> Fragment:
        outer, inner_alias = c.alias("a"), c.alias("g")
        inner = joined._select(c)
        sql = f"SELECT {', '.join(select)} FROM ({inner.sql}) AS {inner_alias}{by}"
        return Fragment(f"({sql}) AS {outer}", inner.params)

    attrs = [*group.plain().attributes, *(Attribute(name=n, type="", core=False) for n in computed)]
    return group.derive(attrs), Lazy(build)
