"""Adapter data: quoting, name splitting, type maps (no database)."""

from __future__ import annotations

import pytest

from datajoint_core.adapters import get_adapter
from datajoint_core.errors import ConfigError, DataJointError

HOSTILE = ["a`b", 'a"b', "a'b", "sp ace", "semi;colon", "per%cent", "dot.ted", "``", '""']


@pytest.mark.parametrize("backend", ["mysql", "postgresql"])
@pytest.mark.parametrize("name", HOSTILE)
def test_full_name_round_trip(backend: str, name: str) -> None:
    adapter = get_adapter(backend)
    full = adapter.full_name(name, name + "x")
    assert adapter.split_full_name(full) == (name, name + "x")


def test_quoting_doubles_the_quote_character() -> None:
    assert get_adapter("mysql").quote("a`b") == "`a``b`"
    assert get_adapter("postgresql").quote('a"b') == '"a""b"'
    assert get_adapter("mysql").quote('a"b') == '`a"b`'


def test_split_accepts_unquoted_and_rejects_malformed() -> None:
    adapter = get_adapter("mysql")
    assert adapter.split_full_name("lab.session") == ("lab", "session")
    with pytest.raises(DataJointError, match="schema.table"):
        adapter.split_full_name("session")
    with pytest.raises(DataJointError, match="malformed"):
        adapter.split_full_name("`lab`x.`s`")


def test_unknown_backend() -> None:
    with pytest.raises(ConfigError, match="unknown backend 'oracle'"):
        get_adapter("oracle")


@pytest.mark.parametrize(
    ("core", "args", "mysql", "postgresql"),
    [
        ("int8", (), "tinyint", "smallint"),
        ("int32", (), "int", "integer"),
        ("uint32", (), "int unsigned", "bigint"),
        ("float64", (), "double", "double precision"),
        ("bool", (), "tinyint", "boolean"),
        ("decimal", ("8", "3"), "decimal(8,3)", "numeric(8,3)"),
        ("varchar", ("32",), "varchar(32)", "varchar(32)"),
        ("datetime", ("3",), "datetime(3)", "timestamp(3)"),
        ("uuid", (), "binary(16)", "uuid"),
        ("json", (), "json", "jsonb"),
        ("bytes", (), "longblob", "bytea"),
        ("<blob>", (), "longblob", "bytea"),
    ],
)
def test_core_types_both_ways(
    core: str, args: tuple[str, ...], mysql: str, postgresql: str
) -> None:
    for backend, native in (("mysql", mysql), ("postgresql", postgresql)):
        adapter = get_adapter(backend)
        assert adapter.core_to_native(core, args) == native
        back = adapter.native_to_core(native)
        if core not in ("bool", "int8", "uint32", "<blob>"):  # these share a native type
            expected = f"{core}({','.join(args)})" if args else core
            assert back == expected, (backend, native, back)


def test_mysql_display_width_is_ignored() -> None:
    assert get_adapter("mysql").native_to_core("int(11)") == "int32"
    assert get_adapter("mysql").native_to_core("int(10) unsigned") == "uint32"


def test_enum_is_named_on_postgresql() -> None:
    pg = get_adapter("postgresql")
    assert pg.enum_is_named_type and not get_adapter("mysql").enum_is_named_type
    assert pg.core_to_native("enum", ("'a'",), enum_name='"s"."t__c"') == '"s"."t__c"'
    assert get_adapter("mysql").core_to_native("enum", ("'a'", "'b'")) == "enum('a','b')"
