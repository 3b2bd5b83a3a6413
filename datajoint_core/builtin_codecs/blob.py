"""``<blob>``: any Python object in DataJoint's blob format (datajoint_core/blob.py)."""

from __future__ import annotations

from typing import Any

from ..codecs import Codec


class BlobCodec(Codec):
    """Serialized arrays, dicts, lists, ...: ``bytes`` in the table, ``<hash@>`` in a store.

    Bytes are the reference's exactly: ``pack(value, compress=True)``.
    """

    name = "blob"

    def get_dtype(self, is_store: bool) -> str:
        return "<hash>" if is_store else "bytes"

    def encode(
        self,
        value: Any,
        *,
        key: dict[str, Any] | None = None,
        context: dict[str, Any] | None = None,
        store_name: str | None = None,
    ) -> bytes:
        from ..blob import pack

        return pack(value, compress=True)

    def decode(
        self,
        stored: bytes,
        *,
        key: dict[str, Any] | None = None,
        context: dict[str, Any] | None = None,
    ) -> Any:
        from ..blob import unpack

        return unpack(stored, squeeze=False)
