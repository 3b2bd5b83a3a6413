"""Headings: the attributes of a table or query, read back from the database catalog.

A core type declared here (or by the reference DataJoint) is kept at the start of the column
comment as ``:int32:original comment``; a column without one gets the core type its native type
corresponds to, or keeps its native type.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

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
    # the core type as the definition wrote it (kept in the column comment), as the reference's
    # ``Attribute.original_type``: ``"enum('a', 'b')"`` where ``type`` is ``"enum('a','b')"``
    original_type: str | None = field(default=None, compare=False)
    # (schema, table) of the column read from the catalog: the context codecs are given
    origin: tuple[str, str] | None = field(default=None, compare=False, repr=False)

    @property
    def is_hidden(self) -> bool:
        """Platform-managed columns (``_singleton``, ``_job_start_time``, ...) start with ``_``:
        headings leave them out, as the reference does."""
        return self.name.startswith("_")

    @property
    def declared_type(self) -> str:
        """The type as it goes into the column comment: the core type as written."""
        return self.original_type or self.type

    @property
    def dtype(self) -> object:
        """The numpy type of a fetched column, as the reference chooses it (object when
        values may be None or are not plain numbers)."""
        return _numpy_type(self)

    @property
    def numeric(self) -> bool:
        """A number (the reference's ``Attribute.numeric``)."""
        return self.base_type in _NUMERIC_CORE or bool(
            not self.core and (_INTEGER.fullmatch(self.type) or _FLOAT.fullmatch(self.type))
        )

    @property
    def string(self) -> bool:
        """Text, an enum or a date/time (the reference's ``Attribute.string``)."""
        return self.base_type in ("char", "varchar", "enum", "date", "datetime")

    @property
    def json(self) -> bool:
        return self.base_type == "json"

    @property
    def uuid(self) -> bool:
        return self.base_type == "uuid"

    @property
    def is_blob(self) -> bool:
        """Stored as bytes: ``bytes``, a codec stored as bytes, or a native blob."""
        if self.type.startswith("<"):
            from .codecs import resolve_dtype

            try:
                return resolve_dtype(self.type)[0] == "bytes"
            except DataJointError:
                return False
        return self.base_type == "bytes" or (not self.core and "blob" in self.type)

    @property
    def codec(self) -> Any:
        """The outermost codec of a ``<...>`` type (None for other types)."""
        if not self.type.startswith("<"):
            return None
        from .codecs import get_codec

        return get_codec(self.type)

    @property
    def store(self) -> str | None:
        """The store of ``<codec@store>`` ("" for the default store), else None."""
        if not self.type.startswith("<") or "@" not in self.type:
            return None
        return self.type.strip("<>").partition("@")[2]

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


class Attributes(tuple):
    """The attributes of a heading in order; also a read-only mapping by name, as the
    reference's ``heading.attributes`` dict is (``"a" in attrs``, ``attrs["a"]``, ``keys()``)."""

    def __contains__(self, item: object) -> bool:
        if isinstance(item, str):
            return any(a.name == item for a in self)
        return tuple.__contains__(self, item)

    def __getitem__(self, item: Any) -> Any:
        if isinstance(item, str):
            for attr in self:
                if attr.name == item:
                    return attr
            raise KeyError(item)
        return tuple.__getitem__(self, item)

    def get(self, name: str, default: Any = None) -> Any:
        return next((a for a in self if a.name == name), default)

    def keys(self) -> list[str]:
        return [a.name for a in self]

    def values(self) -> list[Attribute]:
        return list(self)

    def items(self) -> list[tuple[str, Attribute]]:
        return [(a.name, a) for a in self]


@dataclass(frozen=True)
class Heading:
    """An ordered set of attributes (primary key first) with the table's metadata.

    ``hidden`` holds platform-managed columns (names starting with ``_``): they are declared
    and stored but, as in the reference, not part of ``attributes``, ``names`` or the key.
    """

    attributes: tuple[Attribute, ...]
    comment: str = ""
    foreign_keys: tuple[ForeignKey, ...] = ()
    indexes: tuple[Index, ...] = ()
    hidden: tuple[Attribute, ...] = ()
    # the table's schema has a ``~lineage`` table: namesakes are checked by lineage
    lineage_available: bool = field(default=False, compare=False)
    # an index of ``attributes`` by name, made for each heading (``replace`` makes a new one)
    _by_name: dict[str, Attribute] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.attributes, Attributes):
            object.__setattr__(self, "attributes", Attributes(self.attributes))
        object.__setattr__(self, "_by_name", {a.name: a for a in self.attributes})

    @property
    def _attributes(self) -> dict[str, Attribute]:
        """Every attribute by name, hidden ones included (the reference's ``_attributes``)."""
        return {a.name: a for a in (*self.attributes, *self.hidden)}

    @property
    def all_attributes(self) -> tuple[Attribute, ...]:
        """The columns to declare: the visible attributes, then the hidden ones."""
        return (*self.attributes, *self.hidden)

    @property
    def as_dtype(self) -> Any:
        """A numpy structured dtype of the attributes (as the reference's ``as_dtype``)."""
        import numpy as np

        return np.dtype({"names": self.names, "formats": [a.dtype for a in self.attributes]})

    @property
    def has_autoincrement(self) -> bool:
        return any(a.autoincrement for a in self.attributes)

    def __repr__(self) -> str:
        """The heading as definition lines, one per attribute (as the reference prints it)."""
        lines = [f"# {self.comment}"] if self.comment else []
        in_key = True
        for attr in self.attributes:
            if in_key and not attr.in_key:
                lines.append("---")
                in_key = False
            name = attr.name if attr.default is None else f"{attr.name}={attr.default}"
            type_ = (attr.type or "expression") + (" auto_increment" if attr.autoincrement else "")
            lines.append(f"{name:<20} : {type_:<28} # {attr.comment}")
        return "\n".join(lines) + "\n"

    def __iter__(self) -> Iterator[str]:
        """The attribute names, in order (as the reference iterates a heading)."""
        return iter(self._by_name)

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
            attrs = [*self.attributes, *(right(a) for a in other.attributes if a.name not in mine)]
        elif not nullable_pk and other.determines(self):
            theirs = set(other.names)
            attrs = [
                *(right(a) for a in other.attributes),
                *(a for a in self.attributes if a.name not in theirs),
            ]
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
    written = declared
    if declared is not None and not declared.startswith("<"):
        declared = _normalised(declared)
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
        original_type=written if written is not None and not written.startswith("<") else None,
        origin=(column.schema, column.table),
    )


def _normalised(written: str) -> str:
    """The core type of a ``:type:`` comment as this package spells it (``enum('a','b')``)."""
    from .declare.parser import normalise_type

    try:
        return normalise_type(written)[0]
    except ValueError:  # a type this package does not know: keep it as it was written
        return written


_INTEGER = re.compile(r"((tiny|small|medium|big|)int|integer)(\s*\(.+\))?(\s+unsigned)?", re.I)
_FLOAT = re.compile(r"(double|float|real|double precision)(\s*\(.+\))?(\s+unsigned)?", re.I)
_CORE_INTEGERS = frozenset({"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "bool"})
_NUMERIC_CORE = _CORE_INTEGERS | {"uint64", "float32", "float64", "decimal"}


def _numpy_type(attr: Attribute) -> object:
    """int64 for a non-nullable integer (uint64 for an unsigned 64-bit one), float64 for any
    float, object otherwise: what the reference's heading reports as ``dtype``."""
    import numpy as np

    if attr.expression is not None:
        return object
    base = attr.base_type if attr.core else ""
    native = attr.type if not attr.core else ""
    if base in ("float32", "float64") or (native and _FLOAT.fullmatch(native)):
        return np.float64
    if attr.nullable:
        return object
    if base == "uint64" or (
        native and native.lower().startswith("bigint") and "unsigned" in native
    ):
        return np.uint64
    if base in _CORE_INTEGERS or (native and _INTEGER.fullmatch(native)):
        return np.int64
    return object


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
            tuple(a for a in attrs if not a.is_hidden),
            hidden=tuple(a for a in attrs if a.is_hidden),
            comment=info.comment,
            foreign_keys=tuple(fks.get(key, ())),
            indexes=tuple(indexes.get(key, ())),
            lineage_available=info.schema in lineages,
        )
    return headings
