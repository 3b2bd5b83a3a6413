"""``datajoint_core.schemas``: the reference's name for :mod:`datajoint_core.schema`."""

from __future__ import annotations

from .schema import Schema, VirtualModule, list_schemas, virtual_schema

__all__ = ["Schema", "VirtualModule", "list_schemas", "virtual_schema"]
