"""The raw readers ``bench.export`` compares ``subset run`` with, each run as its own process:
``python -m bench.readers METHOD PLAN.json OUT_DIR`` reads every table of the plan and writes it
to ``OUT_DIR/<table>.parquet`` (zstd, as ``subset run`` does), then prints ``{"rows": N}``.

Methods (the plan's SQL, values already inlined):

- ``connectorx``: connectorx's Arrow stream (Rust, its own connections: outside any snapshot);
- ``mysqlclient -> pyarrow``: one consistent-snapshot transaction, mysqlclient's unbuffered
  cursor, each batch's columns built with ``pa.array`` (the in-snapshot reader of
  performance.md);
- ``mysqlclient rows``: the same cursor, rows dropped: the floor of any in-snapshot reader
  through the text protocol (no Arrow, no file); ``... (no ORDER BY)``: the same without the
  plan's ``ORDER BY <primary key>``, so the difference is what the sort costs;
- ``COPY -> parquet``: PostgreSQL ``COPY (SELECT ...) TO STDOUT`` in one REPEATABLE READ
  transaction, parsed by pyarrow's streaming CSV reader; ``COPY rows (no ORDER BY)`` /
  ``COPY rows``: the COPY stream parsed and dropped, with and without the sort.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

BATCH = 50_000
_ORDER = re.compile(r"\s+ORDER BY [^()]*$")


def without_order(sql: str) -> str:
    """The plan's query without its trailing ``ORDER BY <primary key>``."""
    return _ORDER.sub("", sql)


class _Sink:
    """Parquet files, one per table, the schema taken from the first batch."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.rows = 0

    def write(self, batches: Iterator[Any]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        writer = None
        try:
            for batch in batches:
                self.rows += batch.num_rows
                if self.path is None:
                    continue
                if writer is None:
                    writer = pq.ParquetWriter(self.path, batch.schema, compression="zstd")
                elif batch.schema != writer.schema:
                    batch = pa.Table.from_batches([batch]).cast(writer.schema)
                writer.write(batch)
        finally:
            if writer is not None:
                writer.close()


def _connectorx(plan: dict[str, Any], out: Path) -> int:
    import connectorx as cx

    server = plan["server"]
    if plan["backend"] == "mysql":
        url = f"mysql://{server['user']}@{server['host']}:{server['port']}/{plan['schema']}"
    else:
        url = f"postgresql://{server['user']}@{server['host']}:{server['port']}/postgres"
    rows = 0
    for table in plan["tables"]:
        sink = _Sink(out / f"{table['table']}.parquet")
        reader = cx.read_sql(url, table["sql"], return_type="arrow_stream", batch_size=BATCH)
        sink.write(iter(reader))
        rows += sink.rows
    return rows


def _mysqlclient(plan: dict[str, Any], out: Path, arrow: bool, ordered: bool) -> int:
    import MySQLdb
    import MySQLdb.cursors
    import pyarrow as pa

    server = plan["server"]
    conn = MySQLdb.connect(
        host=server["host"], port=server["port"], user=server["user"], password="",
        autocommit=True, charset="utf8mb4",
    )  # fmt: skip
    conn.query("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
    rows = 0
    for table in plan["tables"]:
        sql = table["sql"] if ordered else without_order(table["sql"])
        cursor = conn.cursor(MySQLdb.cursors.SSCursor)
        cursor.execute(sql)
        names = [d[0] for d in cursor.description]

        def batches(cursor: Any = cursor, names: list[str] = names) -> Iterator[Any]:
            while chunk := cursor.fetchmany(BATCH):
                if arrow:
                    yield pa.record_batch([pa.array(c) for c in zip(*chunk)], names=names)
                else:
                    yield pa.record_batch([pa.nulls(len(chunk))], names=["rows"])

        sink = _Sink(out / f"{table['table']}.parquet" if arrow else None)
        sink.write(batches())
        cursor.close()
        rows += sink.rows
    conn.query("ROLLBACK")
    return rows


def _copy(plan: dict[str, Any], out: Path, write: bool, ordered: bool) -> int:
    import psycopg2
    import pyarrow.csv as pacsv

    server = plan["server"]
    conn = psycopg2.connect(
        host=server["host"], port=server["port"], user=server["user"], dbname="postgres"
    )
    conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
    rows = 0
    for table in plan["tables"]:
        sql = table["sql"] if ordered else without_order(table["sql"])
        read_fd, write_fd = os.pipe()
        failure: list[BaseException] = []

        def produce(sql: str = sql, write_fd: int = write_fd, failure: list[Any] = failure) -> None:
            try:
                with os.fdopen(write_fd, "wb") as pipe, conn.cursor() as cursor:
                    cursor.copy_expert(f"COPY ({sql}) TO STDOUT (FORMAT csv, HEADER true)", pipe)
            except BaseException as err:  # reported below
                failure.append(err)

        thread = threading.Thread(target=produce)
        thread.start()
        sink = _Sink(out / f"{table['table']}.parquet" if write else None)
        with os.fdopen(read_fd, "rb") as source:
            options = pacsv.ReadOptions(block_size=4 << 20)
            sink.write(iter(pacsv.open_csv(source, read_options=options)))
        thread.join()
        if failure:
            raise failure[0]
        rows += sink.rows
    conn.rollback()
    return rows


def run(method: str, plan: dict[str, Any], out: Path) -> int:
    ordered = not method.endswith("(no ORDER BY)")
    name = method.removesuffix(" (no ORDER BY)")
    if name == "connectorx":
        return _connectorx(plan, out)
    if name in ("mysqlclient -> pyarrow", "mysqlclient rows"):
        return _mysqlclient(plan, out, arrow=name == "mysqlclient -> pyarrow", ordered=ordered)
    if name in ("COPY -> parquet", "COPY rows"):
        return _copy(plan, out, write=name == "COPY -> parquet", ordered=ordered)
    raise SystemExit(f"unknown method {method!r}")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: python -m bench.readers METHOD PLAN.json OUT_DIR")
    _, method_, plan_, out_ = sys.argv
    target = Path(out_)
    target.mkdir(parents=True, exist_ok=True)
    print(json.dumps({"rows": run(method_, json.loads(Path(plan_).read_text()), target)}))
