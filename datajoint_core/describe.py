"""Reconstruct a table's definition from its heading (``Table.describe()``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .graph.dependencies import catalog_of

if TYPE_CHECKING:
    from .heading import Attribute
    from .table import Table


def _class_name(table: Table, full_name: str) -> str:
    from .user_tables import split_part, tier_of, to_camel

    adapter = table.adapter
    schema, name = adapter.split_full_name(full_name)
    master = getattr(type(table), "master", None)
    if master is not None and full_name == master().full_table_name:
        return "master"
    split = split_part(name)
    if split is not None:
        cls = f"{to_camel(tier_of(split[0])[1])}.{to_camel(split[1])}"
    else:
        cls = to_camel(tier_of(name)[1])
    return cls if schema == table.database else f"{schema}.{cls}"


def _attribute_line(attr: Attribute) -> str:
    default = ""
    if attr.nullable:
        default = " = null"
    elif attr.default is not None:
        default = f" = {attr.default}"
    comment = f"  # {attr.comment}" if attr.comment else ""
    return f"{attr.name}{default} : {attr.type}{comment}"


def describe(table: Table) -> str:
    """The definition text of ``table``: foreign keys as ``-> Parent``, then attributes."""
    heading = table.heading
    catalog = catalog_of(table.connection)
    lines = [f"# {heading.comment}"] if heading.comment else []
    done: set[str] = set()
    fk_lines: dict[str, str] = {}
    first_col: dict[str, str] = {}
    for fk in heading.foreign_keys:
        catalog.load([table.adapter.split_full_name(fk.parent)[0]])
        parent = _class_name(table, fk.parent)
        renames = [(c, p) for c, p in fk.attr_map if c != p]
        ref = parent
        if renames:
            ref += ".proj(" + ", ".join(f"{c}='{p}'" for c, p in renames) + ")"
        cols = [c for c, _ in fk.attr_map]
        attrs = [heading[c] for c in cols]
        options = []
        if any(a.nullable for a in attrs):
            options.append("nullable")
        if any(ix.unique and ix.columns == tuple(cols) for ix in heading.indexes):
            options.append("unique")
        opt = f"[{', '.join(options)}] " if options else ""
        fk_lines[cols[0]] = f"-> {opt}{ref}"
        first_col[fk.parent + cols[0]] = cols[0]
        done.update(cols)
    in_key = True
    emitted: set[str] = set()
    for attr in heading.attributes:
        if in_key and not attr.in_key:
            lines.append("---")
            in_key = False
        if attr.name in fk_lines and attr.name not in emitted:
            lines.append(fk_lines[attr.name])
            emitted.add(attr.name)
        elif attr.name not in done:
            lines.append(_attribute_line(attr))
    if in_key:
        lines.append("---")
    fk_unique = {tuple(c for c, _ in fk.attr_map) for fk in heading.foreign_keys}
    for index in heading.indexes:
        if index.unique and index.columns in fk_unique:
            continue
        lines.append(f"{'unique ' if index.unique else ''}index({', '.join(index.columns)})")
    return "\n".join(lines) + "\n"
