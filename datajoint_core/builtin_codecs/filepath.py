"""``<filepath@store>``: a reference to a file that already is in a store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..codecs import Codec
from ..errors import DataJointError
from .storage import no_object_storage


class FilepathCodec(Codec):
    """A path inside a store (store only, stored as json). Object storage is not implemented."""

    name = "filepath"

    def get_dtype(self, is_store: bool) -> str:
        if not is_store:
            raise DataJointError(
                "<filepath> requires @ symbol. Use <filepath@> for default store or "
                "<filepath@store> to specify store."
            )
        return "json"

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
    ) -> Any:
        raise no_object_storage(self.name)

    def validate(self, value: Any) -> None:
        if not isinstance(value, (str, Path)):
            raise TypeError(f"<filepath> expects a path string or Path, got {type(value).__name__}")
