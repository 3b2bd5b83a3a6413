"""Backend adapters. Each imports its own driver; nothing else in the package does.

What is known about each backend without its driver is in :mod:`.facts`.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from .facts import (
    ALIASES,
    BACKEND_NAMES,
    DATABASE_LEVEL,
    DEFAULT_BACKEND,
    EMBEDDABLE,
    Backend,
    backend,
)

if TYPE_CHECKING:
    from .base import Adapter

_cache: dict[str, Adapter] = {}


def get_adapter(backend_name: str) -> Adapter:
    """The adapter for a backend name ("mysql" or "postgresql", or an alias)."""
    facts = backend(backend_name)
    if facts.name not in _cache:
        module, cls = facts.adapter
        _cache[facts.name] = getattr(import_module(module), cls)()
    return _cache[facts.name]


__all__ = [
    "ALIASES",
    "BACKEND_NAMES",
    "DATABASE_LEVEL",
    "DEFAULT_BACKEND",
    "EMBEDDABLE",
    "Backend",
    "backend",
    "get_adapter",
]
