"""``Diagram.restrict(...).preview()`` next to hand-written optimal COUNT queries (issue 4).

On the ~3.1M-row pipeline, Subject is restricted to ~10 % of its rows and every restricted table
is counted. Target: at most 1.5x the hand-written counts, which are (performance.md) one COUNT per
table, each restricted by the keys of its deepest restricted ancestor (here Subject, whose key
every descendant carries) through a semijoin or a join. Two seeds, because they take different
paths through ``datajoint_core/graph/sql.py``:

- ``key``: ``MOD(subject_id, 10) = 0``, on an attribute every descendant inherits, so the
  propagation copies the condition itself down to each descendant;
- ``secondary``: ``date_of_birth < ...``, which only Subject has, so descendants get
  ``subject_id IN (SELECT subject_id FROM _r0)`` against Subject's CTE.

The prototype ``CTE semijoin to seed`` is the secondary seed's SQL shape applied to the key seed:
what sql.py would emit if copied seed conditions became semijoins on the seed table's key. The
``DISTINCT CTE`` prototype checks that making CTEs unmergeable on MariaDB (the cure for chains of
diamonds, see bench/diamonds.py) costs nothing here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import datajoint_core as dj

from .common import Result, compare, interleaved, median, plan
from .data import Lab, connect, ensure_lab

TARGET = 1.5
OURS = "Diagram.restrict().preview()"


def _counted(lab: Lab) -> list[Any]:
    """The tables the restriction of Subject reaches, parents first."""
    return [lab.Subject, lab.Session, lab.Trial, lab.Event]


def handwritten(lab: Lab, condition: str, form: str) -> list[str]:
    """One COUNT per table; descendants restricted by Subject's keys (``form``: semijoin, join,
    cte: the semijoin written as datajoint_core writes its restrictions, or cte distinct: the
    same with ``SELECT DISTINCT`` in the CTE, which MariaDB materializes instead of merging)."""
    q = lab.connection.adapter.quote
    key = q("subject_id")
    subject = lab.Subject.full_table_name
    keys = f"SELECT {key} FROM {subject} WHERE {condition}"
    statements = [f"SELECT count(*) FROM {subject} WHERE {condition}"]
    for table in _counted(lab)[1:]:
        name = table.full_table_name
        statements.append(
            {
                "semijoin": f"SELECT count(*) FROM {name} WHERE {key} IN ({keys})",
                "join": f"SELECT count(*) FROM {name} AS c JOIN ({keys}) AS r USING ({key})",
                "cte": f"WITH _r0 AS ({keys}) "
                f"SELECT count(*) FROM {name} WHERE {key} IN (SELECT {key} FROM _r0)",
                "cte distinct": f"WITH _r0 AS (SELECT DISTINCT {keys[7:]}) "
                f"SELECT count(*) FROM {name} WHERE {key} IN (SELECT {key} FROM _r0)",
            }[form]
        )
    return statements


def _count_all(conn: dj.Connection, statements: list[str]) -> list[int]:
    return [int(conn.fetchall(sql)[0][0]) for sql in statements]


def methods(lab: Lab, subset: str) -> dict[str, Callable[[], list[int]]]:
    restriction, condition = lab.subsets()[subset]
    conn = lab.connection
    built = dj.Diagram(lab.schema)
    names = [t.full_table_name for t in _counted(lab)]

    def ours() -> list[int]:
        counts = dj.Diagram(lab.schema).restrict(lab.Subject & restriction).preview()
        return [counts.get(n, -1) for n in names]

    def ours_prebuilt() -> list[int]:
        counts = built.restrict(lab.Subject & restriction).preview()
        return [counts.get(n, -1) for n in names]

    found: dict[str, Callable[[], list[int]]] = {
        OURS: ours,
        "preview() on a built Diagram": ours_prebuilt,
    }
    forms = {"hand-written semijoin": "semijoin", "hand-written join": "join"}
    if subset == "key":
        forms["prototype: CTE semijoin to seed"] = "cte"
    forms["prototype: DISTINCT CTE semijoin to seed"] = "cte distinct"
    for label, form in forms.items():
        statements = handwritten(lab, condition, form)
        found[label] = lambda s=statements: _count_all(conn, s)  # type: ignore[misc]
    return found


def run(backend: str, scale: float = 1.0, repeats: int = 5) -> list[Result]:
    lab = ensure_lab(connect(backend), scale)
    results: list[Result] = []
    for subset in lab.subsets():
        found = methods(lab, subset)
        answers = {name: fn() for name, fn in found.items()}  # warm-up, and a correctness check
        wrong = [n for n, a in answers.items() if a != answers["hand-written semijoin"]]
        samples = interleaved(found, repeats)
        hand = [n for n in samples if n.startswith("hand-written")]
        fastest = min(hand, key=lambda n: median(samples[n]))
        rows = sum(answers["hand-written semijoin"])
        note = f"{rows:,} rows in {len(answers[OURS])} tables"
        if wrong:
            note += f"; COUNTS DIFFER from hand-written: {wrong} {[answers[n] for n in wrong]}"
        labelled = {f"{subset}: {name}": values for name, values in samples.items()}
        results += compare(
            "preview",
            backend,
            labelled,
            f"{subset}: {OURS}",
            f"{subset}: {fastest}",
            target=TARGET,
            note=note,
        )
    return results


# -- diagnosis -----------------------------------------------------------------------------------


def explain(backend: str, scale: float = 1.0) -> str:
    """Plans of our COUNT and the hand-written one for the largest table, per seed."""
    lab = ensure_lab(connect(backend), scale)
    conn = lab.connection
    event = lab.Event.full_table_name
    out = []
    for subset, (restriction, condition) in lab.subsets().items():
        diagram = dj.Diagram(lab.schema).restrict(lab.Subject & restriction)
        ours = diagram.sql().count(event)
        hand = handwritten(lab, condition, "semijoin")[-1]
        out.append(
            f"[{backend} / {subset}] ours:\n    {ours.sql}\n{plan(conn, ours.sql, ours.params)}"
        )
        out.append(f"[{backend} / {subset}] hand-written semijoin:\n    {hand}\n{plan(conn, hand)}")
    return "\n\n".join(out)
