"""``subset verify``: every foreign key resolves inside the output, and counts match the manifest.

Parquet and DuckDB outputs are checked with DuckDB (which reads Parquet files in place, with
bounded memory); a staging database is checked with SQL on the database itself.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb

    import datajoint_core as dj


@dataclass
class Check:
    table: str
    kind: str  # "count" or "foreign key"
    ok: bool
    detail: str


@dataclass(frozen=True)
class FK:
    child: str  # schema.table
    parent: str  # schema.table
    pairs: tuple[tuple[str, str], ...]  # (child column, parent column)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def parse_foreign_keys(child: str, data: Any) -> list[FK]:
    """Foreign keys from the JSON a writer stored (a list of ForeignKeyMeta-like objects)."""
    out = []
    for item in data or []:
        pairs = item.get("attr_map") or list(
            zip(item.get("columns", []), item.get("ref_columns", []))
        )
        parent = f"{item['parent_schema']}.{item['parent_table']}"
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


def _fk_checks(
    db: duckdb.DuckDBPyConnection, fks: Iterable[FK], source: dict[str, str]
) -> list[Check]:
    checks = []
    for fk in fks:
        if fk.parent not in source:
            checks.append(Check(fk.child, "foreign key", False, f"parent {fk.parent} is missing"))
            continue
        orphans = _orphans(db, fk, source[fk.child], source[fk.parent])
        cols = ", ".join(c for c, _ in fk.pairs)
        checks.append(
            Check(
                fk.child,
                "foreign key",
                orphans == 0,
                f"({cols}) -> {fk.parent}: "
                + ("every row resolves" if not orphans else f"{orphans} rows reference no row"),
            )
        )
    return checks


def _count_checks(
    db: duckdb.DuckDBPyConnection, manifest: dict[str, Any], source: dict[str, str]
) -> list[Check]:
    checks = []
    for key, entry in manifest.get("tables", {}).items():
        if key not in source:
            checks.append(Check(key, "count", False, "listed in the manifest but missing"))
            continue
        row = db.execute(f"SELECT count(*) FROM {source[key]}").fetchone()
        found = int(row[0]) if row else 0
        expected = int(entry["rows"])
        detail = f"{found} rows" + ("" if found == expected else f", manifest says {expected}")
        checks.append(Check(key, "count", found == expected, detail))
    return checks


def verify_parquet(directory: str) -> list[Check]:
    import duckdb
    import pyarrow.parquet as pq

    manifest_path = os.path.join(directory, "manifest.json")
    if not os.path.isfile(manifest_path):
        return [Check(directory, "manifest", False, "no manifest.json: not a complete snapshot")]
    with open(manifest_path, encoding="utf-8") as stream:
        manifest = json.load(stream)
    source: dict[str, str] = {}
    fks: list[FK] = []
    for key, entry in manifest.get("tables", {}).items():
        path = os.path.join(directory, entry["schema"], entry["table"] + ".parquet")
        if not os.path.exists(path):
            continue
        files = (
            sorted(os.path.join(path, f) for f in os.listdir(path))
            if os.path.isdir(path)
            else [path]
        )
        source[key] = "read_parquet([" + ", ".join(_lit(f) for f in files) + "])"
        meta = pq.read_schema(files[0]).metadata or {}
        raw = meta.get(b"datajoint.foreign_keys")
        fks += parse_foreign_keys(key, json.loads(raw) if raw else [])
    db = duckdb.connect()
    try:
        return _count_checks(db, manifest, source) + _fk_checks(db, fks, source)
    finally:
        db.close()


def verify_duckdb(path: str) -> list[Check]:
    import duckdb

    db = duckdb.connect(path, read_only=True)
    try:
        row = db.execute("SELECT manifest FROM _subset.manifest").fetchone()
        manifest = json.loads(row[0]) if row else {}
        source = {
            key: f"{_q(entry['schema'])}.{_q(entry['table'])}"
            for key, entry in manifest.get("tables", {}).items()
        }
        fks: list[FK] = []
        rows = db.execute(
            "SELECT schema_name, table_name, parent_schema, parent_table, columns, parent_columns "
            "FROM _subset.foreign_keys"
        ).fetchall()
        for schema, table, pschema, ptable, cols, pcols in rows:
            pairs = tuple(zip(json.loads(cols), json.loads(pcols)))
            fks.append(FK(f"{schema}.{table}", f"{pschema}.{ptable}", pairs))
        return _count_checks(db, manifest, source) + _fk_checks(db, fks, source)
    except duckdb.Error as err:
        return [Check(path, "manifest", False, f"not a subset DuckDB file: {err}")]
    finally:
        db.close()


def verify_instance(inst: dj.Instance, schemas: Sequence[str]) -> list[Check]:
    """Foreign keys of a staging copy, checked with SQL (counts have no manifest there)."""
    from datajoint_core.graph.dependencies import build_graph

    conn = inst.connection
    q = conn.adapter.quote
    names = list(schemas) or conn.list_schemas()
    graph = build_graph(conn, names)
    checks = []
    for parent, child, data in graph.edges(data=True):
        pairs = list(data["attr_map"].items())
        present = " AND ".join(f"c.{q(c)} IS NOT NULL" for c, _ in pairs)
        match = " AND ".join(f"p.{q(p)} = c.{q(c)}" for c, p in pairs)
        sql = (
            f"SELECT count(*) FROM {child} c WHERE {present} AND NOT EXISTS "
            f"(SELECT 1 FROM {parent} p WHERE {match})"
        )
        orphans = int(conn.fetchall(sql)[0][0])
        checks.append(
            Check(
                child,
                "foreign key",
                orphans == 0,
                f"-> {parent}: " + ("every row resolves" if not orphans else f"{orphans} orphans"),
            )
        )
    for node in graph.nodes:
        rows = int(conn.fetchall(f"SELECT count(*) FROM {node}")[0][0])
        checks.append(Check(node, "count", True, f"{rows} rows"))
    return checks
