"""Query expressions: immutable values combined with ``&``, ``-``, ``proj``, ``*``, ``aggr``, ``+``.

>>> mice = Subject & {"species": "mouse"}              # doctest: +SKIP
>>> (Session * mice).proj("session_date").to_dicts()    # doctest: +SKIP

Every operator returns a new expression; nothing is sent to the database until rows, a count
or a preview are asked for.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .condition import (
    FALSE,
    AndList,
    Fragment,
    Not,
    Raw,
    Top,
    combine,
    dict_condition,
    negate,
    records,
    string_condition,
    translate,
)
from .errors import DataJointError, UnknownAttributeError
from .heading import Attribute, Heading

if TYPE_CHECKING:
    import pandas
    import pyarrow

    from .connection import Connection

_aliases = itertools.count()
Mentioned = frozenset[str] | None


def _alias(prefix: str) -> str:
    return f"_{prefix}{next(_aliases)}"


def _union(a: Mentioned, b: Mentioned) -> Mentioned:
    return None if a is None or b is None else a | b


def as_expression(value: Any) -> QueryExpression | None:
    """A QueryExpression for an expression or a table class; None for anything else."""
    if isinstance(value, QueryExpression):
        return value
    if isinstance(value, type) and issubclass(value, QueryExpression):
        return value()
    return None


class QueryExpression:
    """A query: a FROM source, a heading, and AND-ed restrictions."""

    _connection: Connection
    _heading: Heading
    _from: Fragment
    _where: tuple[Fragment, ...] = ()
    _mentioned: Mentioned = frozenset()
    _top: Top | None = None
    _distinct: bool = False
    _label: str = "query"

    @classmethod
    def _make(
        cls, connection: Connection, heading: Heading, from_: Fragment, label: str = "query"
    ) -> QueryExpression:
        expr = QueryExpression.__new__(QueryExpression)
        expr._connection = connection
        expr._heading = heading
        expr._from = from_
        expr._label = label
        return expr

    def _replace(self, **changes: Any) -> QueryExpression:
        clone = copy.copy(self)
        for name, value in changes.items():
            setattr(clone, name, value)
        return clone

    # -- properties ----------------------------------------------------------------------
    @property
    def connection(self) -> Connection:
        return self._connection

    @property
    def heading(self) -> Heading:
        return self._heading

    @property
    def primary_key(self) -> list[str]:
        return self.heading.primary_key

    @property
    def restriction(self) -> tuple[Fragment, ...]:
        """The AND-ed conditions on this expression's source."""
        return self._where

    @property
    def restriction_attributes(self) -> Mentioned:
        """Attributes the restriction mentions (None when unknown, e.g. for dj.Top)."""
        return None if self._top is not None else self._mentioned

    @property
    def adapter(self) -> Any:
        return self._connection.adapter

    def _plain(self) -> bool:
        return all(a.expression is None and a.source is None for a in self.heading)

    # -- SQL -----------------------------------------------------------------------------
    def _select_list(self, fields: Sequence[str] | None = None) -> str:
        q = self.adapter.quote
        names = self.heading.names if fields is None else list(fields)
        out = []
        for name in names:
            attr = self.heading[name]
            if attr.expression is not None:
                out.append(f"({attr.expression}) AS {q(name)}")
            elif attr.source is not None:
                out.append(f"{q(attr.source)} AS {q(name)}")
            else:
                out.append(q(name))
        return ", ".join(out) if out else "1 AS _one"

    def where_fragment(self) -> Fragment | None:
        return combine(self._where, "AND") if self._where else None

    def _order_sql(self, top: Top) -> str:
        q = self.adapter.quote
        items = []
        for item in top.order_items(self.primary_key):
            words = item.split()
            name = words[0].strip('`"')
            if name not in self.heading:
                raise UnknownAttributeError(f"{self._label}: cannot order by unknown {name!r}")
            direction = " ".join(words[1:]).upper()
            if direction not in ("", "ASC", "DESC"):
                raise DataJointError(f"{self._label}: invalid order {item!r}")
            items.append(f"{q(name)} {direction}".strip())
        order = f" ORDER BY {', '.join(items)}" if items else ""
        limit = self.adapter.limit_sql(top.limit, top.offset)
        return order + (" " + limit if limit else "")

    def make_sql(self, fields: Sequence[str] | None = None) -> Fragment:
        """The SELECT statement of this expression, with its parameters."""
        distinct = "DISTINCT " if self._distinct else ""
        sql = f"SELECT {distinct}{self._select_list(fields)} FROM {self._from.sql}"
        params = list(self._from.params)
        where = self.where_fragment()
        if where is not None:
            sql += f" WHERE {where.sql}"
            params += where.params
        if self._top is not None:
            sql += self._order_sql(self._top)
        return Fragment(sql, tuple(params))

    def as_subquery(self) -> QueryExpression:
        """This expression as a derived table with plain columns."""
        inner = self.make_sql()
        from_ = Fragment(f"({inner.sql}) AS {_alias('s')}", inner.params)
        return QueryExpression._make(self.connection, self.heading.plain(), from_, self._label)

    # -- restriction ---------------------------------------------------------------------
    def restrict(self, restriction: Any) -> QueryExpression:
        """``self & restriction``."""
        if isinstance(restriction, Top):
            base = self if self._top is None and self._plain() else self.as_subquery()
            return base._replace(_top=restriction)
        base = self if self._top is None and self._plain() else self.as_subquery()
        fragment, mentioned = base._condition(restriction)
        if fragment is None:
            return base._replace()
        return base._replace(
            _where=(*base._where, fragment), _mentioned=_union(base._mentioned, mentioned)
        )

    def __and__(self, restriction: Any) -> QueryExpression:
        return self.restrict(restriction)

    def __sub__(self, restriction: Any) -> QueryExpression:
        return self.restrict(Not(restriction))

    def _condition(self, restriction: Any) -> tuple[Fragment | None, Mentioned]:
        """(condition or None for "no restriction", attributes it mentions)."""
        adapter = self.adapter
        if restriction is None or restriction is True:
            return None, frozenset()
        if restriction is False:
            return FALSE, frozenset()
        if isinstance(restriction, Not):
            inner, negated = self._condition(restriction.restriction)
            return (FALSE if inner is None else negate(inner)), negated
        if isinstance(restriction, AndList):
            parts = [self._condition(r) for r in restriction]
            frags = [f for f, _ in parts if f is not None]
            mentioned: Mentioned = frozenset()
            for _, m in parts:
                mentioned = _union(mentioned, m)
            return (combine(frags, "AND") if frags else None), mentioned
        if isinstance(restriction, Top):
            raise DataJointError("dj.Top cannot be combined inside a list; restrict by it alone")
        if isinstance(restriction, Raw):
            return restriction.fragment, restriction.attributes
        if isinstance(restriction, str):
            return string_condition(self.heading, restriction, adapter, self._label), _columns(
                restriction
            )
        if isinstance(restriction, Mapping):
            fragment = dict_condition(self.heading, restriction, adapter, self._label)
            return fragment, frozenset(k for k in restriction if k in self.heading)
        other = as_expression(restriction)
        if other is not None:
            return self._semijoin(other)
        rows = records(restriction)
        if rows is not None:
            restriction = rows
        if isinstance(restriction, (list, tuple, set, frozenset)):
            parts = [self._condition(r) for r in restriction]
            if any(f is None for f, _ in parts):
                return None, frozenset()  # one alternative is "everything"
            alternatives: Mentioned = frozenset()
            for _, m in parts:
                alternatives = _union(alternatives, m)
            return combine([f for f, _ in parts if f is not None], "OR"), alternatives
        raise DataJointError(
            f"{self._label}: cannot restrict by {type(restriction).__name__} {restriction!r}"
        )

    def _semijoin(self, other: QueryExpression) -> tuple[Fragment, Mentioned]:
        _same_connection(self, other)
        q = self.adapter.quote
        common = [n for n in self.heading.names if n in other.heading]
        sub = other.make_sql(common)
        if not common:
            return Fragment(f"EXISTS ({sub.sql})", sub.params), frozenset()
        cols = ", ".join(q(c) for c in common)
        target = cols if len(common) == 1 else f"({cols})"
        nullable = [c for c in common if self.heading[c].nullable or other.heading[c].nullable]
        if not nullable:
            return Fragment(f"{target} IN ({sub.sql})", sub.params), frozenset(common)
        # A NULL in the subquery would make NOT IN unknown for every row, and a NULL here would
        # make the row match neither r & s nor r - s: keep the condition two-valued.
        guard = " AND ".join(f"{q(c)} IS NOT NULL" for c in nullable)
        sql = f"{guard} AND {target} IN (SELECT * FROM ({sub.sql}) AS {_alias('n')} WHERE {guard})"
        return Fragment(sql, sub.params), frozenset(common)

    # -- projection, join, aggregation, union --------------------------------------------
    def proj(self, *attributes: Any, **named: str) -> QueryExpression:
        """Keep the primary key and the named attributes; rename with ``new='old'``, compute
        with ``new='expression'``; ``...`` keeps all, ``'-name'`` leaves one out."""
        # dj.Top may order by an attribute that the projection leaves out
        base = self if self._plain() and self._top is None else self.as_subquery()
        heading = base.heading
        keep = set(heading.primary_key)
        exclude = set()
        for item in attributes:
            if item is Ellipsis:
                keep |= set(heading.names)
            elif isinstance(item, str) and item.startswith("-"):
                exclude.add(heading[item[1:]].name)
            elif isinstance(item, str):
                keep.add(heading[item].name)
            else:
                raise DataJointError(f"{self._label}: proj() takes attribute names, got {item!r}")
        renamed = {old for old in named.values() if old in heading}
        listed = {a for a in attributes if isinstance(a, str)}
        attrs = [
            attr
            for attr in heading
            if attr.name in keep
            and attr.name not in exclude
            and (attr.name not in renamed or attr.name in listed)
        ]
        for new, old in named.items():
            if old in heading:
                attrs.append(replace(heading[old], name=new, source=old))
            else:
                sql = translate(old, self.adapter, heading.names, self._label)
                attrs.append(Attribute(name=new, type="", core=False, expression=sql))
        names = [a.name for a in attrs]
        duplicates = {n for n in names if names.count(n) > 1}
        if duplicates:
            raise DataJointError(f"{self._label}: proj() yields duplicate {sorted(duplicates)}")
        ordered = [a for a in attrs if a.in_key] + [a for a in attrs if not a.in_key]
        return base._replace(_heading=Heading(tuple(ordered)))

    def join(self, other: Any, left: bool = False) -> QueryExpression:
        """``self * other``: the natural join on the attributes they share."""
        right = as_expression(other)
        if right is None:
            raise DataJointError(f"cannot join {self._label} with {other!r}")
        _same_connection(self, right)
        q = self.adapter.quote
        common = [n for n in self.heading.names if n in right.heading]
        a, b = self.make_sql(), right.make_sql()
        kind = "LEFT JOIN" if left else "JOIN"
        if common:
            using = f" USING ({', '.join(q(c) for c in common)})"
            from_sql = f"({a.sql}) AS {_alias('j')} {kind} ({b.sql}) AS {_alias('j')}{using}"
        else:
            from_sql = f"({a.sql}) AS {_alias('j')} CROSS JOIN ({b.sql}) AS {_alias('j')}"
        key = set(self.primary_key) | set(right.primary_key)
        attrs = [*self.heading.plain(), *(x for x in right.heading.plain() if x.name not in common)]
        attrs = [replace(x, in_key=x.name in key, nullable=x.nullable or left) for x in attrs]
        ordered = [x for x in attrs if x.in_key] + [x for x in attrs if not x.in_key]
        label = f"{self._label} * {right._label}"
        return QueryExpression._make(
            self.connection, Heading(tuple(ordered)), Fragment(from_sql, a.params + b.params), label
        )

    def __mul__(self, other: Any) -> QueryExpression:
        return self.join(other)

    def aggr(
        self, other: Any, *attributes: str, keep_all_rows: bool = False, **named: str
    ) -> QueryExpression:
        """Group ``other`` by this expression's rows: ``Subject.aggr(Session, n='count(*)')``."""
        right = as_expression(other)
        if right is None:
            raise DataJointError(f"cannot aggregate {other!r}")
        _same_connection(self, right)
        base = self.proj(*attributes) if attributes else self
        joined = base.join(right, left=keep_all_rows)
        return _grouped(joined, base.heading, named, self._label)

    def __add__(self, other: Any) -> QueryExpression:
        """Union of two expressions with the same attributes and primary key."""
        right = as_expression(other)
        if right is None:
            raise DataJointError(f"cannot take the union of {self._label} and {other!r}")
        _same_connection(self, right)
        if set(self.heading.names) != set(right.heading.names) or set(self.primary_key) != set(
            right.primary_key
        ):
            raise DataJointError(
                f"union needs the same attributes and primary key: {self.heading.names} "
                f"vs {right.heading.names}"
            )
        # ORDER BY ... LIMIT of a dj.Top is not allowed directly inside a UNION
        left_ = self.as_subquery() if self._top is not None else self
        right = right.as_subquery() if right._top is not None else right
        a, b = left_.make_sql(), right.make_sql(self.heading.names)
        from_ = Fragment(f"({a.sql} UNION {b.sql}) AS {_alias('u')}", a.params + b.params)
        return QueryExpression._make(self.connection, self.heading.plain(), from_, self._label)

    # -- counting and fetching -----------------------------------------------------------
    def __len__(self) -> int:
        if self._top is None and not self._distinct:
            sql = f"SELECT count(*) FROM {self._from.sql}"
            where = self.where_fragment()
            params = self._from.params + (where.params if where else ())
            if where is not None:
                sql += f" WHERE {where.sql}"
        else:
            inner = self.make_sql()
            sql, params = f"SELECT count(*) FROM ({inner.sql}) AS {_alias('c')}", inner.params
        return int(self.connection.fetchall(sql, params)[0][0])

    def __bool__(self) -> bool:
        inner = self.make_sql()
        sql = f"SELECT 1 FROM ({inner.sql}) AS {_alias('b')} {self.adapter.limit_sql(1, 0)}"
        return bool(self.connection.fetchall(sql, inner.params))

    def __contains__(self, item: Any) -> bool:
        return bool(self & item)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.to_dicts())

    def cursor(self, order_by: Any = None, limit: int | None = None, offset: int = 0) -> Fragment:
        """The SQL that fetches rows in the requested order."""
        expr: QueryExpression = self
        if order_by is not None or limit is not None or offset:
            expr = self & Top(limit, order_by, offset)
        return expr.make_sql()

    def to_dicts(
        self, order_by: Any = None, limit: int | None = None, offset: int = 0
    ) -> list[dict[str, Any]]:
        from .fetch import to_dicts

        return to_dicts(self, order_by, limit, offset)

    def to_arrays(self, *attrs: str, order_by: Any = None, limit: int | None = None) -> Any:
        from .fetch import to_arrays

        return to_arrays(self, attrs, order_by, limit)

    def to_pandas(self, order_by: Any = None, limit: int | None = None) -> pandas.DataFrame:
        from .fetch import to_pandas

        return to_pandas(self, order_by, limit)

    def to_arrow(self, order_by: Any = None, limit: int | None = None) -> pyarrow.Table:
        from .fetch import to_arrow

        return to_arrow(self, order_by, limit)

    def iter_batches(
        self, batch_size: int = 10_000, order_by: Any = None
    ) -> Iterator[pyarrow.RecordBatch]:
        """Stream the rows as ``pyarrow.RecordBatch``es of at most ``batch_size`` rows."""
        from .fetch import iter_batches

        return iter_batches(self, batch_size, order_by)

    def keys(self, order_by: Any = None, limit: int | None = None) -> list[dict[str, Any]]:
        return self.proj().to_dicts(order_by=order_by, limit=limit)

    def fetch1(self, *attrs: str) -> Any:
        from .fetch import fetch1

        return fetch1(self, attrs)

    def head(self, limit: int = 25) -> list[dict[str, Any]]:
        return self.to_dicts(limit=limit)

    def fetch(self, *attrs: str, **kwargs: Any) -> Any:
        """The legacy fetch: a record array, ``as_dict=True``, ``format='frame'``, or arrays."""
        from .fetch import fetch

        return fetch(self, attrs, **kwargs)

    def __repr__(self) -> str:
        from .fetch import preview

        return preview(self)

    def _repr_html_(self) -> str:
        from .fetch import preview_html

        return preview_html(self)


def _grouped(
    joined: QueryExpression, group: Heading, named: Mapping[str, str], label: str
) -> QueryExpression:
    """GROUP BY ``group``'s attributes over ``joined`` with the named aggregate expressions."""
    q = joined.adapter.quote
    names = group.names
    inner = joined.make_sql()
    computed = {
        new: translate(sql, joined.adapter, joined.heading.names, label)
        for new, sql in named.items()
    }
    select = [q(n) for n in names] + [f"({sql}) AS {q(new)}" for new, sql in computed.items()]
    by = f" GROUP BY {', '.join(q(n) for n in names)}" if names else ""
    sql = f"SELECT {', '.join(select)} FROM ({inner.sql}) AS {_alias('g')}{by}"
    attrs = [*group.plain(), *(Attribute(name=n, type="", core=False) for n in computed)]
    return QueryExpression._make(
        joined.connection,
        Heading(tuple(attrs)),
        Fragment(f"({sql}) AS {_alias('a')}", inner.params),
        label,
    )


def _same_connection(a: QueryExpression, b: QueryExpression) -> None:
    if a.connection is not b.connection:
        raise DataJointError(
            f"cannot combine {a._label} and {b._label}: they come from different connections"
        )


def _columns(text: str) -> Mentioned:
    """The column names a MySQL-dialect condition mentions (None if it does not parse)."""
    import sqlglot
    from sqlglot import exp

    try:
        return frozenset(c.name for c in sqlglot.parse_one(text, read="mysql").find_all(exp.Column))
    except sqlglot.errors.SqlglotError:
        return None


class U:
    """A universal set of the given attributes: ``dj.U('species') & Subject``."""

    def __init__(self, *attributes: str) -> None:
        self.attributes = attributes

    def __and__(self, other: Any) -> QueryExpression:
        expr = as_expression(other)
        if expr is None:
            raise DataJointError("dj.U(...) & x needs a query expression")
        projected = expr.proj(*[a for a in self.attributes if a not in expr.primary_key])
        keep = projected.proj(*self.attributes) if self.attributes else projected
        fields = list(self.attributes)
        sql = keep.make_sql(fields) if fields else keep.make_sql([])
        distinct = "SELECT DISTINCT" + sql.sql[len("SELECT") :]
        heading = keep.heading.select(fields).with_key(fields) if fields else Heading(())
        return QueryExpression._make(
            expr.connection,
            heading.plain(),
            Fragment(f"({distinct}) AS {_alias('d')}", sql.params),
            expr._label,
        )

    def __mul__(self, other: Any) -> QueryExpression:
        expr = as_expression(other)
        if expr is None:
            raise DataJointError("dj.U(...) * x needs a query expression")
        key = list(dict.fromkeys([*expr.primary_key, *self.attributes]))
        return expr._replace(_heading=expr.heading.with_key(key))

    def aggr(self, other: Any, **named: str) -> QueryExpression:
        expr = as_expression(other)
        if expr is None:
            raise DataJointError("dj.U(...).aggr(x) needs a query expression")
        group = expr.heading.plain().select(self.attributes).with_key(self.attributes)
        return _grouped(expr, group, named, expr._label)
