#!/usr/bin/env python3
"""Run ONLY by the reference ``datajoint``'s interpreter (its own venv, with pyarrow added by
``bench.export``): the subset of the bench lab the way a user of the reference would write it,
each table restricted to the kept subjects (a semijoin with ``Subject & where``) and fetched with
``to_arrow()``, written to Parquet.

    python bench/reference_export.py PLAN.json OUT_DIR       # prints {"rows": N}
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("DJ_IGNORE_CONFIG_FILE", "true")
import datajoint as dj
import pyarrow.parquet as pq


def main(plan_path: str, out: str) -> int:
    plan = json.loads(Path(plan_path).read_text())
    server = plan["server"]
    inst = dj.Instance(
        host=server["host"],
        port=server["port"],
        user=server["user"],
        password="",
        backend=plan["backend"],
        use_tls=False,
    )
    conn = inst.connection
    rows = 0
    Path(out).mkdir(parents=True, exist_ok=True)
    subjects = dj.FreeTable(conn, plan["subject"]) & plan["where"]
    for table in plan["tables"]:
        free = dj.FreeTable(conn, table["full_name"])
        if table["keyed"]:
            free = free & subjects.proj()  # a semijoin on subject_id
        arrow = free.to_arrow()
        rows += arrow.num_rows
        pq.write_table(arrow, Path(out) / f"{table['table']}.parquet", compression="zstd")
    return rows


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    print(json.dumps({"rows": main(sys.argv[1], sys.argv[2])}))
