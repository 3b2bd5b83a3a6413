"""``<hash@>``: bytes in object storage, addressed by their content (stored as json)."""

from __future__ import annotations

from typing import Any

from ..codecs import Codec
from ..errors import DataJointError
from .storage import no_object_storage


class HashCodec(Codec):
    """Hash-addressed bytes; in-store only. Object storage is not implemented here."""

    name = "hash"

    def get_dtype(self, is_store: bool) -> str:
        if not is_store:
            raise DataJointError("<hash> requires @ (in-store storage only)")
        return "json"

    def encode(
        self,
        value: bytes,
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
    ) -> bytes:
        raise no_object_storage(self.name)

    def validate(self, value: Any) -> None:
        if not isinstance(value, bytes):
            raise TypeError(f"<hash> expects bytes, got {type(value).__name__}")
