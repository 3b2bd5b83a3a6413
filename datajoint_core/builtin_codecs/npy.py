"""``<npy@>``: numpy arrays as ``.npy`` files in object storage, fetched lazily."""

from __future__ import annotations

import math
from typing import Any

from ..errors import DataJointError
from .schema import SchemaCodec
from .storage import no_object_storage


class NpyRef:
    """A lazy reference to a stored array: shape and dtype without reading the file."""

    __slots__ = ("_backend", "_cached", "_meta")

    def __init__(self, metadata: dict[str, Any], backend: Any) -> None:
        self._meta = metadata
        self._backend = backend
        self._cached: Any = None

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self._meta["shape"])

    @property
    def dtype(self) -> Any:
        import numpy as np

        return np.dtype(self._meta["dtype"])

    @property
    def ndim(self) -> int:
        return len(self._meta["shape"])

    @property
    def size(self) -> int:
        return math.prod(self._meta["shape"])

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    @property
    def path(self) -> str:
        return str(self._meta["path"])

    @property
    def store(self) -> str | None:
        return self._meta.get("store")

    @property
    def is_loaded(self) -> bool:
        return self._cached is not None

    def load(self, mmap_mode: str | None = None) -> Any:
        raise no_object_storage("npy")

    def __array__(self, dtype: Any = None) -> Any:
        array = self.load()
        return array if dtype is None else array.astype(dtype)

    def __getitem__(self, item: Any) -> Any:
        return self.load()[item]

    def __len__(self) -> int:
        if not self._meta["shape"]:
            raise TypeError("len() of 0-dimensional array")
        return int(self._meta["shape"][0])

    def __repr__(self) -> str:
        status = "loaded" if self.is_loaded else "not loaded"
        return f"NpyRef(shape={self.shape}, dtype={self.dtype}, {status})"

    __str__ = __repr__


class NpyCodec(SchemaCodec):
    """Arrays as portable ``.npy`` files (store only). Object storage is not implemented."""

    name = "npy"

    def validate(self, value: Any) -> None:
        import numpy as np

        if not isinstance(value, np.ndarray):
            raise DataJointError(f"<npy> requires numpy.ndarray, got {type(value).__name__}")
        if value.dtype == object:
            raise DataJointError("<npy> does not support object dtype arrays")

    def encode(
        self,
        value: Any,
        *,
        key: dict[str, Any] | None = None,
        context: dict[str, Any] | None = None,
        store_name: str | None = None,
    ) -> dict[str, Any]:
        raise no_object_storage(self.name)

    def decode(
        self,
        stored: dict[str, Any],
        *,
        key: dict[str, Any] | None = None,
        context: dict[str, Any] | None = None,
    ) -> NpyRef:
        return NpyRef(stored, None)
