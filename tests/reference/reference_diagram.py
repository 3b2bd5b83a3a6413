"""Run Diagram operations with the reference ``datajoint`` on an existing schema; print JSON.

Runs in the reference's own virtual environment (never imported by the project's tests). Each
operation is one of

    {"kind": "restrict", "seeds": [[table, restriction], ...], "prune": false}
    {"kind": "cascade", "seed": [table, restriction], "part_integrity": "enforce"}
    {"kind": "trace", "seed": [table, restriction]}
    {"kind": "delete", "seed": [table, restriction], "part_integrity": "enforce"}

where ``table`` is a stored table name and ``restriction`` a mapping or an SQL string. For each it
prints ``{"counts": {table: n}, "keys": {table: [key JSON, ...]}}`` (restrict / cascade / trace:
the diagram's tables with the rows they select; delete: the rows of every table of the schema
left afterwards, and the count returned), or ``{"error": "<exception class>: message"}``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

import datajoint as dj


def connect(args: argparse.Namespace) -> Any:
    return dj.Instance(
        host=args.host,
        user=args.user,
        password=args.password or "",
        port=int(args.port) if args.port else None,
        backend=args.backend,
        safemode=False,
    )


def bare(name: str) -> str:
    return name.split(".")[-1].strip('`"')


def keys_of(table: Any) -> list[str]:
    key = table.primary_key
    rows = table.proj().to_dicts()
    return sorted(json.dumps([row[k] for k in key], default=str) for row in rows)


def run(inst: Any, schema: Any, op: dict[str, Any]) -> dict[str, Any]:
    conn = inst.connection

    def seed(spec: list[Any]) -> Any:
        table = dj.FreeTable(conn, f"{schema.database}.{spec[0]}")
        return table & spec[1]

    kind = op["kind"]
    if kind == "delete":
        count = seed(op["seed"]).delete(
            prompt=False, part_integrity=op.get("part_integrity", "enforce")
        )
        left = {}
        for name in schema.list_tables():
            left[bare(name)] = keys_of(dj.FreeTable(conn, f"{schema.database}.{name}"))
        return {"deleted": count, "keys": left}
    if kind == "restrict":
        diagram = dj.Diagram(schema)
        for spec in op["seeds"]:
            diagram = diagram.restrict(seed(spec))
        if op.get("prune"):
            diagram = diagram.prune()
    elif kind == "cascade":
        diagram = dj.Diagram.cascade(
            seed(op["seed"]), part_integrity=op.get("part_integrity", "enforce")
        )
    else:
        diagram = dj.Diagram.trace(seed(op["seed"]))
    counts = {bare(k): v for k, v in diagram.counts().items()}
    keys = {bare(t.full_table_name): keys_of(t) for t in diagram}
    return {"counts": counts, "keys": {k: v for k, v in keys.items() if k in counts}}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--backend", required=True, choices=["mysql", "postgresql"])
    p.add_argument("--schema", required=True)
    p.add_argument("--ops", required=True, help="a JSON list of operations")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port")
    p.add_argument("--user")
    p.add_argument("--password")
    args = p.parse_args(argv)
    sys.stdout.flush()
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # the reference logs to stdout: keep it for the JSON line
    inst = connect(args)
    try:
        schema = inst.Schema(args.schema, create_schema=False)
        results = []
        for op in json.loads(args.ops):
            try:
                results.append(run(inst, schema, op))
            except Exception as err:  # reported to the caller, which compares
                results.append({"error": f"{type(err).__name__}: {err}"})
        print(json.dumps(results, sort_keys=True), file=out)
    finally:
        inst.connection.close()
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
