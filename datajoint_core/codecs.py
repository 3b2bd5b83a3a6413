"""Codecs: the extensible ``<name>`` attribute types, as the reference defines them.

A codec turns a Python value into something a core type stores (``encode``) and back
(``decode``). Its ``get_dtype`` names that stored type: a core type (``bytes``, ``json``,
``varchar(64)``) or another codec, so codecs chain: ``<graph>`` -> ``<blob>`` -> ``bytes``.
Subclassing :class:`Codec` with a ``name`` registers it::

    class GraphCodec(dj.Codec):
        name = "graph"

        def get_dtype(self, is_store):
            return "<blob>"

        def encode(self, graph, *, key=None, store_name=None):
            return list(graph.edges)

        def decode(self, stored, *, key=None):
            return nx.Graph(stored)

``<name@store>`` asks for object storage (``<blob@>`` chains to ``<hash>``, stored as json);
datajoint_core declares such attributes but cannot write or read their objects.

The registry is process-wide, as the reference's is: codecs belong to code, not to a
connection. The built-in codecs (``datajoint_core.builtin_codecs``) register when the package
is imported.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from .errors import DataJointError

Attribute = Any  # a heading's Attribute (heading.py asks for codecs; this module never imports it)

__all__ = [
    "Codec",
    "attribute_decoder",
    "encode_attribute",
    "get_codec",
    "is_codec_registered",
    "list_codecs",
    "lookup_codec",
    "parse_type_spec",
    "resolve_dtype",
    "unregister_codec",
]

logger = logging.getLogger("datajoint_core")

_codec_registry: dict[str, Codec] = {}  # name -> the codec's one instance
_entry_points_loaded = False
_ENTRY_POINT_GROUPS = ("datajoint.codecs", "datajoint.types")


class Codec(ABC):
    """Base class of codecs; a subclass with a ``name`` registers itself.

    ``class Abstract(dj.Codec, register=False)`` defines a base that is not registered.
    ``encode`` may also declare ``context`` (schema, table, field, config) and
    ``store_name``; each is passed only to codecs whose signature declares it.
    """

    name: str | None = None

    def __init_subclass__(cls, *, register: bool = True, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not register or cls.name is None:
            return
        if not isinstance(cls.name, str) or not cls.name:
            raise DataJointError(f"Codec name must be a non-empty string, got {cls.name!r}")
        existing = _codec_registry.get(cls.name)
        if existing is not None:
            if type(existing) is cls:
                return
            raise DataJointError(
                f"Codec <{cls.name}> already registered by "
                f"{type(existing).__module__}.{type(existing).__name__}"
            )
        _codec_registry[cls.name] = cls()
        logger.debug("registered codec <%s> from %s.%s", cls.name, cls.__module__, cls.__name__)

    @abstractmethod
    def get_dtype(self, is_store: bool) -> str:
        """The type that stores an encoded value: a core type or ``<another codec>``.

        ``is_store`` is True for ``<name@store>`` (object storage).
        """

    @abstractmethod
    def encode(
        self, value: Any, *, key: dict[str, Any] | None = None, store_name: Any = None
    ) -> Any:
        """The stored form of ``value``."""

    @abstractmethod
    def decode(self, stored: Any, *, key: dict[str, Any] | None = None) -> Any:
        """The Python value of a stored form."""

    @staticmethod
    def _codec_config(
        key: dict[str, Any] | None = None, context: dict[str, Any] | None = None
    ) -> Any:
        """The calling connection's config: ``context["config"]``, else the legacy
        ``key["_config"]``, else None."""
        if context and context.get("config") is not None:
            return context["config"]
        return (key or {}).get("_config")

    def validate(self, value: Any) -> None:  # noqa: B027 -- optional, accepts anything
        """Raise TypeError or ValueError for a value this codec cannot encode (before insert)."""

    def referenced_paths(self, stored: Any) -> list[tuple[str, str | None]]:
        """``(path, store)`` of the stored objects a stored value refers to (none inline)."""
        value = stored
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return []
        if isinstance(value, dict) and "path" in value:
            return [(value["path"], value.get("store"))]
        return []

    def __repr__(self) -> str:
        return f"<{type(self).__name__}(name={self.name!r})>"


def parse_type_spec(spec: str) -> tuple[str, str | None]:
    """``"<blob@cold>"`` -> ``("blob", "cold")``; ``"<blob@>"`` -> ``("blob", "")`` (the
    default store); ``"<blob>"`` or ``"blob"`` -> ``("blob", None)``."""
    spec = spec.strip("<>").strip()
    name, at, store = spec.partition("@")
    return (name.strip(), store.strip()) if at else (spec, None)


def _load_entry_points() -> None:
    """Register codecs that installed packages declare (entry points), once."""
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    from importlib.metadata import entry_points

    for group in _ENTRY_POINT_GROUPS:
        for entry in entry_points(group=group):
            if entry.name in _codec_registry:
                continue
            try:
                loaded = entry.load()
                if entry.name not in _codec_registry and hasattr(loaded, "name"):
                    _codec_registry[entry.name] = loaded()
            except Exception as err:  # a broken plugin must not break every other codec
                logger.warning("cannot load codec %r from %s: %s", entry.name, entry.value, err)


def get_codec(name: str) -> Codec:
    """The registered codec called ``name`` (``"blob"``, ``"<blob>"`` and ``"<blob@s>"`` alike)."""
    type_name, _ = parse_type_spec(name)
    if type_name not in _codec_registry:
        _load_entry_points()
    try:
        return _codec_registry[type_name]
    except KeyError:
        raise DataJointError(
            f"Unknown codec: <{type_name}>. Ensure the codec is defined "
            f"(inherit from dj.Codec with name='{type_name}')."
        ) from None


def list_codecs() -> list[str]:
    """The names of all registered codecs, sorted."""
    _load_entry_points()
    return sorted(_codec_registry)


def is_codec_registered(name: str) -> bool:
    type_name, _ = parse_type_spec(name)
    if type_name not in _codec_registry:
        _load_entry_points()
    return type_name in _codec_registry


def unregister_codec(name: str) -> None:
    """Remove a codec from the registry (for tests)."""
    name = name.strip("<>")
    if name not in _codec_registry:
        raise DataJointError(f"Codec <{name}> is not registered")
    del _codec_registry[name]


def lookup_codec(codec_spec: str) -> tuple[Codec, str | None]:
    """The codec of a type spec and its store (None without ``@``)."""
    type_name, store = parse_type_spec(codec_spec)
    if not is_codec_registered(type_name):
        raise DataJointError(
            f"Codec <{type_name}> is not registered. "
            f"Define a Codec subclass with name='{type_name}'."
        )
    return get_codec(type_name), store


def resolve_dtype(
    dtype: str, seen: set[str] | None = None, store_name: str | None = None
) -> tuple[str, list[Codec], str | None]:
    """``(stored type, codec chain outermost first, store)`` of a type.

    >>> resolve_dtype("<blob>")[0]
    'bytes'
    >>> resolve_dtype("<blob@cold>")[0], resolve_dtype("<blob@cold>")[2]
    ('json', 'cold')

    A store given at an outer level reaches the inner codecs; a cycle raises.
    """
    seen = set() if seen is None else seen
    chain: list[Codec] = []
    while dtype.startswith("<") and dtype.endswith(">"):
        type_name, store = parse_type_spec(dtype)
        if store is not None:
            store_name = store
        if type_name in seen:
            raise DataJointError(f"Circular codec reference detected: <{type_name}>")
        seen.add(type_name)
        codec = get_codec(type_name)
        chain.append(codec)
        dtype = codec.get_dtype(store_name is not None)
    if "@" in dtype:  # a stored type with its own store suffix
        dtype, _, store = dtype.partition("@")
        store_name = store or store_name
    return dtype, chain, store_name


@functools.cache
def _accepts_kwarg(func: Callable[..., Any], name: str) -> bool:
    """Whether ``func`` declares the keyword ``name`` (cached per function: inspecting a
    signature costs more than a small encode, and this runs per value)."""
    return name in inspect.signature(func).parameters


# --- values: the hooks of insert encoding and fetch decoding --------------------------------


def _stored_attribute(attr: Attribute, dtype: str) -> Attribute:
    """``attr`` as a column of the codec chain's stored type."""
    from .declare.parser import normalise_type

    try:
        type_, core = normalise_type(dtype)
    except ValueError:
        type_, core = dtype, False
    return replace(attr, type=type_, core=core, original_type=None)


def encode_attribute(
    value: Any, attr: Attribute, context: dict[str, Any] | None = None
) -> tuple[Any, Attribute]:
    """Run ``value`` through the codecs of ``attr`` (outermost first, after the outermost
    one's ``validate``); return the stored value and ``attr`` as a column of the stored type.

    ``context`` (``schema``, ``table``, ``field``, ``config`` and the row's primary key as
    ``key``) reaches the codecs as the reference passes it: as ``context`` to those that
    declare it, and in the legacy ``_schema``/``_table``/``_field``/``_config`` keys of ``key``.
    """
    dtype, chain, store = resolve_dtype(attr.type)
    stored = _stored_attribute(attr, dtype)
    if value is None or not chain:
        return value, stored
    chain[0].validate(value)
    if context is None and attr.origin is not None:  # a column of a table: its names
        context = {"schema": attr.origin[0], "table": attr.origin[1]}
    info = dict(context or {})
    pk = dict(info.pop("key", None) or {})
    codec_context = {k: info.get(k) for k in ("schema", "table", "field", "config")}
    if codec_context["field"] is None:
        codec_context["field"] = attr.name
    legacy = {f"_{k}": v for k, v in codec_context.items()} | pk
    for codec in chain:
        encode = type(codec).encode
        kwargs: dict[str, Any] = {}
        if _accepts_kwarg(encode, "store_name"):
            kwargs["store_name"] = store
        if _accepts_kwarg(encode, "context"):
            kwargs["context"] = codec_context
        value = codec.encode(value, key=legacy, **kwargs)
    return value, stored


def attribute_decoder(
    attr: Attribute,
    stored_decoder: Callable[[Attribute], Callable[[Any], Any] | None],
    config: Any = None,
) -> Callable[[Any], Any]:
    """A function from a driver value of ``attr``'s column to its Python value: the stored
    type's own decoding (``stored_decoder``, e.g. json text to a dict), then the codecs,
    innermost first."""
    dtype, chain, _ = resolve_dtype(attr.type)
    first = stored_decoder(_stored_attribute(attr, dtype))
    key = {"_config": config} if config is not None else None
    context = {"config": config} if config is not None else None
    steps = []
    for codec in reversed(chain):
        method: Any = codec.decode  # a codec may declare ``context`` too
        if _accepts_kwarg(type(codec).decode, "context"):
            steps.append(functools.partial(method, key=key, context=context))
        else:
            steps.append(functools.partial(method, key=key))

    def decode(value: Any) -> Any:
        if value is None:
            return None
        if first is not None:
            value = first(value)
        for step in steps:
            value = step(value)
        return value

    return decode
