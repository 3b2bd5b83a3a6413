"""Golden SQL: expressions compiled from a heading and an adapter, without a server.

Every operator of the algebra, on MySQL and PostgreSQL, as exact text; derived tables are
numbered afresh in every statement, so compiling an expression twice gives the same text.
The integration tests check what these statements return on real servers.
"""

from __future__ import annotations

from typing import Any

import pytest

import datajoint_core as dj
from datajoint_core.adapters import get_adapter
from datajoint_core.compile import CompileContext
from datajoint_core.expression import QueryExpression
from datajoint_core.heading import Attribute, Heading


def _heading(*specs: tuple[str, str, bool, str | None], nullable: tuple[str, ...] = ()) -> Heading:
    return Heading(
        tuple(
            Attribute(name=n, type=t, in_key=k, lineage=lin, nullable=n in nullable)
            for n, t, k, lin in specs
        ),
        lineage_available=True,
    )


SUBJECT = _heading(
    ("subject_id", "int32", True, "lab.subject.subject_id"), ("species", "varchar(32)", False, None)
)
SESSION = _heading(
    ("subject_id", "int32", True, "lab.subject.subject_id"),
    ("session_id", "int32", True, "lab.session.session_id"),
    ("session_date", "date", False, None),
)
OWNER = _heading(
    ("owner_id", "int32", True, "lab.owner.owner_id"),
    ("subject_id", "int32", False, "lab.subject.subject_id"),
    nullable=("subject_id",),
)


def tables(backend: str) -> dict[str, Any]:
    context = CompileContext(get_adapter(backend))
    full = context.adapter.full_name
    return {
        "subject": QueryExpression.over(context, full("lab", "subject"), SUBJECT),
        "session": QueryExpression.over(context, full("lab", "session"), SESSION),
        "owner": QueryExpression.over(context, full("lab", "owner"), OWNER),
    }


CASES = {
    "restrict by a dict": lambda t: t["subject"] & {"species": "mouse"},
    "restrict by a string": lambda t: t["session"] & "session_date > '2024-01-01'",
    "restrict by the seed's string": lambda t: t["session"] & 'session_date > "2024-01-01"',
    "restrict by an OR list": lambda t: t["subject"] & [{"subject_id": 1}, "species = 'rat'"],
    "semijoin": lambda t: t["subject"] & t["session"],
    "antijoin": lambda t: t["subject"] - (t["session"] & {"session_id": 1}),
    "semijoin on a nullable attribute": lambda t: t["subject"] - t["owner"],
    "join": lambda t: t["subject"] * t["session"],
    "join of a restriction": lambda t: (t["subject"] & {"species": "mouse"}) * t["session"],
    "proj": lambda t: t["session"].proj(day="session_date", next="session_id + 1"),
    "aggr": lambda t: t["subject"].aggr(t["session"], n="count(*)"),
    "aggr of matching rows": lambda t: t["subject"].aggr(
        t["session"], n="count(*)", exclude_nonmatching=True
    ),
    "union": lambda t: (
        (t["subject"] & {"subject_id": 1}).proj() + (t["subject"] & {"subject_id": 2}).proj()
    ),
    "U": lambda t: dj.U("species") & t["subject"],
    "U aggr": lambda t: dj.U("species").aggr(t["subject"], n="count(*)"),
    "top": lambda t: t["subject"] & dj.Top(2, "species DESC"),
    "restrict a join, then project": lambda t: (
        (t["subject"] * t["session"]) & "session_id = 2"
    ).proj("species"),
}

MYSQL = {
    "restrict by a dict": (
        "SELECT `subject_id`, `species` FROM `lab`.`subject` WHERE `species` = %s",
        ("mouse",),
    ),
    "restrict by a string": (
        "SELECT `subject_id`, `session_id`, `session_date` FROM `lab`.`session` "
        "WHERE (session_date > '2024-01-01')",
        (),
    ),
    "restrict by the seed's string": (
        "SELECT `subject_id`, `session_id`, `session_date` FROM `lab`.`session` "
        'WHERE (session_date > "2024-01-01")',
        (),
    ),
    "restrict by an OR list": (
        "SELECT `subject_id`, `species` FROM `lab`.`subject` "
        "WHERE (`subject_id` = %s) OR ((species = 'rat'))",
        (1,),
    ),
    "semijoin": (
        "SELECT `subject_id`, `species` FROM `lab`.`subject` "
        "WHERE `subject_id` IN (SELECT `subject_id` FROM `lab`.`session`)",
        (),
    ),
    "antijoin": (
        "SELECT `subject_id`, `species` FROM `lab`.`subject` WHERE NOT (`subject_id` IN "
        "(SELECT `subject_id` FROM `lab`.`session` WHERE `session_id` = %s))",
        (1,),
    ),
    "semijoin on a nullable attribute": (
        "SELECT `subject_id`, `species` FROM `lab`.`subject` WHERE NOT (`subject_id` IS NOT NULL "
        "AND `subject_id` IN (SELECT * FROM (SELECT `subject_id` FROM `lab`.`owner`) AS _n0 "
        "WHERE `subject_id` IS NOT NULL))",
        (),
    ),
    "join": (
        "SELECT `subject_id`, `session_id`, `session_date`, `species` "
        "FROM `lab`.`subject` JOIN `lab`.`session` USING (`subject_id`)",
        (),
    ),
    "join of a restriction": (
        "SELECT `subject_id`, `session_id`, `session_date`, `species` FROM (SELECT `subject_id`, "
        "`species` FROM `lab`.`subject` WHERE `species` = %s) AS _j0 JOIN `lab`.`session` "
        "USING (`subject_id`)",
        ("mouse",),
    ),
    "proj": (
        "SELECT `subject_id`, `session_id`, `session_date` AS `day`, (session_id + 1) AS `next` "
        "FROM `lab`.`session`",
        (),
    ),
    "aggr": (
        "SELECT `subject_id`, `n` FROM (SELECT `subject_id`, (count(*)) AS `n` FROM "
        "(SELECT `subject_id`, `session_id`, `session_date` FROM (SELECT `subject_id` FROM "
        "`lab`.`subject`) AS _j2 LEFT JOIN `lab`.`session` USING (`subject_id`)) AS _g1 "
        "GROUP BY `subject_id`) AS _a0",
        (),
    ),
    "aggr of matching rows": (
        "SELECT `subject_id`, `n` FROM (SELECT `subject_id`, (count(*)) AS `n` FROM "
        "(SELECT `subject_id`, `session_id`, `session_date` FROM (SELECT `subject_id` FROM "
        "`lab`.`subject`) AS _j2 JOIN `lab`.`session` USING (`subject_id`)) AS _g1 "
        "GROUP BY `subject_id`) AS _a0",
        (),
    ),
    "union": (
        "SELECT `subject_id` FROM (SELECT `subject_id` FROM `lab`.`subject` WHERE "
        "`subject_id` = %s UNION SELECT `subject_id` FROM `lab`.`subject` WHERE "
        "`subject_id` = %s) AS _u0",
        (1, 2),
    ),
    "U": ("SELECT DISTINCT `species` FROM `lab`.`subject`", ()),
    "U aggr": (
        "SELECT `species`, `n` FROM (SELECT `species`, (count(*)) AS `n` FROM (SELECT "
        "`subject_id`, `species` FROM `lab`.`subject`) AS _g1 GROUP BY `species`) AS _a0",
        (),
    ),
    "top": (
        "SELECT `subject_id`, `species` FROM `lab`.`subject` ORDER BY `species` DESC LIMIT 2",
        (),
    ),
    "restrict a join, then project": (
        "SELECT `subject_id`, `session_id`, `species` FROM `lab`.`subject` JOIN `lab`.`session` "
        "USING (`subject_id`) WHERE (session_id = 2)",
        (),
    ),
}


def _postgres(sql: str) -> str:
    return sql.replace("`", '"')


POSTGRESQL = {name: (_postgres(sql), params) for name, (sql, params) in MYSQL.items()}
# the seed's double-quoted literal is MySQL: on PostgreSQL it is translated to a string
POSTGRESQL["restrict by the seed's string"] = (
    'SELECT "subject_id", "session_id", "session_date" FROM "lab"."session" '
    "WHERE (session_date > '2024-01-01')",
    (),
)


@pytest.mark.parametrize("backend", ["mysql", "postgresql"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_sql(backend: str, case: str) -> None:
    expected = (MYSQL if backend == "mysql" else POSTGRESQL)[case]
    expr = CASES[case](tables(backend))
    compiled = expr.make_sql()
    assert (compiled.sql, compiled.params) == expected
    assert expr.make_sql() == compiled  # aliases numbered per statement, not per process


def test_compile_context_refuses_to_run() -> None:
    subject = tables("postgresql")["subject"]
    with pytest.raises(dj.DataJointError, match="without a connection"):
        len(subject)
    with pytest.raises(dj.DataJointError, match="without a connection"):
        subject.to_dicts()


def test_an_adapter_alone_is_a_compile_context() -> None:
    adapter = get_adapter("mysql")
    subject = QueryExpression.over(adapter, "`lab`.`subject`", SUBJECT)
    session = QueryExpression.over(adapter, "`lab`.`session`", SESSION)
    assert (subject & session).make_sql().sql == MYSQL["semijoin"][0]
    assert subject.adapter is adapter


def test_expressions_of_two_adapters_do_not_combine() -> None:
    mine, theirs = tables("mysql"), tables("postgresql")
    with pytest.raises(dj.DataJointError, match="different connections"):
        mine["subject"] * theirs["session"]
