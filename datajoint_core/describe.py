"""Reconstruct a table's definition from its heading (``Table.describe()``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .graph.dependencies import catalog_of

if TYPE_CHECKING:
    from .heading import Attribute, ForeignKey, Heading
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


def _fk_line(table: Table, fk: ForeignKey, heading: Heading) -> str:
    renames = [(c, p) for c, p in fk.attr_map if c != p]
    ref = _class_name(table, fk.parent)
    if renames:
        ref += ".proj(" + ", ".join(f"{c}='{p}'" for c, p in renames) + ")"
    cols = tuple(c for c, _ in fk.attr_map)
    options = []
    if any(heading[c].nullable for c in cols):
        options.append("nullable")
    if any(ix.unique and ix.columns == cols for ix in heading.indexes):
        options.append("unique")
    return f"-> {'[' + ', '.join(options) + '] ' if options else ''}{ref}"


def describe(table: Table) -> str:
    """The definition text of ``table``: foreign keys as ``-> Parent``, then attributes.

    A foreign key is written where its last attribute is, so that keys sharing attributes
    (``-> Session`` and ``-> Subject``) all survive and each attribute keeps its section.
    """
    heading = table.heading
    catalog = catalog_of(table.connection)
    lines = [f"# {heading.comment}"] if heading.comment else []
    at: dict[str, list[str]] = {}  # attribute -> foreign-key lines written after it
    fk_columns: set[tuple[str, ...]] = set()
    for fk in heading.foreign_keys:
        catalog.load([table.adapter.split_full_name(fk.parent)[0]])
        cols = tuple(c for c, _ in fk.attr_map)
        last = max(cols, key=heading.names.index)
        at.setdefault(last, []).append(_fk_line(table, fk, heading))
        fk_columns.add(cols)
    from_fk = {c for cols in fk_columns for c in cols}
    in_key = True
    for attr in heading.attributes:
        if in_key and not attr.in_key:
            lines.append("---")
            in_key = False
        if attr.name not in from_fk:
            lines.append(_attribute_line(attr))
        lines += at.get(attr.name, [])
    if in_key:
        lines.append("---")
    for index in heading.indexes:
        if index.columns in fk_columns:  # written as -> [unique], or the foreign key's own index
            continue
        lines.append(f"{'unique ' if index.unique else ''}index({', '.join(index.columns)})")
    return "\n".join(lines) + "\n"
