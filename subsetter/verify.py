"""``subset verify``: every foreign key resolves inside the output, and counts match the manifest.

Parquet and DuckDB outputs are checked with DuckDB (which reads Parquet files in place, with
bounded memory); a staging database is checked with SQL on the database itself, in the schemas
named and no others. Tables are named by class, ``lab.Trial.Event``, whatever the snapshot's
format (see :mod:`subsetter.manifest`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import SubsetError
from .progress import quantity

if TYPE_CHECKING:
    import duckdb

    import datajoint_core as dj


@dataclass
class Check:
    table: str  # schema.Class
    kind: str  # "count", "foreign key" or "manifest"
    ok: bool
    detail: str
    output: str | None = None  # the recipe's output, when verifying a recipe


@dataclass(frozen=True)
class FK:
    child: str  # schema.Class
    parent: str  # schema.Class
    pairs: tuple[tuple[str, str], ...]  # (child column, parent column)


@dataclass(frozen=True)
class _Table:
    name: str  # schema.Class
    schema: str
    table: str  # the stored name
    rows: int  # as the manifest says
    key: str  # the manifest's key (format 1: schema.table, else the name)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _tables(manifest: dict[str, Any]) -> list[_Table]:
    from .manifest import table_entries

    return [
        _Table(e["name"], e["schema"], e["table"], int(e["rows"]), key)
        for key, e in table_entries(manifest)
    ]


def _names(tables: Iterable[_Table]) -> dict[tuple[str, str], str]:
    return {(t.schema, t.table): t.name for t in tables}


def parse_foreign_keys(child: str, data: Any, names: dict[tuple[str, str], str]) -> list[FK]:
    """Foreign keys from the JSON a writer stored (a list of ForeignKeyMeta-like objects);
    ``names`` spells the parents (stored schema and table -> class name)."""
    out = []
    for item in data or []:
        pairs = item.get("attr_map") or list(
            zip(item.get("columns", []), item.get("ref_columns", []))
        )
        stored = (item["parent_schema"], item["parent_table"])
        parent = names.get(stored, ".".join(stored))
        out.append(FK(child, parent, tuple((c, p) for c, p in pairs)))
    return out


def _orphans(db: duckdb.DuckDBPyConnection, fk: FK, child_sql: str, parent_sql: str) -> int:
    present = " AND ".join(f"c.{_q(c)} IS NOT NULL" for c, _ in fk.pairs)
    match = " AND ".join(f"p.{_q(p)} = c.{_q(c)}" for c, p in fk.pairs)
    sql = (
        f"SELECT count(*) FROM {child_sql} AS c WHERE {present} "
        f"AND NOT EXISTS (SELECT 1 FROM {parent_sql} AS p WHERE {match})"
    )
    row = db.execute(sql).fetchone()
    return int(row[0]) if row else 0


def _fk_check(fk: FK, orphans: int, cols: str) -> Check:
    return Check(
        fk.child,
        "foreign key",
        orphans == 0,
        f"({cols}) -> {fk.parent}: "
        + (
            "every row resolves"
            if not orphans
            else f"{quantity(orphans, 'row')} reference{'s' * (orphans == 1)} no row"
        ),
    )


def _fk_checks(
    db: duckdb.DuckDBPyConnection, fks: Iterable[FK], source: dict[str, str]
) -> list[Check]:
    checks = []
    for fk in fks:
        if fk.parent not in source:
            checks.append(Check(fk.child, "foreign key", False, f"parent {fk.parent} is missing"))
            continue
        orphans = _orphans(db, fk, source[fk.child], source[fk.parent])
        checks.append(_fk_check(fk, orphans, ", ".join(c for c, _ in fk.pairs)))
    return checks


def _count_check(table: str, found: int, expected: int, appended: int = 1) -> Check:
    """``found`` rows against the manifest's ``expected``; after ``appended`` runs that appended
    to a staging table, at least the last run's rows."""
    detail = quantity(found, "row")
    if appended > 1:
        detail += f" ({appended} runs; the last wrote {expected})"
        return Check(table, "count", found >= expected, detail)
    detail += "" if found == expected else f", manifest says {expected}"
    return Check(table, "count", found == expected, detail)


def _count_checks(
    db: duckdb.DuckDBPyConnection, tables: Sequence[_Table], source: dict[str, str]
) -> list[Check]:
    checks = []
    for t in tables:
        if t.name not in source:
            checks.append(Check(t.name, "count", False, "listed in the manifest but missing"))
            continue
        row = db.execute(f"SELECT count(*) FROM {source[t.name]}").fetchone()
        checks.append(_count_check(t.name, int(row[0]) if row else 0, t.rows))
    return checks


def _parquet_files(directory: str, manifest: dict[str, Any], t: _Table) -> list[str]:
    """The files of a table: as the manifest lists them, else this format's or format 1's name."""
    listed = manifest.get("files", {}).get(t.key)
    if listed:
        relative = [e["path"] for e in listed]
    else:
        relative = [f"{t.name}.parquet", os.path.join(t.schema, t.table + ".parquet")]
    files: list[str] = []
    for name in relative:
        path = os.path.join(directory, name)
        if os.path.isdir(path):  # a folder of files for one table
            files += sorted(os.path.join(path, f) for f in os.listdir(path))
        elif os.path.isfile(path):
            files.append(path)
        if files and not listed:
            break
    return files


def verify_parquet(directory: str) -> list[Check]:
    import duckdb
    import pyarrow.parquet as pq

    manifest_path = os.path.join(directory, "manifest.json")
    if not os.path.isfile(manifest_path):
        return [Check(directory, "manifest", False, "no manifest.json: not a complete snapshot")]
    with open(manifest_path, encoding="utf-8") as stream:
        manifest = json.load(stream)
    tables = _tables(manifest)
    names = _names(tables)
    source: dict[str, str] = {}
    fks: list[FK] = []
    for t in tables:
        files = _parquet_files(directory, manifest, t)
        if not files:
            continue
        source[t.name] = "read_parquet([" + ", ".join(_lit(f) for f in files) + "])"
        meta = pq.read_schema(files[0]).metadata or {}
        raw = meta.get(b"datajoint.foreign_keys")
        fks += parse_foreign_keys(t.name, json.loads(raw) if raw else [], names)
    db = duckdb.connect()
    try:
        return _count_checks(db, tables, source) + _fk_checks(db, fks, source)
    finally:
        db.close()


def verify_duckdb(path: str) -> list[Check]:
    import duckdb

    db = duckdb.connect(path, read_only=True)
    try:
        row = db.execute("SELECT manifest FROM _subset.manifest").fetchone()
        tables = _tables(json.loads(row[0]) if row else {})
        names = _names(tables)
        source = {t.name: f"{_q(t.schema)}.{_q(t.table)}" for t in tables}
        fks: list[FK] = []
        rows = db.execute(
            "SELECT schema_name, table_name, parent_schema, parent_table, columns, parent_columns "
            "FROM _subset.foreign_keys"
        ).fetchall()
        for schema, table, pschema, ptable, cols, pcols in rows:
            pairs = tuple(zip(json.loads(cols), json.loads(pcols)))
            child = names.get((schema, table), f"{schema}.{table}")
            fks.append(FK(child, names.get((pschema, ptable), f"{pschema}.{ptable}"), pairs))
        return _count_checks(db, tables, source) + _fk_checks(db, fks, source)
    except duckdb.Error as err:
        return [Check(path, "manifest", False, f"not a subset DuckDB file: {err}")]
    finally:
        db.close()


def _expected_rows(conn: dj.Connection, schema: str) -> tuple[dict[str, int], int]:
    """The rows the last run wrote into ``schema`` by stored table name, and how many runs'
    manifests the schema holds (more than one: runs that appended)."""
    from .manifest import table_entries
    from .writers.instance import staging_manifests

    manifests = staging_manifests(conn, schema)
    if not manifests:
        return {}, 0
    last = manifests[-1]
    mapping = last.get("schema_map") or {}
    expected = {
        entry["table"]: int(entry["rows"])
        for _, entry in table_entries(last)
        if mapping.get(entry["schema"], entry["schema"]) == schema
    }
    return expected, len(manifests)


def verify_instance(inst: dj.Instance, schemas: Sequence[str], where: str = "") -> list[Check]:
    """Foreign keys and counts of the tables in ``schemas`` (and only there) of a database,
    counts against the manifest the last run stored in each schema."""
    from datajoint_core.graph.dependencies import build_graph, display_name
    from datajoint_core.graph.propagate import topological_order
    from datajoint_core.naming import class_name

    if not schemas:
        raise SubsetError("name the schemas to verify (--schema, repeatable)")
    conn = inst.connection
    adapter = conn.adapter
    for schema in schemas:
        if not conn.fetchall(adapter.schema_exists_sql(), (schema,)):
            raise SubsetError(f"schema '{schema}' does not exist on {where or conn.backend}")
    graph = build_graph(conn, schemas, downstream=False)
    ours = [
        n
        for n in topological_order(graph)
        if graph.nodes[n]["schema"] in schemas and not graph.nodes[n]["table"].startswith("~")
    ]
    manifests = {schema: _expected_rows(conn, schema) for schema in schemas}
    checks = []
    for schema, (expected, _) in manifests.items():
        present = {graph.nodes[n]["table"] for n in ours if graph.nodes[n]["schema"] == schema}
        for table in sorted(set(expected) - present):
            name = f"{schema}.{class_name(table)}"
            checks.append(Check(name, "count", False, "listed in the manifest but missing"))
    for node in ours:
        data = graph.nodes[node]
        name = display_name(graph, node)
        rows = int(conn.fetchall(f"SELECT count(*) FROM {node}")[0][0])
        expected, runs = manifests[data["schema"]]
        if data["table"] in expected:
            checks.append(_count_check(name, rows, expected[data["table"]], runs))
        else:
            checks.append(Check(name, "count", True, quantity(rows, "row")))
    for node in ours:
        for parent, _, data in graph.in_edges(node, data=True):
            pairs = list(data["attr_map"].items())
            fk = FK(display_name(graph, node), display_name(graph, parent), tuple(pairs))
            cols = ", ".join(c for c, _ in pairs)
            if graph.nodes[parent]["schema"] not in schemas:  # only the schemas named are read
                detail = f"({cols}) -> {fk.parent}: not checked (outside the schemas named)"
                checks.append(Check(fk.child, "foreign key", True, detail))
                continue
            sql = adapter.orphans_sql(node, parent, pairs, count=True)
            checks.append(_fk_check(fk, int(conn.fetchall(sql)[0][0]), cols))
    return checks
