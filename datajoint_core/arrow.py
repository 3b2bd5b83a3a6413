"""Arrow: the schema of an expression and its rows as record batches, streamed or whole.

Attribute types map to Arrow types (``int32`` -> ``int32``, ``uuid`` -> ``pa.uuid()``, enums as
dictionaries, blobs as ``large_binary``); each field's metadata keeps the DataJoint type.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pyarrow

    from .compile import Fragment
    from .connection import Connection
    from .heading import Attribute, Heading


class Fetchable(Protocol):
    """A query whose rows can be fetched: its heading, connection and SQL."""

    _label: str

    @property
    def heading(self) -> Heading: ...

    @property
    def connection(self) -> Connection: ...

    @property
    def primary_key(self) -> list[str]: ...

    def cursor(
        self, order_by: Any = None, limit: int | None = None, offset: int | None = None
    ) -> Fragment: ...

    def __len__(self) -> int: ...


def _char(value: Any) -> Any:
    # CHAR(n) is blank-padded on some servers and not on others: the padding is not data
    return value.rstrip(" ") if isinstance(value, str) else value


def arrow_type(attr: Attribute) -> pyarrow.DataType | None:
    """The Arrow type of an attribute (None: inferred from the values)."""
    import pyarrow as pa

    from .declare.parser import split_type

    if not attr.core or not attr.type:
        return None
    base, args = split_type(attr.type)
    simple = {
        "int8": pa.int8(),
        "int16": pa.int16(),
        "int32": pa.int32(),
        "int64": pa.int64(),
        "uint8": pa.uint8(),
        "uint16": pa.uint16(),
        "uint32": pa.uint32(),
        "uint64": pa.uint64(),
        "float32": pa.float32(),
        "float64": pa.float64(),
        "bool": pa.bool_(),
        "date": pa.date32(),
        "char": pa.string(),
        "varchar": pa.string(),
        "json": pa.string(),
        "bytes": pa.large_binary(),
        "uuid": pa.uuid(),
        "enum": pa.dictionary(pa.int16(), pa.string()),
    }
    if base in simple:
        return simple[base]
    if base == "decimal":
        precision = int(args[0])
        scale = int(args[1]) if len(args) > 1 else 0
        return pa.decimal128(precision, scale)
    if base == "datetime":
        return pa.timestamp("us")
    if base.startswith("<"):
        return pa.large_binary()
    return None


def arrow_schema(expr: Fetchable) -> pyarrow.Schema:
    """Arrow schema of an expression; each field's metadata keeps the attribute's type and key."""
    import pyarrow as pa

    fields = []
    for attr in expr.heading.attributes:
        type_ = arrow_type(attr) or pa.string()
        meta = {
            "datajoint.type": attr.type,
            "datajoint.in_key": str(attr.in_key).lower(),
            "datajoint.comment": attr.comment,
        }
        # computed attributes (no declared type) may be NULL, e.g. max() over no rows
        nullable = attr.nullable or not attr.type or attr.expression is not None
        fields.append(pa.field(attr.name, type_, nullable=nullable, metadata=meta))
    return pa.schema(fields)


def _arrow_column(values: list[Any], attr: Attribute, type_: pyarrow.DataType) -> pyarrow.Array:
    import pyarrow as pa

    base = attr.base_type
    if base == "uuid":
        storage = pa.array(
            [
                None if v is None else (v.bytes if isinstance(v, uuid.UUID) else bytes(v))
                for v in values
            ],
            type=pa.binary(16),
        )
        return pa.ExtensionArray.from_storage(type_, storage)
    if base == "bool":
        values = [None if v is None else bool(v) for v in values]
    elif base == "uint64":
        values = [None if v is None else int(v) for v in values]
    elif base == "char":
        values = [_char(v) for v in values]
    elif base in ("bytes",) or base.startswith("<"):
        values = [None if v is None else bytes(v) for v in values]
    elif base == "json":
        values = [
            None if v is None else (v if isinstance(v, str) else json.dumps(v)) for v in values
        ]
    if pa.types.is_dictionary(type_):
        return pa.array(values, type=pa.string()).dictionary_encode().cast(type_)
    return pa.array(values, type=type_)


def rows_to_batch(
    rows: Sequence[Sequence[Any]], expr: Fetchable, schema: pyarrow.Schema
) -> pyarrow.RecordBatch:
    """Driver rows (tuples in heading order) -> a RecordBatch of ``schema``."""
    import pyarrow as pa

    columns = list(zip(*rows)) if rows else [() for _ in schema]
    arrays = [
        _arrow_column(list(col), expr.heading[field.name], field.type)
        for col, field in zip(columns, schema)
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def iter_batches(
    expr: Fetchable, batch_size: int, order_by: Any = None
) -> Iterator[pyarrow.RecordBatch]:
    """Stream an expression as record batches through a server-side cursor."""
    schema = arrow_schema(expr)
    sql = expr.cursor(order_by)
    for rows in expr.connection.stream(sql.sql, sql.params, batch_size):
        yield rows_to_batch(rows, expr, schema)


def to_arrow(
    expr: Fetchable, order_by: Any = None, limit: int | None = None, offset: int | None = None
) -> pyarrow.Table:
    import pyarrow as pa

    schema = arrow_schema(expr)
    sql = expr.cursor(order_by, limit, offset)
    rows = expr.connection.fetchall(sql.sql, sql.params)
    return pa.Table.from_batches([rows_to_batch(rows, expr, schema)], schema=schema)
