"""Unit tests for datajoint_core.declare.parser (pure: no database)."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from datajoint_core.declare.parser import (
    CORE_TYPES,
    JOB_METADATA,
    AttributeSpec,
    ForeignKeySpec,
    IndexSpec,
    TableSpec,
    parse_definition,
    split_type,
)
from datajoint_core.errors import DataJointError, DeclarationError


def attributes(spec: TableSpec) -> list[AttributeSpec]:
    return [item for item in spec.items if isinstance(item, AttributeSpec)]


def attr(definition: str, name: str) -> AttributeSpec:
    """The attribute called ``name`` in a parsed definition."""
    return next(a for a in attributes(parse_definition(definition)) if a.name == name)


def secondary(line: str) -> AttributeSpec:
    """Parse ``line`` as the only secondary attribute of a minimal table."""
    return attr(f"id : int32\n---\n{line}", line.split("=")[0].split(":")[0].strip())


def key_type(type_: str) -> AttributeSpec:
    return attr(f"x : {type_}", "x")


def error(definition: str, table: str = "T") -> str:
    with pytest.raises(DeclarationError) as info:
        parse_definition(definition, table)
    return str(info.value)


# --- structure -------------------------------------------------------------------------------


def test_full_definition() -> None:
    spec = parse_definition(
        """
        # experimental subject
        subject_id : int32            # unique id
        ---
        species = "mouse" : varchar(32)  # the species
        weight = null : float64
        """,
        "Subject",
    )
    assert spec == TableSpec(
        comment="experimental subject",
        items=(
            AttributeSpec("subject_id", "int32", True, False, None, "unique id", True, 3, "int32"),
            AttributeSpec(
                "species",
                "varchar(32)",
                True,
                False,
                '"mouse"',
                "the species",
                False,
                5,
                "varchar(32)",
            ),
            AttributeSpec("weight", "float64", True, True, None, "", False, 6, "float64"),
        ),
        indexes=(),
    )


def test_specs_are_frozen() -> None:
    spec = attr("id : int32", "id")
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.name = "other"  # type: ignore[misc]


def test_table_comment_only_on_first_nonblank_line() -> None:
    spec = parse_definition("\n\n  # the comment  \n# ignored\nid : int32\n# ignored too\n")
    assert spec.comment == "the comment"
    assert [i.line for i in spec.items] == [5]


def test_no_table_comment() -> None:
    spec = parse_definition("id : int32\n# not a table comment\n---\nx : int8")
    assert spec.comment == ""
    assert len(spec.items) == 2


def test_line_numbers_count_blank_and_comment_lines() -> None:
    spec = parse_definition("\n# c\n\na : int8\n\n---\n# x\nb : int8\n")
    assert [(i.line, i.in_key) for i in spec.items] == [(4, True), (8, False)]


@pytest.mark.parametrize("separator", ["---", "----------", "___", "--- # secondary", "  ---  "])
def test_separator_variations(separator: str) -> None:
    spec = parse_definition(f"a : int8\n{separator}\nb : int8")
    assert [i.in_key for i in spec.items] == [True, False]


def test_no_separator_puts_everything_in_key() -> None:
    spec = parse_definition("a : int8\n-> Parent\nb : varchar(8)")
    assert all(i.in_key for i in spec.items)


def test_separator_last_is_allowed() -> None:
    spec = parse_definition("a : int8\n---\n")
    assert [i.in_key for i in spec.items] == [True]


def test_windows_line_endings() -> None:
    spec = parse_definition("# c\r\na : int8\r\n---\r\nb : int8\r\n")
    assert spec.comment == "c"
    assert [i.line for i in spec.items] == [2, 4]


# --- attributes: names, defaults, comments ---------------------------------------------------


@pytest.mark.parametrize(
    ("line", "default"),
    [
        ('note = "a: #1" : varchar(32)  # x', '"a: #1"'),
        ("note = 'a: #1' : varchar(32)", "'a: #1'"),
        ("note = 'it''s' : varchar(32)", "'it''s'"),
        (r'note = "say \"hi\": #" : varchar(32)', r'"say \"hi\": #"'),
        ('note = "" : varchar(32)', '""'),
        ("note = '=' : varchar(32)", "'='"),
        ("note = 0 : int32", "0"),
        ("note = -1.5e3 : float64", "-1.5e3"),
        ("note = CURRENT_TIMESTAMP : datetime", "CURRENT_TIMESTAMP"),
        ('note = "null" : varchar(8)', '"null"'),
        ("note=7:int8", "7"),
    ],
)
def test_defaults_are_kept_as_written(line: str, default: str) -> None:
    spec = secondary(line)
    assert (spec.default, spec.nullable) == (default, False)


def test_tricky_default_keeps_comment_and_type() -> None:
    spec = secondary('note = "a: #1" : varchar(32)  # x: #y')
    assert (spec.type, spec.comment) == ("varchar(32)", "x: #y")


@pytest.mark.parametrize("null", ["null", "NULL", "Null"])
def test_null_default_makes_nullable(null: str) -> None:
    spec = secondary(f"note = {null} : varchar(8)")
    assert (spec.nullable, spec.default) == (True, None)


def test_no_default() -> None:
    spec = secondary("note : varchar(8)")
    assert (spec.nullable, spec.default) == (False, None)


def test_non_null_default_in_key_is_allowed() -> None:
    spec = parse_definition("kind = 'a' : char(1)\n---\n").items[0]
    assert isinstance(spec, AttributeSpec)
    assert (spec.default, spec.in_key) == ("'a'", True)


@pytest.mark.parametrize(
    ("line", "comment"),
    [
        ("x : int8", ""),
        ("x : int8 #", ""),
        ("x : int8   #   spaced   ", "spaced"),
        ("x : int8  # subject's name: first # second", "subject's name: first # second"),
        ("x:int8#tight", "tight"),
    ],
)
def test_attribute_comments(line: str, comment: str) -> None:
    assert secondary(line).comment == comment


def test_attribute_named_like_keywords() -> None:
    spec = parse_definition("index : int32\nunique_index : int8\nnull_count : int8")
    assert [a.name for a in attributes(spec)] == ["index", "unique_index", "null_count"]


# --- types -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "normalised"),
    [
        *((t, t) for t in ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32"]),
        *((t, t) for t in ["uint64", "float32", "float64", "bool", "date", "datetime", "uuid"]),
        *((t, t) for t in ["json", "bytes"]),
        ("INT32", "int32"),
        ("Float64", "float64"),
        ("varchar(255)", "varchar(255)"),
        ("VARCHAR ( 255 )", "varchar(255)"),
        ("char(1)", "char(1)"),
        ("decimal(10,2)", "decimal(10,2)"),
        ("decimal( 10 , 2 )", "decimal(10,2)"),
        ("decimal(65,65)", "decimal(65,65)"),
        ("decimal(5,0)", "decimal(5,0)"),
        ("decimal(7)", "decimal(7)"),
        ("datetime(0)", "datetime(0)"),
        ("datetime(3)", "datetime(3)"),
        ("DateTime(6)", "datetime(6)"),
        ("enum('a','b')", "enum('a','b')"),
        ("ENUM('A', 'b')", "enum('A','b')"),
        ("enum('one')", "enum('one')"),
        ("""enum('a, b', "C#D", 'x)y', 'it''s')""", """enum('a, b',"C#D",'x)y','it''s')"""),
        ("<blob>", "<blob>"),
        ("<attach>", "<attach>"),
        ("<blob@>", "<blob@>"),
        ("<blob@raw-store>", "<blob@raw-store>"),
        ("<my_codec>", "<my_codec>"),
    ],
)
def test_core_types(written: str, normalised: str) -> None:
    spec = key_type(written)
    assert (spec.type, spec.core) == (normalised, True)


def test_core_types_constant() -> None:
    assert {"int8", "uint64", "float32", "bool", "decimal", "enum", "bytes", "<blob>"} <= CORE_TYPES
    assert "int" not in CORE_TYPES
    assert "<blob>" in CORE_TYPES


@pytest.mark.parametrize(
    ("written", "normalised"),
    [
        ("int", "int"),
        ("INT UNSIGNED", "int unsigned"),
        ("tinyint unsigned", "tinyint unsigned"),
        ("tinyint(3)  unsigned", "tinyint(3) unsigned"),
        ("int(11) unsigned zerofill", "int(11) unsigned zerofill"),
        ("bigint auto_increment", "bigint auto_increment"),
        ("smallint", "smallint"),
        ("mediumint", "mediumint"),
        ("integer", "integer"),
        ("bigint", "bigint"),
        ("float", "float"),
        ("double", "double"),
        ("Double Precision", "double precision"),
        ("real", "real"),
        ("numeric(10,2)", "numeric(10,2)"),
        ("decimal(10,2) unsigned", "decimal(10,2) unsigned"),
        ("text", "text"),
        ("longtext", "longtext"),
        ("longblob", "longblob"),
        ("blob", "blob"),
        ("mediumblob", "mediumblob"),
        ("timestamp", "timestamp"),
        ("timestamp(6)", "timestamp(6)"),
        ("timestamp with time zone", "timestamp with time zone"),
        ("timestamptz", "timestamptz"),
        ("time", "time"),
        ("year", "year"),
        ("boolean", "boolean"),
        ("binary(16)", "binary(16)"),
        ("varbinary(255)", "varbinary(255)"),
        ("bytea", "bytea"),
        ("jsonb", "jsonb"),
        ("character varying(32)", "character varying(32)"),
        ("serial", "serial"),
    ],
)
def test_native_types(written: str, normalised: str) -> None:
    spec = key_type(written)
    assert (spec.type, spec.core) == (normalised, False)


# --- foreign keys ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("-> Subject", ("Subject", (), False, False)),
        ("->Subject", ("Subject", (), False, False)),
        ("-> master", ("master", (), False, False)),
        ("-> lab.Subject", ("lab.Subject", (), False, False)),
        ("-> Trial.Event", ("Trial.Event", (), False, False)),
        ("-> Subject  # the subject: #1", ("Subject", (), False, False)),
        ("-> [nullable] Subject", ("Subject", (), True, False)),
        ("-> [unique] Subject", ("Subject", (), False, True)),
        ("-> [ Nullable , UNIQUE ] Subject", ("Subject", (), True, True)),
        ("->[nullable]Subject", ("Subject", (), True, False)),
        ("-> [] Subject", ("Subject", (), False, False)),
        ("-> Subject.proj()", ("Subject", (), False, False)),
        (
            "-> Subject.proj(mother='subject_id')",
            ("Subject", (("mother", "subject_id"),), False, False),
        ),
        (
            "-> [nullable] lab.Subject.proj( a = \"x\" , b='y' )  # c",
            ("lab.Subject", (("a", "x"), ("b", "y")), True, False),
        ),
        ("-> Trial.Event.proj(e='event_id')", ("Trial.Event", (("e", "event_id"),), False, False)),
    ],
)
def test_foreign_keys(line: str, expected: tuple[object, ...]) -> None:
    fk = parse_definition(f"id : int32\n---\n{line}").items[1]
    assert isinstance(fk, ForeignKeySpec)
    assert (fk.ref, fk.rename, fk.nullable, fk.unique) == expected
    assert (fk.in_key, fk.line) == (False, 3)


def test_foreign_keys_in_key_section_for_a_part() -> None:
    spec = parse_definition("-> master\n-> [unique] Other\nevent_id : int16\n---\n-> Third")
    assert [(type(i).__name__, i.in_key) for i in spec.items] == [
        ("ForeignKeySpec", True),
        ("ForeignKeySpec", True),
        ("AttributeSpec", True),
        ("ForeignKeySpec", False),
    ]


def test_two_renamed_foreign_keys_to_one_parent() -> None:
    spec = parse_definition(
        "-> Cell.proj(pre='cell_id')\n-> Cell.proj(post='cell_id')\n---\nweight : float32"
    )
    renames = [i.rename for i in spec.items if isinstance(i, ForeignKeySpec)]
    assert renames == [(("pre", "cell_id"),), (("post", "cell_id"),)]


# --- indexes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("index(a)", (("a",), False)),
        ("index (a, b)", (("a", "b"), False)),
        ("INDEX(a,b)", (("a", "b"), False)),
        ("unique index(a)", (("a",), True)),
        ("UNIQUE   Index ( a , b_2 )  # fast lookups", (("a", "b_2"), True)),
    ],
)
def test_indexes(line: str, expected: tuple[tuple[str, ...], bool]) -> None:
    spec = parse_definition(f"id : int32\n---\na : int8\nb_2 : int8\n{line}")
    assert spec.indexes == (IndexSpec(*expected, line=5),)
    assert len(spec.items) == 3


def test_index_in_key_section_and_order() -> None:
    spec = parse_definition("id : int32\nindex(id)\n---\nx : int8\nunique index(x)")
    assert [(i.attributes, i.unique, i.line) for i in spec.indexes] == [
        (("id",), False, 2),
        (("x",), True, 5),
    ]


# --- split_type ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_", "expected"),
    [
        ("decimal(10,2)", ("decimal", ("10", "2"))),
        ("enum('a','b')", ("enum", ("'a'", "'b'"))),
        ("""enum('a,b',"c)")""", ("enum", ("'a,b'", '"c)"'))),
        ("int32", ("int32", ())),
        ("<blob>", ("<blob>", ())),
        ("<blob@store>", ("<blob@store>", ())),
        ("datetime(3)", ("datetime", ("3",))),
        ("tinyint(3) unsigned", ("tinyint unsigned", ("3",))),
        ("tinyint unsigned", ("tinyint unsigned", ())),
        ("int32()", ("int32", ("",))),
    ],
)
def test_split_type(type_: str, expected: tuple[str, tuple[str, ...]]) -> None:
    assert split_type(type_) == expected


def test_split_type_round_trips_normalised_types() -> None:
    for type_ in ["decimal(10,2)", "varchar(255)", "enum('a','b c')", "datetime(6)"]:
        base, args = split_type(type_)
        assert f"{base}({','.join(args)})" == type_


@pytest.mark.parametrize("bad", ["varchar(32", "enum('a)"])
def test_split_type_rejects_unbalanced(bad: str) -> None:
    with pytest.raises(ValueError):
        split_type(bad)


# --- errors ----------------------------------------------------------------------------------


def test_error_message_format() -> None:
    message = error("# subjects\nsubject_id : int32\nspecies : varchr(32)  # x", "Subject")
    assert message == ("Subject: line 3: \"species : varchr(32)  # x\": unknown type 'varchr(32)'")


def test_errors_are_datajoint_errors() -> None:
    with pytest.raises(DataJointError):
        parse_definition("x : int33")


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        # unknown or malformed types
        ("x : varchr(32)", "unknown type 'varchr(32)'"),
        ("x : int33", "unknown type 'int33'"),
        ("x : float16", "unknown type 'float16'"),
        ("x : text unsigned", "unknown type 'text unsigned'"),
        ("x : int(abc)", "unknown type 'int(abc)'"),
        ("x : varchar(32) unsigned", "unknown type"),
        ("x : int32(4)", "type 'int32' takes no parameters"),
        ("x : date(3)", "type 'date' takes no parameters"),
        ("x : json(1)", "type 'json' takes no parameters"),
        ("x : uuid()", "type 'uuid' takes no parameters"),
        ("x : int()", "unknown type 'int()'"),
        ("x : varchar()", "varchar needs one positive length"),
        ("x : datetime()", "datetime precision"),
        ("x : varchar", "varchar needs one positive length"),
        ("x : varchar(0)", "varchar needs one positive length"),
        ("x : varchar(-1)", "varchar needs one positive length"),
        ("x : varchar(a)", "varchar needs one positive length"),
        ("x : char(1,2)", "char needs one positive length"),
        ("x : decimal", "decimal needs"),
        ("x : decimal(3,4)", "decimal needs"),
        ("x : decimal(66,2)", "decimal needs"),
        ("x : decimal(0)", "decimal needs"),
        ("x : decimal(1,2,3)", "decimal needs"),
        ("x : decimal(a,b)", "decimal needs"),
        ("x : datetime(7)", "datetime precision"),
        ("x : datetime(a)", "datetime precision"),
        ("x : enum()", "enum needs one or more quoted values"),
        ("x : enum(a, b)", "enum needs one or more quoted values"),
        ("x : enum('a' 'b')", "enum needs one or more quoted values"),
        ("x : varchar(32", "unclosed '('"),
        ("x : <blob", "invalid codec '<blob'"),
        ("x : <bl ob>", "invalid codec"),
        ("x : ", "missing type"),
        ("x :  # comment only", "missing type"),
        # names and shapes
        ("Species : int8", "attribute name 'Species' must be lowercase"),
        ("speciesID : int8", "attribute name 'speciesID' must be lowercase"),
        ("1x : int8", "invalid attribute name '1x'"),
        ("my-attr : int8", "invalid attribute name 'my-attr'"),
        (": int8", "invalid attribute name ''"),
        ("x int8", "cannot parse line"),
        ("x # no type: here", "cannot parse line"),
        ("x = : int8", "missing default value"),
        ("x = 'abc : int8", "unterminated quote"),
        # foreign keys
        ("-> [nullabel] Parent", "invalid foreign key option 'nullabel'"),
        ("-> [nullable, primary] Parent", "invalid foreign key option 'primary'"),
        ("-> [nullable Parent", "unclosed '['"),
        ("->", "invalid foreign key reference ''"),
        ("-> 1Parent", "invalid foreign key reference '1Parent'"),
        ("-> Parent.proj(a=b)", "invalid proj argument 'a=b'"),
        ("-> Parent.proj(a='b\")", "unterminated quote"),
        ("-> Parent.proj(A='b')", "invalid proj argument"),
        ("-> Parent.proj('b')", "invalid proj argument"),
        ("-> Parent.proj(a='b',)", "invalid proj argument ''"),
        ("-> Parent.proj(a='b', a='c')", "attribute 'a' renamed twice"),
        ("-> Parent.proj(a='b'", "invalid foreign key reference"),
        # indexes
        ("index()", "index needs at least one attribute"),
        ("index(a", "cannot parse index"),
        ("unique index(a) extra", "cannot parse index"),
        ("index(A)", "attribute name 'A' must be lowercase"),
        ("index(a, )", "invalid attribute name ''"),
    ],
)
def test_line_errors_name_table_line_and_text(line: str, reason: str) -> None:
    message = error(f"# comment\nid : int32\n---\n{line}", "Session")
    assert message.startswith(f'Session: line 4: "{line.strip()}": ')
    assert reason in message


def test_nullable_attribute_in_key() -> None:
    assert error("id = null : int32", "S") == (
        "S: line 1: \"id = null : int32\": primary-key attribute 'id' cannot be nullable"
    )


def test_nullable_foreign_key_in_key() -> None:
    message = error("id : int32\n-> [nullable] Parent\n---", "S")
    assert message.startswith('S: line 2: "-> [nullable] Parent": ')
    assert "cannot be nullable" in message


def test_duplicate_attribute() -> None:
    message = error("id : int32\n---\nx : int8\n\nx : int16", "S")
    assert message == "S: line 5: \"x : int16\": duplicate attribute 'x'"


def test_duplicate_across_sections() -> None:
    assert "duplicate attribute 'id'" in error("id : int32\n---\nid : int8")


def test_second_separator_changes_nothing() -> None:
    # as in the reference: a second separator line is one more '---'
    spec = parse_definition("a : int8\n---\nb : int8\n-----\nc : int8", "S")
    assert [(i.name, i.in_key) for i in attributes(spec)] == [
        ("a", True),
        ("b", False),
        ("c", False),
    ]


@pytest.mark.parametrize(
    "definition",
    [
        "",
        "   \n\n",
        "# only a comment\n",
        "# c\n# d",
        "# comment\n---\nx : int8",
        "index(x)\n---\nx : int8",
    ],
)
def test_no_primary_key_declares_a_singleton(definition: str) -> None:
    # the reference's singleton table: the hidden key _singleton = 1 holds it to one row
    spec = parse_definition(definition, "S")
    first = attributes(spec)[0]
    assert (first.name, first.type, first.default, first.in_key) == (
        "_singleton",
        "bool",
        "1",
        True,
    )
    assert [a.name for a in attributes(spec) if a.in_key] == ["_singleton"]


@pytest.mark.parametrize("line", ["_hidden : bool", "  _job_start_time : datetime(3)"])
def test_user_attributes_must_not_start_with_underscore(line: str) -> None:
    assert "starts with an underscore" in error(f"id : int32\n---\n{line}")


def test_platform_attributes_are_appended_hidden() -> None:
    spec = parse_definition("id : int32\n---\nx : int8", platform=JOB_METADATA)
    assert [(a.name, a.type, a.nullable) for a in attributes(spec)][2:] == [
        ("_job_start_time", "datetime(3)", True),
        ("_job_duration", "float32", True),
        ("_job_version", "varchar(64)", False),
    ]


def test_comment_must_not_start_with_colon() -> None:
    assert "must not start with ':'" in error("id : int32  # :tag")


@pytest.mark.parametrize("type_", ["<blob>", "bytes", "longblob", "<attach>"])
def test_blob_defaults_only_to_null(type_: str) -> None:
    assert "blob attribute can only be null" in error(f"id : int32\n---\nb = 'x' : {type_}")
    parse_definition(f"id : int32\n---\nb = null : {type_}")


@pytest.mark.parametrize("ref", ["self.source", "(master)", "Parent * Other", "mod.Parent.proj()"])
def test_foreign_key_references_are_expressions(ref: str) -> None:
    (fk,) = parse_definition(f"-> {ref}  # why\nid : int32").items[:1]
    assert isinstance(fk, ForeignKeySpec) and fk.expression == ref


def test_table_comment_must_not_start_with_colon() -> None:
    assert error("# :int32: tagged\nid : int32", "S").startswith('S: line 1: "# :int32: tagged": ')


def test_default_table_name_in_messages() -> None:
    with pytest.raises(DeclarationError, match=r'^table: line 1: "x : int33": '):
        parse_definition("x : int33")


# --- properties ------------------------------------------------------------------------------

names = st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True)
text = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")),  # no line breaks
    max_size=40,
)
quoted_defaults = st.builds(
    lambda q, body: q + body.replace(q, "").replace("\\", "") + q,
    st.sampled_from(["'", '"']),
    text,
)


def first(row: tuple[str, str, str]) -> str:
    return row[0]


comments = text.filter(lambda t: not t.strip().startswith(":"))  # ':' opens a type tag


@given(
    st.lists(st.tuples(names, quoted_defaults, comments), min_size=1, max_size=6, unique_by=first)
)
def test_names_defaults_and_comments_survive(rows: list[tuple[str, str, str]]) -> None:
    lines = [f"  {name} = {default} : varchar(64)  # {comment}" for name, default, comment in rows]
    spec = parse_definition("\n".join(["id_ : int32", "---", *lines]))
    parsed = [(a.name, a.default, a.comment) for a in attributes(spec)[1:]]
    assert parsed == [(name, default, comment.strip()) for name, default, comment in rows]
    assert [i.line for i in spec.items[1:]] == list(range(3, 3 + len(rows)))


@given(st.lists(st.from_regex(r"[a-z][a-z0-9 ,#:]{0,10}", fullmatch=True), min_size=1, max_size=5))
def test_enum_values_survive_normalisation(values: list[str]) -> None:
    written = "enum(" + " , ".join(f"'{v}'" for v in values) + ")"
    spec = key_type(written)
    assert split_type(spec.type) == ("enum", tuple(f"'{v}'" for v in values))
