"""A corpus of ``<blob>`` values and an exact, JSON-safe description of any unpacked value.

Shared by the tests (this interpreter, ``datajoint_core.blob``) and by
``tests/reference/reference_blob.py`` (the reference's interpreter, ``datajoint.blob``): it
imports nothing but NumPy and the standard library, and takes the package's ``MatCell`` /
``MatStruct`` classes as arguments. Two values are the same blob value when their
``describe`` documents are equal: container and scalar types, dtypes (with byte order and
record types), shapes, memory layout, and every value bit for bit.
"""

from __future__ import annotations

import datetime
import uuid
import warnings
from decimal import Decimal
from typing import Any

import numpy as np

# blobs the reference's test suite loads (tests/integration/test_blob_matlab.py): written by
# DataJoint for MATLAB; the second set by the 32-bit mYm library (read with use_32bit_dims)
MATLAB_HEX = {
    "matlab_string": (
        "6D596D0041020000000000000001000000000000001000000000000000040000000000000063006800610072"
        "0061006300740065007200200073007400720069006E006700"
    ),
    "matlab_vector": (
        "6D596D0041020000000000000001000000000000000C000000000000000600000000000000000000000000F0"
        "3F00000000000030400000000000003F4000000000000047400000000000804E400000000000005340000000"
        "0000C056400000000000805A400000000000405E4000000000000061400000000000E062400000000000C064"
        "40"
    ),
    "matlab_cell": (
        "6D596D00430200000000000000010000000000000002000000000000002F0000000000000041020000000000"
        "000001000000000000000700000000000000040000000000000073007400720069006E00670031002F000000"
        "0000000041020000000000000001000000000000000700000000000000040000000000000073007400720069"
        "006E0067003200"
    ),
    "matlab_struct": (
        "6D596D0053020000000000000001000000000000000200000000000000020000006100620029000000000000"
        "00410200000000000000010000000000000001000000000000000600000000000000000000000000F03F9000"
        "0000000000005302000000000000000100000000000000010000000000000001000000630069000000000000"
        "0041020000000000000003000000000000000300000000000000060000000000000000000000000020400000"
        "0000000008400000000000001040000000000000F03F00000000000014400000000000002240000000000000"
        "18400000000000001C4000000000000000402900000000000000410200000000000000010000000000000001"
        "0000000000000006000000000000000000000000000040100100000000000053020000000000000001000000"
        "000000000100000000000000010000004300E900000000000000410200000000000000050000000000000005"
        "0000000000000006000000000000000000000000003140000000000000374000000000000010400000000000"
        "0024400000000000002640000000000000384000000000000014400000000000001840000000000000284000"
        "00000000003240000000000000F03F0000000000001C400000000000002A4000000000000033400000000000"
        "00394000000000000020400000000000002C4000000000000034400000000000003540000000000000004000"
        "00000000002E400000000000003040000000000000364000000000000008400000000000002240"
    ),
    "matlab_3d_double": (
        "6D596D0041030000000000000002000000000000000300000000000000040000000000000006000000000000"
        "00000000000000F03F0000000000000040000000000000084000000000000010400000000000001440000000"
        "00000018400000000000001C4000000000000020400000000000002240000000000000244000000000000026"
        "4000000000000028400000000000002A400000000000002C400000000000002E400000000000003040000000"
        "0000003140000000000000324000000000000033400000000000003440000000000000354000000000000036"
        "4000000000000037400000000000003840"
    ),
    "matlab_3d_uint8": (
        "6D596D0041030000000000000002000000000000000300000000000000040000000000000009000000000000"
        "000102030405060708090A0B0C0D0E0F101112131415161718"
    ),
    "matlab_3d_complex": (
        "6D596D0041030000000000000002000000000000000300000000000000040000000000000006000000010000"
        "000000000000C0724000000000000028C000000000000038C0000000000000000000000000000038C0000000"
        "000000000000000000000052C000000000000000000000000000000000000000000000000000000000000000"
        "00000000000000000000000000000052C0000000000000000000000000000000000000000000000000000000"
        "0000000000000000000000000000000000000052C00000000000000000000000000000000000000000000000"
        "000000000000000000000000000000000000000000000000000000000000000000AA4C58E87AB62B40000000"
        "0000000000AA4C58E87AB62BC000000000000000800000000000005240000000000000000000000000000000"
        "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
        "000000000000000000000000000000000000000080000000000000008000000000000052C000000000000000"
        "800000000000000080000000000000008000000000000000800000000000000080"
    ),
}
MATLAB_32BIT_HEX = {
    "matlab32_struct": (
        "6D596D00530200000001000000010000000400000068697473007369646573007461736B7300737461676500"
        "4D000000410200000001000000070000000600000000000000000000000000F8FF000000000000F03F000000"
        "000000F03F0000000000000000000000000000F03F0000000000000000000000000000F8FF23000000410200"
        "0000010000000700000004000000000000006C006C006C006C00720072006C00230000004102000000010000"
        "0007000000040000000000000064006400640064006400640064002500000041020000000100000008000000"
        "040000000000000053007400610067006500200031003000"
    ),
}

UUID = uuid.UUID("0b9c7f4e-3a61-4f2e-9d8a-54c1e0f6a7b2")
MOMENT = datetime.datetime(2024, 1, 2, 3, 4, 5, 678901)


def _object_array(*values: Any, shape: tuple[int, ...] | None = None) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        out[i] = v
    return out if shape is None else out.reshape(shape, order="F")


def _matrix() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        return np.matrix([[1, 2], [3, 4]])


def corpus(mat_cell: type, mat_struct: type) -> dict[str, Any]:
    """Named values covering every blob encoding; deterministic (seeded) arrays."""
    rng = np.random.default_rng(20240611)
    big = rng.standard_normal((50, 40))  # > 1000 bytes and incompressible: stays uncompressed
    c = {
        # Python scalars and None
        "none": None,
        "true": True,
        "false": False,
        "int_zero": 0,
        "int_small": -255,
        "int_big": -25523987234234287910987234987098245697129798713407812347,
        "int_2_64": 2**64,
        "float": 7.0,
        "float_neg_zero": -0.0,
        "float_nan": float("nan"),
        "float_inf": float("-inf"),
        "complex": 7j - 1.5,
        # NumPy scalars (zero-dimensional arrays in the blob)
        "np_float64": np.float64(3e31),
        "np_float32": np.float32(-3.25),
        "np_int8": np.int8(-3),
        "np_uint8": np.uint8(253),
        "np_int16": np.int16(-33),
        "np_uint16": np.uint16(65000),
        "np_int32": np.int32(-3),
        "np_uint32": np.uint32(4_000_000_000),
        "np_int64": np.int64(373),
        "np_uint64": np.uint64(2**64 - 1),
        "np_bool": np.bool_(True),
        "np_complex128": np.complex128(1 - 2j),
        "np_complex64": np.complex64(3 + 4j),
        "np_datetime64_us": np.datetime64("1998").astype("datetime64[us]"),
        "np_datetime64_d": np.datetime64("2024-02-29"),
        "np_datetime64_nat": np.datetime64("NaT", "ns"),
        "np_str": np.str_("numpy text"),
        "np_bytes": np.bytes_(b"numpy bytes"),
        # strings, bytes, decimals, UUIDs, dates and times
        "str_empty": "",
        "str": "test",
        "str_unicode": "héllo wörld ✓ \U0001f600",
        "bytes_empty": b"",
        "bytes": bytes(range(256)),
        "bytearray": bytearray(b"\x00\x01\xfe"),
        "decimal": Decimal("-112122121.000003000"),
        "decimal_small": Decimal("1.24"),
        "decimal_exp": Decimal("1E+5"),
        "uuid": UUID,
        "datetime": MOMENT,
        "datetime_min": datetime.datetime(1, 1, 1),
        "date": datetime.date(2023, 5, 1),
        "time_midnight": datetime.time(0, 0),
        "time": datetime.time(23, 59, 59, 999999),
        # containers
        "list_none": [None],
        "list_empty": [],
        "tuple_empty": (),
        "dict_empty": {},
        "set_empty": set(),
        "list_mixed": [1, MOMENT, {1: "one", "two": 2}, (1, 2)],
        "tuple_mixed": (1, MOMENT, {1: "one", "two": 2}, (UUID, 2)),
        "dict": {
            "name": "Anonymous",
            "age": 15,
            99: MOMENT,
            "range": [110, 190],
            (11, 12): None,
        },
        "dict_dates": {datetime.date(2024, 1, 1): "today", "now": datetime.date(2024, 1, 2)},
        "dict_with_array": {"yes!": [1, 2, np.array((3, 4))]},
        "set": {7, (1, 2), 2.5},  # no str: their hashes, so the order, vary per process
        "set_str": {"elephant"},
        "frozenset": frozenset({1.5}),
        "range": range(10),
        "nested": [[[[{"deep": (np.int16(1), [np.arange(3)])}]]]],
        # numeric arrays (mYm)
        "f8_1d": np.arange(10, dtype=np.float64) / 3,
        "f8_2d_c": rng.standard_normal((8, 10)),
        "f8_2d_f": np.asfortranarray(rng.standard_normal((3, 5))),
        "f8_3d": np.arange(24.0).reshape((2, 3, 4)),
        "f8_empty": np.array([]),
        "f8_empty_2d": np.zeros((2, 0)),
        "f8_one": np.array([7.0]),
        "f8_zero_dim": np.array(3.5),
        "f8_special": np.array([np.nan, np.inf, -np.inf, -0.0, 5e-324]),
        "f4_3d": rng.standard_normal((3, 4, 5)).astype(np.float32),
        "i1": np.array([-128, 0, 127], dtype=np.int8),
        "u1_3d": np.arange(1, 25, dtype=np.uint8).reshape((2, 3, 4), order="F"),
        "i2_123": np.array([[[1, -2, 3], [4, -5, 6]]], dtype=np.int16),
        "u2": np.array([0, 65535], dtype=np.uint16),
        "i4": np.array([-(2**31), 2**31 - 1], dtype=np.int32),
        "u4": np.array([0, 2**32 - 1], dtype=np.uint32),
        "i8_2d": np.arange(-6, 6, dtype=np.int64).reshape((3, 4)),
        "u8": np.array([0, 2**64 - 1], dtype=np.uint64),
        "bool_2d": np.array([[True, False, True], [False, False, True]]),
        "c16_2d": rng.standard_normal((4, 3)) + 1j * rng.standard_normal((4, 3)),
        "c8_3d": (rng.standard_normal((3, 4, 5)) + 1j * rng.standard_normal((3, 4, 5))).astype(
            np.complex64
        ),
        "c16_one": np.array([1 + 1j]),
        "strided": np.arange(20.0).reshape((4, 5))[::2, 1::2],
        "big_compressible": np.arange(10000, dtype=np.float64),
        "big_random": big,
        "matrix": _matrix(),
        # datetime64 arrays (dj0)
        "dt64_us": np.array(["2022-10-13T03:03:13.123456", "NaT"], dtype="datetime64[us]"),
        "dt64_d_2d": np.array([["2020-01-01", "2021-02-03"]], dtype="datetime64[D]"),
        "dt64_many": np.array([np.datetime64("2022-10-13 03:03:13")] * 1000),
        # chars, strings, objects
        "char_row": np.array([b"a", b"b", b"c"], dtype="c"),
        "char_one": np.array([b"x"], dtype="c"),
        "char_2d": np.array([[b"a", b"b"], [b"c", b"d"]], dtype="c"),
        "char_zero_dim": np.array(b"q", dtype="c"),
        "str_array": np.array(["yes"]),
        "str_array_2d": np.array([["yes", "no"], ["a", "bcd"]]),
        "str_array_zero_dim": np.array("abc"),
        "str_array_empty": np.array([], dtype="U3"),
        "object_array": np.array(((1, 2, 3), True), dtype="object"),
        "object_array_2d": _object_array(1, "two", None, 4.0, shape=(2, 2)),
        "object_zero_dim": np.array(None, dtype=object),
        "object_empty": np.array([], dtype=object),
        "object_of_lists_1": _object_array([1], [2]),
        "object_of_arrays": _object_array(np.arange(3), np.arange(2.0)),
        # record arrays (dj0)
        "records": np.array([(1.0, 2), (3.0, 4)], dtype=[("x", float), ("y", int)]),
        "recarray": np.array([(1.0, 2), (3.0, 4)], dtype=[("x", float), ("y", int)]).view(
            np.recarray
        ),
        "records_object": np.array([(3, 4)], dtype=[("tmp0", float), ("tmp1", "O")]).view(
            np.recarray
        ),
        "records_zero_dim": np.array((1.0, 2), dtype=[("x", float), ("y", int)]),
        "records_nested": np.array(
            [(1.0, (2, 3.0))], dtype=[("x", float), ("y", [("a", int), ("b", float)])]
        ),
        "records_str": np.array([(1.0, "ab")], dtype=[("x", float), ("y", "U3")]),
        "records_2d": np.zeros((2, 3), dtype=[("a", "i2"), ("b", "f4"), ("c", "?")]),
        # MATLAB cells and structs
        "cell_ragged": _object_array(
            np.array([1, 2, 3]), np.array([4, 5, 6, 7, 8]), shape=(1, 2)
        ).view(mat_cell),
        "cell_empty_elements": _object_array(
            np.array([]), np.array([]), np.array([]), shape=(3, 1)
        ).view(mat_cell),
        "cell_mixed": _object_array(
            np.array([1, 2]), np.array([]), np.array([3, 4, 5]), shape=(3, 1)
        ).view(mat_cell),
        "cell_same_shapes": _object_array(np.array([1, 2]), np.array([3, 4])).view(mat_cell),
        "cell_one_array": _object_array(np.array([5])).view(mat_cell),
        "cell_python": _object_array([5, 6], "text", None, shape=(1, 3)).view(mat_cell),
        "cell_empty": np.empty((0, 3), dtype=object).view(mat_cell),
        "cell_nested": _object_array(
            _object_array(np.array([[1.0]]), shape=(1, 1)).view(mat_cell), np.array([[2.0]])
        ).view(mat_cell),
        "struct": np.array(
            [(np.array([[1.0]]), np.array([[2.0, 3.0]])), (np.array([[4.0]]), np.array([[5.0]]))],
            dtype=[("a", object), ("b", object)],
        )
        .reshape((1, 2))
        .view(mat_struct),
        "struct_nested": np.array(
            [(np.array([[1.0]]), _struct_of(mat_struct, c=np.eye(3)))],
            dtype=[("a", object), ("b", object)],
        )
        .reshape((1, 1))
        .view(mat_struct),
    }
    return c


def _struct_of(mat_struct: type, **fields: Any) -> Any:
    out = np.empty((1, 1), dtype=[(name, object) for name in fields])
    for name, value in fields.items():
        out[name][0, 0] = value
    return out.view(mat_struct)


# values neither package can pack (each must raise its DataJointError)
def unpackable() -> dict[str, Any]:
    return {
        "float16": np.array([1.0], dtype=np.float16),
        "big_endian": np.array([1], dtype=">i4"),
        "bytes_array": np.array([b"ab"]),
        "timedelta64": np.timedelta64(1, "s"),
        "timedelta": datetime.timedelta(days=1),
        "void": np.array((1, 2), dtype=[("a", int), ("b", int)])[()],
        "generic_datetime64": np.array(["NaT"], dtype="datetime64"),
        "object": object(),
    }


# --------------------------------------------------------------------------------------------


def _type_name(value: Any) -> str:
    t = type(value)
    if t.__module__.split(".")[0] in ("datajoint", "datajoint_core"):
        return t.__qualname__  # MatCell / MatStruct of either package
    return f"{t.__module__}.{t.__qualname__}"


def describe(value: Any, layout: bool = True) -> Any:
    """A JSON-safe document that two values share exactly when they are the same blob value.

    ``layout`` adds the memory order and writeability of arrays (both part of what the
    reference returns); round trips of C-ordered originals leave it out.
    """
    name = _type_name(value)
    if isinstance(value, np.ndarray):
        doc: dict[str, Any] = {"type": name, "dtype": repr(value.dtype), "shape": value.shape}
        if layout:
            doc["c"], doc["f"] = value.flags.c_contiguous, value.flags.f_contiguous
            doc["writeable"] = value.flags.writeable
        plain = np.asarray(value)
        if plain.dtype.names:
            doc["fields"] = [
                [f, describe(np.asarray(plain[f]), layout=False)] for f in plain.dtype.names
            ]
        elif plain.dtype.hasobject:
            doc["items"] = [describe(v, layout) for v in plain.ravel(order="C")]
        else:
            doc["data"] = np.ascontiguousarray(plain).tobytes().hex()
        return _jsonable(doc)
    if isinstance(value, np.generic):
        return {"type": name, "dtype": repr(value.dtype), "data": value.tobytes().hex()}
    if value is None or isinstance(value, (bool, int, float, complex, str, bytes, bytearray)):
        return {"type": name, "repr": repr(value)}
    if isinstance(value, (Decimal, uuid.UUID, datetime.date, datetime.time, range)):
        return {"type": name, "repr": repr(value)}
    if isinstance(value, (list, tuple)):
        return {"type": name, "items": [describe(v, layout) for v in value]}
    if isinstance(value, (set, frozenset)):
        import json

        items = [describe(v, layout) for v in value]
        return {"type": name, "items": sorted(items, key=lambda d: json.dumps(d, sort_keys=True))}
    if isinstance(value, dict):
        return {
            "type": name,
            "items": [[describe(k, layout), describe(v, layout)] for k, v in value.items()],
        }
    raise TypeError(f"describe: unexpected {name}")


def _jsonable(doc: dict[str, Any]) -> dict[str, Any]:
    doc["shape"] = [int(n) for n in doc["shape"]]
    return doc
