"""TableMeta to and from the text stored with a snapshot (Parquet key-value metadata, the DuckDB
``_subset.tables`` rows), so a snapshot can be declared again on any backend (``subset load``).

Keys: ``datajoint.schema``, ``datajoint.table`` (the stored name), ``datajoint.name`` (the class
name, ``schema.Class.Part``; absent in older snapshots), ``datajoint.definition``,
``datajoint.primary_key`` (JSON list), ``datajoint.foreign_keys`` (JSON list of
``{parent_schema, parent_table, attr_map: [[child, parent], ...]}``) and ``datajoint.heading``
(JSON: every attribute with type, nullability, default and comment; indexes; table comment).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from datajoint_core.heading import Attribute, ForeignKey, Heading, Index

from .base import ForeignKeyMeta, TableMeta

if TYPE_CHECKING:
    import pyarrow

FORMAT = "1"
_ATTRIBUTE_FIELDS = (
    "name",
    "type",
    "native_type",
    "in_key",
    "nullable",
    "default",
    "comment",
    "core",
    "autoincrement",
    "declared",
)


def heading_to_json(heading: Heading) -> dict[str, Any]:
    """Everything a declaration needs, except foreign keys (those are ForeignKeyMeta)."""
    return {
        "comment": heading.comment,
        "attributes": [{k: getattr(a, k) for k in _ATTRIBUTE_FIELDS} for a in heading.attributes],
        "indexes": [{"columns": list(ix.columns), "unique": ix.unique} for ix in heading.indexes],
    }


def heading_from_json(data: Mapping[str, Any], foreign_keys: Sequence[ForeignKey] = ()) -> Heading:
    attributes = tuple(
        Attribute(**{k: item[k] for k in _ATTRIBUTE_FIELDS if k in item})
        for item in data["attributes"]
    )
    indexes = tuple(Index(tuple(ix["columns"]), bool(ix["unique"])) for ix in data["indexes"])
    return Heading(attributes, data.get("comment", ""), tuple(foreign_keys), indexes)


def foreign_keys_to_json(fks: Sequence[ForeignKeyMeta]) -> list[dict[str, Any]]:
    return [
        {
            "parent_schema": fk.parent_schema,
            "parent_table": fk.parent_table,
            "attr_map": [list(pair) for pair in fk.attr_map],
        }
        for fk in fks
    ]


def foreign_keys_from_json(data: Sequence[Mapping[str, Any]]) -> tuple[ForeignKeyMeta, ...]:
    return tuple(
        ForeignKeyMeta(
            item["parent_schema"],
            item["parent_table"],
            tuple((str(c), str(p)) for c, p in item["attr_map"]),
        )
        for item in data
    )


def file_metadata(meta: TableMeta) -> dict[str, str]:
    """The key-value metadata stored with a table's data."""
    return {
        "datajoint.format": FORMAT,
        "datajoint.schema": meta.schema,
        "datajoint.table": meta.table,
        "datajoint.name": meta.display,
        "datajoint.definition": meta.definition,
        "datajoint.primary_key": json.dumps(meta.primary_key),
        "datajoint.foreign_keys": json.dumps(foreign_keys_to_json(meta.foreign_keys)),
        "datajoint.heading": json.dumps(heading_to_json(meta.heading)),
    }


def _text(metadata: Mapping[Any, Any], key: str) -> str | None:
    value = metadata.get(key, metadata.get(key.encode()))
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


def meta_from_metadata(
    metadata: Mapping[Any, Any],
    arrow_schema: pyarrow.Schema,
    parent_name: Callable[[str, str], str] | None = None,
) -> TableMeta:
    """Rebuild a TableMeta from :func:`file_metadata` (str or bytes keys) and the Arrow schema.

    ``parent_name(schema, table)`` spells the foreign keys' parents in the heading (default
    ``schema.table``). Without ``datajoint.heading`` the heading comes from the fields' metadata.
    """
    schema, table = _text(metadata, "datajoint.schema"), _text(metadata, "datajoint.table")
    if schema is None or table is None:
        raise ValueError("no datajoint.schema / datajoint.table metadata: not a subset snapshot")
    fks = foreign_keys_from_json(json.loads(_text(metadata, "datajoint.foreign_keys") or "[]"))
    name = parent_name or (lambda s, t: f"{s}.{t}")
    heading_fks = [ForeignKey(name(fk.parent_schema, fk.parent_table), fk.attr_map) for fk in fks]
    stored = _text(metadata, "datajoint.heading")
    if stored is not None:
        heading = heading_from_json(json.loads(stored), heading_fks)
    else:
        key = json.loads(_text(metadata, "datajoint.primary_key") or "[]")
        heading = heading_from_arrow(arrow_schema, key, heading_fks)
    return TableMeta(
        schema=schema,
        table=table,
        heading=heading,
        arrow_schema=arrow_schema.remove_metadata(),
        definition=_text(metadata, "datajoint.definition") or "",
        foreign_keys=fks,
        name=_text(metadata, "datajoint.name") or "",
    )


def heading_from_arrow(
    arrow_schema: pyarrow.Schema,
    primary_key: Sequence[str] = (),
    foreign_keys: Sequence[ForeignKey] = (),
) -> Heading:
    """A heading from fields carrying ``datajoint.type`` / ``in_key`` / ``comment`` metadata
    (defaults and NOT NULL of secondary attributes are not in there)."""
    from datajoint_core.declare.parser import normalise_type

    attributes = []
    for f in arrow_schema:
        meta = {k.decode(): v.decode() for k, v in (f.metadata or {}).items()}
        type_ = meta.get("datajoint.type") or "longtext"
        try:
            core = normalise_type(type_)[1]
        except ValueError:
            core = False
        in_key = meta.get("datajoint.in_key") == "true" or f.name in primary_key
        attributes.append(
            Attribute(
                name=f.name,
                type=type_,
                in_key=in_key,
                nullable=f.nullable and not in_key,
                comment=meta.get("datajoint.comment", ""),
                core=core,
            )
        )
    attributes.sort(key=lambda a: not a.in_key)
    return Heading(tuple(attributes), foreign_keys=tuple(foreign_keys))


def conform(batch: pyarrow.RecordBatch, schema: pyarrow.Schema) -> pyarrow.RecordBatch:
    """The batch with exactly ``schema``: types cast where they differ (an extension type read
    back as its storage, a dictionary as strings), field metadata replaced."""
    import pyarrow as pa

    if batch.schema.equals(schema, check_metadata=False):
        return batch
    if batch.schema.names != schema.names:
        raise ValueError(f"batch columns {batch.schema.names} are not {schema.names}")
    columns = []
    for column, f in zip(batch.columns, schema):
        if column.type != f.type:
            if isinstance(column.type, pa.BaseExtensionType) and not isinstance(
                f.type, pa.BaseExtensionType
            ):
                column = column.storage
            column = column.cast(f.type)
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, schema=schema)
