#!/usr/bin/env python3
"""Cross-check helper run ONLY by the interpreter of the reference ``datajoint`` (see
reference_pipeline.py): declares tests/reference/declare_cases.py with the reference and reports
what it stored and what it reads back, as one JSON document on stdout.

    python reference_declare.py declare --backend B --schema S --attachment FILE
    python reference_declare.py columns --backend B --schema S
    python reference_declare.py fetch   --backend B --schema S
    python reference_declare.py alter   --backend B --schema S --definition TEXT
    python reference_declare.py resolve --specs '["<blob>", ...]'

``declare`` declares every case (jobs.add_job_metadata on) and inserts the rows; ``columns``
reads the catalog with plain SQL (the same query for a schema declared by either package);
``fetch`` reads every table back with the reference's classes; ``alter`` alters ``Alterable``;
``resolve`` reports the reference's codec chains.
"""

from __future__ import annotations

import argparse
import datetime
import decimal
import json
import os
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

os.environ.setdefault("DJ_IGNORE_CONFIG_FILE", "true")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import datajoint as dj
from blob_corpus import describe
from declare_cases import alterable, codecs, rows, tables
from reference_pipeline import connect


def _schema(inst: Any, name: str) -> tuple[Any, dict[str, Any]]:
    codecs(dj)
    inst.config.jobs.add_job_metadata = True
    schema = inst.Schema(name)
    classes = tables(dj)
    context = {cls.__name__: cls for cls in classes}
    for cls in classes:
        schema(cls, context=context)
    return schema, {cls.__name__: cls for cls in classes}


def declare(inst: Any, name: str, attachment: str) -> dict[str, Any]:
    schema, classes = _schema(inst, name)
    schema(alterable(dj))
    for target, values in rows(attachment).items():
        master, _, part = target.partition(".")
        cls = getattr(classes[master], part) if part else classes[master]
        if inst.connection.adapter.backend == "postgresql" and any(
            isinstance(v, uuid.UUID) for row in values for v in row.values()
        ):
            _insert_sql(inst, cls, values)  # the reference sends uuid bytes to a uuid column
        else:
            cls.insert(values)
    return {"declared": sorted(schema.list_tables())}


def _insert_sql(inst: Any, cls: Any, values: list[dict[str, Any]]) -> None:
    for row in values:
        names = ", ".join(f'"{k}"' for k in row)
        marks = ", ".join(["%s"] * len(row))
        args = [str(v) if isinstance(v, uuid.UUID) else v for v in row.values()]
        inst.connection.query(
            f"INSERT INTO {cls.full_table_name} ({names}) VALUES ({marks})", args=args
        )


def _plain(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"bytes": bytes(value).hex()}
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, (uuid.UUID, decimal.Decimal)):
        return str(value)
    return value


def columns(inst: Any, name: str) -> dict[str, Any]:
    conn = inst.connection
    if conn.adapter.backend == "mysql":
        sql = (
            "SELECT table_name, column_name, column_type, column_comment, is_nullable, "
            "column_default, column_key FROM information_schema.columns WHERE table_schema = %s "
            "ORDER BY table_name, ordinal_position"
        )
        indexes = (
            "SELECT table_name, index_name, non_unique, group_concat(column_name ORDER BY "
            "seq_in_index) FROM information_schema.statistics WHERE table_schema = %s "
            "GROUP BY table_name, index_name, non_unique"
        )
    else:
        sql = (
            "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), "
            "col_description(c.oid, a.attnum), CASE WHEN a.attnotnull THEN 'NO' ELSE 'YES' END, "
            "pg_get_expr(d.adbin, d.adrelid), '' FROM pg_attribute a "
            "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
            "WHERE n.nspname = %s AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped "
            "ORDER BY c.relname, a.attnum"
        )
        indexes = "SELECT tablename, indexname, 0, indexdef FROM pg_indexes WHERE schemaname = %s"
    found: dict[str, Any] = {"columns": {}, "indexes": {}}
    for table, *rest in conn.query(sql, args=(name,)).fetchall():
        found["columns"].setdefault(table, []).append([_plain(v) for v in rest])
    for table, index, non_unique, cols in conn.query(indexes, args=(name,)).fetchall():
        found["indexes"].setdefault(table, []).append([index, int(non_unique), cols])
    return found


def _value(value: Any) -> Any:
    if isinstance(value, str) and os.path.isfile(value):  # a fetched attachment
        return {"file": Path(value).name, "content": Path(value).read_bytes().hex()}
    if isinstance(value, (bytes, bytearray, uuid.UUID, decimal.Decimal, datetime.date)):
        return _plain(value)
    if isinstance(value, (int, float, str)) or value is None:
        return value
    return describe(value)


def fetch(inst: Any, name: str) -> dict[str, Any]:
    _, classes = _schema(inst, name)
    inst.config["download_path"] = tempfile.mkdtemp()
    out: dict[str, Any] = {}
    postgres = inst.connection.adapter.backend == "postgresql"
    for cls_name, cls in classes.items():
        for label, table in [(cls_name, cls)] + [
            (f"{cls_name}.{p}", getattr(cls, p)) for p in ("Website", "Note") if hasattr(cls, p)
        ]:
            if postgres and any(a.uuid for a in table.heading.attributes.values()):
                continue  # the reference 2.3.5 cannot read uuid columns on PostgreSQL
            if postgres and "doc" in table.heading.names:
                table = table.proj(..., "-doc")  # nor <attach> (it gets a memoryview)
            out[label] = [
                {k: _value(v) for k, v in row.items()}
                for row in table.to_dicts(order_by=table.primary_key or None)
            ]
    return out


def alter(inst: Any, name: str, definition: str) -> dict[str, Any]:
    schema = inst.Schema(name)
    cls = alterable(dj)
    schema(cls)
    cls.definition = definition
    cls.alter(prompt=False)
    return {"altered": cls.full_table_name}


def resolve(specs: list[str]) -> dict[str, Any]:
    from datajoint.codecs import resolve_dtype

    codecs(dj)
    out: dict[str, Any] = {}
    for spec in specs:
        try:
            dtype, chain, store = resolve_dtype(spec)
        except dj.DataJointError as err:
            out[spec] = {"error": str(err)}
        else:
            out[spec] = {"dtype": dtype, "chain": [c.name for c in chain], "store": store}
    out["list_codecs"] = dj.list_codecs()
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("action", choices=["declare", "columns", "fetch", "alter", "resolve"])
    p.add_argument("--backend", choices=["mysql", "postgresql"])
    p.add_argument("--schema")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port")
    p.add_argument("--user")
    p.add_argument("--password", default=None)
    p.add_argument("--attachment")
    p.add_argument("--definition")
    p.add_argument("--specs")
    args = p.parse_args(argv)
    if args.action == "resolve":
        result = resolve(json.loads(args.specs))
    else:
        inst = connect(args)
        if args.action == "declare":
            result = declare(inst, args.schema, args.attachment)
        elif args.action == "columns":
            result = columns(inst, args.schema)
        elif args.action == "fetch":
            result = fetch(inst, args.schema)
        else:
            result = alter(inst, args.schema, args.definition)
    print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
