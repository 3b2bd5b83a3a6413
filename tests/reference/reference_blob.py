#!/usr/bin/env python3
"""``<blob>`` cross-check helper run ONLY by the interpreter of the reference ``datajoint``.

    python reference_blob.py pack                  # the corpus packed by the reference
    python reference_blob.py unpack [--squeeze] [--32bit] < {"name": "hex", ...}
    python reference_blob.py insert --backend mysql --schema NAME [connection options]
    python reference_blob.py fetch  --backend mysql --schema NAME --table T [connection options]

``pack`` prints, per corpus value (tests/reference/blob_corpus.py), the reference's bytes (hex)
and the description of what the reference unpacks from them, or the error it raised.
``unpack`` describes what the reference unpacks from the blobs given on stdin.
``insert`` declares ``blobs`` (id, name, data : <blob>) in the schema and inserts the corpus;
``fetch`` describes the ``data`` of every row of table ``T`` (declared by either package) as the
reference fetches it. Connection options as in reference_pipeline.py. Output: one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("DJ_IGNORE_CONFIG_FILE", "true")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import datajoint as dj
from blob_corpus import corpus, describe
from datajoint import blob


def _outcome(f: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    try:
        return {"value": describe(f(*args, **kwargs))}
    except Exception as err:
        return {"error": f"{type(err).__name__}: {err}"}


def pack_corpus() -> dict[str, Any]:
    out = {}
    for name, value in corpus(blob.MatCell, blob.MatStruct).items():
        data = blob.pack(value)
        out[name] = {"hex": data.hex(), **_outcome(blob.unpack, data)}
    return out


def unpack_given(blobs: dict[str, str], squeeze: bool) -> dict[str, Any]:
    return {n: _outcome(blob.unpack, bytes.fromhex(h), squeeze=squeeze) for n, h in blobs.items()}


def _table(inst: Any, schema_name: str) -> Any:
    schema = inst.Schema(schema_name)

    @schema
    class Blobs(dj.Manual):
        definition = """
        id : int32
        ---
        name : varchar(64)
        data = null : <blob>
        """

    return Blobs


def insert(inst: Any, schema_name: str) -> dict[str, Any]:
    table = _table(inst, schema_name)()
    values = corpus(blob.MatCell, blob.MatStruct)
    table.insert(
        [{"id": i, "name": n, "data": v} for i, (n, v) in enumerate(sorted(values.items()))]
    )
    return {"inserted": len(table)}


def fetch(inst: Any, schema_name: str, table_name: str) -> dict[str, Any]:
    module = dj.VirtualModule("blobs", schema_name, connection=inst.connection)
    table = next(
        getattr(module, a)
        for a in dir(module)
        if getattr(getattr(module, a), "table_name", None) == table_name
    )
    rows = table.to_dicts(order_by="id")
    return {r["name"]: describe(r["data"]) for r in rows}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("action", choices=["pack", "unpack", "insert", "fetch"])
    p.add_argument("--squeeze", action="store_true")
    p.add_argument("--32bit", dest="dims32", action="store_true")
    p.add_argument("--backend", choices=["mysql", "postgresql"])
    p.add_argument("--schema")
    p.add_argument("--table", default="blobs")
    p.add_argument("--host", default=os.environ.get("DJREF_HOST", "127.0.0.1"))
    p.add_argument("--port", default=os.environ.get("DJREF_PORT"))
    p.add_argument("--user", default=os.environ.get("DJREF_USER"))
    p.add_argument("--password", default=None)
    args = p.parse_args(argv)
    # The reference logs to stdout: keep stdout for the one JSON line this script prints.
    sys.stdout.flush()
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    blob.use_32bit_dims = args.dims32
    if args.action == "pack":
        result = pack_corpus()
    elif args.action == "unpack":
        result = unpack_given(json.load(sys.stdin), args.squeeze)
    else:
        from reference_pipeline import connect

        inst = connect(args)
        try:
            if args.action == "insert":
                result = insert(inst, args.schema)
            else:
                result = fetch(inst, args.schema, args.table)
        finally:
            inst.connection.close()
    print(json.dumps(result, sort_keys=True), file=out)
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
