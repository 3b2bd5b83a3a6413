#!/usr/bin/env python3
"""Populate cross-check helper, run ONLY by the interpreter of the reference ``datajoint`` (its own
test-only virtual environment; never imported by the project or by pytest itself).

    python reference_populate.py STEPS --backend mysql --schema NAME [connection]

STEPS is a JSON list of ``[action, {arguments}]`` run in one process (the reference takes a
while to import), after binding the pipeline of tests/integration/test_populate_reference.py
(declaring what does not exist yet); the last line printed is the JSON list of their results.
Actions:

- ``declare``: declare the pipeline and fill Source (Stage is a Lookup with its contents).
- ``populate``: ``Result.populate(*restrictions, reserve_jobs=..., suppress_errors=True,
  max_calls=...)`` with ``{"restrictions": [...], "reserve_jobs": true, ...}``
  (``"table": "Pair"`` populates Pair instead); prints the reference's return value.
- ``jobs``: one job-table operation, ``{"op": "reserve", "args": [{...}]}``
  (``refresh``, ``reserve``, ``complete``, ``error``, ``ignore``; ``kwargs`` too); prints its
  result.
- ``describe``: the rows of Result and Result.Item, the job table as the reference reads it
  (error_stack decoded), ``progress()``, the keys of each key_source, and ``schema.jobs``.

``keep_completed`` in the arguments sets ``jobs.keep_completed`` for the step. Connection options:
--host --port --user; the password comes from the environment variable DJREF_PASS (default empty).
"""

from __future__ import annotations

import argparse
import datetime
import decimal
import json
import os
from typing import Any

os.environ.setdefault("DJ_IGNORE_CONFIG_FILE", "true")  # no stray datajoint.json
import datajoint as dj

SOURCES = [(1, 1.5), (2, 2.0), (3, -1.0), (4, 4.0), (5, 0.5), (6, -3.0)]


def connect(args: argparse.Namespace) -> Any:
    kwargs: dict[str, Any] = {"port": int(args.port)} if args.port else {}
    inst = dj.Instance(
        host=args.host,
        user=args.user or ("root" if args.backend == "mysql" else "postgres"),
        password=os.environ.get("DJREF_PASS", ""),
        backend=args.backend,
        use_tls=False,
        **kwargs,
    )
    inst.config.safemode = False
    return inst


def pipeline(schema: Any) -> dict[str, Any]:
    """The same pipeline as tests/integration/test_populate_reference.py declares."""

    @schema
    class Source(dj.Manual):
        definition = """
        source_id : int32
        ---
        value : float64
        """

    @schema
    class Stage(dj.Lookup):
        definition = """
        stage : varchar(8)
        ---
        weight : float64
        """
        contents = [("a", 1.0), ("b", 2.0)]

    @schema
    class Result(dj.Computed):
        definition = """
        -> Source
        -> Stage
        ---
        total : float64
        """

        class Item(dj.Part):
            definition = """
            -> master
            item : int32
            ---
            x : float64
            """

        def make(self, key: dict[str, Any]) -> None:
            value = (Source & key).fetch1("value")
            weight = (Stage & key).fetch1("weight")
            if value < 0:
                raise ValueError(f"negative value for source {key['source_id']}")
            self.insert1({**key, "total": value * weight})
            self.Item.insert([{**key, "item": i, "x": value + i} for i in range(2)])

    @schema
    class Pair(dj.Computed):
        definition = """
        -> Source.proj(left_id='source_id')
        -> Source.proj(right_id='source_id')
        ---
        diff : float64
        """

        def make(self, key: dict[str, Any]) -> None:
            left = (Source & {"source_id": key["left_id"]}).fetch1("value")
            right = (Source & {"source_id": key["right_id"]}).fetch1("value")
            self.insert1({**key, "diff": left - right})

    return {"Source": Source, "Stage": Stage, "Result": Result, "Pair": Pair}


def plain(value: Any) -> Any:
    """A JSON-friendly copy of fetched values."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, Exception):
        return f"{type(value).__name__}: {value}"
    return value


def rows(table: Any) -> list[dict[str, Any]]:
    return sorted(plain(table.to_dicts()), key=lambda r: json.dumps(r, sort_keys=True))


def describe(t: dict[str, Any], schema: Any) -> dict[str, Any]:
    result = t["Result"]
    return {
        "result": rows(result),
        "item": rows(result.Item),
        "pair": rows(t["Pair"]),
        "jobs": rows(result.jobs),
        "job_progress": result.jobs.progress(),
        "progress": list(result.progress()),
        "key_source": {name: rows(t[name].key_source) for name in ("Result", "Pair")},
        "schema_jobs": sorted(job.table_name for job in schema.jobs),
        "job_heading": {
            name: [attr.type, attr.in_key, attr.nullable, attr.default]
            for name, attr in result.jobs.heading.attributes.items()
        },
    }


def run(action: str, schema: Any, t: dict[str, Any], extra: dict[str, Any]) -> Any:
    result = t["Result"]
    schema.connection._config.jobs.keep_completed = bool(extra.get("keep_completed", False))
    if action == "declare":
        t["Source"].insert([{"source_id": s, "value": v} for s, v in SOURCES])
        return {"declared": sorted(schema.list_tables())}
    if action == "populate":
        out = t[extra.get("table", "Result")].populate(
            *extra.get("restrictions", []),
            reserve_jobs=extra.get("reserve_jobs", False),
            suppress_errors=True,
            max_calls=extra.get("max_calls"),
        )
        return plain(out)
    if action == "jobs":
        op = getattr(result.jobs, extra["op"])
        return plain(op(*extra.get("args", []), **extra.get("kwargs", {})))
    if action == "describe":
        return describe(t, schema)
    raise SystemExit(f"unknown action {action!r}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("steps")
    p.add_argument("--backend", required=True, choices=["mysql", "postgresql"])
    p.add_argument("--schema", required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", default=None)
    p.add_argument("--user", default=None)
    args = p.parse_args()
    inst = connect(args)
    schema = inst.Schema(args.schema)
    tables = pipeline(schema)
    results = [run(action, schema, tables, extra) for action, extra in json.loads(args.steps)]
    print(json.dumps(results, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
