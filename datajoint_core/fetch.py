"""Fetching rows: dicts, arrays, pandas, polars, Arrow, and the legacy ``fetch``.

:class:`FetchMixin` gives :class:`~datajoint_core.expression.QueryExpression` its fetch methods,
with the reference's signatures (``order_by``, ``limit``, ``offset``, ``squeeze``); this module
sits below ``expression.py`` and never imports it.
"""

from __future__ import annotations

import json
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .arrow import Fetchable, arrow_schema, arrow_type, rows_to_batch
from .errors import DataJointError

if TYPE_CHECKING:
    import numpy
    import pandas
    import polars
    import pyarrow

    from .condition import Fragment, Top
    from .connection import Connection
    from .heading import Attribute, Heading

__all__ = [
    "FetchMixin",
    "Fetchable",
    "arrow_schema",
    "arrow_type",
    "decode_rows",
    "rows_to_batch",
]


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


def _squeezed(decode: Decoder) -> Decoder:
    """``decode``, then a numpy array squeezed (as the reference's ``squeeze=True`` does)."""

    def squeeze(value: Any) -> Any:
        value = decode(value)
        return value.squeeze() if hasattr(value, "squeeze") and hasattr(value, "ndim") else value

    return squeeze


def _char(value: Any) -> Any:
    # CHAR(n) is blank-padded on some servers and not on others: the padding is not data
    return value.rstrip(" ") if isinstance(value, str) else value


def _int(value: Any) -> Any:
    return None if value is None else int(value)


def decoder(attr: Attribute, squeeze: bool = False) -> Decoder | None:
    """How a driver value becomes the Python value of ``attr`` (None: unchanged)."""
    base = attr.base_type
    if not attr.core:
        return None
    if base.startswith("<"):  # a codec: the stored type's decoding, then the codecs
        from .codecs import attribute_decoder

        decode = attribute_decoder(attr, decoder)
        return _squeezed(decode) if squeeze else decode
    return {
        "uuid": _uuid,
        "json": _json,
        "bool": _bool,
        "bytes": _bytes,
        "uint64": _int,
        "char": _char,
    }.get(base)


def decode_rows(
    expr: Fetchable, names: Sequence[str], rows: Sequence[Sequence[Any]], squeeze: bool = False
) -> list[dict[str, Any]]:
    decoders = [decoder(expr.heading[n], squeeze) for n in names]
    return [
        {
            name: (dec(value) if dec is not None and value is not None else value)
            for name, dec, value in zip(names, decoders, row)
        }
        for row in rows
    ]


def _array(values: list[Any]) -> numpy.ndarray:
    """The values of one attribute as the reference gives them: ``np.array(values)``, or an
    object array where they do not stack (blobs of different shapes)."""
    import numpy as np

    try:
        return np.array(values)
    except ValueError:
        array = np.empty(len(values), dtype=object)
        for i, value in enumerate(values):
            array[i] = value
        return array


def _column(values: list[Any]) -> numpy.ndarray:
    """A field of a record array: numbers as numbers, anything else as objects."""
    import numpy as np

    if values and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return np.array(values)
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def _records(names: Sequence[str], rows: list[dict[str, Any]]) -> numpy.ndarray:
    import numpy as np

    columns = [_column([r[n] for r in rows]) for n in names]
    result = np.empty(len(rows), dtype=[(n, c.dtype) for n, c in zip(names, columns)])
    for name, column in zip(names, columns):
        result[name] = column
    return result


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


def _frame(heading: Heading, rows: list[dict[str, Any]]) -> pandas.DataFrame:
    import pandas as pd

    columns: dict[str, Any] = {}
    for attr in heading.attributes:
        values = [r[attr.name] for r in rows]
        dtype = _PANDAS_INTEGERS.get(attr.base_type) if attr.core else None
        if dtype is not None and any(v is None for v in values):
            columns[attr.name] = pd.array(values, dtype=dtype)  # not floats: they lose digits
        else:
            columns[attr.name] = values
    frame = pd.DataFrame(columns, columns=heading.names)
    if heading.primary_key:
        frame = frame.set_index(heading.primary_key)
    return frame


def _with_key(attrs: Sequence[str], primary_key: Sequence[str]) -> list[str]:
    """``attrs`` with ``"KEY"`` replaced by the primary-key attributes."""
    out: list[str] = []
    for attr in attrs:
        out.extend(primary_key if attr == "KEY" else [attr])
    return out


class FetchMixin:
    """The fetch methods of a query expression."""

    if TYPE_CHECKING:
        _label: str

        @property
        def heading(self) -> Heading: ...

        @property
        def connection(self) -> Connection: ...

        @property
        def primary_key(self) -> list[str]: ...

        def restrict(self, restriction: Any, semantic_check: bool = True) -> Any: ...

        def proj(self, *attributes: Any, **named: str) -> Any: ...

        def make_sql(self, fields: Sequence[str] | None = None) -> Fragment: ...

    def _apply_top(self, order_by: Any, limit: int | None, offset: int | None) -> Any:
        """This expression, ordered and limited if asked (``order_by=None``: the order of a
        Top already applied, else the primary key)."""
        from .condition import Top

        if order_by is None and limit is None and not offset:
            return self
        top: Top = Top(limit, order_by, offset or 0)
        return self.restrict(top)

    def cursor(
        self, order_by: Any = None, limit: int | None = None, offset: int | None = None
    ) -> Fragment:
        """The SQL that fetches the rows in the requested order."""
        return self._apply_top(order_by, limit, offset).make_sql()

    def to_dicts(
        self,
        order_by: Any = None,
        limit: int | None = None,
        offset: int | None = None,
        squeeze: bool = False,
    ) -> list[dict[str, Any]]:
        """The rows as a list of dicts; ``squeeze`` drops singleton dimensions of blobs."""
        sql = self.cursor(order_by, limit, offset)
        rows = self.connection.fetchall(sql.sql, sql.params)
        return decode_rows(self, self.heading.names, rows, squeeze)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """The rows, one dict at a time (a generator)."""
        yield from self.to_dicts()

    def to_arrays(
        self,
        *attrs: str,
        include_key: bool = False,
        order_by: Any = None,
        limit: int | None = None,
        offset: int | None = None,
        squeeze: bool = False,
    ) -> Any:
        """A numpy record array of all attributes; with names, one array per attribute (the
        array itself for one name), after the list of key dicts with ``include_key=True``.

        >>> names, langs = Language.to_arrays("name", "language")   # doctest: +SKIP
        """
        if not attrs:
            rows = self.to_dicts(order_by, limit, offset, squeeze)
            return _records(self.heading.names, rows)
        key = self.primary_key
        wanted = [*key, *(a for a in attrs if a not in key)] if include_key else list(attrs)
        rows = self.proj(*dict.fromkeys(wanted)).to_dicts(order_by, limit, offset, squeeze)
        arrays = [_array([r[a] for r in rows]) for a in attrs]
        if include_key:
            return ([{k: r[k] for k in key} for r in rows], *arrays)
        return arrays[0] if len(attrs) == 1 else tuple(arrays)

    def to_pandas(
        self,
        order_by: Any = None,
        limit: int | None = None,
        offset: int | None = None,
        squeeze: bool = False,
    ) -> pandas.DataFrame:
        """The rows as a DataFrame indexed by the primary key (integers stay integers)."""
        return _frame(self.heading, self.to_dicts(order_by, limit, offset, squeeze))

    def to_polars(
        self,
        order_by: Any = None,
        limit: int | None = None,
        offset: int | None = None,
        squeeze: bool = False,
    ) -> polars.DataFrame:
        """The rows as a polars DataFrame (needs ``polars``)."""
        try:
            import polars
        except ImportError:
            raise ImportError("polars is required for to_polars(): pip install polars") from None
        return polars.DataFrame(self.to_dicts(order_by, limit, offset, squeeze))

    def to_arrow(
        self,
        order_by: Any = None,
        limit: int | None = None,
        offset: int | None = None,
        squeeze: bool = False,
    ) -> pyarrow.Table:
        """The rows as a ``pyarrow.Table`` typed from the heading (blobs stay packed bytes)."""
        from .arrow import to_arrow

        return to_arrow(self, order_by, limit, offset)  # type: ignore[arg-type]

    def iter_batches(
        self, batch_size: int = 10_000, order_by: Any = None
    ) -> Iterator[pyarrow.RecordBatch]:
        """Stream the rows as ``pyarrow.RecordBatch``es of at most ``batch_size`` rows."""
        from .arrow import iter_batches

        return iter_batches(self, batch_size, order_by)  # type: ignore[arg-type]

    def keys(
        self, order_by: Any = None, limit: int | None = None, offset: int | None = None
    ) -> list[dict[str, Any]]:
        """The primary-key values as dicts (``order_by`` may name any attribute)."""
        return self.proj().to_dicts(order_by=order_by, limit=limit, offset=offset)

    def head(self, limit: int = 25) -> list[dict[str, Any]]:
        """The first ``limit`` rows in primary-key order."""
        return self.to_dicts(order_by="KEY", limit=limit)

    def tail(self, limit: int = 25) -> list[dict[str, Any]]:
        """The last ``limit`` rows, in primary-key order."""
        return list(reversed(self.to_dicts(order_by="KEY DESC", limit=limit)))

    def fetch1(self, *attrs: str, squeeze: bool = False) -> Any:
        """The one row: a dict, the value of one attribute, or a tuple of values
        (``"KEY"`` gives the primary-key dict)."""
        rows = self.to_dicts(limit=2, squeeze=squeeze)
        if len(rows) != 1:
            raise DataJointError(
                f"fetch1 requires exactly one tuple in the input set; {self._label} has "
                f"{'none' if not rows else 'more'}"
            )
        row = rows[0]
        if not attrs:
            return row
        values = [
            {k: row[k] for k in self.primary_key} if a == "KEY" else row[self.heading[a].name]
            for a in attrs
        ]
        return values[0] if len(attrs) == 1 else tuple(values)

    def fetch(
        self,
        *attrs: str,
        offset: int | None = None,
        limit: int | None = None,
        order_by: Any = None,
        format: str | None = None,
        as_dict: bool | None = None,
        squeeze: bool = False,
    ) -> Any:
        """The legacy fetch (deprecated, as in the reference): a record array, arrays of the
        named attributes, dicts with ``as_dict=True``, a DataFrame with ``format="frame"``."""
        warnings.warn(
            "fetch() is deprecated in DataJoint 2.0. "
            "Use to_dicts(), to_pandas(), to_arrays(), or keys() instead.",
            DeprecationWarning,
            stacklevel=2,
        )
        window: Mapping[str, Any] = dict(order_by=order_by, limit=limit, offset=offset)
        if format == "frame":
            if attrs or as_dict is not None:
                raise DataJointError("format='frame' cannot be combined with attrs or as_dict")
            return self.to_pandas(**window, squeeze=squeeze)
        if not attrs:
            if as_dict:
                return self.to_dicts(**window, squeeze=squeeze)
            return self.to_arrays(**window, squeeze=squeeze)
        if attrs == ("KEY",):
            return list(self.keys(**window))
        if as_dict is True:
            return self.proj(*_with_key(attrs, self.primary_key)).to_dicts(
                **window, squeeze=squeeze
            )
        if "KEY" not in attrs:
            return self.to_arrays(*attrs, **window, squeeze=squeeze)
        import numpy as np

        rows = self.proj(*_with_key(attrs, self.primary_key)).to_dicts(**window, squeeze=squeeze)
        results = [
            [{k: r[k] for k in self.primary_key} for r in rows]
            if a == "KEY"
            else np.array([r[a] for r in rows])
            for a in attrs
        ]
        return results[0] if len(attrs) == 1 else tuple(results)
