"""Table spec + resolved parents + adapter -> the SQL statements that declare the table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ..errors import DeclarationError
from ..heading import Attribute, ForeignKey, Heading, Index, join_comment
from .parser import (
    AttributeSpec,
    ForeignKeySpec,
    TableSpec,
    enum_values,
    normalise_type,
    split_type,
)

if TYPE_CHECKING:
    from ..adapters.base import Adapter


@dataclass(frozen=True)
class Parent:
    """A resolved ``-> Parent`` reference; ``rename`` ((new, old) pairs) as the evaluated
    reference projects the parent's key (None: as the parsed ``spec`` says)."""

    spec: ForeignKeySpec
    full_name: str
    schema: str
    heading: Heading
    rename: tuple[tuple[str, str], ...] | None = None

    @property
    def renames(self) -> tuple[tuple[str, str], ...]:
        return self.spec.rename if self.rename is None else self.rename


@dataclass(frozen=True)
class Declaration:
    statements: tuple[str, ...]
    heading: Heading


def _fk_attributes(parent: Parent, table: str) -> list[Attribute]:
    renames = dict(parent.renames)
    unknown = set(renames.values()) - set(parent.heading.primary_key)
    if unknown:
        raise DeclarationError(
            f"{table}: line {parent.spec.line}: {parent.spec.ref}.proj() renames "
            f"{sorted(unknown)}, which are not in its primary key {parent.heading.primary_key}"
        )
    by_old = {old: new for new, old in renames.items()}
    return [
        replace(
            parent.heading[name],
            name=by_old.get(name, name),
            in_key=parent.spec.in_key,
            nullable=parent.spec.nullable,
            default=None,
            autoincrement=False,
            expression=None,
            source=None,
        )
        for name in parent.heading.primary_key
    ]


def _attribute(spec: AttributeSpec) -> Attribute:
    written = spec.written if spec.core and not spec.type.startswith("<") else None
    return Attribute(
        name=spec.name,
        type=spec.type,
        in_key=spec.in_key,
        nullable=spec.nullable,
        default=spec.default,
        comment=spec.comment,
        core=spec.core,
        original_type=written or None,
    )


def build_heading(spec: TableSpec, parents: Sequence[Parent], table: str) -> Heading:
    """The heading a definition declares, with foreign keys (before any SQL)."""
    attrs: dict[str, Attribute] = {}
    fks: list[ForeignKey] = []
    indexes = [Index(ix.attributes, ix.unique) for ix in spec.indexes]
    by_line = {p.spec.line: p for p in parents}
    for item in spec.items:
        if isinstance(item, AttributeSpec):
            if item.name in attrs:
                raise DeclarationError(
                    f"{table}: line {item.line}: attribute {item.name!r} is declared twice"
                )
            attrs[item.name] = _attribute(item)
            continue
        parent = by_line[item.line]
        new = _fk_attributes(parent, table)
        for attr in new:
            if attr.name in attrs and attrs[attr.name].type != attr.type:
                raise DeclarationError(
                    f"{table}: line {item.line}: attribute {attr.name!r} from {item.ref} "
                    f"conflicts with an attribute of type {attrs[attr.name].type}"
                )
            attrs.setdefault(attr.name, attr)
        fk_cols = tuple(a.name for a in new)
        fks.append(ForeignKey(parent.full_name, tuple(zip(fk_cols, parent.heading.primary_key))))
        if item.unique:
            indexes.append(Index(fk_cols, True))
    if not any(a.in_key for a in attrs.values()):
        raise DeclarationError(f"{table}: the definition declares no primary-key attribute")
    for ix in spec.indexes:
        for name in ix.attributes:
            if name not in attrs:
                raise DeclarationError(
                    f"{table}: line {ix.line}: index on unknown attribute {name!r}"
                )
    ordered = [a for a in attrs.values() if a.in_key] + [a for a in attrs.values() if not a.in_key]
    return Heading(
        tuple(a for a in ordered if not a.is_hidden),
        spec.comment,
        tuple(fks),
        tuple(indexes),
        hidden=tuple(a for a in ordered if a.is_hidden),
    )


def stored_type(attr: Attribute) -> tuple[str, bool]:
    """``(type, core)`` of the column that stores ``attr``: a codec's chain resolved."""
    if not attr.type.startswith("<"):
        return attr.type, attr.core
    from ..codecs import resolve_dtype

    dtype, _, _ = resolve_dtype(attr.type)
    try:
        return normalise_type(dtype)
    except ValueError:
        raise DeclarationError(f"invalid dtype {dtype!r} of codec {attr.type}") from None


def _native(
    attr: Attribute, adapter: Adapter, schema: str, enums: dict[str, tuple[str, ...]]
) -> str:
    type_, core = stored_type(attr)
    if not core:
        return type_
    base, args = split_type(type_)
    enum_name = ""
    if base == "enum" and adapter.enum_is_named_type:
        values = enum_values(type_)
        enum_name = adapter.enum_type_name(schema, values)
        enums[adapter.split_full_name(enum_name)[1]] = values
    return adapter.core_to_native(base, args, enum_name=enum_name)


def _default(attr: Attribute, adapter: Adapter) -> str:
    if attr.nullable:
        return " DEFAULT NULL"
    if attr.default is None:
        return ""
    text = attr.default
    if len(text) >= 2 and text[0] in "'\"" and text[-1] == text[0]:
        text = adapter.string_literal(text[1:-1].replace(text[0] * 2, text[0]))
    elif attr.type == "bool" and text.lower() in ("true", "false", "1", "0"):
        text = adapter.bool_literal(text.lower() in ("true", "1"))
    elif text.split("(")[0].upper() not in _SQL_CONSTANTS:
        text = adapter.string_literal(text)  # quoted, numbers too, as the reference writes it
    return f" DEFAULT {text}"


_SQL_CONSTANTS = frozenset({"CURRENT_TIMESTAMP", "NULL"})


def foreign_key_indexes(heading: Heading, adapter: Adapter) -> list[Index]:
    """Indexes for foreign-key columns the server would not index by itself: those not a
    left prefix of the key, of an index or of a longer foreign key's index (longest first,
    as the reference decides)."""
    if adapter.indexes_foreign_keys:
        return []
    key = tuple(a.name for a in heading.all_attributes if a.in_key)
    covered = [key, *(ix.columns for ix in heading.indexes)]
    candidates = [tuple(child for child, _ in fk.attr_map) for fk in heading.foreign_keys]
    unique = {ix.columns for ix in heading.indexes if ix.unique}
    extra: list[Index] = []
    for cols in sorted((c for c in candidates if c not in unique), key=len, reverse=True):
        if not any(c[: len(cols)] == cols for c in covered):
            extra.append(Index(cols, False))
            covered.append(cols)
    return extra


def column_sql(
    attr: Attribute, adapter: Adapter, schema: str, enums: dict[str, tuple[str, ...]]
) -> tuple[str, str]:
    """``(column definition, column comment)`` of an attribute; the definition carries the
    comment where the backend writes it inline. Named enum types it needs go into ``enums``."""
    native = _native(attr, adapter, schema, enums)
    comment = join_comment(attr.declared_type if attr.core else None, attr.comment)
    null = "" if attr.nullable else " NOT NULL"
    sql = f"{adapter.quote(attr.name)} {native}{null}{_default(attr, adapter)}"
    return sql + adapter.column_comment_sql(comment), comment


def compile_table(heading: Heading, schema: str, table: str, adapter: Adapter) -> list[str]:
    """The statements that create a table with ``heading`` (on, say, a staging server too)."""
    q = adapter.quote
    full = adapter.full_name(schema, table)
    enums: dict[str, tuple[str, ...]] = {}
    lines = []
    comments = {}
    for attr in heading.all_attributes:
        sql, comment = column_sql(attr, adapter, schema, enums)
        comments[attr.name] = comment
        lines.append(sql)
    key = [a.name for a in heading.all_attributes if a.in_key]
    lines.append(f"PRIMARY KEY ({', '.join(q(n) for n in key)})")
    for fk in heading.foreign_keys:
        child = ", ".join(q(c) for c, _ in fk.attr_map)
        parent = ", ".join(q(p) for _, p in fk.attr_map)
        lines.append(
            f"FOREIGN KEY ({child}) REFERENCES {fk.parent} ({parent}) "
            "ON UPDATE CASCADE ON DELETE RESTRICT"
        )
    indexes = [*heading.indexes, *foreign_key_indexes(heading, adapter)]
    inline, after = adapter.index_statements(
        schema, table, [(ix.unique, ix.columns) for ix in indexes]
    )
    lines += inline
    body = ",\n  ".join(lines)
    create = f"CREATE TABLE {full} (\n  {body}\n){adapter.table_options_sql(heading.comment)}"
    return [
        *adapter.pre_table_statements(schema, table, enums),
        create,
        *after,
        *adapter.comment_statements(full, heading.comment, comments),
    ]


def declare(
    spec: TableSpec,
    parents: Sequence[Parent],
    schema: str,
    table: str,
    adapter: Adapter,
    label: str | None = None,
) -> Declaration:
    """Compile a parsed definition whose ``-> Parent`` references are resolved.

    ``label`` names the table in error messages (the class name; default ``table``).
    """
    heading = build_heading(spec, parents, label or table)
    return Declaration(tuple(compile_table(heading, schema, table, adapter)), heading)
