"""Writers without a database: Arrow -> CSV for the bulk loaders, metadata round trips, Parquet
and DuckDB outputs of hand-built tables, atomic publication, same_database."""

from __future__ import annotations

import datetime
import decimal
import json
import os
import signal
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datajoint_core.adapters.bulk_load import copy_csv, hex_array, load_data_csv
from datajoint_core.fetch import arrow_type
from datajoint_core.heading import Attribute, ForeignKey, Heading, Index
from subsetter.load import open_snapshot, order_parents_first
from subsetter.writers.base import ForeignKeyMeta, OutputExistsError, TableMeta
from subsetter.writers.duckdb import DuckDBWriter, duckdb_type
from subsetter.writers.meta import (
    file_metadata,
    heading_from_arrow,
    heading_from_json,
    heading_to_json,
    meta_from_metadata,
)
from subsetter.writers.parquet import ParquetWriter

ROOT = Path(__file__).resolve().parents[2]

# -- hand-built tables -------------------------------------------------------------------------


def make_meta(
    schema: str,
    table: str,
    attrs: list[Attribute],
    fks: tuple[ForeignKeyMeta, ...] = (),
    indexes: tuple[Index, ...] = (),
) -> TableMeta:
    heading = Heading(
        tuple(attrs),
        comment=f"the {table} table",
        foreign_keys=tuple(
            ForeignKey(f"{fk.parent_schema}.{fk.parent_table}", fk.attr_map) for fk in fks
        ),
        indexes=indexes,
    )
    fields = [
        pa.field(
            a.name,
            arrow_type(a) or pa.string(),
            nullable=a.nullable or not a.in_key,
            metadata={
                "datajoint.type": a.type,
                "datajoint.in_key": str(a.in_key).lower(),
                "datajoint.comment": a.comment,
            },
        )
        for a in attrs
    ]
    return TableMeta(schema, table, heading, pa.schema(fields), f"# {table}\n", fks)


STIMULUS = make_meta(
    "lab",
    "#stimulus",
    [Attribute("stimulus_id", "int32", in_key=True), Attribute("kind", "enum('a','b c','')")],
)
EVERYTHING = make_meta(
    "lab",
    "everything",
    [
        Attribute("id", "int32", in_key=True),
        Attribute("u", "uuid", in_key=True),
        Attribute("stimulus_id", "int32"),
        Attribute("i8", "int8", nullable=True),
        Attribute("u64", "uint64", nullable=True),
        Attribute("f32", "float32", nullable=True),
        Attribute("flag", "bool", nullable=True),
        Attribute("day", "date", nullable=True),
        Attribute("at", "datetime(3)", nullable=True),
        Attribute("price", "decimal(12,3)", nullable=True),
        Attribute("name", "varchar(40)", nullable=True, comment="a 'name'"),
        Attribute("kind", "enum('a','b c','')", nullable=True),
        Attribute("doc", "json", nullable=True),
        Attribute("raw", "bytes", nullable=True),
        Attribute("blob", "<blob>", nullable=True),
        Attribute("note", "text", nullable=True, default="'none'", core=False),
    ],
    fks=(ForeignKeyMeta("lab", "#stimulus", (("stimulus_id", "stimulus_id"),)),),
    indexes=(Index(("name",), False),),
)
ELSEWHERE = make_meta(
    "other",
    "link",
    [Attribute("link_id", "int32", in_key=True), Attribute("stimulus_id", "int32")],
    fks=(ForeignKeyMeta("lab", "#stimulus", (("stimulus_id", "stimulus_id"),)),),
)
TABLES = [STIMULUS, EVERYTHING, ELSEWHERE]
U1, U2 = uuid.UUID(int=1), uuid.UUID("12345678-9abc-def0-1234-56789abcdef0")
STRINGS = ["", None, "NULL", '"q"', "a\nb", "\\N", "x,y", "ünï", "\\", "'; drop table x; --"]


def rows(meta: TableMeta) -> list[dict[str, object]]:
    if meta is STIMULUS:
        return [{"stimulus_id": 1, "kind": "a"}, {"stimulus_id": 2, "kind": ""}]
    if meta is ELSEWHERE:
        return [{"link_id": 7, "stimulus_id": 2}]
    out = []
    for i, text in enumerate(STRINGS):
        out.append(
            {
                "id": i,
                "u": U1 if i % 2 else U2,
                "stimulus_id": 1 + i % 2,
                "i8": None if text is None else -i,
                "u64": 2**64 - 1 - i,
                "f32": 1.5,
                "flag": None if text is None else bool(i % 2),
                "day": datetime.date(2024, 1, 1 + i),
                "at": datetime.datetime(2024, 1, 2, 3, 4, 5, 123000),
                "price": decimal.Decimal("-1234.125"),
                "name": text,
                "kind": [None, "a", "b c", ""][i % 4],
                "doc": None if text is None else json.dumps({"text": text}),
                "raw": None if text is None else (text.encode() + b'\x00\xff",'),
                "blob": b"\x00" * i,
                "note": text,
            }
        )
    return out


def batch_of(meta: TableMeta, data: list[dict[str, object]]) -> pa.RecordBatch:
    arrays = []
    for f in meta.arrow_schema:
        values = [r[f.name] for r in data]
        if isinstance(f.type, pa.BaseExtensionType):
            storage = pa.array([None if v is None else v.bytes for v in values], pa.binary(16))  # type: ignore[attr-defined]
            arrays.append(pa.ExtensionArray.from_storage(f.type, storage))
        elif pa.types.is_dictionary(f.type):
            arrays.append(pa.array(values, pa.string()).dictionary_encode().cast(f.type))
        else:
            arrays.append(pa.array(values, f.type))
    return pa.RecordBatch.from_arrays(arrays, schema=meta.arrow_schema)


def batches(
    meta: TableMeta, size: int = 3, fail_after: int | None = None
) -> Iterator[pa.RecordBatch]:
    data = rows(meta)
    for n, start in enumerate(range(0, len(data), size)):
        if fail_after is not None and n >= fail_after:
            raise RuntimeError("the source went away")
        yield batch_of(meta, data[start : start + size])


def write(writer: ParquetWriter | DuckDBWriter, fail_in: TableMeta | None = None) -> None:
    writer.open(TABLES)
    try:
        for meta in TABLES:
            writer.write_table(meta, batches(meta, fail_after=1 if meta is fail_in else None))
        writer.commit({"tables": {m.key: {"rows": len(rows(m))} for m in TABLES}})
    except BaseException:
        writer.abort()
        raise


def siblings(target: Path) -> list[str]:
    return sorted(p.name for p in target.parent.iterdir() if p.name.startswith(target.name + "."))


# -- bulk-load CSV -----------------------------------------------------------------------------


def test_hex_array_binary_fixed_sliced_and_null() -> None:
    values = pa.array([b"\x00\xff", None, b"", b"ab"], pa.large_binary())
    assert hex_array(values, "\\x").to_pylist() == ["\\x00ff", None, "\\x", "\\x6162"]
    assert hex_array(values.slice(2)).to_pylist() == ["", "6162"]
    fixed = pa.array([U1.bytes, None, U2.bytes], pa.binary(16))
    assert hex_array(fixed).to_pylist() == [U1.hex, None, U2.hex]
    assert hex_array(fixed.slice(2)).to_pylist() == [U2.hex]
    assert hex_array(pa.array([], pa.binary())).to_pylist() == []


def test_copy_csv_quotes_strings_and_leaves_null_empty() -> None:
    text = copy_csv(batch_of(EVERYTHING, rows(EVERYTHING)[:2])).to_pybytes().decode()
    assert text.splitlines() == [
        # '' is quoted (NULL is an unquoted empty field); bytea as \\x hex; uuid as 32 digits
        f'0,"{U2.hex}",1,0,18446744073709551615,1.5,false,2024-01-01,2024-01-02 03:04:05.123000,'
        '-1234.125,"",,"{""text"": """"}","\\x00ff222c","\\x",""',
        f'1,"{U1.hex}",2,,18446744073709551614,1.5,,2024-01-02,2024-01-02 03:04:05.123000,'
        '-1234.125,,"a",,,"\\x00",',
    ]


def test_load_data_csv_marks_binary_columns_and_writes_null() -> None:
    text, binary = load_data_csv(batch_of(EVERYTHING, rows(EVERYTHING)[:2]))
    names = EVERYTHING.arrow_schema.names
    assert [names[i] for i in binary] == ["u", "raw", "blob"]
    assert text.to_pybytes().decode().splitlines() == [
        # NULL unquoted, 'NULL' would be quoted; booleans 0/1; binary as hex for UNHEX()
        f'0,"{U2.hex}",1,0,18446744073709551615,1.5,0,2024-01-01,2024-01-02 03:04:05.123000,'
        '-1234.125,"",NULL,"{""text"": """"}","00ff222c","",""',
        f'1,"{U1.hex}",2,NULL,18446744073709551614,1.5,NULL,2024-01-02,2024-01-02 03:04:05.123000,'
        '-1234.125,NULL,"a",NULL,NULL,"00",NULL',
    ]


# -- metadata ----------------------------------------------------------------------------------


def test_heading_json_round_trip() -> None:
    heading = EVERYTHING.heading
    back = heading_from_json(json.loads(json.dumps(heading_to_json(heading))), heading.foreign_keys)
    assert back == heading


def test_file_metadata_round_trip() -> None:
    metadata = file_metadata(EVERYTHING)
    assert json.loads(metadata["datajoint.primary_key"]) == ["id", "u"]
    assert json.loads(metadata["datajoint.foreign_keys"]) == [
        {"parent_schema": "lab", "parent_table": "#stimulus", "attr_map": [["stimulus_id"] * 2]}
    ]
    encoded = {k.encode(): v.encode() for k, v in metadata.items()}
    back = meta_from_metadata(encoded, EVERYTHING.arrow_schema)
    assert back.key == "lab.everything"
    assert back.heading == EVERYTHING.heading
    assert back.foreign_keys == EVERYTHING.foreign_keys
    assert back.definition == EVERYTHING.definition


def test_heading_from_field_metadata_alone() -> None:
    heading = heading_from_arrow(EVERYTHING.arrow_schema)
    assert heading.primary_key == ["id", "u"]
    assert heading["price"].type == "decimal(12,3)" and heading["price"].core
    assert heading["note"].type == "text" and not heading["note"].core
    assert heading["name"].comment == "a 'name'"


def test_meta_without_datajoint_keys_is_refused() -> None:
    with pytest.raises(ValueError, match="not a subset snapshot"):
        meta_from_metadata({}, EVERYTHING.arrow_schema)


def test_order_parents_first() -> None:
    assert [m.key for m in order_parents_first([ELSEWHERE, EVERYTHING, STIMULUS])] == [
        "lab.#stimulus",
        "other.link",
        "lab.everything",
    ]


@pytest.mark.parametrize(
    ("arrow", "core", "expected"),
    [
        (pa.decimal128(12, 3), "", "DECIMAL(12,3)"),
        (pa.timestamp("us"), "", "TIMESTAMP"),
        (pa.date32(), "", "DATE"),
        (pa.uuid(), "", "UUID"),
        (pa.dictionary(pa.int16(), pa.string()), "", "VARCHAR"),
        (pa.dictionary(pa.int16(), pa.string()), "enum('a','it''s')", "ENUM('a', 'it''s')"),
        (pa.string(), "json", "JSON"),
        (pa.large_binary(), "", "BLOB"),
        (pa.uint64(), "", "UBIGINT"),
    ],
)
def test_duckdb_types(arrow: pa.DataType, core: str, expected: str) -> None:
    assert duckdb_type(arrow, core) == expected


# -- Parquet -----------------------------------------------------------------------------------


def read_back(meta: TableMeta, table: pa.Table) -> list[dict[str, object]]:
    expected = batch_of(meta, rows(meta)).to_pylist()
    key = meta.primary_key
    got = sorted(table.to_pylist(), key=lambda r: tuple(str(r[k]) for k in key))
    return [got, sorted(expected, key=lambda r: tuple(str(r[k]) for k in key))]


def test_parquet_files_types_metadata_and_manifest(tmp_path: Path) -> None:
    target = tmp_path / "snap"
    write(ParquetWriter(target))
    assert siblings(target) == []
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["tables"]["lab.everything"]["rows"] == len(STRINGS)
    entry = manifest["files"]["lab.Stimulus"][0]  # #stimulus, by its class name
    assert entry["path"] == "lab.Stimulus.parquet"
    path = target / entry["path"]
    assert entry["bytes"] == path.stat().st_size
    import hashlib

    assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    table = pq.read_table(target / "lab.Everything.parquet")
    assert table.schema.remove_metadata().equals(EVERYTHING.arrow_schema, check_metadata=True)
    got, expected = read_back(EVERYTHING, table)
    assert got == expected
    metadata = pq.read_schema(target / "lab.Everything.parquet").metadata
    assert metadata[b"datajoint.table"] == b"everything"
    assert metadata[b"datajoint.schema"] == b"lab"
    assert json.loads(metadata[b"datajoint.primary_key"]) == ["id", "u"]
    assert metadata[b"datajoint.definition"] == b"# everything\n"
    assert pq.ParquetFile(path).metadata.row_group(0).column(0).compression == "ZSTD"


def test_parquet_fail_refuses_and_replace_keeps_old_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "snap"
    write(ParquetWriter(target))
    before = (target / "manifest.json").read_bytes()
    with pytest.raises(OutputExistsError):
        ParquetWriter(target, "fail").open(TABLES)
    with pytest.raises(RuntimeError, match="went away"):
        write(ParquetWriter(target, "replace"), fail_in=EVERYTHING)
    assert (target / "manifest.json").read_bytes() == before
    assert siblings(target) == []
    write(ParquetWriter(target, "replace"))
    assert siblings(target) == []
    assert json.loads((target / "manifest.json").read_text())["files"]


def test_parquet_refuses_to_replace_a_directory_it_did_not_write(tmp_path: Path) -> None:
    (tmp_path / "precious").mkdir()
    (tmp_path / "precious" / "thesis.tex").write_text("...")
    with pytest.raises(OutputExistsError, match="not a subset output"):
        ParquetWriter(tmp_path / "precious", "replace").open(TABLES)
    assert (tmp_path / "precious" / "thesis.tex").exists()


def test_parquet_aborted_first_run_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "snap"
    with pytest.raises(RuntimeError):
        write(ParquetWriter(target), fail_in=EVERYTHING)
    assert not target.exists() and siblings(target) == []


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_stale_temporary_siblings_are_cleaned(tmp_path: Path) -> None:
    target = tmp_path / "snap"
    stale = tmp_path / f"snap.tmp-{_dead_pid()}-deadbeef"
    (stale / "lab").mkdir(parents=True)
    alive = tmp_path / f"snap.tmp-{os.getppid()}-cafecafe"  # a live process: kept
    alive.mkdir()
    other = tmp_path / "snapshot.tmp-1-x"  # another target's: kept
    other.mkdir()
    write(ParquetWriter(target))
    assert not stale.exists() and alive.exists() and other.exists()


KILLED = """
import os, signal, sys
sys.path.insert(0, {root!r})
from tests.unit.test_writers_unit import TABLES, batches, ParquetWriter, DuckDBWriter
writer = {cls}({target!r})
writer.open(TABLES)
def dying(meta):
    yield from batches(meta, fail_after=None)
    os.kill(os.getpid(), signal.SIGKILL)
writer.write_table(TABLES[0], batches(TABLES[0]))
writer.write_table(TABLES[1], dying(TABLES[1]))
"""


@pytest.mark.parametrize("cls", ["ParquetWriter", "DuckDBWriter"])
def test_a_killed_run_leaves_only_a_temporary_sibling(tmp_path: Path, cls: str) -> None:
    target = tmp_path / ("snap" if cls == "ParquetWriter" else "snap.duckdb")
    script = KILLED.format(root=str(ROOT), cls=cls, target=str(target))
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], cwd=ROOT, check=False)
    assert done.returncode == -signal.SIGKILL
    assert not target.exists()
    assert siblings(target) and all(".tmp-" in name for name in siblings(target))
    writer: ParquetWriter | DuckDBWriter = (
        ParquetWriter(target) if cls == "ParquetWriter" else DuckDBWriter(target)
    )
    write(writer)
    assert target.exists() and siblings(target) == []


# -- DuckDB ------------------------------------------------------------------------------------


def test_duckdb_schemas_types_constraints_and_metadata(tmp_path: Path) -> None:
    target = tmp_path / "subset.duckdb"
    write(DuckDBWriter(target, primary_keys=True, foreign_keys=True))
    assert siblings(target) == []
    db = duckdb.connect(str(target), read_only=True)
    try:
        types = dict(
            db.execute(
                "SELECT column_name, data_type FROM duckdb_columns() "
                "WHERE schema_name = 'lab' AND table_name = 'everything'"
            ).fetchall()
        )
        assert types["u"] == "UUID" and types["price"] == "DECIMAL(12,3)"
        assert types["kind"] == "ENUM('a', 'b c', '')" and types["doc"] == "JSON"
        assert types["at"] == "TIMESTAMP" and types["raw"] == "BLOB" and types["u64"] == "UBIGINT"
        constraints = db.execute(
            "SELECT table_name, constraint_text FROM duckdb_constraints() "
            "WHERE constraint_type IN ('PRIMARY KEY', 'FOREIGN KEY') ORDER BY 1, 2"
        ).fetchall()
        assert ("#stimulus", "PRIMARY KEY(stimulus_id)") in constraints
        assert any(t == "everything" and "FOREIGN KEY" in c for t, c in constraints)
        assert not any(t == "link" and "FOREIGN KEY" in c for t, c in constraints)
        fks = db.execute(
            "SELECT schema_name, table_name, parent_table, columns, enforced "
            "FROM _subset.foreign_keys ORDER BY 1"
        ).fetchall()
        assert fks == [
            ("lab", "everything", "#stimulus", '["stimulus_id"]', True),
            ("other", "link", "#stimulus", '["stimulus_id"]', False),
        ]
        manifest = json.loads(db.execute("SELECT manifest FROM _subset.manifest").fetchone()[0])  # type: ignore[index]
        assert manifest["tables"]["other.link"]["rows"] == 1
        assert db.execute('SELECT * FROM lab."#stimulus" ORDER BY 1').fetchall() == [
            (1, "a"),
            (2, ""),
        ]
        tables = db.execute(
            'SELECT table_name, "rows", primary_key FROM _subset.tables ORDER BY position'
        ).fetchall()
        assert tables == [
            ("#stimulus", 2, '["stimulus_id"]'),
            ("everything", len(STRINGS), '["id", "u"]'),
            ("link", 1, '["link_id"]'),
        ]
    finally:
        db.close()
    with open_snapshot(target) as snapshot:
        assert [m.key for m in snapshot.tables] == [m.key for m in TABLES]
        meta = snapshot.tables[1]
        assert meta.heading == EVERYTHING.heading
        table = pa.Table.from_batches(list(snapshot.batches(meta, 4)), meta.arrow_schema)
        assert table.schema.equals(EVERYTHING.arrow_schema)
        got, expected = read_back(EVERYTHING, table)
        assert got == expected


def test_duckdb_fail_refuses_and_replace_keeps_old_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "subset.duckdb"
    write(DuckDBWriter(target))
    before = target.read_bytes()
    with pytest.raises(OutputExistsError):
        DuckDBWriter(target, "fail").open(TABLES)
    with pytest.raises(RuntimeError, match="went away"):
        write(DuckDBWriter(target, "replace"), fail_in=EVERYTHING)
    assert target.read_bytes() == before and siblings(target) == []
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(OutputExistsError, match="not a subset output"):
        DuckDBWriter(tmp_path / "notes.txt", "replace").open(TABLES)


def test_parquet_snapshot_reads_back(tmp_path: Path) -> None:
    write(ParquetWriter(tmp_path / "snap"))
    with open_snapshot(tmp_path / "snap", lambda s, t: f"<{s}>.<{t}>") as snapshot:
        assert snapshot.kind == "parquet"
        meta = snapshot.tables[1]
        assert meta.heading.foreign_keys[0].parent == "<lab>.<#stimulus>"
        table = pa.Table.from_batches(list(snapshot.batches(meta, 4)), meta.arrow_schema)
        got, expected = read_back(EVERYTHING, table)
        assert got == expected


def test_an_empty_table_gets_a_file_with_its_schema(tmp_path: Path) -> None:
    writer = ParquetWriter(tmp_path / "snap")
    writer.open([STIMULUS])
    assert writer.write_table(STIMULUS, iter(())).rows == 0
    writer.commit({})
    table = pq.read_table(tmp_path / "snap" / "lab.Stimulus.parquet")
    assert table.num_rows == 0 and table.schema.remove_metadata().equals(STIMULUS.arrow_schema)


def test_target_heading_points_keys_at_the_target_and_keeps_types() -> None:
    from datajoint_core.adapters import get_adapter
    from subsetter.writers.instance import foreign_key_sql, target_heading

    adapter = get_adapter("postgresql")
    stamped = replace(EVERYTHING.heading["at"], default="current_timestamp()", nullable=False)
    meta = replace(
        EVERYTHING,
        heading=replace(
            EVERYTHING.heading,
            attributes=tuple(
                stamped if a.name == "at" else a for a in EVERYTHING.heading.attributes
            ),
        ),
    )
    heading = target_heading(meta, lambda fk: adapter.full_name("copy", "~sub_1"), adapter)
    assert [fk.parent for fk in heading.foreign_keys] == ['"copy"."~sub_1"']
    assert heading["at"].default == "CURRENT_TIMESTAMP"
    assert [a.type for a in heading.attributes] == [a.type for a in EVERYTHING.heading.attributes]
    assert target_heading(meta, lambda fk: None, adapter).foreign_keys == ()
    assert foreign_key_sql('"copy"."t"', heading.foreign_keys[0], adapter) == (
        'ALTER TABLE "copy"."t" ADD FOREIGN KEY ("stimulus_id") REFERENCES "copy"."~sub_1" '
        '("stimulus_id") ON UPDATE CASCADE ON DELETE RESTRICT'
    )
