"""The ALTER TABLE statements that turn a declared table into its edited definition.

Only secondary attributes and the table comment change; the primary key, foreign keys and
indexes cannot be altered (as in the reference). A new attribute whose comment starts with
``{old_name}`` renames ``old_name``, keeping its values: MySQL's CHANGE. Backends without
MySQL's positional ALTER (PostgreSQL) add and drop columns but refuse renames and changes.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..errors import DataJointError
from ..heading import Attribute, Heading
from .ddl import column_sql, foreign_key_indexes

if TYPE_CHECKING:
    from ..adapters.base import Adapter

_RENAME = re.compile(r"^\{\s*(?P<name>\w+)\s*\}")


def _keys(heading: Heading) -> list[str]:
    return [a.name for a in heading.all_attributes if a.in_key]


def _foreign_keys(heading: Heading) -> list[tuple[str, tuple[tuple[str, str], ...]]]:
    return sorted((fk.parent, fk.attr_map) for fk in heading.foreign_keys)


def _indexes(
    heading: Heading, adapter: Adapter, declared: bool
) -> set[tuple[tuple[str, ...], bool]]:
    """Indexes as the definition declares them: implicit foreign-key indexes left out."""
    found = {(ix.columns, ix.unique) for ix in heading.indexes}
    if declared:
        found |= {(ix.columns, ix.unique) for ix in foreign_key_indexes(heading, adapter)}
    fk_columns = {tuple(c for c, _ in fk.attr_map) for fk in heading.foreign_keys}
    return {(cols, unique) for cols, unique in found if unique or cols not in fk_columns}


def alter_statements(
    old: Heading, new: Heading, schema: str, table: str, adapter: Adapter
) -> list[str]:
    """The statements (none: nothing to change) that alter table ``old`` into ``new``."""
    if _keys(old) != _keys(new):
        raise NotImplementedError("table.alter cannot alter the primary key (yet).")
    if _foreign_keys(old) != _foreign_keys(new):
        raise NotImplementedError("table.alter cannot alter foreign keys (yet).")
    if _indexes(old, adapter, False) != _indexes(new, adapter, True):
        raise NotImplementedError("table.alter cannot alter indexes (yet)")
    full = adapter.full_name(schema, table)
    enums: dict[str, tuple[str, ...]] = {}
    clauses, comments = _attribute_clauses(old, new, schema, adapter, enums)
    inline = bool(adapter.column_comment_sql(""))
    after: list[str] = []
    if new.comment != old.comment:
        if inline:
            clauses.append(f"COMMENT={adapter.string_literal(new.comment)}")
        else:
            after.append(adapter.comment_statements(full, new.comment, {})[0])
    if not inline and comments:
        after += adapter.comment_statements(full, new.comment, comments)[1:]
    if not clauses and not after:
        return []
    statements = adapter.pre_table_statements(schema, table, enums)
    if clauses:
        statements.append(f"ALTER TABLE {full}\n\t" + ",\n\t".join(clauses))
    return statements + after


def _attribute_clauses(
    old: Heading, new: Heading, schema: str, adapter: Adapter, enums: dict[str, tuple[str, ...]]
) -> tuple[list[str], dict[str, str]]:
    """ALTER TABLE clauses for the attributes, and the comments of changed columns."""
    q = adapter.quote
    old_attrs = list(old.all_attributes)
    new_attrs = list(new.all_attributes)
    old_sql = {a.name: column_sql(a, adapter, schema, {}) for a in old_attrs}
    renamed_from: dict[str, str | None] = {}
    for attr in new_attrs:
        match = _RENAME.match(attr.comment)
        renamed_from[attr.name] = match["name"] if match else None
    sources = [n for n in renamed_from.values() if n]
    twice = {n for n in sources if sources.count(n) > 1}
    if twice:
        raise DataJointError(f"Alter attempted to rename attribute {{{sorted(twice)[0]}}} twice.")
    old_names = [a.name for a in old_attrs]
    for name in sources:
        if name not in old_names:
            raise DataJointError(f"Attribute {name} does not exist in the original definition")
    drop = [n for n in old_names if n not in sources and n not in renamed_from]
    clauses = [f"DROP {q(n)}" for n in drop]
    old_names = [n for n in old_names if n not in drop]
    comments: dict[str, str] = {}
    previous: tuple[str, str | None] | None = None
    for attr in new_attrs:
        name, source = attr.name, renamed_from[attr.name]
        if not attr.in_key:
            clause = _clause(attr, source, previous, old_names, old_sql, schema, adapter, enums)
            if clause is not None:
                clauses.append(clause)
                comments[name] = column_sql(attr, adapter, schema, {})[1]
        previous = (name, source)
    return clauses, comments


def _clause(
    attr: Attribute,
    source: str | None,
    previous: tuple[str, str | None] | None,
    old_names: list[str],
    old_sql: dict[str, tuple[str, str]],
    schema: str,
    adapter: Adapter,
    enums: dict[str, tuple[str, ...]],
) -> str | None:
    """ADD, MODIFY or CHANGE for one attribute; None when it stays as it is."""
    q = adapter.quote
    name = attr.name
    was = source or name
    sql = column_sql(attr, adapter, schema, enums)
    position = None
    if adapter.supports_column_position and previous is not None:
        if was not in old_names:
            position = previous[0]
        else:
            index = old_names.index(was)
            if index >= 1 and old_names[index - 1] != (previous[1] or previous[0]):
                position = previous[0]
    if sql == old_sql.get(was) and source is None and position is None:
        return None
    place = f" AFTER {q(position)}" if position else ""
    if was not in old_names:
        return f"ADD {sql[0]}{place}"
    if not adapter.supports_column_position:
        if source is not None:
            raise DataJointError(
                f"Renaming attribute `{source}` to `{name}` with alter() is not supported on "
                f"{adapter.backend}. No change was made."
            )
        raise DataJointError(
            f"Changing attribute `{name}` with alter() is not supported on {adapter.backend}. "
            "No change was made."
        )
    if source is None:
        return f"MODIFY {sql[0]}{place}"
    return f"CHANGE {q(source)} {sql[0]}{place}"
