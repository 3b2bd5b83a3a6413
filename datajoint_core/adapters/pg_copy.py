"""PostgreSQL's fastest read path: ``COPY (SELECT ...) TO STDOUT (FORMAT csv)`` parsed by
pyarrow's streaming CSV reader, inside the caller's transaction (so inside its snapshot).

The driver writes the COPY stream into a pipe from a thread; pyarrow reads the other end in
blocks, so memory stays bounded whatever the size of the result. A reader that stops early (an
error downstream, Ctrl-C) cancels the COPY on the server first: otherwise the driver's thread
would block on the full pipe while holding the connection, and the caller's ROLLBACK would wait
for it forever.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import DataJointError
from .base import parsed_from_text

if TYPE_CHECKING:
    import pyarrow

_BLOCK = 4 << 20
# A CSV value must fit in one block, and bytea travels as hex (twice its size): tables with a
# binary column read in larger blocks (values up to ~32 MB); a larger one is a clear error.
_BINARY_BLOCK = 64 << 20


def _csv_type(field: pyarrow.Field) -> pyarrow.DataType:
    """How the CSV text of a column is parsed (converted afterwards where Arrow cannot)."""
    import pyarrow as pa

    return field.type if parsed_from_text(field.type) else pa.string()


def _convert(column: pyarrow.Array, field: pyarrow.Field) -> pyarrow.Array:
    import pyarrow as pa

    t = field.type
    declared = (field.metadata or {}).get(b"datajoint.type", b"")
    if declared.startswith(b"char("):  # PostgreSQL pads char(n); the fetch path trims it
        import pyarrow.compute as pc

        column = pc.utf8_rtrim(column, characters=" ")
    if column.type == t:
        return column
    if pa.types.is_dictionary(t):
        return column.dictionary_encode().cast(t)
    values = column.to_pylist()
    if isinstance(t, pa.BaseExtensionType) and t.storage_type == pa.binary(16):  # uuid
        storage = pa.array(
            [None if v is None else uuid.UUID(v).bytes for v in values], type=pa.binary(16)
        )
        return pa.ExtensionArray.from_storage(t, storage)
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return pa.array([None if v is None else bytes.fromhex(v[2:]) for v in values], type=t)
    return column.cast(t)


def stream_copy(
    raw: Any, sql: str, params: Sequence[Any], schema: pyarrow.Schema, batch_rows: int
) -> Iterator[pyarrow.RecordBatch]:
    """Record batches of ``schema`` for a query, read through COPY."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    with raw.cursor() as cursor:
        query = cursor.mogrify(sql, tuple(params)).decode()
    copy_sql = f"COPY ({query}) TO STDOUT WITH (FORMAT csv)"
    read_fd, write_fd = os.pipe()
    failure: list[BaseException] = []

    def produce() -> None:
        try:
            with os.fdopen(write_fd, "wb") as sink, raw.cursor() as cursor:
                cursor.copy_expert(copy_sql, sink, size=1 << 20)
        except BaseException as err:  # reported in the reading thread
            failure.append(err)

    binary = any(pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type) for f in schema)
    block = _BINARY_BLOCK if binary else _BLOCK
    thread = threading.Thread(target=produce, name="pg-copy", daemon=True)
    thread.start()
    source = os.fdopen(read_fd, "rb")
    finished = False
    try:
        reader = pacsv.open_csv(
            source,
            read_options=pacsv.ReadOptions(column_names=schema.names, block_size=block),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={f.name: _csv_type(f) for f in schema},
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
                null_values=[""],
                true_values=["t"],
                false_values=["f"],
            ),
        )
        for chunk in reader:
            arrays = [_convert(chunk.column(i), f) for i, f in enumerate(schema)]
            batch = pa.RecordBatch.from_arrays(arrays, schema=schema)
            for start in range(0, batch.num_rows, batch_rows):
                yield batch.slice(start, batch_rows)
        finished = True
    except StopIteration:
        finished = True
    except pa.ArrowInvalid as err:
        if "straddl" in str(err):
            raise DataJointError(
                f"a value is larger than PostgreSQL's COPY export reads at once ({block >> 21} "
                f"MB of binary data): {err}"
            ) from err
        if not failure and "Empty CSV file" not in str(err):  # an empty result is no error
            raise
        finished = True
    finally:
        if not finished and thread.is_alive():
            raw.cancel()  # from another thread by design: the COPY ends with an error
        source.close()
        thread.join()
    if failure and finished:
        raise failure[0]
