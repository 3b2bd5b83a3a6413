"""Every core type inserts and fetches back equal, NULLs included, through every fetch format."""

from __future__ import annotations

import datetime
import decimal
import json
import math
import uuid
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import datajoint_core as dj
from datajoint_core.blob import unpack

TYPES = {
    "i8": "int8",
    "i16": "int16",
    "i32": "int32",
    "i64": "int64",
    "u8": "uint8",
    "u16": "uint16",
    "u32": "uint32",
    "f32": "float32",
    "f64": "float64",
    "flag": "bool",
    "amount": "decimal(12,3)",
    "code": "char(4)",
    "name": "varchar(32)",
    "day": "date",
    "moment": "datetime",
    "precise": "datetime(3)",
    "tag": "uuid",
    "doc": "json",
    "raw": "bytes",
    "mood": "enum('happy','Sad')",
    "arr": "<blob>",
}

VALUES: dict[str, Any] = {
    "i8": -128,
    "i16": -32768,
    "i32": -(2**31),
    "i64": 2**62 + 1,  # not exact as a float64
    "u8": 255,
    "u16": 65535,
    "u32": 2**32 - 1,
    "f32": 1.25,
    "f64": 1 / 3,
    "flag": True,
    "amount": decimal.Decimal("123456789.125"),
    "code": "abcd",
    "name": "héllo 'wörld' \"%s\" ;",
    "day": datetime.date(2024, 2, 29),
    "moment": datetime.datetime(2024, 1, 2, 3, 4, 5),
    "precise": datetime.datetime(2024, 1, 2, 3, 4, 5, 678000),
    "tag": uuid.UUID("6f1b1c9e-2d5a-4b7e-9c3a-0123456789ab"),
    "doc": {"a": [1, 2.5, None, "x"], "b": {"c": True}},
    "raw": b"\x00\xff\x01binary",
    "mood": "Sad",
    "arr": np.arange(6, dtype=np.float64).reshape(2, 3),
}

# Other values per type, for the second row: extremes the other way, falsy values.
OTHER: dict[str, Any] = {
    "i8": 127,
    "i16": 32767,
    "i32": 2**31 - 1,
    "i64": -(2**63),
    "u8": 0,
    "u16": 0,
    "u32": 0,
    "f32": -0.5,
    "f64": -1e300,
    "flag": False,
    "amount": decimal.Decimal("-0.001"),
    "code": "",
    "name": "",
    "day": datetime.date(1970, 1, 1),
    "moment": datetime.datetime(1999, 12, 31, 23, 59, 59),
    "precise": datetime.datetime(2000, 1, 1, 0, 0, 0, 1000),
    "tag": uuid.UUID(int=0),
    "doc": [1, "two", [3]],
    "raw": b"",
    "mood": "happy",
    "arr": [1, "two", {"three": 3}],
}

ARROW = {
    "int8": pa.int8(),
    "int16": pa.int16(),
    "int32": pa.int32(),
    "int64": pa.int64(),
    "uint8": pa.uint8(),
    "uint16": pa.uint16(),
    "uint32": pa.uint32(),
    "float32": pa.float32(),
    "float64": pa.float64(),
    "bool": pa.bool_(),
    "decimal(12,3)": pa.decimal128(12, 3),
    "date": pa.date32(),
}


@pytest.fixture
def typed(inst: dj.Instance, schema_name: str) -> Any:
    schema = dj.Schema(schema_name, connection=inst.connection)
    lines = "\n".join(f"{name} = null : {type_}" for name, type_ in TYPES.items())

    class Typed(dj.Manual):
        definition = f"id : int32\n---\nlabel : varchar(8)\n{lines}\n"

    schema(Typed)
    Typed.insert1({"id": 1, "label": "values", **VALUES})
    Typed.insert1({"id": 2, "label": "other", **OTHER})
    Typed.insert1({"id": 3, "label": "nulls"})
    return Typed


def same(got: Any, want: Any) -> bool:
    if isinstance(want, np.ndarray):
        return isinstance(got, np.ndarray) and got.dtype == want.dtype and np.array_equal(got, want)
    if isinstance(want, float) and isinstance(got, float):
        return got == want or (math.isnan(got) and math.isnan(want))
    if isinstance(want, bool):
        return type(got) is bool and got == want
    return bool(got == want)


def check_row(row: dict[str, Any], want: dict[str, Any]) -> None:
    for name in TYPES:
        assert same(row[name], want.get(name)), (name, row[name], want.get(name))


def test_heading_types(typed: Any) -> None:
    assert {a.name: a.type for a in typed.heading.attributes if a.name in TYPES} == TYPES
    assert all(typed.heading[n].nullable for n in TYPES)


def test_to_dicts(typed: Any) -> None:
    rows = typed.to_dicts(order_by="id")
    check_row(rows[0], VALUES)
    check_row(rows[1], OTHER)
    check_row(rows[2], {})
    assert all(rows[2][n] is None for n in TYPES)


def test_iteration_and_restriction_by_each_value(typed: Any) -> None:
    assert sorted(r["id"] for r in typed) == [1, 2, 3]
    for name in TYPES:
        if name in ("doc", "arr", "raw", "f64"):
            continue  # json, blobs and long floats are not compared by equality in SQL
        assert (typed & {name: VALUES[name]}).fetch1("id") == 1, name
        assert (typed & {name: None}).fetch1("id") == 3, name


def test_to_arrays(typed: Any) -> None:
    records = typed.to_arrays(order_by="id")
    assert list(records.dtype.names) == typed.heading.names
    assert list(records["id"]) == [1, 2, 3]
    for name in TYPES:
        assert same(records[name][0], VALUES[name]), name
        assert same(records[name][1], OTHER[name]), name
        assert records[name][2] is None, name
    ids, days = typed.to_arrays("id", "day", order_by="id")
    assert list(ids) == [1, 2, 3] and list(days) == [VALUES["day"], OTHER["day"], None]


def test_to_pandas(typed: Any) -> None:
    frame = typed.to_pandas(order_by="id")
    assert frame.index.name == "id" and list(frame.index) == [1, 2, 3]
    assert list(frame.columns) == [n for n in typed.heading.names if n != "id"]
    for name in TYPES:
        for key, want in ((1, VALUES[name]), (2, OTHER[name])):
            got = frame.loc[key, name]
            if isinstance(want, datetime.datetime):
                got = pd.Timestamp(got).to_pydatetime()
            assert same(got, want), (name, got, want)
        assert pd.isna(frame.loc[3, name]), name
    assert frame.loc[1, "i64"] == 2**62 + 1  # a NULL in the column does not make it float


def test_to_arrow_types_and_values(typed: Any) -> None:
    table = typed.to_arrow(order_by="id")
    schema = table.schema
    for name, type_ in TYPES.items():
        if type_ in ARROW:
            assert schema.field(name).type == ARROW[type_], name
    assert pa.types.is_timestamp(schema.field("moment").type)
    assert pa.types.is_timestamp(schema.field("precise").type)
    tag = schema.field("tag").type
    assert tag == pa.uuid() or pa.types.is_fixed_size_binary(tag)
    for name in ("raw", "arr"):
        assert pa.types.is_binary(schema.field(name).type) or pa.types.is_large_binary(
            schema.field(name).type
        )
    mood = schema.field("mood").type
    assert pa.types.is_dictionary(mood) or pa.types.is_string(mood)
    doc = schema.field("doc").type
    assert pa.types.is_string(doc) or pa.types.is_large_string(doc) or "json" in str(doc)
    assert not schema.field("id").nullable and not schema.field("label").nullable
    assert all(schema.field(n).nullable for n in TYPES)
    assert schema.field("mood").metadata[b"datajoint.type"] == TYPES["mood"].encode()

    rows = table.to_pylist()
    assert [r["id"] for r in rows] == [1, 2, 3]
    for row, want in zip(rows[:2], (VALUES, OTHER)):
        for name in TYPES:
            got = row[name]
            if name == "doc":
                got = json.loads(got)
            elif name == "arr":
                got = unpack(got)
            elif name == "tag" and isinstance(got, bytes):
                got = uuid.UUID(bytes=got)
            assert same(got, want[name]), (name, got, want[name])
    assert all(rows[2][n] is None for n in TYPES)
    assert table.column("i8").null_count == 1


def test_iter_batches(typed: Any) -> None:
    batches = list(typed.iter_batches(batch_size=2, order_by="id"))
    assert [b.num_rows for b in batches] == [2, 1]
    assert all(isinstance(b, pa.RecordBatch) for b in batches)
    assert all(b.schema == typed.to_arrow().schema for b in batches)
    streamed = pa.Table.from_batches(batches).to_pylist()
    assert streamed == typed.to_arrow(order_by="id").to_pylist()
    one = typed.iter_batches(batch_size=1)
    first = next(one)  # the stream is lazy: one batch at a time
    assert first.num_rows == 1
    one.close()  # stopping early ends the server-side cursor
    assert len(typed) == 3  # and leaves the connection usable


def test_empty_result_keeps_the_arrow_schema(typed: Any) -> None:
    empty = typed & {"id": 99}
    table = empty.to_arrow()
    assert table.num_rows == 0 and table.schema == typed.to_arrow().schema
    assert list(empty.iter_batches()) == []


def test_fetch1_keys_head(typed: Any) -> None:
    one = typed & {"id": 1}
    check_row(one.fetch1(), VALUES)
    tag, arr = one.fetch1("tag", "arr")
    assert tag == VALUES["tag"] and np.array_equal(arr, VALUES["arr"])
    assert one.fetch1("KEY") == {"id": 1}
    assert (typed & {"id": 3}).fetch1("doc") is None
    with pytest.raises(dj.DataJointError, match="exactly one"):
        typed.fetch1()
    with pytest.raises(dj.DataJointError, match="exactly one"):
        (typed & {"id": 99}).fetch1()
    assert typed.keys(order_by="id") == [{"id": 1}, {"id": 2}, {"id": 3}]
    head = typed.head(2)
    assert len(head) == 2
    check_row((typed & {"id": head[0]["id"]}).fetch1(), head[0])


def test_legacy_fetch(typed: Any) -> None:
    records = typed.fetch(order_by="id")
    assert list(records["id"]) == [1, 2, 3]
    assert same(records["mood"][0], "Sad") and same(records["arr"][0], VALUES["arr"])
    dicts = typed.fetch(as_dict=True, order_by="id")
    check_row(dicts[0], VALUES)
    ids, docs = typed.fetch("id", "doc", order_by="id")
    assert list(ids) == [1, 2, 3] and list(docs) == [VALUES["doc"], OTHER["doc"], None]
    keys = typed.fetch("KEY", order_by="id")
    assert keys == [{"id": 1}, {"id": 2}, {"id": 3}]
    frame = typed.fetch(format="frame", order_by="id")
    assert isinstance(frame, pd.DataFrame) and list(frame.index) == [1, 2, 3]
    assert typed.fetch("tag", limit=1, order_by="id")[0] == VALUES["tag"]


def test_core_types_as_primary_key(inst: dj.Instance, schema_name: str) -> None:
    schema = dj.Schema(schema_name, connection=inst.connection)

    @schema
    class Keyed(dj.Manual):
        definition = """
        tag : uuid
        day : date
        mood : enum('happy','Sad')
        code : char(4)
        small : uint8
        ---
        value = null : float64
        """

    rows = [
        {"tag": VALUES["tag"], "day": VALUES["day"], "mood": "Sad", "code": "ab", "small": 1},
        {"tag": OTHER["tag"], "day": OTHER["day"], "mood": "happy", "code": "cd", "small": 2},
    ]
    Keyed.insert(rows)
    assert (Keyed & {"tag": str(VALUES["tag"])}).fetch1("small") == 1
    assert (Keyed & {"day": "1970-01-01"}).fetch1("mood") == "happy"
    assert sorted(Keyed.keys(), key=lambda k: k["small"]) == rows
    assert len(Keyed & rows[1]) == 1


def test_insert_rejects_out_of_range_enum(typed: Any) -> None:
    with pytest.raises(dj.DataJointError):
        typed.insert1({"id": 9, "label": "x", "mood": "angry"})
    assert len(typed) == 3


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (np.array([7.0]), None),  # one element: not unwrapped to a scalar
        (np.array(3.5), np.float64(3.5)),  # zero-dimensional: a NumPy scalar (as the reference)
        (np.zeros((2, 0)), None),
        (np.array([[1, 2], [3, 4]], dtype=np.int16), None),
        (np.array(["a", "bc"]), np.array(["a", "bc"], dtype=object)),  # str: object array
        ({"nested": [1, {"x": None}]}, None),
        ("text", None),
        (42, None),
    ],
)
def test_blob_values_keep_type_and_shape(typed: Any, value: Any, expected: Any) -> None:
    typed.insert1({"id": 10, "label": "blob", "arr": value})
    got = (typed & {"id": 10}).fetch1("arr")
    want = value if expected is None else expected
    if isinstance(want, (np.ndarray, np.generic)):
        assert type(got) is type(want)
        assert (got.dtype, got.shape) == (want.dtype, want.shape)
        assert np.array_equal(got, want)
    else:
        assert got == want and type(got) is type(want)
