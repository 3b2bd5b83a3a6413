"""``<object@>``: files and folders in object storage, at schema-addressed paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .schema import SchemaCodec
from .storage import no_object_storage


class ObjectCodec(SchemaCodec):
    """Schema-addressed files or folders (store only). Object storage is not implemented."""

    name = "object"

    def encode(
        self,
        value: Any,
        *,
        key: dict[str, Any] | None = None,
        context: dict[str, Any] | None = None,
        store_name: str | None = None,
    ) -> dict[str, Any]:
        if isinstance(value, dict) and "path" in value:  # metadata already (a staged insert)
            return value
        raise no_object_storage(self.name)

    def decode(
        self,
        stored: dict[str, Any],
        *,
        key: dict[str, Any] | None = None,
        context: dict[str, Any] | None = None,
    ) -> Any:
        raise no_object_storage(self.name)

    def validate(self, value: Any) -> None:
        if isinstance(value, (bytes, str, Path)):
            return
        if isinstance(value, tuple) and len(value) == 2:
            return
        if isinstance(value, dict) and "path" in value:
            return
        raise TypeError(f"<object> expects bytes or path, got {type(value).__name__}")
