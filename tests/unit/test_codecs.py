"""The codec registry and chains (no database): the reference's semantics, case by case."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest

import datajoint_core as dj
from datajoint_core.builtin_codecs import SchemaCodec
from datajoint_core.codecs import (
    Codec,
    _accepts_kwarg,
    _codec_registry,
    encode_attribute,
    get_codec,
    is_codec_registered,
    list_codecs,
    parse_type_spec,
    resolve_dtype,
    unregister_codec,
)
from datajoint_core.errors import DataJointError
from datajoint_core.heading import Attribute


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    yield
    for name in [n for n in _codec_registry if n.startswith("t_")]:
        del _codec_registry[name]


def _codec(name: str, dtype: str, register: bool = True) -> type[Codec]:
    class Plain(Codec, register=register):
        def get_dtype(self, is_store: bool) -> str:
            return dtype

        def encode(self, value: Any, *, key: Any = None, store_name: Any = None) -> Any:
            return value

        def decode(self, stored: Any, *, key: Any = None) -> Any:
            return stored

    Plain.name = name
    if register:  # name set after class creation: register as __init_subclass__ would
        _codec_registry[name] = Plain()
    return Plain


def test_subclass_registers_once_and_refuses_a_second_class() -> None:
    class One(Codec):
        name = "t_one"

        def get_dtype(self, is_store: bool) -> str:
            return "int32"

        def encode(self, value: Any, *, key: Any = None, store_name: Any = None) -> Any:
            return value

        def decode(self, stored: Any, *, key: Any = None) -> Any:
            return stored

    assert is_codec_registered("t_one") and get_codec("<t_one>") is get_codec("t_one@s")
    assert "t_one" in list_codecs() and list_codecs() == sorted(list_codecs())
    with pytest.raises(DataJointError, match="already registered"):

        class Other(One):
            name = "t_one"

    unregister_codec("<t_one>")
    assert not is_codec_registered("t_one")
    with pytest.raises(DataJointError, match="not registered"):
        unregister_codec("t_one")
    with pytest.raises(DataJointError, match="Unknown codec"):
        get_codec("t_one")


def test_register_false_and_nameless_bases_stay_out() -> None:
    class Base(Codec, register=False):
        name = "t_base"

        def get_dtype(self, is_store: bool) -> str:
            return "bytes"

        def encode(self, value: Any, *, key: Any = None, store_name: Any = None) -> Any:
            return value

        def decode(self, stored: Any, *, key: Any = None) -> Any:
            return stored

    assert not is_codec_registered("t_base")
    assert not any(isinstance(c, SchemaCodec) and c.name is None for c in _codec_registry.values())
    with pytest.raises(DataJointError, match="non-empty string"):

        class Empty(Codec):
            name = ""


def test_chains_stores_and_cycles() -> None:
    _codec("t_inner", "bytes")
    _codec("t_outer", "<t_inner>")
    assert [c.name for c in resolve_dtype("<t_outer>")[1]] == ["t_outer", "t_inner"]
    assert resolve_dtype("<blob@cold>") == ("json", [get_codec("blob"), get_codec("hash")], "cold")
    assert resolve_dtype("<blob@>")[2] == "" and resolve_dtype("bytes") == ("bytes", [], None)
    _codec("t_a", "<t_b>")
    _codec("t_b", "<t_a>")
    with pytest.raises(DataJointError, match="Circular codec reference"):
        resolve_dtype("<t_a>")
    with pytest.raises(DataJointError, match="requires @"):
        resolve_dtype("<hash>")
    assert parse_type_spec("<x@>") == ("x", "") and parse_type_spec("x") == ("x", None)


def test_exports() -> None:
    assert dj.Codec is Codec and dj.get_codec is get_codec and dj.list_codecs is list_codecs
    assert {"blob", "attach", "hash", "object", "npy", "filepath"} <= set(list_codecs())
    assert dj.Entry is dj.Manual and dj.Ingest is dj.Imported and dj.Compute is dj.Computed


def test_blob_codec_is_the_blob_format() -> None:
    from datajoint_core.blob import pack, unpack

    blob = get_codec("blob")
    value = {"a": [1, 2.5, "x"], "b": None}
    assert blob.encode(value) == pack(value, compress=True)
    assert unpack(blob.encode(value)) == value == blob.decode(blob.encode(value))


def test_encode_offers_context_and_store_only_to_codecs_that_declare_them() -> None:
    seen: dict[str, Any] = {}

    class Legacy(Codec):
        name = "t_legacy"

        def get_dtype(self, is_store: bool) -> str:
            return "<t_modern>"

        def encode(self, value: Any, *, key: Any = None) -> Any:
            seen["legacy_key"] = key
            return value

        def decode(self, stored: Any, *, key: Any = None) -> Any:
            return stored

    class Modern(Codec):
        name = "t_modern"

        def get_dtype(self, is_store: bool) -> str:
            return "json"

        def encode(
            self, value: Any, *, key: Any = None, context: Any = None, store_name: Any = None
        ) -> Any:
            seen["context"], seen["store"] = context, store_name
            return value

        def decode(self, stored: Any, *, key: Any = None, context: Any = None) -> Any:
            return stored

        def validate(self, value: Any) -> None:
            raise AssertionError("only the outermost codec validates")

    attr = Attribute("x", "<t_legacy>", origin=("lab", "session"))
    value, stored = encode_attribute({"k": 1}, attr, {"key": {"id": 3}, "config": "C"})
    assert (value, stored.type) == ({"k": 1}, "json")
    assert seen["legacy_key"] == {
        "_schema": None,
        "_table": None,
        "_field": "x",
        "_config": "C",
        "id": 3,
    }
    assert seen["context"] == {"schema": None, "table": None, "field": "x", "config": "C"}
    encode_attribute({"k": 1}, attr)  # a table's column: its names
    assert seen["context"] == {"schema": "lab", "table": "session", "field": "x", "config": None}
    _accepts_kwarg.cache_clear()
    for _ in range(3):
        assert _accepts_kwarg(Modern.encode, "context") and not _accepts_kwarg(
            Legacy.encode, "context"
        )
    assert _accepts_kwarg.cache_info().misses == 2


def test_outermost_validate_refuses() -> None:
    class Positive(Codec):
        name = "t_positive"

        def get_dtype(self, is_store: bool) -> str:
            return "int32"

        def encode(self, value: Any, *, key: Any = None, store_name: Any = None) -> Any:
            return value

        def decode(self, stored: Any, *, key: Any = None) -> Any:
            return stored

        def validate(self, value: Any) -> None:
            if value < 0:
                raise ValueError("negative")

    with pytest.raises(ValueError, match="negative"):
        encode_attribute(-1, Attribute("x", "<t_positive>"))
    assert encode_attribute(None, Attribute("x", "<t_positive>"))[0] is None


def test_schema_codec_context_and_legacy_keys() -> None:
    npy = get_codec("npy")
    legacy = {"_schema": "lab", "_table": "t", "_field": "f", "_config": "C", "id": 7}
    with pytest.warns(DeprecationWarning, match="1550"):
        assert npy._extract_context(dict(legacy)) == ("lab", "t", "f", {"id": 7})
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        context = {"schema": "s", "table": "u", "field": "g"}
        assert npy._extract_context(dict(legacy), context) == ("s", "u", "g", {"id": 7})
        assert npy._extract_context({"id": 1}) == ("unknown", "unknown", "data", {"id": 1})
    assert Codec._codec_config({"_config": "K"}, {"config": "X"}) == "X"
    assert Codec._codec_config({"_config": "K"}, {}) == "K" and Codec._codec_config() is None


def test_object_storage_codecs_declare_but_do_not_store() -> None:
    for name in ("hash", "object", "npy", "filepath"):
        assert get_codec(name).get_dtype(True) == "json"
        with pytest.raises(DataJointError):
            get_codec(name).get_dtype(False)
    with pytest.raises(DataJointError, match="object storage"):
        get_codec("hash").encode(b"x", store_name="s")
    with pytest.raises(TypeError):
        get_codec("hash").validate("text")
