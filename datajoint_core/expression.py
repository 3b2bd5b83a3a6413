"""Query expressions: immutable values combined with ``&``, ``-``, ``proj``, ``*``, ``aggr``, ``+``.

>>> mice = Subject & {"species": "mouse"}              # doctest: +SKIP
>>> (Session * mice).proj("session_date").to_dicts()    # doctest: +SKIP

Every operator returns a new expression; nothing is sent to the database until rows, a count
or a preview are asked for. The SQL is written when it is asked for, one statement at a time
(see :mod:`datajoint_core.compile`), so an expression over a heading and an adapter compiles
without a server: :meth:`QueryExpression.over`.

Namesake attributes are matched only when they have the same lineage (the reference's semantic
check); ``join(..., semantic_check=False)`` and ``restrict(..., semantic_check=False)`` match
them by name alone.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .compile import CompileContext, Compiler, Lazy
from .condition import (
    FALSE,
    AndList,
    Fragment,
    Not,
    Raw,
    Top,
    assert_join_compatibility,
    combine,
    dict_condition,
    negate,
    read_sql,
    records,
)
from .errors import DataJointError, UnknownAttributeError
from .fetch import FetchMixin
from .heading import Heading
from .operators import grouped, join_source, project, semijoin, union_source

if TYPE_CHECKING:
    from .adapters.base import Adapter
    from .compile import Sql
    from .connection import Connection

Mentioned = frozenset[str] | None
Condition = tuple["Sql | None", Mentioned]  # (None: no restriction at all, attributes named)


def _union(a: Mentioned, b: Mentioned) -> Mentioned:
    return None if a is None or b is None else a | b


def as_expression(value: Any) -> QueryExpression | None:
    """A QueryExpression for an expression or a table class; None for anything else."""
    if isinstance(value, QueryExpression):
        return value
    if isinstance(value, type) and issubclass(value, QueryExpression):
        return value()
    return None


class QueryExpression(FetchMixin):
    """A query: a FROM source, a heading, AND-ed restrictions and an optional ``dj.Top``."""

    _connection: Connection  # or a CompileContext, for SQL without a server
    _heading: Heading
    _from: Sql
    _where: tuple[Sql, ...] = ()
    _mentioned: Mentioned = frozenset()
    _top: Top | None = None
    _distinct: bool = False
    _label: str = "query"
    _orderable: frozenset[str] | None = None  # FROM columns beyond the heading (ORDER BY)

    @classmethod
    def _make(
        cls,
        connection: Connection,
        heading: Heading,
        from_: Sql,
        label: str = "query",
    ) -> QueryExpression:
        expr = QueryExpression.__new__(QueryExpression)
        expr._connection = connection
        expr._heading = heading
        expr._from = from_
        expr._label = label
        return expr

    @classmethod
    def over(
        cls,
        context: Connection | CompileContext | Adapter,
        table: str,
        heading: Heading,
        label: str | None = None,
    ) -> QueryExpression:
        """An expression over the table ``table`` (its full, quoted name) with ``heading``.

        With a :class:`~datajoint_core.compile.CompileContext` (or an adapter) instead of a
        connection it compiles to SQL without a server::

            subject = QueryExpression.over(get_adapter("mysql"), "`lab`.`subject`", heading)
            (subject & "species = 'mouse'").make_sql().sql
        """
        if not hasattr(context, "adapter"):
            context = CompileContext(context)
        name = label or table.rpartition(".")[2].strip('`"')
        return cls._make(context, heading, Fragment(table), name)  # type: ignore[arg-type]

    def _replace(self, **changes: Any) -> QueryExpression:
        clone = copy.copy(self)
        for name, value in changes.items():
            setattr(clone, name, value)
        return clone

    # -- properties ----------------------------------------------------------------------
    @property
    def connection(self) -> Connection:
        if isinstance(self._connection, CompileContext):
            raise DataJointError(
                f"{self._label} was compiled without a connection: it cannot run queries"
            )
        return self._connection

    @property
    def heading(self) -> Heading:
        return self._heading

    @property
    def primary_key(self) -> list[str]:
        return self.heading.primary_key

    @property
    def restriction(self) -> tuple[Sql, ...]:
        """The AND-ed conditions on this expression's source."""
        return self._where

    @property
    def restriction_attributes(self) -> Mentioned:
        """Attributes the restriction mentions (None when unknown, e.g. for dj.Top)."""
        return None if self._top is not None else self._mentioned

    @property
    def adapter(self) -> Adapter:
        return self._connection.adapter

    def _display_config(self) -> Mapping[str, Any]:
        return self._connection.config  # type: ignore[return-value]

    def _plain(self) -> bool:
        return all(a.expression is None and a.source is None for a in self.heading.attributes)

    def _from_columns(self) -> frozenset[str]:
        """The columns of the FROM source that ORDER BY may name."""
        own = {a.source or a.name for a in self.heading.attributes if a.expression is None}
        return frozenset(own | (self._orderable or set()))

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

    def _order_sql(self, top: Top) -> str:
        q = self.adapter.quote
        known = set(self.heading.names) | self._from_columns()
        items = []
        for item in top.order_items(self.primary_key):
            words = item.split()
            name = words[0].strip('`"')
            if name not in known:
                raise UnknownAttributeError(f"{self._label}: cannot order by unknown {name!r}")
            direction = " ".join(words[1:]).upper()
            if direction not in ("", "ASC", "DESC"):
                raise DataJointError(f"{self._label}: invalid order {item!r}")
            items.append(f"{q(name)} {direction}".strip())
        order = f" ORDER BY {', '.join(items)}" if items else ""
        limit = self.adapter.limit_sql(top.limit, top.offset)
        return order + (" " + limit if limit else "")

    def _where_sql(self, compiler: Compiler) -> Fragment | None:
        if not self._where:
            return None
        return combine(self._where, "AND").render(compiler)

    def _select(self, compiler: Compiler, fields: Sequence[str] | None = None) -> Fragment:
        distinct = "DISTINCT " if self._distinct else ""
        source = self._from.render(compiler)
        sql = f"SELECT {distinct}{self._select_list(fields)} FROM {source.sql}"
        params = list(source.params)
        where = self._where_sql(compiler)
        if where is not None:
            sql += f" WHERE {where.sql}"
            params += where.params
        if self._top is not None:
            sql += self._order_sql(self._top)
        return Fragment(sql, tuple(params))

    def make_sql(self, fields: Sequence[str] | None = None) -> Fragment:
        """The SELECT statement of this expression, with its parameters."""
        return self._select(Compiler(self.adapter), fields)

    def where_fragment(self) -> Fragment | None:
        """The AND of the restrictions, written as a statement of its own would have them."""
        return self._where_sql(Compiler(self.adapter))

    def _derived(self, prefix: str = "s", fields: Sequence[str] | None = None) -> Lazy:
        """This expression as a derived table of the statement being written."""

        def build(c: Compiler) -> Fragment:
            alias = c.alias(prefix)
            inner = self._select(c, fields)
            return Fragment(f"({inner.sql}) AS {alias}", inner.params)

        return Lazy(build)

    def _bare_table(self) -> bool:
        """A table itself, unrestricted: a join may name it instead of a derived table."""
        return (
            isinstance(self._from, Fragment)
            and not self._from.params
            and not self._where
            and self._top is None
            and not self._distinct
            and self._plain()
            and self._orderable is None  # not projected: no hidden namesake columns
        )

    def as_subquery(self) -> QueryExpression:
        """This expression as a derived table with plain columns."""
        return QueryExpression._make(
            self._connection, self.heading.plain(), self._derived(), self._label
        )

    # -- restriction ---------------------------------------------------------------------
    def restrict(self, restriction: Any, semantic_check: bool = True) -> QueryExpression:
        """``self & restriction``; ``semantic_check=False`` matches namesakes by name alone."""
        if isinstance(restriction, Top):
            return self._restrict_top(restriction)
        condition, mentioned = self._condition(restriction, semantic_check)
        if condition is None:
            return self  # no restriction at all (as the reference returns the same object)
        base = self if self._top is None and self._plain() else self.as_subquery()
        return base._replace(
            _where=(*base._where, condition), _mentioned=_union(base._mentioned, mentioned)
        )

    def _restrict_top(self, top: Top) -> QueryExpression:
        if self._top is None:
            return self._replace(_top=top)
        if top.order_by is None or top.order_by == self._top.order_by:
            return self._replace(_top=self._top.merge(top))
        return self.as_subquery()._replace(_top=top)

    def __and__(self, restriction: Any) -> QueryExpression:
        return self.restrict(restriction)

    def __sub__(self, restriction: Any) -> QueryExpression:
        return self.restrict(Not(restriction))

    def __neg__(self) -> Not:
        return Not(self)

    def __xor__(self, other: Any) -> QueryExpression:
        raise DataJointError(
            "The ^ operator has been removed in DataJoint 2.0. "
            "Use .restrict(other, semantic_check=False) for restrictions without semantic checking."
        )

    def __matmul__(self, other: Any) -> QueryExpression:
        raise DataJointError(
            "The @ operator has been removed in DataJoint 2.0. "
            "Use .join(other, semantic_check=False) for joins without semantic checking."
        )

    def _condition(self, restriction: Any, semantic_check: bool = True) -> Condition:
        """(condition, or None for "no restriction"; attributes it mentions), as the
        reference reads each kind of restriction."""
        if isinstance(restriction, Not):
            inner, mentioned = self._condition(restriction.restriction, semantic_check)
            if inner is None:
                return FALSE, mentioned
            return (None if inner is FALSE else negate(inner)), mentioned
        if isinstance(restriction, bool):
            return (None if restriction else FALSE), frozenset()
        if isinstance(restriction, str):
            read = read_sql(
                restriction, self.adapter.sqlglot_dialect, self.heading.names, self._label
            )
            return Fragment(self.adapter.escape_percent(f"({read.sql})")), read.columns
        if isinstance(restriction, AndList):
            return self._all(restriction, semantic_check)
        if isinstance(restriction, Top):
            raise DataJointError(f"Invalid restriction type {restriction!r}")
        if isinstance(restriction, U):
            return None, frozenset()
        if isinstance(restriction, Raw):
            return restriction.fragment, restriction.attributes
        if isinstance(restriction, Mapping):
            fragment = dict_condition(self.heading, restriction, self.adapter, self._label)
            mentioned = frozenset(k for k in restriction if k in self.heading)
            return (fragment if mentioned else None), mentioned
        other = as_expression(restriction)
        if other is not None:
            return self._semijoin(other, semantic_check)
        rows = records(restriction)
        if rows is not None:
            if getattr(restriction, "ndim", 1) == 0:  # a numpy record: one row
                return self._condition(rows[0], semantic_check)
            restriction = rows
        if isinstance(restriction, (str, bytes)) or not isinstance(restriction, Iterable):
            raise DataJointError(f"Invalid restriction type {restriction!r}")
        return self._any(list(restriction), semantic_check)

    def _all(self, items: Sequence[Any], semantic_check: bool) -> Condition:
        parts, mentioned = [], frozenset[str]()
        for item in items:
            condition, named = self._condition(item, semantic_check)
            mentioned = _union(mentioned, named)  # type: ignore[assignment]
            if condition is FALSE:
                return FALSE, mentioned
            if condition is not None:
                parts.append(condition)
        return (combine(parts, "AND") if parts else None), mentioned

    def _any(self, items: Sequence[Any], semantic_check: bool) -> Condition:
        parts, mentioned = [], frozenset[str]()
        for item in items:
            condition, named = self._condition(item, semantic_check)
            mentioned = _union(mentioned, named)  # type: ignore[assignment]
            if condition is None:
                return None, frozenset()  # one alternative is "everything"
            if condition is not FALSE:
                parts.append(condition)
        return (combine(parts, "OR") if parts else FALSE), mentioned

    def _semijoin(self, other: QueryExpression, semantic_check: bool) -> Condition:
        _same_connection(self, other)
        if semantic_check:
            assert_join_compatibility(self.heading, other.heading, "restrict")
        return semijoin(self, other)

    # -- projection ----------------------------------------------------------------------
    def proj(self, *attributes: Any, **named: str) -> QueryExpression:
        """Keep the primary key and the named attributes; ``new='old'`` renames,
        ``new='(old)'`` adds a copy, ``new='expression'`` computes; ``...`` keeps all,
        ``'-name'`` leaves one out."""
        base = self if self._plain() else self.as_subquery()
        heading = base.heading
        attrs, new_names = project(heading, attributes, named, self.adapter, self._label)
        if base._top is not None:
            # ORDER BY names resolve to the new attributes first: a dj.Top that orders by a name
            # the projection gives another meaning is applied in a subquery of its own
            ordered_by = {
                item.split()[0].strip('`"') for item in base._top.order_items(heading.primary_key)
            }
            if ordered_by & set(new_names):
                return self.as_subquery().proj(*attributes, **named)
        ordered = [a for a in attrs if a.in_key] + [a for a in attrs if not a.in_key]
        return base._replace(_heading=heading.derive(ordered), _orderable=base._from_columns())

    # -- join, aggregation, union --------------------------------------------------------
    def join(
        self,
        other: Any,
        semantic_check: bool = True,
        left: bool = False,
        allow_nullable_pk: bool = False,
    ) -> QueryExpression:
        """``self * other``: the natural join on the attributes they share.

        ``left=True`` keeps every row of ``self`` (which must determine ``other``: ``extend``).
        """
        if isinstance(other, U):
            raise DataJointError(
                "table * dj.U(...) is no longer supported in DataJoint 2.0. "
                "This pattern is no longer necessary with the new semantic matching system."
            )
        right = as_expression(other)
        if right is None:
            raise DataJointError("The argument of join must be a QueryExpression")
        _same_connection(self, right)
        if semantic_check:
            assert_join_compatibility(self.heading, right.heading)
        determined = self.heading.determines(right.heading)
        if left and not determined and not allow_nullable_pk:
            missing = [a for a in right.primary_key if a not in self.heading]
            raise DataJointError(
                "Left join requires the left operand to determine the right operand (A → B). "
                f"The following attributes from the right operand's primary key are not in the "
                f"left operand: {missing}. Use an inner join or restructure the query."
            )
        common = [n for n in self.heading.names if n in right.heading]
        heading = self.heading.plain().join(
            right.heading.plain(), nullable_pk=left and not determined, left=left
        )
        label = f"{self._label} * {right._label}"
        source = join_source(self, right, common, left)
        return QueryExpression._make(self._connection, heading, source, label)

    def __mul__(self, other: Any) -> QueryExpression:
        return self.join(other)

    def extend(self, other: Any, semantic_check: bool = True) -> QueryExpression:
        """The attributes of ``other`` added to every row of ``self`` (a left join; ``self``
        must determine ``other``)."""
        return self.join(other, semantic_check=semantic_check, left=True)

    def aggr(
        self,
        group: Any,
        *attributes: Any,
        exclude_nonmatching: bool = False,
        keep_all_rows: bool | None = None,
        **named: str,
    ) -> QueryExpression:
        """Compute over ``group`` for every row: ``Subject.aggr(Session, n='count(*)')``.

        Every row of ``self`` is kept (a left join) unless ``exclude_nonmatching=True``
        (``keep_all_rows`` is the older spelling of the opposite).
        """
        right = as_expression(group)
        if right is None:
            raise DataJointError(f"cannot aggregate {group!r}")
        _same_connection(self, right)
        if not right.heading.determines(self.heading):
            missing = [a for a in self.primary_key if a not in right.heading]
            raise DataJointError(
                "Aggregation requires the group expression to contain all primary key "
                f"attributes of the grouping expression. Missing attributes: {missing}."
            )
        keep_all = not exclude_nonmatching if keep_all_rows is None else keep_all_rows
        listed = [a for a in attributes if a is not Ellipsis]
        if Ellipsis in attributes:
            listed += self.heading.secondary_attributes
        base = self.proj(*dict.fromkeys(listed)) if listed else self.proj()
        joined = base.join(right, left=keep_all, allow_nullable_pk=keep_all)
        return _grouped(joined, base.heading, named, self._label)

    aggregate = aggr

    def __add__(self, other: Any) -> QueryExpression:
        """The union of two expressions with the same primary key and no common secondary
        attributes (an outer union when they have secondary attributes)."""
        right = as_expression(other)
        if right is None:
            raise DataJointError(
                "A QueryExpression can only be unioned with another QueryExpression"
            )
        _same_connection(self, right)
        if set(self.primary_key) != set(right.primary_key):
            raise DataJointError("The operands of a union must share the same primary key.")
        if set(self.heading.secondary_attributes) & set(right.heading.secondary_attributes):
            raise DataJointError("The operands of a union must not share any secondary attributes.")
        heading = self.heading.plain().join(right.heading.plain())
        names = heading.names
        if not self.heading.secondary_attributes and not right.heading.secondary_attributes:
            first, second = self, right
        else:  # rows of self with right's values where they exist, then right's other rows
            first = self.join(right, left=True)
            nulls = {k: "NULL" for k in self.heading.secondary_attributes}
            second = (right - self).proj(..., **nulls)
        # ORDER BY ... LIMIT of a dj.Top is not allowed directly inside a UNION
        first = first.as_subquery() if first._top is not None else first
        second = second.as_subquery() if second._top is not None else second

        source = union_source(first, second, names)
        return QueryExpression._make(self._connection, heading, source, self._label)

    # -- counting ------------------------------------------------------------------------
    def __len__(self) -> int:
        c = Compiler(self.adapter)
        if self._top is None and not self._distinct:
            source = self._from.render(c)
            sql, params = f"SELECT count(*) FROM {source.sql}", source.params
            where = self._where_sql(c)
            if where is not None:
                sql, params = f"{sql} WHERE {where.sql}", params + where.params
        else:
            alias = c.alias("c")
            inner = self._select(c)
            sql, params = f"SELECT count(*) FROM ({inner.sql}) AS {alias}", inner.params
        return int(self.connection.fetchall(sql, params)[0][0])

    def __bool__(self) -> bool:
        c = Compiler(self.adapter)
        alias = c.alias("b")
        inner = self._select(c)
        sql = f"SELECT 1 FROM ({inner.sql}) AS {alias} {self.adapter.limit_sql(1, 0)}"
        return bool(self.connection.fetchall(sql, inner.params))

    def __contains__(self, item: Any) -> bool:
        return bool(self & item)

    def __repr__(self) -> str:
        from .preview import preview

        return preview(self)

    def preview(self, limit: int | None = None, width: int | None = None) -> str:
        """A text table of the first rows (``display.limit``) and the total count."""
        from .preview import preview

        return preview(self, limit, width)

    def _repr_html_(self) -> str:
        from .preview import preview_html

        return preview_html(self)


def _grouped(
    joined: QueryExpression, group: Heading, named: Mapping[str, str], label: str
) -> QueryExpression:
    """GROUP BY ``group``'s attributes over ``joined`` with the named aggregate expressions."""
    heading, source = grouped(joined, group, named, label)
    return QueryExpression._make(joined._connection, heading, source, label)


def _same_connection(a: QueryExpression, b: QueryExpression) -> None:
    mine, theirs = a._connection, b._connection
    if isinstance(mine, CompileContext) and mine == theirs:
        return  # two compile contexts of one adapter combine
    if mine is not theirs:
        raise DataJointError(
            f"cannot combine {a._label} and {b._label}: they come from different connections"
        )


class U:
    """A universal set of the given attributes: ``dj.U('species') & Subject`` (the distinct
    values), ``dj.U('species').aggr(Subject, n='count(*)')``; ``dj.U()`` has one row."""

    def __init__(self, *attributes: str) -> None:
        self.attributes = attributes

    @property
    def primary_key(self) -> list[str]:
        return list(self.attributes)

    def __and__(self, other: Any) -> QueryExpression:
        expr = as_expression(other)
        if expr is None:
            raise DataJointError("Set U can only be restricted with a QueryExpression.")
        for name in self.attributes:
            expr.heading[name]  # an unknown attribute raises (a KeyError, as the reference's)
        base = expr if expr._plain() and expr._top is None else expr.as_subquery()
        keyed = base._replace(_heading=base.heading.with_key(self.attributes), _distinct=True)
        return keyed.proj()

    def __rand__(self, other: Any) -> QueryExpression:
        return self & other

    def __mul__(self, other: Any) -> QueryExpression:
        raise DataJointError(
            "dj.U(...) * table is no longer supported in DataJoint 2.0. "
            "This pattern is no longer necessary with the new semantic matching system."
        )

    def __sub__(self, other: Any) -> QueryExpression:
        raise DataJointError(
            "dj.U(...) - table produces an infinite set and is not supported. "
            "Consider using a different approach for your query."
        )

    def aggr(self, group: Any, **named: Any) -> QueryExpression:
        """Group ``group`` by this set's attributes (only rows that exist: never all rows)."""
        if named.pop("exclude_nonmatching", True) is False:
            raise DataJointError(
                "Cannot set exclude_nonmatching=False when aggregating on a universal set."
            )
        expr = as_expression(group)
        if expr is None:
            raise DataJointError("dj.U.aggr requires a QueryExpression as the group argument.")
        missing = [a for a in self.attributes if a not in expr.heading]
        if missing:
            raise DataJointError(f"Attributes {missing} not found in the group expression.")
        heading = expr.heading.plain().select(self.attributes).with_key(self.attributes)
        return _grouped(expr, heading, named, expr._label)

    aggregate = aggr

    def __repr__(self) -> str:
        return f"dj.U({', '.join(map(repr, self.attributes))})"
