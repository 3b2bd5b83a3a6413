"""Restrictions -> SQL conditions: dicts, lists (OR), strings, AndList, Not, Top, expressions.

Restriction strings (and the SQL of computed attributes) are read in the dialect of the source
they run on. On a backend whose dialect is not DataJoint's historical MySQL dialect, a string
that is not valid there but is valid MySQL (backticks, ``"double-quoted"`` literals,
``INTERVAL 3 DAY``, ``IFNULL``, ``YEAR()``, ...) is translated with sqlglot; valid native SQL
(``notes->>'temp'``, ``::date``, ``ILIKE``) is sent as written. Attribute names outside
subqueries are checked against the heading; :func:`check_syntax` checks a condition without a
server.
"""

from __future__ import annotations

import collections.abc
import datetime
import decimal
import difflib
import itertools
import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn, overload

from .adapters.facts import ALIASES, backend
from .compile import Fragment, Lazy
from .errors import DataJointError, UnknownAttributeError

if TYPE_CHECKING:
    from sqlglot import exp

    from .adapters.base import Adapter
    from .compile import Compiler, Sql
    from .heading import Attribute, Heading

__all__ = [
    "AndList",
    "Fragment",
    "Not",
    "Raw",
    "Top",
    "check_syntax",
    "read_sql",
    "syntax_problem",
]


@dataclass(frozen=True)
class Raw:
    """A condition already written in the backend's SQL, e.g. built from adapter methods."""

    fragment: Fragment
    attributes: frozenset[str] | None = None  # the columns it mentions (None: unknown)


TRUE = Fragment("1 = 1")
FALSE = Fragment("1 = 0")


class AndList(list[Any]):
    """A list of restrictions combined with AND: ``expr & dj.AndList([a, b])``."""

    def append(self, restriction: Any) -> None:
        if isinstance(restriction, AndList):  # flat, as the reference keeps it
            self.extend(restriction)
        else:
            super().append(restriction)


@dataclass(frozen=True)
class Not:
    """The negation of a restriction: ``expr & dj.Not(cond)`` is ``expr - cond``."""

    restriction: Any


@dataclass(frozen=True)
class Top:
    """The first ``limit`` rows in ``order_by`` order (default: the primary key).

    ``order_by=None`` inherits the order of a Top already applied (else the primary key); a
    string becomes a one-item list. Wrong types raise ``TypeError``, as the reference does.
    """

    limit: int | None = 1
    order_by: str | Sequence[str] | None = "KEY"
    offset: int = 0

    def __post_init__(self) -> None:
        if self.offset is None:
            object.__setattr__(self, "offset", 0)
        if self.limit is not None and not isinstance(self.limit, int):
            raise TypeError("Top limit must be an integer")
        order = self.order_by
        if order is not None:
            if not isinstance(order, (str, collections.abc.Sequence)) or not all(
                isinstance(item, str) for item in order
            ):
                raise TypeError("Top order_by attributes must all be strings")
            object.__setattr__(self, "order_by", [order] if isinstance(order, str) else list(order))
        if not isinstance(self.offset, int):
            raise TypeError("The offset argument must be an integer")
        if (self.limit is not None and self.limit < 0) or self.offset < 0:
            raise DataJointError(f"Top limit and offset must not be negative: {self!r}")

    def merge(self, other: Top) -> Top:
        """This Top followed by ``other``, which inherits (or repeats) this one's order:
        the smaller limit, the offsets added."""
        limits = [n for n in (self.limit, other.limit) if n is not None]
        return Top(min(limits) if limits else None, self.order_by, self.offset + other.offset)

    def order_items(self, primary_key: Sequence[str]) -> list[str]:
        """``["session_date DESC", "KEY"]`` -> ``["session_date DESC", *primary_key]``;
        ``"KEY DESC"`` orders every primary-key attribute descending; None means ``KEY``."""
        items = ["KEY"] if self.order_by is None else list(self.order_by)
        out: list[str] = []
        for item in (part.strip() for text in items for part in text.split(",")):
            name, _, direction = item.partition(" ")
            if name == "KEY":  # upper case only, as the reference: `key` may be an attribute
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


def dict_condition(
    heading: Heading, row: Mapping[str, Any], adapter: Adapter, table: str
) -> Fragment:
    """AND of equalities for the keys that are attributes; other keys are ignored, and a
    mapping that names no attribute restricts nothing (as the reference does)."""
    known = [k for k in row if k in heading]
    if not known:
        return TRUE
    parts, params = [], []
    for name in known:
        attr = heading[name]
        value = row[name]
        if value is None:
            parts.append(f"{adapter.quote(attr.name)} IS NULL")
        else:
            parts.append(f"{adapter.quote(attr.name)} = %s")
            params.append(encode(value, attr, adapter))
    return Fragment(" AND ".join(parts), tuple(params))


# -- SQL text in the source's dialect -----------------------------------------------------------

LEGACY_DIALECT = "mysql"  # the dialect DataJoint restriction strings have always been written in

# MySQL functions a PostgreSQL server lacks: a call to one marks the text as MySQL
_LEGACY_FUNCTIONS = frozenset(
    [
        "IFNULL",
        "IF",
        "ISNULL",
        "YEAR",
        "MONTH",
        "DAY",
        "HOUR",
        "MINUTE",
        "SECOND",
        "DAYOFWEEK",
        "DAYOFMONTH",
        "DAYOFYEAR",
        "WEEKDAY",
        "WEEK",
        "WEEKOFYEAR",
        "QUARTER",
        "CURDATE",
        "CURTIME",
        "SYSDATE",
        "UTC_DATE",
        "UTC_TIMESTAMP",
        "DATE_FORMAT",
        "DATE_ADD",
        "DATE_SUB",
        "ADDDATE",
        "SUBDATE",
        "DATEDIFF",
        "TIMESTAMPDIFF",
        "TIMESTAMPADD",
        "STR_TO_DATE",
        "UNIX_TIMESTAMP",
        "FROM_UNIXTIME",
        "GROUP_CONCAT",
        "LOCATE",
        "INSTR",
        "JSON_EXTRACT",
        "JSON_UNQUOTE",
        "JSON_CONTAINS",
        "JSON_LENGTH",
        "JSON_KEYS",
        "RAND",
        "LCASE",
        "UCASE",
        "MID",
        "SUBSTRING_INDEX",
        "LAST_INSERT_ID",
        "FIND_IN_SET",
        "FIELD",
        "ELT",
    ]
)
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")


class _Unreadable(DataJointError):
    """A condition or expression that is not valid SQL (``problem`` says why, briefly)."""

    def __init__(self, message: str, problem: str) -> None:
        super().__init__(message)
        self.problem = problem


@dataclass(frozen=True)
class ReadSql:
    """A condition or expression as it will be sent, with the attributes it names."""

    sql: str  # in the target dialect
    columns: frozenset[str]  # unqualified column names outside subqueries
    translated: bool  # rewritten from the legacy dialect


def _parse(text: str, dialect: str, kind: str) -> exp.Expression:
    """One expression (a condition for ``kind == "condition"``); raises sqlglot errors or
    ValueError for anything else (several statements, a statement, nothing)."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.tokens import TokenType

    tokens = sqlglot.tokenize(text, read=dialect)
    if any(t.token_type == TokenType.UNKNOWN for t in tokens):
        bad = next(t.text for t in tokens if t.token_type == TokenType.UNKNOWN)
        raise ValueError(f"unexpected {bad!r}")
    comparisons = {getattr(TokenType, n) for n in ("EQ", "GT", "LT", "GTE", "LTE", "NEQ")}
    for this, after in itertools.pairwise(tokens):
        # sqlglot reads "> >" as ">>"; both servers refuse two comparisons apart
        if {this.token_type, after.token_type} <= comparisons and after.start > this.end + 1:
            raise ValueError(f"unexpected {after.text!r} at column {after.start + 1}")
    try:
        trees = [t for t in sqlglot.parse(text, read=dialect) if t is not None]
    except RecursionError:  # sqlglot recurses ~20 frames a parenthesis
        raise ValueError("it nests parentheses too deeply") from None
    if len(trees) != 1:
        raise ValueError("it is not one expression" if trees else "it is empty")
    tree = trees[0]
    wanted: tuple[type, ...] = (exp.Condition,)
    if kind != "condition":
        wanted += (exp.Subquery, exp.Interval)
    if not isinstance(tree, wanted):
        raise ValueError(f"it is not a {kind}")
    return tree  # type: ignore[return-value]


def _describe(err: Exception) -> str:
    """A syntax error in a user's words: ``unexpected '=' at column 14``, not sqlglot's."""
    import sqlglot

    if isinstance(err, sqlglot.errors.TokenError):
        return "an unterminated quote or comment"
    found = getattr(err, "errors", None)
    if not isinstance(err, sqlglot.errors.ParseError) or not found:
        return str(err).splitlines()[0]
    first = found[0]
    near, column = str(first.get("highlight") or ""), int(first.get("col") or 0)
    description, rest = first.get("description"), str(first.get("end_context") or "").strip()
    if description != "Invalid expression / Unexpected token" and not rest:
        if description == "Expecting )":
            return "a '(' is not closed"
        return f"it ends too early, after {near!r}" if near else "it ends too early"
    return f"unexpected {near!r} at column {column - len(near) + 1}"


def _outer_columns(tree: exp.Expression) -> list[exp.Column]:
    """Unqualified columns outside subqueries (those name the restricted table's attributes)."""
    from sqlglot import exp

    found: list[exp.Column] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, exp.Column):
            if not node.table:
                found.append(node)
            continue
        if isinstance(node, (exp.Query, exp.Subquery)):
            continue
        stack.extend(node.iter_expressions())
    return found


def _legacy_marks(text: str, tree: exp.Expression, dialect: str, names: set[str] | None) -> bool:
    """Whether text that parses in ``dialect`` is nevertheless MySQL: a MySQL-only function,
    ``INTERVAL 3 DAY``, or a double-quoted "identifier" that is no attribute (a MySQL string)."""
    import sqlglot
    from sqlglot.tokens import TokenType

    tokens = sqlglot.tokenize(text, read=dialect)
    for this, after in itertools.pairwise(tokens):
        if after.token_type == TokenType.L_PAREN and this.text.upper() in _LEGACY_FUNCTIONS:
            return True
        if this.token_type == TokenType.RLIKE:  # REGEXP / RLIKE
            return True
        if this.token_type == TokenType.INTERVAL and after.token_type == TokenType.NUMBER:
            return True  # INTERVAL 3 DAY
    for column in _outer_columns(tree):
        if column.this.args.get("quoted"):
            # a "quoted" name that is no attribute (or, unchecked, no name at all) is a string
            unknown = column.name not in names if names is not None else None
            if unknown or (unknown is None and not _IDENTIFIER.match(column.name)):
                return True
    return False


def _unknown(columns: Iterable[str], names: set[str]) -> list[str]:
    return sorted({c for c in columns if c not in names})


def _unknown_error(
    text: str, unknown: list[str], names: set[str], table: str, kind: str
) -> NoReturn:
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name, sorted(names), n=1)
        if close:
            hints.append(f"did you mean {close[0]!r} for {name!r}?")
    hint = (" " + " ".join(hints)) if hints else ""
    raise UnknownAttributeError(
        f"{table}: the {kind} {text!r} names unknown attribute(s) {unknown};{hint} "
        f"the attributes are {sorted(names)}"
    )


def read_sql(
    text: str,
    dialect: str,
    names: Iterable[str] | None = None,
    table: str = "query",
    kind: str = "condition",
) -> ReadSql:
    """Read a condition (or, with ``kind="expression"``, a computed attribute) for ``dialect``.

    Valid SQL of ``dialect`` is kept as written; otherwise, on a dialect other than MySQL, text
    that is valid MySQL is translated. ``names`` (the attributes of the restricted table) are
    checked against the columns named outside subqueries, with a "did you mean" hint. Raises
    :class:`DataJointError` naming ``table`` and the text for a syntax error.
    """
    import sqlglot

    if dialect in ALIASES:  # a backend name, not a sqlglot dialect
        dialect = backend(dialect).sqlglot_dialect
    known = None if names is None else set(names)
    native: exp.Expression | None = None
    problem: str | None = None
    try:
        native = _parse(text, dialect, kind)
    except (sqlglot.errors.SqlglotError, ValueError) as err:
        problem = _describe(err)
    if native is not None:
        columns = [c.name for c in _outer_columns(native)]
        unknown = [] if known is None else _unknown(columns, known)
        foreign = dialect != LEGACY_DIALECT and _legacy_marks(text, native, dialect, known)
        if not unknown and not foreign:
            return ReadSql(text, frozenset(columns), False)
    if dialect != LEGACY_DIALECT:
        try:
            legacy = _parse(text, LEGACY_DIALECT, kind)
        except (sqlglot.errors.SqlglotError, ValueError):
            legacy = None
        if legacy is not None:
            legacy_columns = [c.name for c in _outer_columns(legacy)]
            legacy_unknown = [] if known is None else _unknown(legacy_columns, known)
            if not legacy_unknown or native is None:
                if legacy_unknown:
                    _unknown_error(text, legacy_unknown, known or set(), table, kind)
                try:
                    sql = legacy.sql(dialect=dialect, unsupported_level=sqlglot.ErrorLevel.RAISE)
                except sqlglot.errors.SqlglotError as err:
                    raise _Unreadable(
                        f"{table}: cannot translate the {kind} {text!r} to {dialect}: {err}",
                        f"cannot translate it to {dialect}: {err}",
                    ) from None
                return ReadSql(sql, frozenset(legacy_columns), True)
    if native is None:
        message = f"{table}: the {kind} {text!r} is not valid SQL: {problem}"
        raise _Unreadable(message, f"not valid SQL: {problem}")
    if unknown:
        _unknown_error(text, unknown, known or set(), table, kind)
    return ReadSql(text, frozenset(columns), False)  # marked, but not translatable: as written


def check_syntax(text: str, dialect: str = LEGACY_DIALECT) -> frozenset[str]:
    """Check a restriction string without a server; return the attribute names it mentions.

    ``dialect`` is a backend name (``"mysql"``, ``"postgresql"``) or a sqlglot dialect. A
    condition that is neither valid there nor (on PostgreSQL) translatable MySQL raises
    :class:`DataJointError` naming it. Attribute names are not checked: compare the result
    with the table's heading (or restrict the table, which does).

    >>> sorted(check_syntax("session_date > '2024-01-01' AND subject_id IN (1, 2)"))
    ['session_date', 'subject_id']
    """
    return read_sql(text, dialect, None, "condition").columns


def syntax_problem(text: str, dialect: str = LEGACY_DIALECT) -> str | None:
    """What is wrong with a condition's syntax (None: nothing), checked without a server:
    ``syntax_problem("a = = 1") == "not valid SQL: unexpected '=' at column 5"``."""
    try:
        read_sql(text, dialect, None, "condition")
    except _Unreadable as err:
        return err.problem
    return None


def translate(text: str, adapter: Adapter, names: Iterable[str] | None, table: str) -> str:
    """The SQL of a computed attribute (proj / aggr), checked and written for ``adapter``."""
    return read_sql(text, adapter.sqlglot_dialect, names, table, "expression").sql


# -- the semantic check -------------------------------------------------------------------------


def assert_join_compatibility(a: Heading, b: Heading, what: str = "join") -> None:
    """Refuse to match namesake attributes of different lineage (the reference's semantic
    check), unless a side comes from a schema without a ``~lineage`` table."""
    if not (a.lineage_available and b.lineage_available):
        return
    for name in (n for n in a.names if n in b):
        mine, theirs = a[name].lineage, b[name].lineage
        if mine is not None and mine == theirs:
            continue
        if mine is None or theirs is None:
            raise DataJointError(
                f"Cannot {what} on attribute `{name}`: lineage missing on one side ({mine} vs "
                f"{theirs}). It is a secondary attribute on one side, or a stale `~lineage` "
                "entry: run `schema.rebuild_lineage()` to recompute lineage from the foreign "
                "keys, rename one of the attributes with .proj(), or pass semantic_check=False."
            )
        raise DataJointError(
            f"Cannot {what} on attribute `{name}`: different lineages ({mine} vs {theirs}). "
            "Use .proj() to rename one of the attributes, or pass semantic_check=False."
        )


# -- combining conditions -----------------------------------------------------------------------


@overload
def combine(parts: Sequence[Fragment], operator: str) -> Fragment: ...
@overload
def combine(parts: Sequence[Sql], operator: str) -> Sql: ...
def combine(parts: Sequence[Sql], operator: str) -> Sql:
    """AND / OR of conditions; rendered at once when they are all plain fragments."""
    if not parts:
        return TRUE if operator == "AND" else FALSE
    if len(parts) == 1:
        return parts[0]
    if all(isinstance(p, Fragment) for p in parts):
        return _join([p for p in parts if isinstance(p, Fragment)], operator)
    return Lazy(lambda c: _join([p.render(c) for p in parts], operator))


def _join(fragments: Sequence[Fragment], operator: str) -> Fragment:
    sql = f" {operator} ".join(f"({f.sql})" for f in fragments)
    return Fragment(sql, tuple(p for f in fragments for p in f.params))


def negate(part: Sql) -> Sql:
    if isinstance(part, Fragment):
        return Fragment(f"NOT ({part.sql})", part.params)

    def build(c: Compiler) -> Fragment:
        inner = part.render(c)
        return Fragment(f"NOT ({inner.sql})", inner.params)

    return Lazy(build)


def records(restriction: Any) -> list[Any] | None:
    """Rows of a DataFrame or numpy record array as a list of dicts (a numpy record: one);
    None for anything else."""
    if hasattr(restriction, "to_dict") and hasattr(restriction, "columns"):
        if any(name is not None for name in restriction.index.names):  # e.g. from to_pandas()
            restriction = restriction.reset_index()
        return list(restriction.to_dict("records"))
    dtype = getattr(restriction, "dtype", None)
    if dtype is not None and getattr(dtype, "names", None):
        if getattr(restriction, "ndim", 1) == 0:  # numpy.void: a single record
            return [{name: restriction[name] for name in dtype.names}]
        return [dict(zip(dtype.names, row)) for row in restriction.tolist()]
    return None
