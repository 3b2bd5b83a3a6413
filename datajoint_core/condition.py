"""Restrictions -> SQL conditions: dicts, lists (OR), strings, AndList, Not, Top, expressions.

Restriction strings are written in the MySQL dialect DataJoint pipelines use; on other backends
they are translated with sqlglot, and their attribute names are checked against the heading.
"""

from __future__ import annotations

import datetime
import decimal
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import DataJointError, UnknownAttributeError

if TYPE_CHECKING:
    from .adapters.base import Adapter
    from .heading import Attribute, Heading


@dataclass(frozen=True)
class Fragment:
    """A piece of SQL with its parameters, in textual order."""

    sql: str
    params: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Raw:
    """A condition already written in the backend's SQL, e.g. built from adapter methods."""

    fragment: Fragment
    attributes: frozenset[str] | None = None  # the columns it mentions (None: unknown)


TRUE = Fragment("1 = 1")
FALSE = Fragment("1 = 0")


class AndList(list[Any]):
    """A list of restrictions combined with AND: ``expr & dj.AndList([a, b])``."""


@dataclass(frozen=True)
class Not:
    """The negation of a restriction: ``expr & dj.Not(cond)`` is ``expr - cond``."""

    restriction: Any


@dataclass(frozen=True)
class Top:
    """The first ``limit`` rows in ``order_by`` order (default: the primary key)."""

    limit: int | None = 1
    order_by: str | Sequence[str] | None = "KEY"
    offset: int = 0

    def __post_init__(self) -> None:
        if self.limit is not None and (not isinstance(self.limit, int) or self.limit < 0):
            raise DataJointError(f"Top limit must be a non-negative integer, got {self.limit!r}")
        if not isinstance(self.offset, int) or self.offset < 0:
            raise DataJointError(f"Top offset must be a non-negative integer, got {self.offset!r}")

    def order_items(self, primary_key: Sequence[str]) -> list[str]:
        """``"session_date DESC, KEY"`` -> ``["session_date DESC", *primary_key]``;
        ``"KEY DESC"`` orders every primary-key attribute descending."""
        items = [self.order_by] if isinstance(self.order_by, str) else list(self.order_by or [])
        out: list[str] = []
        for item in (part.strip() for text in items for part in text.split(",")):
            name, _, direction = item.partition(" ")
            if name.upper() == "KEY":
                out += [f"{k} {direction.strip()}".strip() for k in primary_key]
            elif item:
                out.append(item)
        return out


def encode(value: Any, attr: Attribute | None, adapter: Adapter) -> Any:
    """A Python value as the driver parameter for ``attr``'s column."""
    if value is None:
        return None
    base = attr.base_type if attr is not None else ""
    if base.startswith("<"):  # codecs first: a one-element array stays an array
        from .codecs import encode_attribute

        value, attr = encode_attribute(value, attr)
        base = attr.base_type
        if value is None or base == "bytes":
            return value
    if hasattr(value, "item") and not isinstance(value, (bytes, str)):  # numpy scalars
        try:
            value = value.item()
        except (TypeError, ValueError):
            pass
    if base == "uuid":
        if not isinstance(value, uuid.UUID):
            try:
                value = (
                    uuid.UUID(bytes=value) if isinstance(value, bytes) else uuid.UUID(str(value))
                )
            except ValueError:
                raise DataJointError(f"{attr.name}: {value!r} is not a UUID") from None  # type: ignore[union-attr]
        return adapter.encode_uuid(value)
    if base == "json":
        return value if isinstance(value, str) else json.dumps(value)
    if base == "bool":
        return bool(value)
    if isinstance(value, (str, int, float, bytes, decimal.Decimal, datetime.date)):
        return value
    if isinstance(value, uuid.UUID):
        return adapter.encode_uuid(value)
    return value


def _quote_column(adapter: Adapter, attr: Attribute) -> str:
    return adapter.quote(attr.name)


def dict_condition(
    heading: Heading, row: Mapping[str, Any], adapter: Adapter, table: str
) -> Fragment:
    """AND of equalities for the keys that are attributes; extra keys are ignored."""
    known = [k for k in row if k in heading]
    if not known:
        if not row:
            return TRUE
        raise UnknownAttributeError(
            f"{table}: restriction {dict(row)!r} names no attribute of the table; "
            f"its attributes are {heading.names}"
        )
    parts, params = [], []
    for name in known:
        attr = heading[name]
        value = row[name]
        if value is None:
            parts.append(f"{_quote_column(adapter, attr)} IS NULL")
        else:
            parts.append(f"{_quote_column(adapter, attr)} = %s")
            params.append(encode(value, attr, adapter))
    return Fragment(" AND ".join(parts), tuple(params))


def string_condition(heading: Heading, text: str, adapter: Adapter, table: str) -> Fragment:
    """A MySQL-dialect condition checked against the heading and written for ``adapter``."""
    translated = translate(text, adapter, heading.names, table)
    return Fragment(adapter.escape_percent(f"({translated})"))


def translate(text: str, adapter: Adapter, names: Iterable[str] | None, table: str) -> str:
    """Parse a MySQL-dialect SQL expression; check its columns; render it for ``adapter``."""
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(text, read="mysql")
    except sqlglot.errors.SqlglotError as err:
        if adapter.sqlglot_dialect == "mysql":
            return text  # the server will judge it
        raise DataJointError(
            f"{table}: cannot translate the condition {text!r} to {adapter.name}: {err}"
        ) from None
    if names is not None:
        known = set(names)
        unknown = sorted({c.name for c in tree.find_all(exp.Column) if c.name not in known})
        if unknown:
            raise UnknownAttributeError(
                f"{table}: the condition {text!r} names unknown attribute(s) {unknown}; "
                f"the attributes are {sorted(known)}"
            )
    if adapter.sqlglot_dialect == "mysql":
        return text
    try:
        return tree.sql(dialect=adapter.sqlglot_dialect, unsupported_level=sqlglot.ErrorLevel.RAISE)
    except sqlglot.errors.SqlglotError as err:
        raise DataJointError(
            f"{table}: cannot translate the condition {text!r} to {adapter.name}: {err}"
        ) from None


def combine(fragments: Sequence[Fragment], operator: str) -> Fragment:
    if not fragments:
        return TRUE if operator == "AND" else FALSE
    if len(fragments) == 1:
        return fragments[0]
    sql = f" {operator} ".join(f"({f.sql})" for f in fragments)
    params = tuple(p for f in fragments for p in f.params)
    return Fragment(sql, params)


def negate(fragment: Fragment) -> Fragment:
    return Fragment(f"NOT ({fragment.sql})", fragment.params)


def records(restriction: Any) -> list[Any] | None:
    """Rows of a DataFrame or numpy record array as a list of dicts; None for anything else."""
    if hasattr(restriction, "to_dict") and hasattr(restriction, "columns"):
        if any(name is not None for name in restriction.index.names):  # e.g. from to_pandas()
            restriction = restriction.reset_index()
        return list(restriction.to_dict("records"))
    dtype = getattr(restriction, "dtype", None)
    if dtype is not None and getattr(dtype, "names", None):
        return [dict(zip(dtype.names, row)) for row in restriction.tolist()]
    return None
