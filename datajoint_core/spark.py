"""``dj.SparkAdapter``: the reference's protocol for codecs whose decoded values a Spark
consumer can take as they are (``isinstance(codec, dj.SparkAdapter)`` tells it).

A codec opts in by defining ``to_spark``; it returns primitives (bool, int, float, str, bytes,
None, date, datetime), lists and dicts of them (NumPy arrays as lists).

>>> class FloatArray:
...     def to_spark(self, decoded, *, key=None):
...         return list(decoded)
>>> isinstance(FloatArray(), SparkAdapter)
True
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class SparkAdapter(Protocol):
    """A codec that adapts its decoded values to Spark-native shapes."""

    def to_spark(self, decoded: Any, *, key: dict[str, Any] | None = None) -> Any:
        """The decoded value as primitives, lists and dicts (``key``: the row's key)."""
        ...


__all__ = ["SparkAdapter"]
