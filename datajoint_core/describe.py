"""Reconstruct a table's definition from its heading (``Table.describe()``). Pure: no database."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .naming import class_name

if TYPE_CHECKING:
    from .adapters.base import Adapter
    from .heading import Attribute, ForeignKey, Heading


@dataclass(frozen=True)
class _Where:
    """How to name a parent from the described table: its schema and its master."""

    adapter: Adapter
    schema: str
    master: str | None  # the full name of a Part's master, written ``-> master``


def _class_name(where: _Where, full_name: str) -> str:
    schema, name = where.adapter.split_full_name(full_name)
    if where.master is not None and full_name == where.master:
        return "master"
    cls = class_name(name)
    return cls if schema == where.schema else f"{schema}.{cls}"


def _attribute_line(attr: Attribute) -> str:
    default = ""
    if attr.nullable:
        default = " = null"
    elif attr.default is not None:
        default = f" = {attr.default}"
    comment = f"  # {attr.comment}" if attr.comment else ""
    return f"{attr.name}{default} : {attr.declared_type}{comment}"


def _fk_line(where: _Where, fk: ForeignKey, heading: Heading) -> str:
    renames = [(c, p) for c, p in fk.attr_map if c != p]
    ref = _class_name(where, fk.parent)
    if renames:
        ref += ".proj(" + ", ".join(f"{c}='{p}'" for c, p in renames) + ")"
    cols = tuple(c for c, _ in fk.attr_map)
    options = []
    if any(heading[c].nullable for c in cols):
        options.append("nullable")
    if any(ix.unique and ix.columns == cols for ix in heading.indexes):
        options.append("unique")
    return f"-> {'[' + ', '.join(options) + '] ' if options else ''}{ref}"


def describe(heading: Heading, adapter: Adapter, schema: str, master: str | None = None) -> str:
    """The definition text of a table of ``schema`` with ``heading``: foreign keys as
    ``-> Parent`` (``-> master`` for ``master``, a Part's master), then attributes.

    A foreign key is written where its last attribute is, so that keys sharing attributes
    (``-> Session`` and ``-> Subject``) all survive and each attribute keeps its section.
    """
    where = _Where(adapter, schema, master)
    lines = [f"# {heading.comment}"] if heading.comment else []
    at: dict[str, list[str]] = {}  # attribute -> foreign-key lines written after it
    fk_columns: set[tuple[str, ...]] = set()
    for fk in heading.foreign_keys:
        cols = tuple(c for c, _ in fk.attr_map)
        last = max(cols, key=heading.names.index)
        at.setdefault(last, []).append(_fk_line(where, fk, heading))
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
