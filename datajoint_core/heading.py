"""Headings: the attributes of a table or query, read back from the database catalog.

A core type declared here (or by the reference DataJoint) is kept at the start of the column
comment as ``:int32:original comment``; a column without one gets the core type its native type
corresponds to, or keeps its native type.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from .errors import DataJointError, UnknownAttributeError

if TYPE_CHECKING:
    from .adapters.base import Adapter, Catalog, ColumnInfo, Run

_TYPE_COMMENT = re.compile(
    r"^:(?P<type><[^>]+>|[a-z0-9_]+(?:\((?:[^()'\"]|'[^']*'|\"[^\"]*\")*\))?):"
)


def split_comment(comment: str) -> tuple[str | None, str]:
    """``':int32:the id'`` -> ``('int32', 'the id')``; a plain comment -> ``(None, comment)``."""
    match = _TYPE_COMMENT.match(comment or "")
    if match is None:
        return None, comment or ""
    return match.group("type"), comment[match.end() :]


def join_comment(core_type: str | None, comment: str) -> str:
    return f":{core_type}:{comment}" if core_type else comment


@dataclass(frozen=True)
class Attribute:
    """One column of a heading."""

    name: str
    type: str  # core type ("int32", "varchar(32)", "enum('a','b')", "<blob>") or the native type
    native_type: str = ""
    in_key: bool = False
    nullable: bool = False
    default: str | None = None
    comment: str = ""
    core: bool = True
    autoincrement: bool = False
    declared: bool = False  # the core type came from the column comment
    expression: str | None = None  # SQL of a computed attribute (proj / aggr)
    source: str | None = None  # the column this attribute is renamed from
    # where the attribute originates, ``schema.table.attribute`` (the ``~lineage`` table), for
    # the semantic check of joins and restrictions; None for secondary and computed attributes
    lineage: str | None = field(default=None, compare=False)

    @property
    def base_type(self) -> str:
        """The type without parameters: ``'varchar(32)'`` -> ``'varchar'``."""
        return self.type.split("(")[0].strip()

    @property
    def sql(self) -> str:
        """What the attribute selects: its expression, its source column, or itself."""
        return self.expression or self.source or self.name


@dataclass(frozen=True)
class ForeignKey:
    """A foreign key of a table: ``attr_map`` maps child columns to parent columns."""

    parent: str  # full table name of the parent
    attr_map: tuple[tuple[str, str], ...]
    name: str = ""

    @property
    def aliased(self) -> bool:
        return any(child != parent for child, parent in self.attr_map)


@dataclass(frozen=True)
class Index:
    columns: tuple[str, ...]
    unique: bool


@dataclass(frozen=True)
class Heading:
    """An ordered set of attributes (primary key first) with the table's metadata."""

    attributes: tuple[Attribute, ...]
    comment: str = ""
    foreign_keys: tuple[ForeignKey, ...] = ()
    indexes: tuple[Index, ...] = ()
    # the table's schema has a ``~lineage`` table: namesakes are checked by lineage
    lineage_available: bool = field(default=False, compare=False)
    # an index of ``attributes`` by name, made for each heading (``replace`` makes a new one)
    _by_name: dict[str, Attribute] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {a.name: a for a in self.attributes})

    def __repr__(self) -> str:
        """The heading in the definition format, one line per attribute (as the reference)."""
        lines = [f"# {self.comment}"] if self.comment else []
        in_key = True
        for attr in self.attributes:
            if in_key and not attr.in_key:
                lines.append("---")
                in_key = False
            name = attr.name if attr.default is None else f"{attr.name}={attr.default}"
            kind = attr.type or "expression"
            lines.append(f"{name:<20} : {kind:<28} # {attr.comment}")
        return "\n".join(lines) + "\n"

    def __iter__(self) -> Iterator[Attribute]:
        return iter(self.attributes)

    def __len__(self) -> int:
        return len(self.attributes)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __getitem__(self, name: str) -> Attribute:
        try:
            return self._by_name[name]
        except KeyError:
            raise UnknownAttributeError(f"unknown attribute {name!r}") from None

    def get(self, name: str) -> Attribute | None:
        return self._by_name.get(name)

    @property
    def names(self) -> list[str]:
        return [a.name for a in self.attributes]

    @property
    def primary_key(self) -> list[str]:
        return [a.name for a in self.attributes if a.in_key]

    @property
    def secondary_attributes(self) -> list[str]:
        return [a.name for a in self.attributes if not a.in_key]

    def derive(self, attributes: Iterable[Attribute]) -> Heading:
        """A heading of other attributes that keeps this one's lineage availability."""
        return Heading(tuple(attributes), lineage_available=self.lineage_available)

    def select(self, names: Iterable[str]) -> Heading:
        """A heading of the named attributes, in this heading's order (key first)."""
        wanted = set(names)
        for name in wanted:
            self[name]  # raises for an unknown name
        return self.derive(a for a in self.attributes if a.name in wanted)

    def plain(self) -> Heading:
        """The same attributes as plain columns of a derived table (no expressions or renames)."""
        return self.derive(replace(a, expression=None, source=None) for a in self.attributes)

    def with_key(self, key: Sequence[str]) -> Heading:
        """The same attributes with ``key`` as the primary key, in ``key``'s order first."""
        keyset = set(key)
        first = [self[k] for k in dict.fromkeys(key)]
        rest = [a for a in self.attributes if a.name not in keyset]
        return self.derive(replace(a, in_key=a.name in keyset) for a in [*first, *rest])

    def determines(self, other: Heading) -> bool:
        """Every primary-key attribute of ``other`` is an attribute here (self -> other)."""
        return all(name in self for name in other.primary_key)

    def join(self, other: Heading, *, nullable_pk: bool = False, left: bool = False) -> Heading:
        """The heading of the natural join, with the primary key the reference gives it.

        A -> B: PK(A), A's attributes first; B -> A: PK(B), B's first; neither (or
        ``nullable_pk``): PK(A) and then PK(B). ``left`` makes the right side's own attributes
        nullable (a left join).
        """
        mine = set(self.names)

        def right(attr: Attribute, **changes: object) -> Attribute:
            return replace(attr, nullable=attr.nullable or left, **changes)  # type: ignore[arg-type]

        if not nullable_pk and self.determines(other):
            attrs = [*self.attributes, *(right(a) for a in other if a.name not in mine)]
        elif not nullable_pk and other.determines(self):
            theirs = set(other.names)
            attrs = [*(right(a) for a in other), *(a for a in self if a.name not in theirs)]
            attrs = [a for a in attrs if a.in_key] + [a for a in attrs if not a.in_key]
        else:
            mine_key, their_key = set(self.primary_key), set(other.primary_key)
            attrs = [
                *(self[n] for n in self.primary_key),
                *(right(other[n], in_key=True) for n in other.primary_key if n not in mine_key),
                *(self[n] for n in self.secondary_attributes if n not in their_key),
                *(
                    right(other[n])
                    for n in other.secondary_attributes
                    if n not in mine_key and n not in mine
                ),
            ]
        return Heading(
            tuple(attrs), lineage_available=self.lineage_available and other.lineage_available
        )


def attribute_from_column(column: ColumnInfo, in_key: bool, adapter: Adapter) -> Attribute:
    declared, comment = split_comment(column.comment)
    core_type = declared or adapter.native_to_core(column.native_type)
    return Attribute(
        name=column.name,
        type=core_type or column.native_type,
        native_type=column.native_type,
        in_key=in_key,
        nullable=column.nullable,
        default=column.default,
        comment=comment,
        core=core_type is not None,
        autoincrement=column.autoincrement,
        declared=declared is not None,
    )


LINEAGE_TABLE = "~lineage"
Lineages = dict[str, dict[str, dict[str, str]]]  # schema -> table -> attribute -> lineage


def read_lineages(catalog: Catalog, adapter: Adapter, run: Run) -> Lineages:
    """The ``~lineage`` rows of the catalog's schemas that have that table (one query).

    A schema without one is absent from the result: its headings skip the semantic check.
    """
    wanted = {"table_name", "attribute_name", "lineage"}
    columns: dict[str, set[str]] = {}
    for column in catalog.columns:
        if column.table == LINEAGE_TABLE:
            columns.setdefault(column.schema, set()).add(column.name)
    # a table of that name with other columns is not the reference's: no query may fail here,
    # since a failed query would abort an open PostgreSQL transaction
    schemas = sorted(s for s, names in columns.items() if wanted <= names)
    found: Lineages = {s: {} for s in schemas}
    if not schemas:
        return found
    q = adapter.quote
    cols = ", ".join(q(c) for c in ("table_name", "attribute_name", "lineage"))
    sql = " UNION ALL ".join(
        f"SELECT %s, {cols} FROM {adapter.full_name(s, LINEAGE_TABLE)}" for s in schemas
    )
    for schema, table, attribute, lineage in run(sql, schemas):
        found[str(schema)].setdefault(str(table), {})[str(attribute)] = str(lineage)
    return found


def headings_from_catalog(
    catalog: Catalog,
    adapter: Adapter,
    known: dict[str, Heading] | None = None,
    lineages: Lineages | None = None,
) -> dict[tuple[str, str], Heading]:
    """The heading of every table in the catalog, keyed by (schema, table).

    Foreign-key columns whose comment carries no core type (the reference leaves it out) take
    the core type of the parent column they reference, from this catalog or from ``known``.
    ``lineages`` (from :func:`read_lineages`) gives attributes their lineage.
    """
    headings = _headings(catalog, adapter, lineages or {})
    _inherit_types(headings, adapter, known or {})
    return headings


def inherit_types(headings: dict[tuple[str, str], Heading], adapter: Adapter) -> None:
    """Type foreign-key columns without a ``:type:`` comment after their parents, in place.

    For headings loaded before their parents' schema was (a child schema read first).
    """
    _inherit_types(headings, adapter, {})


def _inherit_types(
    headings: dict[tuple[str, str], Heading], adapter: Adapter, known: dict[str, Heading]
) -> None:
    by_name = dict(known)
    by_name.update({adapter.full_name(*k): h for k, h in headings.items()})
    for _ in range(16):  # one pass per level of a chain of foreign keys
        changed = False
        for key, heading in headings.items():
            attrs = list(heading.attributes)
            before = changed
            changed = False
            for fk in heading.foreign_keys:
                parent = by_name.get(fk.parent)
                if parent is None:
                    continue
                for child_col, parent_col in fk.attr_map:
                    i = next(i for i, a in enumerate(attrs) if a.name == child_col)
                    mine = attrs[i]
                    theirs = parent.get(parent_col)
                    if (
                        theirs is not None
                        and not mine.declared
                        and theirs.type != mine.type
                        and theirs.native_type == mine.native_type
                    ):
                        attrs[i] = replace(mine, type=theirs.type, core=theirs.core)
                        changed = True
            if changed:
                headings[key] = replace(heading, attributes=tuple(attrs))
                by_name[adapter.full_name(*key)] = headings[key]
            changed = changed or before
        if not changed:
            return


def _headings(
    catalog: Catalog, adapter: Adapter, lineages: Lineages
) -> dict[tuple[str, str], Heading]:
    columns: dict[tuple[str, str], list[ColumnInfo]] = {}
    for column in catalog.columns:
        columns.setdefault((column.schema, column.table), []).append(column)
    fks: dict[tuple[str, str], list[ForeignKey]] = {}
    for fk in catalog.foreign_keys:
        fks.setdefault((fk.schema, fk.table), []).append(
            ForeignKey(
                parent=adapter.full_name(fk.ref_schema, fk.ref_table),
                attr_map=tuple(zip(fk.columns, fk.ref_columns)),
                name=fk.name,
            )
        )
    indexes: dict[tuple[str, str], list[Index]] = {}
    for index in catalog.indexes:
        indexes.setdefault((index.schema, index.table), []).append(
            Index(index.columns, index.unique)
        )
    headings = {}
    for info in catalog.tables:
        if info.table.startswith("~"):  # hidden tables (lineage, jobs) are not part of a pipeline
            continue
        key = (info.schema, info.table)
        pk = catalog.primary_keys.get(key, ())
        cols = columns.get(key, [])
        if not cols:
            raise DataJointError(f"table {info.schema}.{info.table} has no columns")
        origins = lineages.get(info.schema, {}).get(info.table, {})
        attrs = [
            replace(attribute_from_column(c, c.name in pk, adapter), lineage=origins.get(c.name))
            for c in cols
        ]
        attrs.sort(key=lambda a: (not a.in_key, pk.index(a.name) if a.in_key else 0))
        headings[key] = Heading(
            tuple(attrs),
            comment=info.comment,
            foreign_keys=tuple(fks.get(key, ())),
            indexes=tuple(indexes.get(key, ())),
            lineage_available=info.schema in lineages,
        )
    return headings
