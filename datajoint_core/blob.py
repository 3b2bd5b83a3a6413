"""The ``<blob>`` codec: DataJoint's own serialization, byte for byte as the reference writes it.

A blob is ``mYm\\0`` (what MATLAB's mYm library and DataJoint for MATLAB also read) or ``dj0\\0``
(the Python extensions: scalars, containers, dates, UUIDs, ... anything beyond numeric arrays,
cells and structs) followed by one encoded value; a blob of more than 1000 bytes is stored
``ZL123\\0`` + its uint64 length + zlib stream when that is shorter. Values come back as the
reference returns them: MATLAB-style arrays in Fortran order, cells as :class:`MatCell`, structs
as :class:`MatStruct`, numeric zero-dimensional arrays as NumPy scalars.

Every length in a blob is checked against the bytes that are there before anything is
allocated, and a zlib stream may not inflate past its recorded length: malformed, truncated or
hostile input raises :class:`DataJointError`. Blobs written by earlier versions of this package
(``djc:npy\\0`` + ``.npy``, ``djc:json\\0`` + JSON) are still read.
"""

from __future__ import annotations

import collections.abc
import datetime
import decimal
import io
import json
import math
import struct
import uuid
import zlib
from itertools import repeat
from typing import Any

import numpy as np

from .errors import DataJointError

__all__ = ["MatCell", "MatStruct", "pack", "unpack", "use_32bit_dims"]

#: Read sizes as uint32, as the 32-bit build of MATLAB's mYm library wrote them.
use_32bit_dims = False

MYM = b"mYm\0"
DJ0 = b"dj0\0"
ZLIB = b"ZL123\0"
COMPRESS_ABOVE = 1000  # bytes: smaller blobs are never compressed
LEGACY_NPY = b"djc:npy\0"
LEGACY_JSON = b"djc:json\0"
_MAX_RATIO = 1032  # deflate cannot inflate one byte to more than this

_CHAR, _VOID = 4, 5
_UNITS = ["Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as"]
_TYPE_IDS: dict[np.dtype[Any], int] = {
    np.dtype(name): code
    for code, name in [
        (3, "bool"),
        (_CHAR, "c"),
        (_VOID, "O"),
        (6, "float64"),
        (7, "float32"),
        (8, "int8"),
        (9, "uint8"),
        (10, "int16"),
        (11, "uint16"),
        (12, "int32"),
        (13, "uint32"),
        (14, "int64"),
        (15, "uint64"),
    ]
    + [(65_536 + i, f"datetime64[{unit}]") for i, unit in enumerate(_UNITS)]
}
_DTYPES = {code: dtype for dtype, code in _TYPE_IDS.items() if code not in (_CHAR, _VOID)}


class MatCell(np.ndarray):
    """A MATLAB cell array: an object array that packs as a cell (``C``), not an array."""


class MatStruct(np.recarray):
    """A MATLAB struct array: a record array of object fields that packs as a struct (``S``)."""


# ----------------------------------------------------------------------------------------------
# writing


def _u64(n: int) -> bytes:
    return struct.pack("<Q", n)


def _dims(a: np.ndarray) -> bytes:
    return struct.pack(f"<{a.ndim + 1}Q", a.ndim, *a.shape)


def _names(names: tuple[str, ...]) -> bytes:
    return struct.pack("<I", len(names)) + "\0".join(names).encode() + b"\0"


class _Packer:
    """Encodes one value into ``parts``; ``dj0`` turns on once anything beyond mYm is written."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0
        self.dj0 = False

    def emit(self, chunk: bytes) -> None:
        self.parts.append(chunk)
        self.size += len(chunk)

    def item(self, value: Any) -> None:
        """``value`` preceded by its uint64 length (elements of containers, cells, structs)."""
        slot, start = len(self.parts), self.size
        self.parts.append(b"")
        self.put(value)
        self.parts[slot] = _u64(self.size - start)
        self.size += 8

    def put(self, obj: Any) -> None:  # one dispatch, in the reference's order
        if isinstance(obj, MatCell):
            return self.cell(obj)
        if isinstance(obj, MatStruct):
            return self.matstruct(obj)
        if isinstance(obj, np.ndarray) and obj.dtype.fields is None:
            return self.array(obj)
        self.dj0 = True
        if not isinstance(obj, (np.ndarray, np.number)):  # np.float64 is a float: not here
            if isinstance(obj, bool):
                return self.emit(b"\x0b\x01" if obj else b"\x0b\x00")
            if isinstance(obj, int):
                return self.integer(obj)
            if isinstance(obj, complex):
                return self.emit(b"\x0c" + struct.pack("<dd", obj.real, obj.imag))
            if isinstance(obj, float):
                return self.emit(b"\x0d" + struct.pack("<d", obj))
        if isinstance(obj, np.ndarray):
            if obj.dtype.fields:
                return self.records(np.array(obj))
        elif isinstance(obj, (np.number, np.datetime64, np.bool_)):
            return self.array(np.array(obj))
        if isinstance(obj, (datetime.datetime, datetime.date, datetime.time)):
            return self.moment(obj)
        if isinstance(obj, decimal.Decimal):
            text = str(obj)
            return self.emit(b"d" + _u64(len(text)) + text.encode())
        if isinstance(obj, uuid.UUID):
            return self.emit(b"u" + obj.bytes)
        if isinstance(obj, collections.abc.Mapping):
            self.emit(b"\x04" + _u64(len(obj)))
            for key, value in obj.items():
                self.item(key)
                self.item(value)
            return None
        if isinstance(obj, str):
            data = obj.encode()
            return self.emit(b"\x05" + _u64(len(data)) + data)
        if isinstance(obj, (bytes, bytearray)):
            return self.emit(b"\x06" + _u64(len(obj)) + bytes(obj))
        for abc, code in (
            (collections.abc.MutableSequence, b"\x02"),
            (collections.abc.Sequence, b"\x01"),
            (collections.abc.Set, b"\x03"),
        ):
            if isinstance(obj, abc):
                self.emit(code + _u64(len(obj)))
                for value in obj:
                    self.item(value)
                return None
        if obj is None:
            return self.emit(b"\xff")
        raise DataJointError(f"Packing object of type {type(obj)} currently not supported!")

    def integer(self, v: int) -> None:
        n = v.bit_length() // 8 + 1
        if n > 0xFFFF:
            raise DataJointError("Integers are limited to 65535 bytes")
        self.emit(b"\x0a" + struct.pack("<H", n) + v.to_bytes(n, "little", signed=True))

    def moment(self, v: datetime.date | datetime.time) -> None:
        """Date as yyyymmdd (int32), time of day as hhmmssuuuuuu (int64); -1 for the absent part.
        A time zone is not stored (as in the reference)."""
        if isinstance(v, datetime.datetime):
            day, clock = v.date(), v.time()
        elif isinstance(v, datetime.date):
            day, clock = v, None
        else:
            day, clock = None, v
        day_code = -1 if day is None else (day.year * 100 + day.month) * 100 + day.day
        time_code = -1
        if clock is not None:
            time_code = ((clock.hour * 100 + clock.minute) * 100 + clock.second) * 1_000_000
            time_code += clock.microsecond
        self.emit(b"t" + struct.pack("<iq", day_code, time_code))

    def array(self, a: np.ndarray) -> None:
        """``A``: dims, type id, complex flag, then the data in Fortran order."""
        if "datetime64" in a.dtype.name:
            self.dj0 = True
        imag = None
        if np.iscomplexobj(a):
            a, imag = np.real(a), np.imag(a)
        code = _TYPE_IDS.get(a.dtype)
        if code is None:
            if a.dtype.char != "U":
                raise DataJointError(f"Type {a.dtype} is ambiguous or unknown")
            code = _VOID  # strings travel as an object array of str
        self.emit(b"A" + _dims(a) + struct.pack("<II", code, imag is not None))
        if code == _VOID:
            for element in a.flatten(order="F"):
                self.item(element)
            self.dj0 = True
        elif code == _CHAR:  # MATLAB's 16-bit chars; C order, as the reference writes them
            self.emit(a.view(np.uint8).astype(np.uint16).tobytes())
        else:
            if a.ndim == 0:
                self.dj0 = True
            self.emit(a.tobytes(order="F"))
            if imag is not None:
                self.emit(imag.tobytes(order="F"))

    def records(self, a: np.ndarray) -> None:
        """``F``: field names, then each field as an array (nested records recurse)."""
        names = a.dtype.names or ()
        self.emit(b"F" + _names(names))
        for name in names:
            column = a[name]
            if column.dtype.fields:
                self.records(column)
            else:
                self.array(column)

    def matstruct(self, a: MatStruct) -> None:
        """``S``: dims, field names, then every field of every element (Fortran order)."""
        names = a.dtype.names
        if not names:
            raise DataJointError("a MatStruct needs named fields")
        self.emit(b"S" + _dims(a) + _names(names))
        for record in a.flatten(order="F"):
            for value in record:
                self.item(value)

    def cell(self, a: MatCell) -> None:
        """``C``: dims, then every element (Fortran order)."""
        self.emit(b"C" + _dims(a))
        for element in a.flatten(order="F"):
            self.item(element)


def pack(obj: Any, compress: bool = True) -> bytes:
    """``obj`` as a blob, exactly as the reference writes it.

    Numeric / boolean / char arrays, :class:`MatCell` and :class:`MatStruct` use the
    MATLAB-compatible ``mYm`` protocol; anything else switches the blob to ``dj0``. With
    ``compress`` (the default, as the reference's ``<blob>`` codec uses) a blob over 1000 bytes
    is zlib-compressed when that makes it smaller.
    """
    packer = _Packer()
    try:
        packer.put(obj)
    except RecursionError:
        raise DataJointError("cannot pack: the value is nested too deeply") from None
    except UnicodeEncodeError as err:
        raise DataJointError(f"cannot pack a string that is not valid Unicode: {err}") from None
    blob = b"".join([DJ0 if packer.dj0 else MYM, *packer.parts])
    if compress and len(blob) > COMPRESS_ABOVE:
        stream = zlib.compress(blob)
        if len(ZLIB) + 8 + len(stream) < len(blob):
            return ZLIB + _u64(len(blob)) + stream
    return blob


# ----------------------------------------------------------------------------------------------
# reading


class _Reader:
    """Decodes one blob; every read is checked against ``end`` (the enclosing value's end)."""

    def __init__(self, buf: bytes, squeeze: bool, wide: bool) -> None:
        self.buf = buf
        self.pos = 0
        self.end = len(buf)
        self.squeeze = squeeze
        self.size_code, self.size_len = ("Q", 8) if wide else ("I", 4)
        self.codes = {
            ord("A"): self.array,
            ord("P"): self.sparse,
            ord("S"): self.matstruct,
            ord("C"): self.cell,
            0xFF: lambda: None,
            0x01: lambda: tuple(self.sequence()),
            0x02: lambda: list(self.sequence()),
            0x03: lambda: set(self.sequence()),
            0x04: self.mapping,
            0x05: lambda: self.take(self.size()).decode(),
            0x06: lambda: self.take(self.size()),
            0x0A: lambda: int.from_bytes(self.take(self.fixed("<H")), "little", signed=True),
            0x0B: lambda: self.take(1) != b"\0",
            0x0C: lambda: complex(*struct.unpack("<dd", self.take(16))),
            0x0D: lambda: self.fixed("<d"),
            ord("F"): self.records,
            ord("d"): lambda: decimal.Decimal(self.take(self.size()).decode()),
            ord("t"): self.moment,
            ord("u"): lambda: uuid.UUID(bytes=self.take(16)),
        }

    # -- primitives

    def need(self, n: int) -> None:
        if n > self.end - self.pos:
            raise DataJointError(
                f"Invalid blob: truncated ({n} bytes needed at offset {self.pos}, "
                f"{self.end - self.pos} left)"
            )

    def take(self, n: int) -> bytes:
        self.need(n)
        self.pos += n
        return self.buf[self.pos - n : self.pos]

    def fixed(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def size(self) -> int:
        return int(self.fixed("<" + self.size_code))

    def sizes(self, count: int) -> list[int]:
        return list(struct.unpack(f"<{count}{self.size_code}", self.take(count * self.size_len)))

    def numbers(self, dtype: np.dtype[Any], count: int) -> np.ndarray:
        self.need(count * dtype.itemsize)
        data = np.frombuffer(self.buf, dtype=dtype, count=count, offset=self.pos)
        self.pos += count * dtype.itemsize
        return data

    def name(self) -> str:
        stop = self.buf.find(b"\0", self.pos, self.end)
        if stop < 0:
            raise DataJointError("Invalid blob: unterminated name")
        text = self.buf[self.pos : stop].decode()
        self.pos = stop + 1
        return text

    def shape(self, per_element: int) -> tuple[list[int], int]:
        """Dims and element count; each element needs at least ``per_element`` bytes."""
        shape = self.sizes(self.size())
        n = math.prod(shape)
        self.need(n * per_element)
        return shape, n

    def squeezed(self, a: Any, scalar: bool = True) -> Any:
        if not self.squeeze:
            return a
        a = a.squeeze()
        return a.item() if scalar and a.ndim == 0 else a

    # -- values

    def blob(self, n_bytes: int | None = None) -> Any:
        """One value; with ``n_bytes`` it must fill exactly that many bytes."""
        if n_bytes is None:
            return self.value()
        self.need(n_bytes)
        outer, self.end = self.end, self.pos + n_bytes
        value = self.value()
        if self.pos != self.end:
            raise DataJointError("Blob length check failed! Invalid blob")
        self.end = outer
        return value

    def value(self) -> Any:
        code = self.take(1)[0]
        read = self.codes.get(code)
        if read is None:
            shown = chr(code) if 32 <= code < 127 else f"\\x{code:02x}"
            raise DataJointError(f'Unknown data structure code "{shown}". Upgrade datajoint.')
        return read()

    def element(self) -> Any:
        return self.blob(self.size())

    def sequence(self) -> list[Any]:
        n = self.size()
        self.need(n * (self.size_len + 1))
        return [self.element() for _ in range(n)]

    def mapping(self) -> dict[Any, Any]:
        n = self.size()
        self.need(n * 2 * (self.size_len + 1))
        return {self.element(): self.element() for _ in range(n)}

    def moment(self) -> datetime.date | datetime.time | None:
        day_code, time_code = struct.unpack("<iq", self.take(12))
        day = clock = None
        if day_code >= 0:
            day = datetime.date(day_code // 10000, day_code // 100 % 100, day_code % 100)
        if time_code >= 0:
            clock = datetime.time(
                time_code // 10_000_000_000 % 100,
                time_code // 100_000_000 % 100,
                time_code // 1_000_000 % 100,
                time_code % 1_000_000,
            )
        if day is not None and clock is not None:
            return datetime.datetime.combine(day, clock)
        return clock if clock is not None else day

    def sparse(self) -> Any:
        raise DataJointError("datajoint-python does not yet support sparse arrays. Issue (#590)")

    def array(self, scalar: bool = True) -> Any:
        n_dims = self.size()
        self.need(n_dims * self.size_len + 8)
        shape = self.sizes(n_dims)
        n = math.prod(shape)
        code, is_complex = struct.unpack("<II", self.take(8))
        data: Any
        if code == _VOID:
            self.need(n * (self.size_len + 1))
            data = _objects([self.element() for _ in range(n)])
        elif code == _CHAR:
            # UTF-16 code units, one per char (the reference keeps only the low byte, which is
            # the same for ASCII and fails or garbles anything else)
            chars = self.numbers(np.dtype("<u2"), n).astype("<u4").view("<U1")
            if n_dims == 1 or (n_dims == 2 and shape[0] == 1):  # a row: one string
                text = chars.squeeze()
                data = text if text.shape == () else np.array("".join(text))
                shape = [1]
            else:
                data = chars
        elif code in _DTYPES:
            dtype = _DTYPES[code]
            self.need(n * dtype.itemsize * (2 if is_complex else 1))
            data = self.numbers(dtype, n)
            if n == 1:
                data = data[0]  # a NumPy scalar: 0-d arrays come back as scalars
            if is_complex:
                data = _complex(data, self.numbers(dtype, n))
        else:
            raise DataJointError(f"Invalid blob: unknown array type {code}")
        return self.squeezed(data.reshape(shape, order="F"), scalar)

    def column(self) -> Any:
        """A field of a record array: squeezing never turns it into a scalar (the reference
        then fails on a one-record array)."""
        if self.buf[self.pos : self.pos + 1] == b"A":
            self.pos += 1
            return self.array(scalar=False)
        return self.value()

    def records(self) -> np.ndarray:
        n_fields = self.fixed("<I")
        if not n_fields:
            return np.array(None)
        names = [self.name() for _ in range(n_fields)]
        columns = [self.column() for _ in range(n_fields)]
        if not all(isinstance(c, (np.ndarray, np.generic)) for c in columns):
            raise DataJointError("Invalid blob: a record field is not an array")
        out = np.empty(columns[0].shape, dtype=[(f, c.dtype) for f, c in zip(names, columns)])
        for f, c in zip(names, columns):
            out[f] = c
        return out.view(np.recarray)

    def matstruct(self) -> Any:
        n_dims = self.size()
        shape = self.sizes(n_dims)
        n = math.prod(shape)
        n_fields = self.fixed("<I")
        if not n_fields:
            return np.array(None)
        names = [self.name() for _ in range(n_fields)]
        self.need(n * n_fields * (self.size_len + 1))
        rows = [tuple(self.element() for _ in range(n_fields)) for _ in range(n)]
        dtype = list(zip(names, repeat(object)))
        try:
            data = np.array(rows, dtype=dtype)
        except ValueError:  # values numpy will not take as given: place them one by one
            data = np.empty(n, dtype=dtype)
            for i, row in enumerate(rows):
                for f, v in zip(names, row):
                    data[f][i] = v
        return self.squeezed(data.reshape(shape, order="F"), scalar=False).view(MatStruct)

    def cell(self) -> MatCell:
        shape, n = self.shape(self.size_len + 1)
        values = [self.element() for _ in range(n)]
        if not n:
            return np.empty(0, dtype=object).view(MatCell)
        cells = np.empty(n, dtype=object)
        try:
            cells[:] = values
        except ValueError:
            for i, v in enumerate(values):
                cells[i] = v
        return self.squeezed(cells.reshape(shape, order="F"), scalar=False).view(MatCell)


def _complex(real: Any, imag: np.ndarray) -> Any:
    """``real + 1j * imag`` in the dtype that expression has, with both parts kept bit for bit
    (the expression itself turns an infinite imaginary part into a NaN real part)."""
    if imag.size == 1 and not isinstance(real, np.ndarray):  # one element: a NumPy scalar
        kind = type(real + 1j * imag[0])
        return kind(complex(real, imag[0]))
    out = np.empty(real.shape, dtype=(real[:0] + 1j * imag[:0]).dtype)
    out.real, out.imag = real, imag
    return out


def _objects(values: list[Any]) -> np.ndarray:
    """An object array of ``values``, built as the reference builds it where numpy can."""
    try:
        data = np.array(values, dtype=object)
        if data.shape[:1] == (len(values),) and data.size == len(values):
            return data
    except ValueError:
        pass
    data = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        data[i] = v
    return data


def _inflate(buf: bytes, wide: bool) -> bytes:
    """The payload of a ``ZL123`` blob; refuses one that inflates past its recorded size."""
    head = _Reader(buf, False, wide)
    head.take(len(ZLIB))
    size = head.size()
    stream = memoryview(buf)[head.pos :]
    if size > _MAX_RATIO * len(stream):
        raise DataJointError(
            f"Invalid blob: {len(stream)} compressed bytes cannot hold the {size} recorded"
        )
    inflater = zlib.decompressobj()
    try:
        payload = inflater.decompress(stream, size + 1)
    except zlib.error as err:
        raise DataJointError(f"Invalid blob: corrupt zlib stream ({err})") from None
    if len(payload) > size:
        raise DataJointError(f"Invalid blob: it inflates beyond its recorded size of {size} bytes")
    if not inflater.eof:
        raise DataJointError("Invalid blob: the zlib stream is truncated")
    if len(payload) != size:
        raise DataJointError(f"Blob size mismatch: expected {size}, got {len(payload)}")
    return payload


def unpack(blob: bytes | bytearray | memoryview | None, squeeze: bool = False) -> Any:
    """The value in ``blob`` (None stays None).

    ``squeeze`` drops singleton dimensions of arrays, cells and structs, and turns
    zero-dimensional arrays into Python scalars. Raises :class:`DataJointError` for anything that
    is not a well-formed blob.
    """
    if blob is None:
        return None
    buf = bytes(blob)
    if buf.startswith(LEGACY_NPY):
        return _legacy_npy(buf[len(LEGACY_NPY) :])
    if buf.startswith(LEGACY_JSON):
        try:
            return json.loads(buf[len(LEGACY_JSON) :])
        except ValueError as err:
            raise DataJointError(f"Invalid blob: {err}") from None
    wide = not use_32bit_dims
    if buf.startswith(ZLIB):
        buf = _inflate(buf, wide)
    protocol = buf[:4]
    if protocol not in (MYM, DJ0):
        raise DataJointError(f"Invalid blob: unknown protocol {protocol!r}")
    reader = _Reader(buf, squeeze, wide)
    reader.pos = 4
    try:
        return reader.blob(len(buf) - 4)
    except DataJointError:
        raise
    except RecursionError:
        raise DataJointError("Invalid blob: nested too deeply") from None
    except (ValueError, TypeError, IndexError, OverflowError, ArithmeticError) as err:
        # e.g. an impossible date, bad UTF-8, an array numpy cannot shape
        raise DataJointError(f"Invalid blob: {type(err).__name__}: {err}") from err


def _legacy_npy(buf: bytes) -> Any:
    """A ``.npy`` payload (this package's former array format), read without trusting it."""
    from numpy.lib import format as npy

    stream = io.BytesIO(buf)
    try:
        version = npy.read_magic(stream)
        read_header = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
        shape, fortran, dtype = read_header(stream)
    except ValueError as err:
        raise DataJointError(f"Invalid blob: {err}") from None
    if dtype.hasobject:
        raise DataJointError("Invalid blob: a .npy blob of Python objects is not read")
    count = math.prod(shape)
    if count * dtype.itemsize > len(buf) - stream.tell():
        raise DataJointError("Invalid blob: the .npy data is truncated")
    data = np.frombuffer(buf, dtype=dtype, count=count, offset=stream.tell()).copy()
    return data.reshape(shape, order="F" if fortran else "C")
