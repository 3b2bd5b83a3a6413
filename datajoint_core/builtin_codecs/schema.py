"""Schema-addressed codecs: objects stored under ``{schema}/{table}/{key}/{field}``."""

from __future__ import annotations

import warnings
from typing import Any

from ..codecs import Codec
from ..errors import DataJointError


class SchemaCodec(Codec, register=False):
    """Base of codecs whose objects live at paths that mirror the schema (store only).

    ``_extract_context`` reads schema, table, field and primary key from ``context``, or, for
    codecs written before 2.3.4, from the underscore keys of ``key`` (with a warning).
    """

    def get_dtype(self, is_store: bool) -> str:
        if not is_store:
            raise DataJointError(f"<{self.name}> requires @ (store only)")
        return "json"

    def _extract_context(
        self, key: dict[str, Any] | None, context: dict[str, Any] | None = None
    ) -> tuple[str, str, str, dict[str, Any]]:
        """``(schema, table, field, primary key)`` of the value being encoded."""
        key = dict(key or {})
        if context is None and any(k.startswith("_") for k in key):
            warnings.warn(
                "Reading connection context from the `key` dict is deprecated and will be "
                "removed in DataJoint 2.4. Accept a `context` argument in encode()/decode() and "
                "pass it to _extract_context(key, context). See "
                "https://github.com/datajoint/datajoint-python/issues/1550",
                DeprecationWarning,
                stacklevel=2,
            )
        context = context or {}
        schema = context.get("schema", key.pop("_schema", "unknown"))
        table = context.get("table", key.pop("_table", "unknown"))
        field = context.get("field", key.pop("_field", "data"))
        primary_key = {k: v for k, v in key.items() if not k.startswith("_")}
        return schema, table, field, primary_key
