"""How to read a MySQL/MariaDB table into Arrow inside a transaction: the measurement behind the
MySQL adapter's driver and export path (issue 11), on 1M rows of 20 columns of every core type.

``python -m bench mysql_readers`` fills ``bench_readers.wide`` once (MariaDB's sequence engine),
runs every method in a fresh interpreter, in turns, and reports medians of wall time and peak RSS.
Every method but connectorx runs inside ``START TRANSACTION WITH CONSISTENT SNAPSHOT``.

- ``pymysql -> rows_to_batch``: the path before this work (typed rows, Python per value);
- ``mysqlclient -> rows_to_batch``: the same with the C driver;
- ``mysqlclient raw -> pa.array``: ``conv={}`` (bytes per value), ``pa.array`` per column: the
  Python objects per value remain (casts not even done);
- ``mysqlclient raw rows``: bytes per value, dropped: the floor of the text protocol;
- ``packed -> Arrow (mysqlclient|pymysql)``: ``Connection.stream_arrow``, one CSV line per row;
- ``connectorx``: the Rust reader on its own connection (no shared snapshot possible).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .common import Result, median
from .data import SERVERS

SCHEMA = "bench_readers"
ROWS = 1_000_000
METHODS = (
    "pymysql -> rows_to_batch",
    "mysqlclient -> rows_to_batch",
    "mysqlclient raw -> pa.array",
    "mysqlclient raw rows",
    "packed -> Arrow (mysqlclient)",
    "packed -> Arrow (pymysql)",
    "connectorx",
)
DEFINITION = """
id : int64
---
i8 = null : int8
i16 = null : int16
i32 = null : int32
u8 = null : uint8
u16 = null : uint16
u32 = null : uint32
u64 = null : uint64
f32 = null : float32
f64 = null : float64
flag = null : bool
amount = null : decimal(12,3)
code = null : char(4)
name = null : varchar(32)
day = null : date
moment = null : datetime(6)
tag = null : uuid
doc = null : json
mood = null : enum('happy','Sad')
raw = null : bytes
"""
# every column NULL on some rows; MOD spreads the values
FILL = """INSERT INTO {t} SELECT seq,
  IF(MOD(seq,11)=0,NULL,MOD(seq,127)), IF(MOD(seq,11)=1,NULL,MOD(seq,30000)),
  IF(MOD(seq,11)=2,NULL,seq*7), IF(MOD(seq,11)=3,NULL,MOD(seq,256)), MOD(seq,65536), seq*3,
  IF(MOD(seq,11)=4,NULL,18446744073709551615 - seq), seq/8, IF(MOD(seq,11)=5,NULL,seq/3),
  IF(MOD(seq,11)=6,NULL,MOD(seq,2)), IF(MOD(seq,11)=7,NULL,seq/1000),
  IF(MOD(seq,11)=8,NULL,IF(MOD(seq,3)=0,'ab',LPAD(MOD(seq,10000),4,'x'))),
  IF(MOD(seq,11)=9,NULL,CONCAT('name-',seq)),
  IF(MOD(seq,11)=10,NULL,DATE '2020-01-01' + INTERVAL MOD(seq,3000) DAY),
  IF(MOD(seq,13)=0,NULL,TIMESTAMP '2020-01-01 00:00:00' + INTERVAL seq*1234567 MICROSECOND),
  IF(MOD(seq,13)=1,NULL,UNHEX(MD5(seq))), IF(MOD(seq,13)=2,NULL,JSON_OBJECT('a',seq,'b',seq)),
  IF(MOD(seq,13)=3,NULL,ELT(1+MOD(seq,2),'happy','Sad')), IF(MOD(seq,13)=4,NULL,UNHEX(SHA1(seq)))
  FROM {schema}.seq_1_to_{n}"""


def _instance(driver: str | None = None) -> Any:
    import datajoint_core as dj

    if driver:
        os.environ["DJ_MYSQL_DRIVER"] = driver
    return dj.Instance(**SERVERS["mysql"], backend="mysql", safemode=False)


def _table(inst: Any) -> Any:
    import datajoint_core as dj

    schema = inst.Schema(SCHEMA)

    class Wide(dj.Manual):
        definition = DEFINITION

    schema(Wide)
    return Wide


def ensure_table() -> None:
    inst = _instance()
    wide = _table(inst)
    if len(wide) != ROWS:
        conn = inst.connection
        conn.execute(f"DELETE FROM {wide.full_table_name}")
        sql = FILL.format(t=wide.full_table_name, schema=conn.adapter.quote(SCHEMA), n=ROWS)
        conn.execute(conn.adapter.escape_percent(sql))
    inst.close()


def child(method: str) -> dict[str, Any]:
    import pyarrow as pa

    from datajoint_core.fetch import arrow_schema, rows_to_batch

    driver = "pymysql" if "pymysql" in method else "mysqlclient"
    inst = _instance(driver)
    wide = _table(inst)
    conn = inst.connection
    schema = arrow_schema(wide)
    columns = ", ".join(conn.adapter.quote(n) for n in schema.names)
    sql = f"SELECT {columns} FROM {wide.full_table_name} ORDER BY `id`"
    started = time.perf_counter()
    rows = 0
    if method == "connectorx":
        import connectorx as cx

        server = SERVERS["mysql"]
        url = f"mysql://{server['user']}@{server['host']}:{server['port']}/{SCHEMA}"
        for batch in cx.read_sql(url, sql, return_type="arrow_stream", batch_size=50_000):
            rows += batch.num_rows
    elif method.startswith("mysqlclient raw"):
        import MySQLdb

        raw = MySQLdb.connect(
            host="127.0.0.1", user="root", autocommit=True, conv={}, use_unicode=False
        )
        raw.query("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
        raw.query(sql)
        result = raw.use_result()
        while chunk := result.fetch_row(50_000):
            rows += len(chunk)
            if method.endswith("pa.array"):
                [pa.array(c, pa.binary()) for c in zip(*chunk)]
    else:
        with conn.snapshot():
            if method.startswith("packed"):
                batches = conn.stream_arrow(sql, (), schema, 50_000)
                assert batches is not None
                rows = sum(b.num_rows for b in batches)
            else:
                for chunk in conn.stream(sql, (), 50_000):
                    rows += rows_to_batch(chunk, wide, schema).num_rows
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"rows": rows, "seconds": seconds, "peak_mb": peak}


def run(backend: str, scale: float = 1.0, repeats: int = 3) -> list[Result]:
    if backend != "mysql":
        return []
    ensure_table()
    root = Path(__file__).resolve().parent.parent
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
    }
    samples: dict[str, list[dict[str, Any]]] = {m: [] for m in METHODS}
    for round_ in range(repeats):
        for method in METHODS if round_ % 2 == 0 else reversed(METHODS):
            done = subprocess.run(
                [sys.executable, "-m", "bench.mysql_readers", method],
                cwd=root, env=env, capture_output=True, text=True, check=False,
            )  # fmt: skip
            if done.returncode:
                raise RuntimeError(f"{method} failed:\n{done.stderr[-2000:]}")
            samples[method].append(json.loads(done.stdout.strip().splitlines()[-1]))
    results = []
    floor = median([r["seconds"] for r in samples["mysqlclient raw rows"]])
    for method, runs in samples.items():
        seconds = [r["seconds"] for r in runs]
        result = Result(
            "mysql_readers", backend, f"{method} (1M rows)", median(seconds), "s", seconds
        )
        result.baseline = "mysqlclient raw rows (1M rows)"
        result.ratio = result.median / floor
        peaks = [r["peak_mb"] for r in runs]
        result.note = f"peak RSS {median(peaks):.0f} MB"
        results.append(result)
    return results


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m bench.mysql_readers METHOD")
    print(json.dumps(child(sys.argv[1])))
