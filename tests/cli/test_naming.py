"""One name for a table everywhere, ``schema.Class`` / ``schema.Class.Part``: preview, run, file
names, manifests, verify, load, clean, clean --drop and the diagram; on both backends."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

import datajoint_core as dj

from ..conftest import Server
from .conftest import run_cli, staging_output, write_recipe

CLASSES = ["Pairing", "Session", "Stimulus", "Subject", "Trial", "Trial.Event"]
STORED = {
    "Pairing": "pairing",
    "Session": "session",
    "Stimulus": "#stimulus",
    "Subject": "subject",
    "Trial": "trial",
    "Trial.Event": "trial__event",
}
FORMAT1 = Path(__file__).parent / "data" / "format1-snapshot"  # written by subset 0.1.0


def _url(server: Server) -> str:
    return f"{server.backend}://{server.user}@{server.host}:{server.port}"


def _rows(inst: dj.Instance, schema: str) -> dict[str, int]:
    conn = inst.connection
    return {c: len(dj.FreeTable(conn, conn.adapter.full_name(schema, STORED[c]))) for c in CLASSES}


def test_files_manifest_and_messages_use_class_names(
    tmp_path: Path,
    server: Server,
    inst: dj.Instance,
    schema_name: str,
    lab: dict[str, Any],
    cli_env: dict[str, str],
) -> None:
    s = schema_name
    recipe = write_recipe(
        tmp_path,
        server,
        f"""\
        schemas: [{s}]
        outputs:
          snap: {{type: parquet, path: ./snap}}
        """,
    )
    preview = run_cli("preview", str(recipe), "--json", env=cli_env)
    assert preview.returncode == 0, preview.stderr
    named = {t["table"] for t in json.loads(preview.stdout)["tables"]}
    assert named == {f"{s}.{c}" for c in CLASSES}

    ran = run_cli("run", str(recipe), "--json", env=cli_env)
    assert ran.returncode == 0, ran.stderr
    summary = json.loads(ran.stdout.splitlines()[-1])
    assert set(summary["outputs"]["snap"]["tables"]) == named
    files = sorted(p.name for p in (tmp_path / "snap").iterdir())
    assert files == sorted([*(f"{s}.{c}.parquet" for c in CLASSES), "manifest.json"])
    manifest = json.loads((tmp_path / "snap" / "manifest.json").read_text())
    assert manifest["format"] == 2
    assert {k: (e["schema"], e["table"]) for k, e in manifest["tables"].items()} == {
        f"{s}.{c}": (s, t) for c, t in STORED.items()
    }
    part = pq.read_schema(tmp_path / "snap" / f"{s}.Trial.Event.parquet").metadata
    assert part[b"datajoint.name"] == f"{s}.Trial.Event".encode()
    assert part[b"datajoint.table"] == b"trial__event"

    verified = run_cli("verify", str(tmp_path / "snap"))
    assert verified.returncode == 0, verified.stdout
    assert {line.split(":")[0][5:] for line in verified.stdout.splitlines()[:-1]} == named
    assert f"ok   {s}.Stimulus: count: 2 rows" in verified.stdout.splitlines()
    assert f"ok   {s}.Trial.Event: count: 4 rows" in verified.stdout.splitlines()

    copy = f"{s}_copy"
    try:
        loaded = run_cli(
            "load",
            str(tmp_path / "snap"),
            "--to",
            _url(server),
            "--schema-map",
            f"{s}={copy}",
            env={"SUBSET_PASSWORD": server.password},
        )
        assert loaded.returncode == 0, loaded.stderr
        assert loaded.stdout.startswith("loaded 20 rows in 6 tables into ")
        assert _rows(inst, copy) == _rows(inst, s)
    finally:
        inst.connection.execute(inst.connection.adapter.drop_schema_sql(copy))


def test_a_format1_snapshot_still_verifies_and_loads(
    tmp_path: Path, server: Server, inst: dj.Instance, schema_name: str
) -> None:
    """A snapshot that subset 0.1.0 wrote (``schema/table.parquet``, a manifest keyed by
    ``schema.table``) reads as any other, its tables named by class."""
    snap = tmp_path / "old"
    shutil.copytree(FORMAT1, snap)
    assert (snap / "djtest_oldformat" / "trial__event.parquet").is_file()
    verified = run_cli("verify", str(snap))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    lines = verified.stdout.splitlines()
    assert lines[-1] == "12 passed, 0 failed"  # 6 tables, 6 foreign keys (Pairing: 2)
    assert "ok   djtest_oldformat.Trial.Event: count: 3 rows" in lines
    assert "ok   djtest_oldformat.Pairing: count: 1 row" in lines
    assert (
        "ok   djtest_oldformat.Trial: foreign key: (stimulus_id) -> djtest_oldformat.Stimulus: "
        "every row resolves"
    ) in lines

    copy = f"{schema_name}_old"
    env = {"SUBSET_PASSWORD": server.password}
    try:
        loaded = run_cli(
            "load",
            str(snap),
            "--to",
            _url(server),
            "--schema-map",
            f"djtest_oldformat={copy}",
            env=env,
        )
        assert loaded.returncode == 0, loaded.stderr
        assert loaded.stdout.startswith("loaded 15 rows in 6 tables into ")
        again = run_cli("verify", _url(server), "--schema", copy, env=env)
        assert again.returncode == 0, again.stdout + again.stderr
        assert f"ok   {copy}.Trial.Event: count: 3 rows" in again.stdout.splitlines()
        assert f"ok   {copy}.Pairing: count: 1 row" in again.stdout.splitlines()
        conn = inst.connection  # the copy's counts are held against the snapshot's manifest
        pairing = dj.FreeTable(conn, conn.adapter.full_name(copy, "pairing"))
        pairing.delete(prompt=False)
        short = run_cli("verify", _url(server), "--schema", copy, env=env)
        assert short.returncode == 1
        assert f"FAIL {copy}.Pairing: count: 0 rows, manifest says 1" in short.stdout.splitlines()
    finally:
        inst.connection.execute(inst.connection.adapter.drop_schema_sql(copy))


def test_clean_names_and_counts_every_table_it_deletes_from(
    tmp_path: Path,
    server: Server,
    inst: dj.Instance,
    schema_name: str,
    staging_name: str,
    lab: dict[str, Any],
    cli_env: dict[str, str],
) -> None:
    s, stg = schema_name, staging_name
    recipe = write_recipe(
        tmp_path,
        server,
        f"""\
        schemas: [{s}]
        restrictions:
          - table: {s}.Session
            where: "session_date < '2024-02-15'"
        upstream: referenced
        outputs:
          staging: {staging_output(server, {s: stg})}
        """,
    )
    assert run_cli("run", str(recipe), env=cli_env).returncode == 0
    before = _rows(inst, stg)
    cleaned = run_cli("clean", str(recipe), "--yes", env=cli_env)
    assert cleaned.returncode == 0, cleaned.stderr
    after = _rows(inst, stg)
    gone = {c: before[c] - after[c] for c in CLASSES if before[c] != after[c]}
    assert gone == {"Session": 2, "Trial": 3, "Trial.Event": 3}  # Trial.Event: the part rows
    lines = cleaned.stdout.splitlines()
    assert lines[:3] == [  # the restricted tables but Parts, leaves first
        "About to delete (with every row that references them):",
        f"  {stg}.Trial: 3 rows",
        f"  {stg}.Session: 2 rows",
    ]
    total = sum(gone.values())
    assert lines[3:] == [f"deleted {total} rows from 3 tables:"] + [
        f"  {stg}.{c}: {n} rows" for c, n in gone.items()
    ]

    dropped = run_cli("clean", str(recipe), "--drop", "--yes", env=cli_env)
    assert dropped.returncode == 0, dropped.stderr
    assert dropped.stdout.splitlines() == [
        f"About to drop schemas {stg} with 6 tables:",  # parents first
        *(f"  {stg}.{c}" for c in ("Stimulus", "Subject", "Pairing", "Session", "Trial")),
        f"  {stg}.Trial.Event",
        f"dropped schemas {stg}",
    ]


def test_one_row_one_table_and_counts_on_trimmed_lookups(
    tmp_path: Path, server: Server, schema_name: str, lab: dict[str, Any], cli_env: dict[str, str]
) -> None:
    s = schema_name
    single = write_recipe(
        tmp_path,
        server,
        f"""\
        schemas: [{s}]
        include: ["{s}.Subject"]
        restrictions:
          - table: {s}.Subject
            where: {{subject_id: 1}}
        outputs:
          snap: {{type: parquet, path: ./snap}}
        """,
        name="single.yaml",
    )
    ran = run_cli("run", str(single), env=cli_env)
    assert ran.returncode == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert "  1 row in 1 table" in lines  # the preview's total
    assert f"snap: 1 row in 1 table -> Parquet directory {tmp_path / 'snap'}" in lines

    def drawing(upstream: str) -> str:
        recipe = write_recipe(
            tmp_path,
            server,
            f"""\
            schemas: [{s}]
            restrictions:
              - table: {s}.Session
                where: {{subject_id: 2}}
            upstream: {upstream}
            outputs:
              snap: {{type: parquet, path: ./snap}}
            """,
            name=f"{upstream}.yaml",
        )
        result = run_cli("diagram", str(recipe), env=cli_env)
        assert result.returncode == 0, result.stderr
        return result.stdout

    trimmed = drawing("referenced")  # subject 2's one trial saw stimulus 2 only
    assert f'subgraph {s}["{s}"]' in trimmed  # the schema's cluster holds its classes
    assert 'Stimulus["Stimulus (1)"]:::lookup' in trimmed
    assert 'Subject["Subject"]:::manual' in trimmed  # whole: Pairing, not reached, needs all
    assert "Event" not in trimmed  # pruned: no rows
    assert 'Session["Session (1)"]:::manual' in trimmed
    whole = drawing("all")  # kept whole: drawn without a count
    assert 'Stimulus["Stimulus"]:::lookup' in whole and 'Subject["Subject"]:::manual' in whole
    assert 'Session["Session (1)"]:::manual' in whole
