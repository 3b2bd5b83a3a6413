"""Backend adapters. Each imports its own driver; nothing else in the package does."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from ..errors import ConfigError

if TYPE_CHECKING:
    from .base import Adapter

_ADAPTERS = {
    "mysql": ("datajoint_core.adapters.mysql", "MySQLAdapter"),
    "postgresql": ("datajoint_core.adapters.postgres", "PostgreSQLAdapter"),
}
_cache: dict[str, Adapter] = {}


def get_adapter(backend: str) -> Adapter:
    """The adapter for a backend name ("mysql" or "postgresql")."""
    if backend not in _cache:
        if backend not in _ADAPTERS:
            raise ConfigError(f"unknown backend {backend!r}; choose one of {sorted(_ADAPTERS)}")
        module, cls = _ADAPTERS[backend]
        _cache[backend] = getattr(import_module(module), cls)()
    return _cache[backend]


__all__ = ["get_adapter"]
