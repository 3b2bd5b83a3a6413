"""Declaration on both backends: the definition grammar, describe() round trips, tiers, loading a
schema without its Python code, a pipeline written as plain SQL DDL, and declaration errors."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

import datajoint_core as dj
from datajoint_core import errors
from datajoint_core.heading import Heading


@pytest.fixture
def other_schema(inst: dj.Instance) -> Iterator[str]:
    """A second fresh schema name (for round trips), dropped afterwards."""
    name = f"djtest_{uuid.uuid4().hex[:10]}"
    yield name
    conn = inst.connection
    if conn.in_transaction:
        conn.cancel_transaction()
    conn.execute(conn.adapter.drop_schema_sql(name))


def declare_grammar(schema: dj.Schema) -> dict[str, Any]:
    """A pipeline that uses every construct of the definition grammar."""

    @schema
    class Lab(dj.Lookup):
        definition = """
        # research laboratories
        lab : varchar(16)            # short name
        ---
        address = "" : varchar(255)  # street, city
        """
        contents = [("tolias", "Houston"), ("smith", "")]

    @schema
    class Subject(dj.Manual):
        definition = """
        # experimental subjects
        subject_id : int32           # unique id
        ---
        -> [nullable] Lab
        sex = "U" : enum('M', 'F', 'U')
        weight = null : float32      # grams
        dob : date
        alive = 1 : bool
        price = 1.50 : decimal(6,2)
        note = "it's # here" : varchar(32)
        unique index(dob, sex)
        index(weight)
        """

    @schema
    class Scan(dj.Imported):
        definition = """
        -> Subject
        scan_id : uint16
        ---
        -> [unique] Lab.proj(operator='lab')
        started = null : datetime(3)
        """

        class Field(dj.Part):
            definition = """
            -> master
            field : int8
            ---
            depth : float64
            """

    @schema
    class Segmentation(dj.Computed):
        definition = """
        -> Scan
        ---
        cells : int64
        """

    @schema
    class Pair(dj.Manual):
        definition = """
        -> Subject.proj(subj_a='subject_id')
        -> Subject.proj(subj_b='subject_id')
        ---
        -> Scan.Field
        """

    return {
        "Lab": Lab,
        "Subject": Subject,
        "Scan": Scan,
        "Segmentation": Segmentation,
        "Pair": Pair,
    }


def _short(full_name: str, inst: dj.Instance) -> str:
    return inst.connection.adapter.split_full_name(full_name)[1]


def summary(heading: Heading, inst: dj.Instance) -> dict[str, Any]:
    """Everything a heading says, with parent tables by their name inside the schema."""
    return {
        "comment": heading.comment,
        "attributes": [
            (a.name, a.type, a.in_key, a.nullable, a.default, a.comment) for a in heading.attributes
        ],
        "foreign_keys": sorted(
            (_short(fk.parent, inst), fk.attr_map) for fk in heading.foreign_keys
        ),
        "indexes": sorted((ix.columns, ix.unique) for ix in heading.indexes),
    }


def _fks(table: Any, inst: dj.Instance) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
    return {(_short(fk.parent, inst), fk.attr_map) for fk in table.heading.foreign_keys}


def test_every_construct_reads_back(inst: dj.Instance, schema_name: str) -> None:
    t = declare_grammar(dj.Schema(schema_name, connection=inst.connection))
    lab, subject, scan = t["Lab"].heading, t["Subject"].heading, t["Scan"].heading

    assert lab.comment == "research laboratories"
    assert [(a.name, a.type, a.in_key, a.comment) for a in lab.attributes] == [
        ("lab", "varchar(16)", True, "short name"),
        ("address", "varchar(255)", False, "street, city"),
    ]
    assert lab["address"].default == "''"

    assert subject.comment == "experimental subjects"
    assert subject.primary_key == ["subject_id"]
    assert [(a.name, a.type, a.nullable) for a in subject.attributes] == [
        ("subject_id", "int32", False),
        ("lab", "varchar(16)", True),
        ("sex", "enum('M','F','U')", False),
        ("weight", "float32", True),
        ("dob", "date", False),
        ("alive", "bool", False),
        ("price", "decimal(6,2)", False),
        ("note", "varchar(32)", False),
    ]
    assert subject["sex"].default == "'U'"
    assert subject["weight"].default is None and subject["weight"].comment == "grams"
    assert subject["price"].default == "1.50"
    assert subject["note"].default == "'it''s # here'"
    assert subject["alive"].default in ("1", "true")
    assert _fks(t["Subject"], inst) == {("#lab", (("lab", "lab"),))}
    indexes = {(ix.columns, ix.unique) for ix in subject.indexes}
    assert {(("dob", "sex"), True), (("weight",), False)} <= indexes

    assert scan.primary_key == ["subject_id", "scan_id"]
    assert (scan["scan_id"].type, scan["started"].type) == ("uint16", "datetime(3)")
    assert scan["started"].nullable and not scan["operator"].nullable
    assert scan["operator"].type == "varchar(16)" and not scan["operator"].in_key
    assert _fks(t["Scan"], inst) == {
        ("subject", (("subject_id", "subject_id"),)),
        ("#lab", (("operator", "lab"),)),
    }
    assert (("operator",), True) in {(ix.columns, ix.unique) for ix in scan.indexes}

    field = t["Scan"].Field.heading
    assert field.primary_key == ["subject_id", "scan_id", "field"]
    assert _fks(t["Scan"].Field, inst) == {
        ("_scan", (("subject_id", "subject_id"), ("scan_id", "scan_id")))
    }
    assert t["Segmentation"].heading.primary_key == ["subject_id", "scan_id"]

    pair = t["Pair"].heading
    assert pair.primary_key == ["subj_a", "subj_b"]
    assert [pair[n].type for n in ("subj_a", "subj_b")] == ["int32", "int32"]
    assert pair.secondary_attributes == ["subject_id", "scan_id", "field"]
    assert _fks(t["Pair"], inst) == {
        ("subject", (("subj_a", "subject_id"),)),
        ("subject", (("subj_b", "subject_id"),)),
        (
            "_scan__field",
            (("subject_id", "subject_id"), ("scan_id", "scan_id"), ("field", "field")),
        ),
    }


def test_defaults_and_nullable_foreign_keys_apply_on_insert(
    inst: dj.Instance, schema_name: str
) -> None:
    t = declare_grammar(dj.Schema(schema_name, connection=inst.connection))
    t["Subject"].insert1({"subject_id": 1, "dob": "2024-01-01"})
    row = t["Subject"].fetch1()
    assert row["lab"] is None and row["weight"] is None
    assert (row["sex"], str(row["price"]), row["note"]) == ("U", "1.50", "it's # here")
    assert row["alive"] in (True, 1)
    t["Subject"].insert1({"subject_id": 2, "dob": "2024-01-01", "sex": "F", "lab": "smith"})
    with pytest.raises(errors.DuplicateError):  # unique index(dob, sex)
        t["Subject"].insert1({"subject_id": 3, "dob": "2024-01-01", "sex": "F"})
    scan = {"allow_direct_insert": True}  # an Imported table without make()
    t["Scan"].insert1({"subject_id": 1, "scan_id": 1, "operator": "smith"}, **scan)
    with pytest.raises(errors.DuplicateError):  # -> [unique] Lab.proj(operator='lab')
        t["Scan"].insert1({"subject_id": 2, "scan_id": 1, "operator": "smith"}, **scan)


def test_table_names_per_tier(inst: dj.Instance, schema_name: str) -> None:
    t = declare_grammar(dj.Schema(schema_name, connection=inst.connection))
    adapter = inst.connection.adapter
    names = {
        "Lab": "#lab",
        "Subject": "subject",
        "Scan": "_scan",
        "Segmentation": "__segmentation",
        "Pair": "pair",
    }
    for cls, table in names.items():
        assert t[cls].table_name == table
        assert t[cls].full_table_name == adapter.full_name(schema_name, table)
    assert t["Scan"].Field.table_name == "_scan__field"
    assert t["Scan"].Field.master is t["Scan"]
    schema = dj.Schema(schema_name, connection=inst.connection)
    assert sorted(schema.list_tables()) == sorted([*names.values(), "_scan__field"])


def test_camel_case_class_names_become_snake_case(inst: dj.Instance, schema_name: str) -> None:
    schema = dj.Schema(schema_name, connection=inst.connection)

    @schema
    class SpikeSorting(dj.Computed):
        definition = """
        sorting_id : int32
        """

        class UnitWaveform(dj.Part):
            definition = """
            -> master
            unit : int32
            """

    assert SpikeSorting.table_name == "__spike_sorting"
    assert SpikeSorting.UnitWaveform.table_name == "__spike_sorting__unit_waveform"


def test_lookup_contents_are_inserted_once(inst: dj.Instance, schema_name: str) -> None:
    schema = dj.Schema(schema_name, connection=inst.connection)
    t = declare_grammar(schema)
    assert sorted(t["Lab"].to_dicts(), key=lambda r: r["lab"]) == [
        {"lab": "smith", "address": ""},
        {"lab": "tolias", "address": "Houston"},
    ]

    @schema
    class Lab(dj.Lookup):  # the same table again: contents are not inserted twice
        definition = t["Lab"].definition
        contents = [("tolias", "Houston"), ("smith", ""), ("jones", "Baylor")]

    assert len(Lab()) == 3


def test_part_refers_to_master(inst: dj.Instance, schema_name: str) -> None:
    t = declare_grammar(dj.Schema(schema_name, connection=inst.connection))
    scan = t["Scan"]
    assert scan.parts() == [scan.Field.full_table_name]
    t["Subject"].insert1({"subject_id": 1, "dob": "2024-01-01"})
    scan.insert1({"subject_id": 1, "scan_id": 7, "operator": "tolias"}, allow_direct_insert=True)
    scan.Field.insert1({"subject_id": 1, "scan_id": 7, "field": 1, "depth": 10.0})
    with pytest.raises(errors.IntegrityError, match="_scan"):
        scan.Field.insert1({"subject_id": 1, "scan_id": 8, "field": 1, "depth": 10.0})


def test_part_outside_master_is_an_error(inst: dj.Instance, schema_name: str) -> None:
    schema = dj.Schema(schema_name, connection=inst.connection)

    class Loose(dj.Part):
        definition = "x : int32"

    with pytest.raises(dj.DataJointError, match="Loose"):
        schema(Loose)


# -- describe() ---------------------------------------------------------------------------


def redeclare(tables: list[Any], schema: dj.Schema) -> dict[str, Any]:
    """Declare the tables again in ``schema`` from their describe() output alone."""
    context: dict[str, Any] = {}
    for table in tables:
        original = table if isinstance(table, type) else type(table)
        tier = next(base for base in original.__mro__ if base in _TIERS)
        body: dict[str, Any] = {"definition": table.describe()}
        for name, part in vars(original).items():
            if isinstance(part, type) and issubclass(part, dj.Part) and name != "master":
                body[name] = type(name, (dj.Part,), {"definition": part.describe()})
        cls = type(original.__name__, (tier,), body)
        context[cls.__name__] = schema(cls, context=context)
    return context


_TIERS = (dj.Lookup, dj.Manual, dj.Imported, dj.Computed)


def test_describe_round_trips(inst: dj.Instance, schema_name: str, other_schema: str) -> None:
    t = declare_grammar(dj.Schema(schema_name, connection=inst.connection))
    order = ["Lab", "Subject", "Scan", "Segmentation", "Pair"]
    copy = redeclare([t[n] for n in order], dj.Schema(other_schema, connection=inst.connection))
    for name in order:
        assert summary(copy[name].heading, inst) == summary(t[name].heading, inst), name
        assert copy[name].table_name == t[name].table_name
    assert summary(copy["Scan"].Field.heading, inst) == summary(t["Scan"].Field.heading, inst)
    assert copy["Scan"].Field.describe() == t["Scan"].Field.describe()
    assert "-> master" in t["Scan"].Field.describe()


def test_describe_text(inst: dj.Instance, schema_name: str) -> None:
    t = declare_grammar(dj.Schema(schema_name, connection=inst.connection))
    text = t["Scan"].describe()
    lines = [line.strip() for line in text.strip().splitlines()]
    assert lines[:3] == ["-> Subject", "scan_id : uint16", "---"]
    assert "-> [unique] Lab.proj(operator='lab')" in lines
    assert "started = null : datetime(3)" in lines
    pair = [line.strip() for line in t["Pair"].describe().strip().splitlines()]
    assert pair == [
        "-> Subject.proj(subj_a='subject_id')",
        "-> Subject.proj(subj_b='subject_id')",
        "---",
        "-> Scan.Field",
    ]
    assert "-> [nullable] Lab" in t["Subject"].describe()


def test_describe_round_trips_overlapping_foreign_keys(
    inst: dj.Instance, schema_name: str, other_schema: str
) -> None:
    """Two foreign keys that share an attribute (a diamond) both survive describe()."""
    schema = dj.Schema(schema_name, connection=inst.connection)

    @schema
    class Animal(dj.Manual):
        definition = """
        animal_id : int32
        """

    @schema
    class Visit(dj.Manual):
        definition = """
        -> Animal
        visit_id : int32
        """

    @schema
    class Note(dj.Manual):
        definition = """
        -> Visit
        -> Animal
        note_id : int16
        """

    assert _fks(Note, inst) == {
        ("visit", (("animal_id", "animal_id"), ("visit_id", "visit_id"))),
        ("animal", (("animal_id", "animal_id"),)),
    }
    copy = redeclare(
        [Animal(), Visit(), Note()], dj.Schema(other_schema, connection=inst.connection)
    )
    assert summary(copy["Note"].heading, inst) == summary(Note.heading, inst)


# -- loading without Python code ---------------------------------------------------------------


def test_virtual_module(inst: dj.Instance, schema_name: str) -> None:
    t = declare_grammar(dj.Schema(schema_name, connection=inst.connection))
    t["Subject"].insert1({"subject_id": 1, "dob": "2024-01-01"})
    other = dj.Instance(**_credentials(inst))  # a fresh connection: nothing cached
    try:
        vm = dj.VirtualModule("lab", schema_name, connection=other.connection)
        assert issubclass(vm.Lab, dj.Lookup) and issubclass(vm.Subject, dj.Manual)
        assert issubclass(vm.Scan, dj.Imported) and issubclass(vm.Segmentation, dj.Computed)
        assert issubclass(vm.Scan.Field, dj.Part) and vm.Scan.Field.master is vm.Scan
        assert not hasattr(vm, "ScanField")
        for name in ("Lab", "Subject", "Scan", "Segmentation", "Pair"):
            assert summary(getattr(vm, name).heading, other) == summary(t[name].heading, inst)
            assert getattr(vm, name).table_name == t[name].table_name
        assert len(vm.Lab()) == 2
        assert (vm.Subject & {"subject_id": 1}).fetch1("dob").isoformat() == "2024-01-01"
        assert vm.Scan.Field.describe() == t["Scan"].Field.describe()
        assert dj.virtual_schema(schema_name, connection=other.connection).Pair.primary_key == [
            "subj_a",
            "subj_b",
        ]
    finally:
        other.close()


def test_virtual_module_of_missing_schema(inst: dj.Instance, schema_name: str) -> None:
    with pytest.raises(dj.DataJointError, match=schema_name):
        dj.VirtualModule("nothing", schema_name, connection=inst.connection)


def test_spawn_missing_classes(inst: dj.Instance, schema_name: str) -> None:
    t = declare_grammar(dj.Schema(schema_name, connection=inst.connection))
    namespace: dict[str, Any] = {"Lab": "keep me"}
    dj.Schema(schema_name, connection=inst.connection).spawn_missing_classes(context=namespace)
    assert namespace["Lab"] == "keep me"
    assert sorted(namespace) == ["Lab", "Pair", "Scan", "Segmentation", "Subject"]
    assert namespace["Scan"].Field.table_name == "_scan__field"
    assert summary(namespace["Pair"].heading, inst) == summary(t["Pair"].heading, inst)


def test_free_table(inst: dj.Instance, schema_name: str) -> None:
    t = declare_grammar(dj.Schema(schema_name, connection=inst.connection))
    full = t["Scan"].Field.full_table_name
    for table in (dj.FreeTable(inst.connection, full), inst.FreeTable(full)):
        assert table.full_table_name == full
        assert summary(table.heading, inst) == summary(t["Scan"].Field.heading, inst)
        assert len(table) == 0
    unquoted = dj.FreeTable(inst.connection, f"{schema_name}.#lab")
    assert len(unquoted) == 2
    with pytest.raises(dj.DataJointError, match="nope"):
        dj.FreeTable(inst.connection, f"{schema_name}.nope")


# -- a pipeline written as SQL DDL in the reference's conventions --------------------------


def _enum_type(schema: str, values: list[str]) -> str:
    digest = hashlib.md5("_".join(sorted(values)).encode()).hexdigest()[:8]
    return f'"{schema}"."enum_{digest}"'


def reference_ddl(backend: str, s: str) -> list[str]:
    """Tables as the reference DataJoint declares them: core types in column comments (left out
    on foreign-key columns), tier prefixes, ON UPDATE CASCADE ON DELETE RESTRICT, hidden tables."""
    fk = "ON UPDATE CASCADE ON DELETE RESTRICT"
    if backend == "mysql":
        return [
            f"CREATE TABLE `{s}`.`#species` ("
            "`species` varchar(32) NOT NULL COMMENT ':varchar(32):latin name', "
            "`kind` enum('Mammal','bird') NOT NULL DEFAULT 'Mammal' "
            "COMMENT ':enum(''Mammal'',''bird''):', "
            "PRIMARY KEY (`species`)) ENGINE=InnoDB COMMENT='species'",
            f"CREATE TABLE `{s}`.`subject` ("
            "`subject_id` int NOT NULL COMMENT ':int32:', "
            "`species` varchar(32) NOT NULL COMMENT 'latin name', "
            "`weight` double DEFAULT NULL COMMENT ':float64:grams', "
            "`tag` binary(16) DEFAULT NULL COMMENT ':uuid:', "
            "PRIMARY KEY (`subject_id`), "
            f"FOREIGN KEY (`species`) REFERENCES `{s}`.`#species` (`species`) {fk}"
            ") ENGINE=InnoDB COMMENT='subjects'",
            f"CREATE TABLE `{s}`.`_scan` ("
            "`subject_id` int NOT NULL COMMENT '', "
            "`scan_id` smallint unsigned NOT NULL COMMENT ':uint16:', "
            "`started` datetime(3) NOT NULL COMMENT ':datetime(3):', "
            "`level` tinyint NOT NULL DEFAULT 0 COMMENT ':int8:', "
            "PRIMARY KEY (`subject_id`, `scan_id`), INDEX (`started`), "
            f"FOREIGN KEY (`subject_id`) REFERENCES `{s}`.`subject` (`subject_id`) {fk}"
            ") ENGINE=InnoDB COMMENT=''",
            f"CREATE TABLE `{s}`.`_scan__field` ("
            "`subject_id` int NOT NULL COMMENT '', "
            "`scan_id` smallint unsigned NOT NULL COMMENT '', "
            "`field` tinyint unsigned NOT NULL COMMENT ':uint8:', "
            "PRIMARY KEY (`subject_id`, `scan_id`, `field`), "
            f"FOREIGN KEY (`subject_id`, `scan_id`) REFERENCES `{s}`.`_scan` "
            f"(`subject_id`, `scan_id`) {fk}"
            ") ENGINE=InnoDB COMMENT=''",
            f"CREATE TABLE `{s}`.`__segmentation` ("
            "`subject_id` int NOT NULL COMMENT '', "
            "`scan_id` smallint unsigned NOT NULL COMMENT '', "
            "`score` float NOT NULL COMMENT ':float32:', "
            "`meta` json DEFAULT NULL COMMENT ':json:', "
            "`mask` longblob DEFAULT NULL COMMENT ':<blob>:', "
            "`cost` decimal(8,3) NOT NULL COMMENT ':decimal(8,3):', "
            "PRIMARY KEY (`subject_id`, `scan_id`), "
            f"FOREIGN KEY (`subject_id`, `scan_id`) REFERENCES `{s}`.`_scan` "
            f"(`subject_id`, `scan_id`) {fk}"
            ") ENGINE=InnoDB COMMENT='cells'",
            f"CREATE TABLE `{s}`.`pairing` ("
            "`subj_a` int NOT NULL COMMENT '', "
            "`subj_b` int NOT NULL COMMENT '', "
            "`since` date DEFAULT NULL COMMENT ':date:', "
            "PRIMARY KEY (`subj_a`, `subj_b`), UNIQUE INDEX (`subj_b`, `since`), "
            f"FOREIGN KEY (`subj_a`) REFERENCES `{s}`.`subject` (`subject_id`) {fk}, "
            f"FOREIGN KEY (`subj_b`) REFERENCES `{s}`.`subject` (`subject_id`) {fk}"
            ") ENGINE=InnoDB COMMENT=''",
            f"CREATE TABLE `{s}`.`~lineage` (`x` int NOT NULL, PRIMARY KEY (`x`))",
        ]
    enum = _enum_type(s, ["Mammal", "bird"])
    q = f'"{s}"'
    return [
        f"CREATE TYPE {enum} AS ENUM ('Mammal', 'bird')",
        f'CREATE TABLE {q}."#species" ("species" varchar(32) NOT NULL, '
        f'"kind" {enum} NOT NULL DEFAULT \'Mammal\', PRIMARY KEY ("species"))',
        f"COMMENT ON TABLE {q}.\"#species\" IS 'species'",
        f'COMMENT ON COLUMN {q}."#species"."species" IS \':varchar(32):latin name\'',
        f"COMMENT ON COLUMN {q}.\"#species\".\"kind\" IS ':enum(''Mammal'',''bird''):'",
        f'CREATE TABLE {q}."subject" ("subject_id" integer NOT NULL, '
        '"species" varchar(32) NOT NULL, "weight" double precision DEFAULT NULL, '
        '"tag" uuid DEFAULT NULL, PRIMARY KEY ("subject_id"), '
        f'FOREIGN KEY ("species") REFERENCES {q}."#species" ("species") {fk})',
        f"COMMENT ON TABLE {q}.\"subject\" IS 'subjects'",
        f'COMMENT ON COLUMN {q}."subject"."subject_id" IS \':int32:\'',
        f'COMMENT ON COLUMN {q}."subject"."species" IS \'latin name\'',
        f'COMMENT ON COLUMN {q}."subject"."weight" IS \':float64:grams\'',
        f'COMMENT ON COLUMN {q}."subject"."tag" IS \':uuid:\'',
        f'CREATE TABLE {q}."_scan" ("subject_id" integer NOT NULL, '
        '"scan_id" integer NOT NULL, "started" timestamp(3) NOT NULL, '
        '"level" smallint NOT NULL DEFAULT 0, PRIMARY KEY ("subject_id", "scan_id"), '
        f'FOREIGN KEY ("subject_id") REFERENCES {q}."subject" ("subject_id") {fk})',
        f'CREATE INDEX "ix_scan_started" ON {q}."_scan" ("started")',
        f'COMMENT ON COLUMN {q}."_scan"."scan_id" IS \':uint16:\'',
        f'COMMENT ON COLUMN {q}."_scan"."started" IS \':datetime(3):\'',
        f'COMMENT ON COLUMN {q}."_scan"."level" IS \':int8:\'',
        f'CREATE TABLE {q}."_scan__field" ("subject_id" integer NOT NULL, '
        '"scan_id" integer NOT NULL, "field" smallint NOT NULL, '
        'PRIMARY KEY ("subject_id", "scan_id", "field"), '
        f'FOREIGN KEY ("subject_id", "scan_id") REFERENCES {q}."_scan" ("subject_id", "scan_id") '
        f"{fk})",
        f'COMMENT ON COLUMN {q}."_scan__field"."field" IS \':uint8:\'',
        f'CREATE TABLE {q}."__segmentation" ("subject_id" integer NOT NULL, '
        '"scan_id" integer NOT NULL, "score" real NOT NULL, "meta" jsonb DEFAULT NULL, '
        '"mask" bytea DEFAULT NULL, "cost" numeric(8,3) NOT NULL, '
        'PRIMARY KEY ("subject_id", "scan_id"), '
        f'FOREIGN KEY ("subject_id", "scan_id") REFERENCES {q}."_scan" ("subject_id", "scan_id") '
        f"{fk})",
        f"COMMENT ON TABLE {q}.\"__segmentation\" IS 'cells'",
        f'COMMENT ON COLUMN {q}."__segmentation"."score" IS \':float32:\'',
        f'COMMENT ON COLUMN {q}."__segmentation"."meta" IS \':json:\'',
        f'COMMENT ON COLUMN {q}."__segmentation"."mask" IS \':<blob>:\'',
        f'COMMENT ON COLUMN {q}."__segmentation"."cost" IS \':decimal(8,3):\'',
        f'CREATE TABLE {q}."pairing" ("subj_a" integer NOT NULL, "subj_b" integer NOT NULL, '
        '"since" date DEFAULT NULL, PRIMARY KEY ("subj_a", "subj_b"), '
        f'FOREIGN KEY ("subj_a") REFERENCES {q}."subject" ("subject_id") {fk}, '
        f'FOREIGN KEY ("subj_b") REFERENCES {q}."subject" ("subject_id") {fk})',
        f'CREATE UNIQUE INDEX "ux_pairing" ON {q}."pairing" ("subj_b", "since")',
        f'COMMENT ON COLUMN {q}."pairing"."since" IS \':date:\'',
        f'CREATE TABLE {q}."~lineage" ("x" integer NOT NULL, PRIMARY KEY ("x"))',
    ]


def test_pipeline_written_as_sql_ddl_loads(
    inst: dj.Instance, schema_name: str, backend: str
) -> None:
    conn = inst.connection
    conn.execute(conn.adapter.create_schema_sql(schema_name))
    for statement in reference_ddl(backend, schema_name):
        conn.execute(statement)
    vm = dj.VirtualModule("ref", schema_name, connection=conn)
    assert sorted(n for n in vars(vm) if n[:1].isupper()) == [
        "Pairing",
        "Scan",
        "Segmentation",
        "Species",
        "Subject",
    ]
    assert issubclass(vm.Species, dj.Lookup) and issubclass(vm.Scan, dj.Imported)
    assert issubclass(vm.Segmentation, dj.Computed) and issubclass(vm.Scan.Field, dj.Part)
    assert "~lineage" not in dj.Schema(schema_name, connection=conn).list_tables()

    def attrs(table: Any) -> list[tuple[str, str, bool, bool, str | None, str]]:
        return [
            (a.name, a.type, a.in_key, a.nullable, a.default, a.comment)
            for a in table.heading.attributes
        ]

    assert vm.Species.heading.comment == "species"
    assert attrs(vm.Species) == [
        ("species", "varchar(32)", True, False, None, "latin name"),
        ("kind", "enum('Mammal','bird')", False, False, "'Mammal'", ""),
    ]
    assert attrs(vm.Subject) == [
        ("subject_id", "int32", True, False, None, ""),
        ("species", "varchar(32)", False, False, None, "latin name"),
        ("weight", "float64", False, True, None, "grams"),
        ("tag", "uuid", False, True, None, ""),
    ]
    assert attrs(vm.Scan) == [
        ("subject_id", "int32", True, False, None, ""),
        ("scan_id", "uint16", True, False, None, ""),
        ("started", "datetime(3)", False, False, None, ""),
        ("level", "int8", False, False, "0", ""),
    ]
    assert [(a.name, a.type) for a in vm.Scan.Field.heading.attributes] == [
        ("subject_id", "int32"),
        ("scan_id", "uint16"),
        ("field", "uint8"),
    ]
    assert [(a.name, a.type, a.nullable) for a in vm.Segmentation.heading.attributes] == [
        ("subject_id", "int32", False),
        ("scan_id", "uint16", False),
        ("score", "float32", False),
        ("meta", "json", True),
        ("mask", "<blob>", True),
        ("cost", "decimal(8,3)", False),
    ]
    assert vm.Segmentation.heading.comment == "cells"
    assert [(a.name, a.type, a.in_key) for a in vm.Pairing.heading.attributes] == [
        ("subj_a", "int32", True),
        ("subj_b", "int32", True),
        ("since", "date", False),
    ]
    assert _fks(vm.Subject, inst) == {("#species", (("species", "species"),))}
    assert _fks(vm.Scan, inst) == {("subject", (("subject_id", "subject_id"),))}
    assert _fks(vm.Scan.Field, inst) == {
        ("_scan", (("subject_id", "subject_id"), ("scan_id", "scan_id")))
    }
    assert _fks(vm.Segmentation, inst) == _fks(vm.Scan.Field, inst)
    assert _fks(vm.Pairing, inst) == {
        ("subject", (("subj_a", "subject_id"),)),
        ("subject", (("subj_b", "subject_id"),)),
    }
    assert (("started",), False) in {(ix.columns, ix.unique) for ix in vm.Scan.heading.indexes}
    assert [(ix.columns, ix.unique) for ix in vm.Pairing.heading.indexes if ix.unique] == [
        (("subj_b", "since"), True)
    ]
    assert [line.strip() for line in vm.Pairing.describe().splitlines()][:2] == [
        "-> Subject.proj(subj_a='subject_id')",
        "-> Subject.proj(subj_b='subject_id')",
    ]
    assert vm.Scan.Field.describe().splitlines()[0] == "-> master"
    assert vm.Scan.parents() == [vm.Subject.full_table_name]


def test_pipeline_written_as_sql_ddl_takes_rows(
    inst: dj.Instance, schema_name: str, backend: str
) -> None:
    conn = inst.connection
    conn.execute(conn.adapter.create_schema_sql(schema_name))
    for statement in reference_ddl(backend, schema_name):
        conn.execute(statement)
    vm = dj.VirtualModule("ref", schema_name, connection=conn)
    vm.Species.insert1({"species": "Mus musculus", "kind": "Mammal"})
    tag = uuid.uuid4()
    vm.Subject.insert1({"subject_id": 1, "species": "Mus musculus", "tag": tag})
    vm.Scan.insert1(
        {"subject_id": 1, "scan_id": 2, "started": "2024-01-01 10:00:00.250"},
        allow_direct_insert=True,
    )
    row = {"subject_id": 1, "scan_id": 2, "score": 0.5, "meta": {"a": [1]}, "mask": [1, 2]}
    vm.Segmentation.insert1({**row, "cost": 1}, allow_direct_insert=True)
    assert (vm.Species * vm.Subject).fetch1("kind", "tag") == ("Mammal", tag)
    row = vm.Segmentation.fetch1()
    assert (row["meta"], row["mask"], str(row["cost"])) == ({"a": [1]}, [1, 2], "1.000")
    assert vm.Scan.fetch1("started").microsecond == 250_000


# -- errors ---------------------------------------------------------------------------------

MALFORMED = [
    ("id : int32\n---\nx : nosuchtype", 3, "nosuchtype"),
    ("id : int32\n---\nx = : int32", 3, "default"),
    ("id = null : int32", 1, "nullable"),
    ("Id : int32", 1, "lowercase"),
    ("id : int32\n---\nx : varchar", 3, "varchar"),
    ("id : int32\n---\nx : decimal(70,2)", 3, "decimal"),
    ("id : int32\n---\nx : datetime(7)", 3, "datetime"),
    ("id : int32\n---\nx : enum(a, b)", 3, "enum"),
    ("id : int32\nid : int16", 2, "duplicate"),
    ("id : int32\n---\n_x : int32", 3, "underscore"),
    ("id : int32\n---\nx : int32  # :tag", 3, "must not start with ':'"),
    ("id : int32\n---\nx = 'open : varchar(8)", 3, "quote"),
    ("id : int32\n---\nx int32", 3, "cannot parse"),
    ("id : int32\n---\n-> [bogus] Parent", 3, "bogus"),
    ("-> [nullable] Parent\nid : int32", 1, "nullable"),
    ("id : int32\n---\n-> Parent.proj(x=old)", 3, "proj"),
    ("id : int32\n---\nindex(id,", 3, "index"),
    ("id : int32\n---\n-> NoSuchTable", 3, "NoSuchTable"),
    ("id : int32\n---\n-> Parent.proj(x='nope')", 3, "nope"),
    ("id : int32\n---\nx : int32\nindex(x, nope)", 4, "nope"),
    ("parent_id : int16\n---\n-> Parent", 3, "parent_id"),
]


@pytest.mark.parametrize(("definition", "line", "word"), MALFORMED)
def test_malformed_definition_names_table_and_line(
    inst: dj.Instance, schema_name: str, definition: str, line: int, word: str
) -> None:
    schema = dj.Schema(schema_name, connection=inst.connection)

    @schema
    class Parent(dj.Manual):
        definition = """
        parent_id : int32
        """

    class Broken(dj.Manual):
        pass

    Broken.definition = definition
    with pytest.raises(errors.DeclarationError) as info:
        schema(Broken, context={"Parent": Parent})
    message = str(info.value)
    assert "Broken" in message
    assert re.search(rf"\bline {line}\b", message), message
    assert word.lower() in message.lower(), message
    assert "broken" not in dj.Schema(schema_name, connection=inst.connection).list_tables()


def test_definition_the_database_refuses_names_the_table(
    inst: dj.Instance, schema_name: str
) -> None:
    schema = dj.Schema(schema_name, connection=inst.connection)

    class BadDefault(dj.Manual):
        definition = "id : int32\n---\nx = 'abc' : int32"

    with pytest.raises(errors.DeclarationError, match="BadDefault"):
        schema(BadDefault)


def _credentials(inst: dj.Instance) -> dict[str, Any]:
    c = inst.config
    return {
        "host": c["database.host"],
        "user": c["database.user"],
        "password": c["database.password"],
        "port": c["database.port"],
        "backend": c["database.backend"],
        "safemode": False,
    }


def test_enum_without_type_comment_keeps_its_values(inst: dj.Instance, schema_name: str) -> None:
    """A native enum column (no ``:type:`` comment) reads back with its values as declared."""
    conn = inst.connection
    conn.execute(conn.adapter.create_schema_sql(schema_name))
    q = conn.adapter.quote
    table = conn.adapter.full_name(schema_name, "t")
    if conn.adapter.enum_is_named_type:
        enum = conn.adapter.full_name(schema_name, "mood")
        conn.execute(f"CREATE TYPE {enum} AS ENUM ('Happy', 'sad')")
    else:
        enum = "enum('Happy','sad')"
    conn.execute(
        f"CREATE TABLE {table} ({q('id')} int NOT NULL, {q('mood')} {enum} NOT NULL, "
        f"PRIMARY KEY ({q('id')}))"
    )
    heading = dj.FreeTable(conn, table).heading
    assert heading["mood"].type == "enum('Happy','sad')"


def test_native_types_are_accepted_with_a_warning(inst: dj.Instance, schema_name: str) -> None:
    schema = dj.Schema(schema_name, connection=inst.connection)

    class Native(dj.Manual):
        definition = """
        id : int32
        ---
        count : bigint
        note : text
        """

    with pytest.warns(UserWarning) as record:
        schema(Native)
    messages = sorted(str(w.message) for w in record)
    assert len(messages) == 2
    assert re.match(r"Native: line 4: count .*'bigint'", messages[0])
    assert re.match(r"Native: line 5: note .*'text'", messages[1])
    assert Native.heading["count"].type == "int64"  # the native type's core equivalent
    assert not Native.heading["note"].core
    Native.insert1({"id": 1, "count": 2**40, "note": "free text"})
    assert Native.fetch1("count", "note") == (2**40, "free text")
