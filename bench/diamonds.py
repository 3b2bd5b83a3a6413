"""COUNT through chains of diamonds: where MariaDB's optimizer blows up on graph/sql.py's CTEs.

D0 -> (L0, R0) -> D1 -> (L1, R1) -> D2 -> ... over secondary foreign keys (the shape of
tests/integration/test_diagram_cases.py::test_sql_grows_linearly_through_diamonds), a few rows
per table. ``_r3`` (D1's keys) is referenced by both ``_r4`` and ``_r5``; MariaDB merges every
CTE reference into its semi-join nest, so the tables it must order double with each diamond and
the join-order search runs for minutes at depth 3 (state "Statistics"). ``SELECT DISTINCT`` in
each CTE body makes it unmergeable, so it is materialized once and the search stays small.

Each COUNT runs under a server-side time limit; the DISTINCT prototype is the same SQL text with
every CTE made ``SELECT DISTINCT``. Not part of ``all``: ``python -m bench
diamonds``.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Any

import datajoint_core as dj
from datajoint_core.errors import QueryError

from .common import Result, median, timed
from .data import connect

DEPTHS = range(1, 7)
LIMIT_S = 10


def declare_diamonds(instance: dj.Instance, depth: int) -> dict[str, Any]:
    schema = instance.Schema("bench_diamonds")
    context: dict[str, Any] = {}
    specs = [("D0", "d0 : int32\n---\nv : int32")]
    for i in range(depth):
        specs.append((f"L{i}", f"l{i} : int32\n---\n-> D{i}"))
        specs.append((f"R{i}", f"r{i} : int32\n---\n-> D{i}"))
        specs.append((f"D{i + 1}", f"d{i + 1} : int32\n---\n-> L{i}\n-> R{i}"))
    for name, definition in specs:
        cls = type(name, (dj.Manual,), {"definition": definition})
        context[name] = schema(cls, context=context)
    if not len(context["D0"]()):
        context["D0"].insert([(1, 1), (2, 0)])
        for i in range(depth):
            context[f"L{i}"].insert([(1, 1), (2, 2)])
            context[f"R{i}"].insert([(1, 1), (2, 2)])
            context[f"D{i + 1}"].insert([(1, 1, 1), (2, 2, 2), (3, 1, 2)])
    return {"schema": schema, **context}


def _limit_sql(conn: dj.Connection, seconds: int) -> str:
    if conn.backend == "postgresql":
        return f"SET statement_timeout = '{seconds}s'"
    return f"SET SESSION max_statement_time = {seconds}"


def _measure(conn: dj.Connection, sql: str, params: tuple[Any, ...], repeats: int) -> list[float]:
    return [timed(partial(conn.fetchall, sql, params)) for _ in range(repeats)]


def run(backend: str, scale: float = 1.0, repeats: int = 3) -> list[Result]:
    """Seconds of the COUNT of D<depth>, as generated and with DISTINCT CTEs (scale unused)."""
    tables = declare_diamonds(connect(backend), max(DEPTHS))
    conn = tables["schema"].connection
    sql = dj.Diagram(tables["schema"]).restrict(tables["D0"] & {"v": 1}).sql()
    results: list[Result] = []
    timed_out: set[str] = set()
    conn.execute(_limit_sql(conn, LIMIT_S))
    try:
        for depth in DEPTHS:
            count = sql.count(tables[f"D{depth}"].full_table_name)
            distinct = re.sub(r" AS \(SELECT (?!DISTINCT )", " AS (SELECT DISTINCT ", count.sql)
            for form, text in (("as generated", count.sql), ("DISTINCT CTEs", distinct)):
                result = Result("diamonds", backend, f"depth {depth}: {form}", float("nan"), "s")
                results.append(result)
                if form in timed_out:
                    result.note = "skipped: a shallower depth hit the time limit"
                    continue
                try:
                    result.samples = _measure(conn, text, count.params, repeats)
                except QueryError as err:
                    timed_out.add(form)
                    result.median = float(LIMIT_S)
                    result.note = f"stopped by the {LIMIT_S} s limit: {str(err)[:60]}"
                    continue
                result.median = median(result.samples)
    finally:
        conn.execute(_limit_sql(conn, 0))
    return results
