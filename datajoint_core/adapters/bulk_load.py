"""Arrow record batches as the CSV text the bulk loaders read (COPY FROM STDIN, LOAD DATA).

Everything is vectorised in Arrow and numpy: no Python code runs per row. pyarrow's CSV writer
quotes every string and leaves a null unquoted, which is how both servers tell NULL from ''.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow

UUID_EXTENSION = "arrow.uuid"
_HEX_PAIRS = None


def _pairs() -> object:
    """The two hex digits of every byte value, as a uint16 lookup table."""
    global _HEX_PAIRS
    if _HEX_PAIRS is None:
        import numpy as np

        digits = "".join(f"{b:02x}" for b in range(256)).encode()
        _HEX_PAIRS = np.frombuffer(digits, dtype=np.uint8).view(np.uint16)
    return _HEX_PAIRS


def hex_array(array: pyarrow.Array, prefix: str = "") -> pyarrow.Array:
    """Binary values as lower-case hex text, each after ``prefix``; nulls stay null.

    >>> hex_array(pa.array([b"\\x00\\xff", None]), "\\\\x").to_pylist()   # doctest: +SKIP
    ['\\\\x00ff', None]
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(array)
    if pa.types.is_fixed_size_binary(array.type):
        width = array.type.byte_width
        buffer = array.buffers()[1]
        data = np.frombuffer(buffer, dtype=np.uint8) if buffer is not None else np.empty(0, "u1")
        data = data[array.offset * width : (array.offset + n) * width]
        offsets = np.arange(n + 1, dtype=np.int64) * width
    else:
        array = array.cast(pa.large_binary())
        buffers = array.buffers()
        offsets = np.frombuffer(buffers[1], dtype=np.int64)[array.offset : array.offset + n + 1]
        if buffers[2] is None:
            data = np.empty(0, "u1")
        else:
            data = np.frombuffer(buffers[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
        offsets = offsets - offsets[0]
    hexed = _pairs()[data]  # type: ignore[index]
    result = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets * 2), pa.py_buffer(hexed))
    if prefix:
        text = pa.large_string()
        result = pc.binary_join_element_wise(pa.scalar(prefix, text), result, pa.scalar("", text))
    if array.null_count:
        result = pc.if_else(array.is_valid(), result, pa.scalar(None, pa.large_string()))
    return result


def _is_binary(type_: pyarrow.DataType) -> bool:
    import pyarrow as pa

    return (
        pa.types.is_binary(type_)
        or pa.types.is_large_binary(type_)
        or pa.types.is_fixed_size_binary(type_)
        or pa.types.is_binary_view(type_)
    )


def write_csv(arrays: list[pyarrow.Array], null_string: str = "") -> pyarrow.Buffer:
    """The CSV text of ``arrays`` (no header, every string quoted, nulls as ``null_string``)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    batch = pa.RecordBatch.from_arrays(arrays, names=[f"c{i}" for i in range(len(arrays))])
    sink = pa.BufferOutputStream()
    pacsv.write_csv(batch, sink, pacsv.WriteOptions(include_header=False, null_string=null_string))
    return sink.getvalue()


def copy_csv(batch: pyarrow.RecordBatch) -> pyarrow.Buffer:
    """CSV for PostgreSQL's ``COPY ... FROM STDIN (FORMAT csv)``: bytea as ``\\x`` hex, uuid as
    32 hex digits, booleans as true/false; an unquoted empty field is NULL, ``""`` is ''."""
    import pyarrow as pa

    arrays = []
    for column in batch.columns:
        if isinstance(column.type, pa.BaseExtensionType):
            is_uuid = column.type.extension_name == UUID_EXTENSION
            column = column.storage
            if is_uuid:
                arrays.append(hex_array(column))
                continue
        arrays.append(hex_array(column, "\\x") if _is_binary(column.type) else column)
    return write_csv(arrays)


def load_data_csv(batch: pyarrow.RecordBatch) -> tuple[pyarrow.Buffer, list[int]]:
    """CSV for MySQL's ``LOAD DATA ... ESCAPED BY ''``: NULL unquoted, strings quoted (quotes
    doubled), booleans as 1/0; binary columns (returned by position) as hex, to be ``UNHEX``-ed."""
    import pyarrow as pa

    arrays = []
    binary = []
    for i, column in enumerate(batch.columns):
        if isinstance(column.type, pa.BaseExtensionType):
            column = column.storage
        if _is_binary(column.type):
            arrays.append(hex_array(column))
            binary.append(i)
        elif pa.types.is_boolean(column.type):
            arrays.append(column.cast(pa.int8()))
        else:
            arrays.append(column)
    return write_csv(arrays, null_string="NULL"), binary


def python_columns(batch: pyarrow.RecordBatch) -> list[list[object]]:
    """The batch as Python values per column, for a driver's parameters (extension types as
    their storage: a uuid as its 16 bytes)."""
    import pyarrow as pa

    columns = []
    for column in batch.columns:
        if isinstance(column.type, pa.BaseExtensionType):
            column = column.storage
        columns.append(column.to_pylist())
    return columns
