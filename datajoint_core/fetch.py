"""Fetching rows: dicts, arrays, pandas, Arrow, and record-batch streaming with bounded memory.

The functions take any :class:`Fetchable` (what a query expression offers), so this module sits
below ``expression.py``, which calls it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from .errors import DataJointError

if TYPE_CHECKING:
    import pandas
    import pyarrow

    from .condition import Fragment
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
        self, order_by: Any = None, limit: int | None = None, offset: int = 0
    ) -> Fragment: ...

    def __len__(self) -> int: ...


Decoder = Callable[[Any], Any]


def _uuid(value: Any) -> Any:
    if value is None or isinstance(value, uuid.UUID):
        return value
    return (
        uuid.UUID(bytes=bytes(value)) if isinstance(value, (bytes, bytearray)) else uuid.UUID(value)
    )


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def _bool(value: Any) -> Any:
    return None if value is None else bool(value)


def _bytes(value: Any) -> Any:
    return None if value is None else bytes(value)


def _char(value: Any) -> Any:
    # CHAR(n) is blank-padded on some servers and not on others: the padding is not data
    return value.rstrip(" ") if isinstance(value, str) else value


def _int(value: Any) -> Any:
    return None if value is None else int(value)


def decoder(attr: Attribute) -> Decoder | None:
    """How a driver value becomes the Python value of ``attr`` (None: unchanged)."""
    base = attr.base_type
    if not attr.core:
        return None
    if base.startswith("<"):  # a codec: the stored type's decoding, then the codecs
        from .codecs import attribute_decoder

        return attribute_decoder(attr, decoder)
    return {
        "uuid": _uuid,
        "json": _json,
        "bool": _bool,
        "bytes": _bytes,
        "uint64": _int,
        "char": _char,
    }.get(base)


def decode_rows(
    expr: Fetchable, names: Sequence[str], rows: Sequence[Sequence[Any]]
) -> list[dict[str, Any]]:
    decoders = [decoder(expr.heading[n]) for n in names]
    out = []
    for row in rows:
        out.append(
            {
                name: (dec(value) if dec is not None and value is not None else value)
                for name, dec, value in zip(names, decoders, row)
            }
        )
    return out


def to_dicts(
    expr: Fetchable, order_by: Any = None, limit: int | None = None, offset: int = 0
) -> list[dict[str, Any]]:
    sql = expr.cursor(order_by, limit, offset)
    rows = expr.connection.fetchall(sql.sql, sql.params)
    return decode_rows(expr, expr.heading.names, rows)


def to_arrays(expr: Fetchable, attrs: Sequence[str], order_by: Any, limit: int | None) -> Any:
    """A numpy record array, or with attribute names a tuple of arrays."""
    import numpy as np

    rows = to_dicts(expr, order_by, limit)
    if attrs:
        return tuple(_column_array([r[a] for r in rows]) for a in attrs)
    names = expr.heading.names
    columns = [_column_array([r[n] for r in rows]) for n in names]
    dtype = [(n, c.dtype) for n, c in zip(names, columns)]
    result = np.empty(len(rows), dtype=dtype)
    for name, column in zip(names, columns):
        result[name] = column
    return result


def _column_array(values: list[Any]) -> Any:
    import numpy as np

    if values and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return np.array(values)
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


_PANDAS_INTEGERS = {
    "int8": "Int8",
    "int16": "Int16",
    "int32": "Int32",
    "int64": "Int64",
    "uint8": "UInt8",
    "uint16": "UInt16",
    "uint32": "UInt32",
    "uint64": "UInt64",
}


def to_pandas(expr: Fetchable, order_by: Any, limit: int | None) -> pandas.DataFrame:
    import pandas as pd

    rows = to_dicts(expr, order_by, limit)
    columns: dict[str, Any] = {}
    for attr in expr.heading:
        values = [r[attr.name] for r in rows]
        dtype = _PANDAS_INTEGERS.get(attr.base_type) if attr.core else None
        if dtype is not None and any(v is None for v in values):
            columns[attr.name] = pd.array(values, dtype=dtype)  # not floats: they lose digits
        else:
            columns[attr.name] = values
    frame = pd.DataFrame(columns, columns=expr.heading.names)
    if expr.primary_key:
        frame = frame.set_index(expr.primary_key)
    return frame


def fetch1(expr: Fetchable, attrs: Sequence[str]) -> Any:
    rows = to_dicts(expr, limit=2)
    if len(rows) != 1:
        raise DataJointError(
            f"fetch1 needs exactly one row, {expr._label} has {'none' if not rows else 'more'}"
        )
    row = rows[0]
    if not attrs:
        return row
    if len(attrs) == 1:
        return _pick(row, attrs[0], expr)
    return tuple(_pick(row, a, expr) for a in attrs)


def _pick(row: dict[str, Any], name: str, expr: Fetchable) -> Any:
    if name == "KEY":
        return {k: row[k] for k in expr.primary_key}
    return row[expr.heading[name].name]


def fetch(
    expr: Fetchable,
    attrs: Sequence[str],
    *,
    as_dict: bool = False,
    format: str | None = None,
    order_by: Any = None,
    limit: int | None = None,
    offset: int = 0,
) -> Any:
    """The legacy ``fetch``."""
    if format == "frame":
        return to_pandas(expr, order_by, limit)
    if attrs:
        rows = to_dicts(expr, order_by, limit, offset)
        if as_dict:
            return [{a: _pick(r, a, expr) for a in attrs} for r in rows]
        columns = [[_pick(r, a, expr) for r in rows] for a in attrs]
        arrays = tuple(
            columns[i] if attrs[i] == "KEY" else _column_array(columns[i])
            for i in range(len(attrs))
        )
        return arrays[0] if len(attrs) == 1 else arrays
    if as_dict:
        return to_dicts(expr, order_by, limit, offset)
    return to_arrays(expr, (), order_by, limit)


# -- Arrow -------------------------------------------------------------------------------------


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
    for attr in expr.heading:
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


def to_arrow(expr: Fetchable, order_by: Any, limit: int | None) -> pyarrow.Table:
    import pyarrow as pa

    schema = arrow_schema(expr)
    sql = expr.cursor(order_by, limit)
    rows = expr.connection.fetchall(sql.sql, sql.params)
    return pa.Table.from_batches([rows_to_batch(rows, expr, schema)], schema=schema)


# -- previews ----------------------------------------------------------------------------------


def _preview_rows(expr: Fetchable) -> tuple[list[str], list[dict[str, Any]], int]:
    limit = int(expr.connection.config["display.limit"])
    rows = to_dicts(expr, limit=limit)
    total = len(rows) if len(rows) < limit else len(expr)
    return expr.heading.names, rows, total


def _cell(value: Any, width: int) -> str:
    if isinstance(value, (bytes, bytearray)):
        text = "=BLOB="
    elif value is None:
        text = "NULL"
    else:
        text = str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def preview(expr: Fetchable) -> str:
    """A text table of the first ``display.limit`` rows and the total count."""
    try:
        names, rows, total = _preview_rows(expr)
    except DataJointError as err:
        return f"<{expr._label}: {err}>"
    width = int(expr.connection.config["display.width"])
    key = set(expr.primary_key)
    header = ["*" + n if n in key else n for n in names]
    cells = [[_cell(r[n], width) for n in names] for r in rows]
    widths = [max([len(h), *(len(c[i]) for c in cells)]) for i, h in enumerate(header)]
    lines = [
        "  ".join(h.ljust(w) for h, w in zip(header, widths)),
        "  ".join("-" * w for w in widths),
    ]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in cells]
    if total > len(rows):
        lines.append("...")
    lines.append(f" ({total} rows)")
    return "\n".join(lines)


def preview_html(expr: Fetchable) -> str:
    import html

    names, rows, total = _preview_rows(expr)
    width = int(expr.connection.config["display.width"])
    key = set(expr.primary_key)
    head = "".join(
        f"<th>{'<b>' if n in key else ''}{html.escape(n)}{'</b>' if n in key else ''}</th>"
        for n in names
    )
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(r[n], width))}</td>" for n in names) + "</tr>"
        for r in rows
    )
    more = "<p>...</p>" if total > len(rows) else ""
    return f"<table><tr>{head}</tr>{body}</table>{more}<p>{total} rows</p>"
