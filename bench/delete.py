"""Cascade delete of ~10 % of the rows next to hand-written leaf-first deletes (issue 4).

``(Subject & cond).delete(prompt=False)`` removes ~311k of the ~3.1M rows (Subject, Session,
Trial, Trial.Event). Every run happens inside a transaction that is rolled back afterwards, so the
data stays: the benchmark opens it with ``conn.start_transaction()``, the delete joins it, and
``conn.cancel_transaction()`` undoes it, outside the timing. Target: at most 1.2x the hand-written
deletes, on MariaDB too. The hand-written deletes, leaves first, restricted by Subject's keys:

- MariaDB: a multi-table ``DELETE t FROM t JOIN subject ...`` per table (performance.md: MariaDB
  runs ``DELETE ... WHERE k IN (SELECT ...)`` as a scan with a per-row subquery);
- PostgreSQL: ``DELETE FROM t WHERE k IN (SELECT ...)``, and ``DELETE ... USING`` for comparison.

The prototypes are the shapes datajoint_core could generate from its CTEs (graph/sql.py): the seed
table's restricted keys joined (MariaDB) or semijoined (PostgreSQL) to each table, leaves first.
The same two seeds as bench/preview.py (``key`` and ``secondary``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from .common import Result, compare, interleaved, median, plan, timed
from .data import Lab, connect, ensure_lab, tidy

TARGET = 1.2
OURS = "Table.delete()"


def handwritten(lab: Lab, condition: str, form: str) -> list[str]:
    """Leaf-first DELETE statements, each restricted by the keys of the restricted Subjects."""
    q = lab.connection.adapter.quote
    key = q("subject_id")
    subject = lab.Subject.full_table_name
    keys = f"SELECT {key} FROM {subject} WHERE {condition}"
    on_s = condition.replace(key, f"s.{key}")
    statements = []
    for table in (lab.Event, lab.Trial, lab.Session):
        name = table.full_table_name
        statements.append(
            {
                # no alias on the target: MariaDB then wants a default database (error 1046)
                "join": f"DELETE {name} FROM {name} JOIN {subject} AS s ON {name}.{key} = s.{key} "
                f"WHERE {on_s}",
                "derived": f"DELETE {name} FROM {name} JOIN ({keys}) AS _r0 USING ({key})",
                "in": f"DELETE FROM {name} WHERE {key} IN ({keys})",
                "cte": f"WITH _r0 AS ({keys}) "
                f"DELETE FROM {name} WHERE {key} IN (SELECT {key} FROM _r0)",
                "using": f"DELETE FROM {name} AS c USING {subject} AS s WHERE c.{key} = s.{key} "
                f"AND {on_s}",
            }[form]
        )
    statements.append(f"DELETE FROM {subject} WHERE {condition}")
    return statements


def methods(lab: Lab, subset: str) -> dict[str, Callable[[], int]]:
    restriction, condition = lab.subsets()[subset]
    conn = lab.connection

    def ours() -> int:
        return int((lab.Subject & restriction).delete(prompt=False))

    def run_all(statements: list[str]) -> int:
        return sum(conn.execute(sql) for sql in statements)

    if lab.backend == "postgresql":
        forms = {
            "hand-written DELETE ... IN (SELECT)": "in",
            "hand-written DELETE ... USING": "using",
            "prototype: WITH _r0 DELETE ... IN (SELECT FROM _r0)": "cte",
        }
    else:
        forms = {
            "hand-written multi-table DELETE ... JOIN": "join",
            "prototype: DELETE t FROM t JOIN (<_r0 body>) USING (k)": "derived",
        }
    found: dict[str, Callable[[], int]] = {OURS: ours}
    for label, form in forms.items():
        statements = handwritten(lab, condition, form)
        found[label] = lambda s=statements: run_all(s)  # type: ignore[misc]
    return found


def _in_rolled_back_transaction(lab: Lab, fn: Callable[[], Any]) -> Any:
    conn = lab.connection
    conn.start_transaction()
    try:
        return fn()
    finally:
        conn.cancel_transaction()


def run(backend: str, scale: float = 1.0, repeats: int = 5) -> list[Result]:
    lab = ensure_lab(connect(backend), scale)
    conn = lab.connection
    results: list[Result] = []
    try:
        for subset in lab.subsets():
            found = methods(lab, subset)
            answers = {n: _in_rolled_back_transaction(lab, fn) for n, fn in found.items()}
            tidy(lab)

            def begin() -> None:
                tidy(lab)
                conn.start_transaction()

            samples = interleaved(found, repeats, setup=begin, teardown=conn.cancel_transaction)
            hand = [n for n in samples if n.startswith("hand-written")]
            fastest = min(hand, key=lambda n: median(samples[n]))
            note = (
                f"hand-written: {answers[hand[0]]:,} rows in 4 tables; delete() returned "
                f"{answers[OURS]:,} (Subject rows); every run rolled back, rollback not timed"
            )
            labelled = {f"{subset}: {name}": values for name, values in samples.items()}
            results += compare(
                "delete",
                backend,
                labelled,
                f"{subset}: {OURS}",
                f"{subset}: {fastest}",
                target=TARGET,
                note=note,
            )
    finally:
        if conn.in_transaction:
            conn.cancel_transaction()
        tidy(lab)
    return results


# -- diagnosis -----------------------------------------------------------------------------------


class _Statements(logging.Handler):
    """Collects (seconds, rows, sql) of every statement datajoint_core logs."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seen: list[tuple[float, int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        seconds, rows, sql = record.args  # type: ignore[misc]
        self.seen.append((float(seconds), int(rows), str(sql)))  # type: ignore[arg-type]


def _kind(sql: str) -> str:
    if "information_schema" in sql or "pg_catalog" in sql or "pg_constraint" in sql:
        return "catalog"
    if sql.startswith("DELETE"):
        return "DELETE " + sql.split()[1 if "FROM" not in sql.split()[1] else 2]
    if "NOT IN" in sql:
        return "part-integrity check"
    if "count(*)" in sql:
        return "COUNT (preview)"
    return "other"


def breakdown(backend: str, scale: float = 1.0) -> str:
    """Where ``delete()`` spends its time, statement by statement, for each seed."""
    lab = ensure_lab(connect(backend), scale)
    logger = logging.getLogger("datajoint_core.sql")
    out = []
    for subset, (restriction, condition) in lab.subsets().items():
        handler = _Statements()
        level, propagate = logger.level, logger.propagate
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        logger.propagate = False  # collected here, not printed
        seed = lab.Subject & restriction
        try:
            total = timed(
                partial(_in_rolled_back_transaction, lab, partial(seed.delete, prompt=False))
            )
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)
            logger.propagate = propagate
            tidy(lab)
        lines = [f"[{backend} / {subset}] delete() and rollback: {total:.2f} s"]
        for seconds, rows, sql in handler.seen:
            short = sql if len(sql) < 240 else sql[:237] + "..."
            lines.append(f"  {seconds:7.3f} s {rows:>8} rows  {_kind(sql):28} {short}")
        ours = next(sql for _, _, sql in handler.seen if sql.startswith("DELETE"))
        hand = handwritten(lab, condition, "join" if backend == "mysql" else "in")[0]
        for label, sql in (("ours", ours), ("hand-written", hand)):
            lines.append(f"  EXPLAIN, {label}: {sql}\n{plan(lab.connection, sql, analyze=False)}")
        out.append("\n".join(lines))
    return "\n\n".join(out)
