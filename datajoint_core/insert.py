"""Rows into a table: insert, validate, update1, as the reference takes them.

Rows may be dicts, numpy records, sequences in heading order (deprecated, with a
DeprecationWarning, as in the reference), a pandas / polars DataFrame, a pyarrow Table or
RecordBatch, a numpy record array, a CSV file (``pathlib.Path``) or a query. Values are checked
against the attribute's core type before anything is sent, so every backend refuses the same
values, with an error that names the table and the attribute.
"""

from __future__ import annotations

import collections.abc
import csv
import datetime
import math
import numbers
import warnings
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .condition import encode
from .errors import DataJointError, MissingAttributeError, UnknownAttributeError

if TYPE_CHECKING:
    from .heading import Attribute

Table = Any  # a base table (not imported: table.py imports this module)

INSERT_PARAMS = 20_000  # parameters per INSERT statement

_INT_RANGES = {
    "int8": (-(2**7), 2**7 - 1),
    "int16": (-(2**15), 2**15 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint8": (0, 2**8 - 1),
    "uint16": (0, 2**16 - 1),
    "uint32": (0, 2**32 - 1),
    "uint64": (0, 2**64 - 1),
}
_NUMERIC = {*_INT_RANGES, "float32", "float64", "decimal"}


class InvalidValueError(DataJointError, ValueError):
    """A value its attribute's type cannot hold (a ValueError too, as the reference raises)."""


@dataclass
class ValidationResult:
    """What :meth:`Table.validate` found: ``errors`` are ``(row index, field or None,
    message)``; true when the rows are valid."""

    is_valid: bool
    errors: list[tuple[int, str | None, str]] = field(default_factory=list)
    rows_checked: int = 0

    def __bool__(self) -> bool:
        return self.is_valid

    def raise_if_invalid(self) -> None:
        if not self.is_valid:
            raise DataJointError(self.summary())

    def summary(self) -> str:
        if self.is_valid:
            return f"Validation passed: {self.rows_checked} rows checked"
        lines = [f"Validation failed: {len(self.errors)} error(s) in {self.rows_checked} rows"]
        for row, name, message in self.errors[:10]:
            where = f" in field '{name}'" if name else ""
            lines.append(f"  Row {row}{where}: {message}")
        if len(self.errors) > 10:
            lines.append(f"  ... and {len(self.errors) - 10} more errors")
        return "\n".join(lines)


# -- sources of rows ----------------------------------------------------------------------------


def source_rows(table: Table, rows: Any) -> Iterable[Any]:
    """The rows of any accepted source, one at a time (dicts, records or sequences)."""
    kind = type(rows)
    if kind.__module__.startswith("polars") and kind.__name__ == "DataFrame":
        return rows.to_dicts()
    if hasattr(rows, "to_pylist") and hasattr(rows, "schema"):  # pyarrow Table / RecordBatch
        if hasattr(rows, "to_batches"):
            return (r for batch in rows.to_batches() for r in batch.to_pylist())
        return rows.to_pylist()
    if hasattr(rows, "to_dict") and hasattr(rows, "columns"):  # pandas: a named index is data
        index = rows.index.names
        return rows.reset_index(drop=len(index) == 1 and not index[0]).to_dict("records")
    if isinstance(rows, Path):
        with open(rows, newline="") as lines:
            return list(csv.DictReader(lines, delimiter=","))
    if isinstance(rows, Mapping):
        raise DataJointError(f"{table._label}: insert() takes a list of rows; use insert1()")
    if isinstance(rows, (str, bytes)) or not isinstance(rows, Iterable):
        raise DataJointError(f"{table._label}: cannot insert {type(rows).__name__} {rows!r}")
    return rows


def _as_mapping(table: Table, row: Any) -> tuple[dict[str, Any], bool]:
    """(the row as a dict, it was positional)."""
    if isinstance(row, Mapping):
        return dict(row), False
    names = getattr(getattr(row, "dtype", None), "names", None)
    if names:  # a numpy record
        return {name: row[name] for name in names}, False
    if isinstance(row, (str, bytes)) or not isinstance(row, collections.abc.Sized):
        raise DataJointError(f"{table._label}: datatype {type(row)} cannot be inserted")
    heading = table.heading
    if len(row) != len(heading):
        raise DataJointError(
            f"{table._label}: Invalid insert argument. Incorrect number of attributes: "
            f"{len(row)} given; {len(heading)} expected (the {len(heading)} attributes are "
            f"{heading.names})"
        )
    return dict(zip(heading.names, row)), True  # type: ignore[call-overload]


def _required(attr: Attribute) -> bool:
    return not (attr.nullable or attr.default is not None or attr.autoincrement)


def _defaulted(attr: Attribute) -> bool:
    return attr.autoincrement or (attr.default is not None and not attr.nullable)


def missing(value: Any, attr: Attribute) -> bool:
    """None, or what pandas and numpy use for a missing number or time (NaN, NaT, NA)."""
    if value is None or type(value).__name__ in ("NAType", "NaTType"):
        return True
    return attr.base_type in _NUMERIC and isinstance(value, float) and value != value


def encode_row(
    table: Table, row: Any, ignore_extra: bool, warn: bool = True
) -> tuple[tuple[str, ...], list[Any], bool]:
    """(fields, driver parameters, it was positional) of one row, checked against the heading;
    a positional row warns (``warn``), as in the reference."""
    values, positional = _as_mapping(table, row)
    if positional and warn:
        warnings.warn(
            "Positional inserts (tuples/lists) are deprecated and will be removed in a future "
            "version. Use dict with explicit field names instead: "
            "table.insert1({'field': value, ...})",
            DeprecationWarning,
            stacklevel=5,
        )
    heading = table.heading
    extra = [k for k in values if k not in heading]
    if extra and not ignore_extra:
        raise UnknownAttributeError(
            f"{table._label}: {extra} not in the table heading {heading.names}; "
            "pass ignore_extra_fields=True to skip them"
        )
    fields = [n for n in heading.names if n in values]
    if not fields:
        required = [a.name for a in heading.attributes if _required(a)]
        if required:
            raise DataJointError(
                f"{table._label}: Cannot insert empty row. The following attributes require "
                f"values: {required}"
            )
    # a missing value where the attribute has a default (or is auto-incremented): the default
    fields = [n for n in fields if not (_defaulted(heading[n]) and missing(values[n], heading[n]))]
    absent = [a.name for a in heading.attributes if a.name not in fields and _required(a)]
    if absent:
        raise MissingAttributeError(
            f"{table._label}: the row {_short(values)} lacks attribute(s) {absent}, which have "
            "no default"
        )
    return tuple(fields), [encode_value(table, heading[n], values[n]) for n in fields], positional


def _short(row: Mapping[str, Any]) -> str:
    text = repr(dict(row))
    return text if len(text) < 200 else text[:197] + "..."


def encode_value(table: Table, attr: Attribute, value: Any) -> Any:
    """The driver parameter for one value, after checking it against the attribute's type."""
    if missing(value, attr):
        if attr.in_key or not attr.nullable:
            raise DataJointError(f"{table._label}.{attr.name}: NULL is not allowed")
        return None
    problem = value_problem(attr, value) if attr.core else None
    if problem:
        raise InvalidValueError(f"{table._label}.{attr.name}: {value!r} {problem}")
    try:
        return encode(value, attr, table.adapter)
    except (TypeError, ValueError, DataJointError) as err:  # e.g. json.dumps of an object
        raise InvalidValueError(
            f"{table._label}.{attr.name}: {value!r} is not a valid {attr.type}: {err}"
        ) from None


def value_problem(attr: Attribute, value: Any) -> str | None:
    """Why a value does not fit the attribute's core type (None: it fits)."""
    base = attr.base_type
    invalid = f"is not a valid {attr.type}"
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:  # numpy scalars
        value = value.item()
    if base in _INT_RANGES:
        if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
            value = int(value)
        elif isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
            if not math.isfinite(value):
                return invalid
            value = round(value)  # the server rounds a fraction, as the reference lets it
        if not isinstance(value, numbers.Integral):
            return invalid
        low, high = _INT_RANGES[base]
        return None if low <= int(value) <= high else f"is out of range for {base}"
    if base in _NUMERIC:
        if isinstance(value, str):
            try:
                float(value)
            except ValueError:
                return invalid
            return None
        return None if isinstance(value, numbers.Number) else invalid
    if base == "bool":
        return None if isinstance(value, numbers.Integral) and value in (0, 1) else invalid
    if base in ("char", "varchar"):
        length = int(attr.type[attr.type.index("(") + 1 : attr.type.index(")")])
        return f"is longer than {length} characters" if len(str(value)) > length else None
    if base in ("date", "datetime"):
        if isinstance(value, str):
            try:
                datetime.datetime.fromisoformat(value.strip())
            except ValueError:
                return invalid
            return None
        return None if isinstance(value, datetime.date) else invalid
    if base == "enum":
        from .declare.parser import enum_values

        values = enum_values(attr.type)
        return None if value in values else f"is not one of {list(values)}"
    return None


def chunks(
    table: Table, rows: Any, ignore_extra: bool, batch_size: int | None
) -> Iterator[tuple[list[str], list[list[Any]]]]:
    """(fields, encoded rows) in chunks of rows that share the same fields."""
    pending: dict[tuple[str, ...], list[list[Any]]] = {}
    warned = False  # once per insert, not once per row
    for row in source_rows(table, rows):
        fields, values, positional = encode_row(table, row, ignore_extra, warn=not warned)
        warned = warned or positional
        chunk = pending.setdefault(fields, [])
        chunk.append(values)
        limit = batch_size or max(1, INSERT_PARAMS // max(1, len(fields)))
        if len(chunk) >= limit:
            yield list(fields), chunk
            pending[fields] = []
    for fields, chunk in pending.items():
        if chunk:
            yield list(fields), chunk


def insert_rows(
    table: Table,
    rows: Any,
    *,
    skip: bool,
    ignore_extra: bool,
    replace: bool,
    batch_size: int | None,
) -> None:
    """Multi-row INSERT statements; a row of defaults alone writes ``DEFAULT`` for a column."""
    adapter = table.adapter
    for fields, chunk in chunks(table, rows, ignore_extra, batch_size):
        if not fields:  # every attribute takes its default
            column = table.heading.names[0]
            sql = f"INSERT INTO {table.full_table_name} ({adapter.quote(column)}) VALUES "
            sql += ", ".join(["(DEFAULT)"] * len(chunk))
            if skip or replace:
                sql += adapter.on_duplicate_sql(
                    table.full_table_name, [column], table.primary_key, replace=False
                )
            table.connection.execute(sql)
            continue
        sql = adapter.insert_sql(
            table.full_table_name,
            fields,
            len(chunk),
            skip_duplicates=skip,
            replace=replace,
            primary_key=table.primary_key,
        )
        table.connection.execute(sql, [v for row in chunk for v in row])


def insert_query(table: Table, source: Any, skip: bool, ignore_extra: bool, replace: bool) -> None:
    """INSERT ... SELECT from a query expression of the same connection."""
    from .expression import _same_connection

    _same_connection(table, source)
    fields = [n for n in source.heading.names if n in table.heading]
    extra = [n for n in source.heading.names if n not in table.heading]
    if extra and not ignore_extra:
        raise UnknownAttributeError(
            f"{table._label}: the query has unknown attribute(s) {extra}; "
            "pass ignore_extra_fields=True to skip them"
        )
    select = source.make_sql(fields)
    q = table.adapter.quote
    sql = f"INSERT INTO {table.full_table_name} ({', '.join(q(f) for f in fields)}) {select.sql}"
    if skip or replace:
        sql += table.adapter.on_duplicate_sql(
            table.full_table_name, fields, table.primary_key, replace=replace
        )
    table.connection.execute(sql, select.params)


def frame_rows(table: Table, frame: Any, index_as_pk: bool | None) -> Any:
    """The rows of a DataFrame for :meth:`Table.insert_dataframe`: its index is the primary
    key when its names are (or when ``index_as_pk=True``), and is dropped otherwise."""
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise DataJointError("insert_dataframe requires a pandas DataFrame")
    names = [n for n in frame.index.names if n is not None]
    if index_as_pk is None:
        index_as_pk = frame.index.names != [None] and set(names) == set(table.primary_key)
    if index_as_pk and set(names) != set(table.primary_key):
        raise DataJointError(
            f"DataFrame index columns {names} do not match table primary key "
            f"{list(table.primary_key)}. Use index_as_pk=False to ignore index, or "
            "reset_index() first."
        )
    return frame.reset_index(drop=not index_as_pk).to_dict("records")


def validate(table: Table, rows: Any, ignore_extra_fields: bool = False) -> ValidationResult:
    """Check rows as insert would, without inserting (foreign keys and unique indexes are the
    database's to check)."""
    errors: list[tuple[int, str | None, str]] = []
    rows = list(source_rows(table, rows))
    heading = table.heading
    for index, row in enumerate(rows):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                values, _ = _as_mapping(table, row)
        except DataJointError as err:
            message = str(err).partition(": ")[2] or str(err)
            errors.append((index, None, message))
            continue
        if not ignore_extra_fields:
            errors += [
                (index, k, f"Field '{k}' not in table heading") for k in values if k not in heading
            ]
        for attr in heading.attributes:
            if attr.name not in values:
                if _required(attr):
                    errors.append((index, attr.name, f"Required field '{attr.name}' is missing"))
                continue
            value = values[attr.name]
            if missing(value, attr):
                if _required(attr) or (attr.in_key and not attr.autoincrement):
                    errors.append(
                        (index, attr.name, f"NULL value not allowed for field '{attr.name}'")
                    )
                continue
            try:
                encode_value(table, attr, value)
            except DataJointError as err:
                errors.append((index, attr.name, str(err)))
        errors += [  # as the reference also reports them
            (index, k, f"Primary key field '{k}' is missing or NULL")
            for k in table.primary_key
            if values.get(k) is None and not heading[k].autoincrement
        ]
    return ValidationResult(not errors, errors, len(rows))


def update_row(table: Table, row: Any) -> None:
    """UPDATE one existing row: its primary key and the attributes to change (None resets an
    attribute to its default)."""
    if not isinstance(row, Mapping):
        raise DataJointError("The argument of update1 must be dict-like.")
    heading = table.heading
    if not set(row).issuperset(table.primary_key):
        raise DataJointError("The argument of update1 must supply all primary key values.")
    unknown = [k for k in row if k not in heading]
    if unknown:
        raise UnknownAttributeError(f"{table._label}: attribute(s) {unknown} not found")
    if table.is_restricted:
        raise DataJointError("Update cannot be applied to a restricted table.")
    key = {k: row[k] for k in table.primary_key}
    target = table & key
    if len(target) != 1:
        raise DataJointError("Update can only be applied to one existing entry.")
    q = table.adapter.quote
    sets, params = [], []
    for name, value in row.items():
        if name in key:
            continue
        if value is None:
            sets.append(f"{q(name)} = DEFAULT")
        else:
            sets.append(f"{q(name)} = %s")
            params.append(encode_value(table, heading[name], value))
    if not sets:
        return
    where = target.where_fragment()
    assert where is not None
    sql = f"UPDATE {table.full_table_name} SET {', '.join(sets)} WHERE {where.sql}"
    table.connection.execute(sql, [*params, *where.params])
