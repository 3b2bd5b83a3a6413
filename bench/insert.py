"""``Table.insert`` of 100,000 rows next to the backend's bulk path, in the same run (issue 3).

The rows start as Python dicts in every method, so the bulk paths pay for writing their CSV:

- ``Table.insert``: datajoint_core, the path under test;
- ``executemany`` / ``execute_values``: the driver's own multi-row INSERT, no validation;
- ``LOAD DATA LOCAL INFILE`` (MySQL) / ``COPY FROM STDIN`` (PostgreSQL): the bulk path.

Issue 3 sets no target for insert; performance.md measured the bulk paths at 3.2-3.5x the driver's
multi-row INSERT and the reference package's insert at 8-13x slower than the bulk path.
"""

from __future__ import annotations

import csv
import datetime
import io
import os
import tempfile
from collections.abc import Callable
from typing import Any

import datajoint_core as dj

from .common import Result, interleaved, median
from .data import connect

ROWS = 100_000
COLUMNS = ("reading_id", "subject_id", "value", "label", "recorded")


def declare_scratch(instance: dj.Instance) -> Any:
    schema = instance.Schema("bench_scratch")

    @schema
    class Reading(dj.Manual):
        definition = """
        reading_id : int32
        ---
        subject_id : int32
        value : float64
        label : varchar(32)
        recorded : date
        """

    return Reading


def make_rows(n: int) -> list[dict[str, Any]]:
    start = datetime.date(2024, 1, 1)
    labels = ("baseline", "stimulus", "recovery")
    return [
        {
            "reading_id": i,
            "subject_id": i % 10_000,
            "value": i * 0.001,
            "label": labels[i % 3],
            "recorded": start + datetime.timedelta(days=i % 365),
        }
        for i in range(n)
    ]


def _csv(rows: list[dict[str, Any]], delimiter: str) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerows([r[c] for c in COLUMNS] for r in rows)
    return buffer.getvalue()


def _methods(table: Any, rows: list[dict[str, Any]]) -> dict[str, Callable[[], object]]:
    conn = table.connection
    raw = conn._raw
    name = table.full_table_name
    cols = ", ".join(conn.adapter.quote(c) for c in COLUMNS)
    tuples = lambda: [tuple(r[c] for c in COLUMNS) for r in rows]  # noqa: E731

    def ours() -> None:
        table.insert(rows)

    if conn.backend == "postgresql":
        import psycopg2.extras

        def driver() -> None:
            with raw.cursor() as cursor:
                psycopg2.extras.execute_values(
                    cursor, f"INSERT INTO {name} ({cols}) VALUES %s", tuples(), page_size=1000
                )

        def bulk() -> None:
            with raw.cursor() as cursor:
                cursor.copy_expert(
                    f"COPY {name} ({cols}) FROM STDIN (FORMAT csv)", io.StringIO(_csv(rows, ","))
                )

        return {"Table.insert": ours, "execute_values": driver, "COPY FROM STDIN": bulk}

    marks = ", ".join(["%s"] * len(COLUMNS))

    def mysql_driver() -> None:
        with raw.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {name} ({cols}) VALUES ({marks})", tuples())

    def load_data() -> None:
        with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False) as handle:
            handle.write(_csv(rows, "\t"))
        try:
            with raw.cursor() as cursor:
                cursor.execute(
                    f"LOAD DATA LOCAL INFILE %s INTO TABLE {name} "
                    f"FIELDS TERMINATED BY '\\t' ({cols})",
                    (handle.name,),
                )
        finally:
            os.unlink(handle.name)

    return {"Table.insert": ours, "executemany": mysql_driver, "LOAD DATA LOCAL INFILE": load_data}


def run(backend: str, scale: float = 1.0, repeats: int = 5) -> list[Result]:
    """Rows per second of each method (``scale`` sizes the row count)."""
    n = max(1000, round(ROWS * scale))
    table = declare_scratch(connect(backend))
    rows = make_rows(n)
    empty = lambda: table.connection.execute(f"TRUNCATE TABLE {table.full_table_name}")  # noqa: E731
    methods = _methods(table, rows)
    samples = interleaved(methods, repeats, setup=empty)
    empty()
    bulk = list(methods)[-1]
    results = []
    for method, seconds in samples.items():
        rate = [n / s for s in seconds]
        result = Result(
            "insert", backend, f"{method} {n // 1000}k rows", median(rate), "rows/s", rate
        )
        if method != bulk:
            result.baseline = bulk
            result.ratio = median(samples[method]) / median(samples[bulk])  # time ratio
        results.append(result)
    results[0].note = "ratio is time / bulk path's time; issue 3 sets no target (report only)"
    return results
