#!/usr/bin/env python3
"""Run the battery of tests/reference/algebra_cases.py with the reference ``datajoint`` (run
ONLY by the reference's interpreter, as a subprocess of the tests).

    python reference_algebra.py --backend mysql --schema NAME [--host --port --user]

Declares and fills the pipeline in NAME (left in place for the other side to read), runs the
queries and then the inserts, and prints one JSON document ``{case: result}``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("DJ_IGNORE_CONFIG_FILE", "true")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import algebra_cases as cases
import datajoint as dj
import numpy as np
import pandas as pd


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--backend", required=True, choices=["mysql", "postgresql"])
    p.add_argument("--schema", required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", default=None)
    p.add_argument("--user", default=None)
    args = p.parse_args()
    inst = dj.Instance(
        host=args.host,
        user=args.user or ("root" if args.backend == "mysql" else "postgres"),
        password=os.environ.get("DJREF_PASS", ""),
        backend=args.backend,
        use_tls=False,
        **({"port": int(args.port)} if args.port else {}),
    )
    inst.config.safemode = False
    # the reference cannot declare an auto_increment key on PostgreSQL
    tables = cases.declare(dj, inst.Schema(args.schema), auto_increment=args.backend == "mysql")
    cases.fill(tables)
    scope = cases.scope(dj, np, pd, tables)
    results = cases.run(cases.QUERIES, scope)
    results.update(cases.run(cases.INSERTS, scope))
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
