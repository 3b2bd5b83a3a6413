# ruff: noqa: E501 -- golden SQL is compared whole
"""Golden SQL of the graph's plans, per adapter, compiled without a server: restrict and cascade
selects and counts, the delete statements, a trace, and a subset with referenced ancestors.

The rows these statements select are checked against the servers and the reference package by
the integration tests; these pin the text, so that a change to it is a visible decision.
"""

from __future__ import annotations

import networkx as nx
import pytest

from datajoint_core.adapters import get_adapter
from datajoint_core.condition import Fragment
from datajoint_core.graph.propagate import Mode, Seed, propagate
from datajoint_core.graph.sql import RestrictionSQL, SubsetSQL
from datajoint_core.graph.subset import Upstream, plan_subset


def lab(backend: str) -> tuple[nx.MultiDiGraph, dict[str, str]]:
    """subject <- session (-> [nullable] experimenter) <- trial, named as ``backend`` quotes."""
    adapter = get_adapter(backend)
    g = nx.MultiDiGraph()
    names = {
        t: adapter.full_name("lab", t) for t in ("subject", "experimenter", "session", "trial")
    }

    def table(t: str, key: list[str], other: tuple[str, ...] = ()) -> None:
        g.add_node(
            names[t], schema="lab", table=t, primary_key=tuple(key),
            attributes=(*key, *other), master=None,
        )  # fmt: skip

    def fk(parent: str, child: str, attr_map: dict[str, str]) -> None:
        primary = set(attr_map) <= set(g.nodes[names[child]]["primary_key"])
        g.add_edge(names[parent], names[child], attr_map=attr_map, aliased=False, primary=primary)

    table("subject", ["subject_id"], ("species",))
    table("experimenter", ["eid"])
    table("session", ["subject_id", "session_id"], ("eid", "day"))
    table("trial", ["subject_id", "session_id", "trial_id"])
    fk("subject", "session", {"subject_id": "subject_id"})
    fk("experimenter", "session", {"eid": "eid"})
    fk("session", "trial", {"subject_id": "subject_id", "session_id": "session_id"})
    return g, names


def compiled(backend: str, mode: Mode, table: str, column: str, value: object) -> RestrictionSQL:
    adapter = get_adapter(backend)
    g, names = lab(backend)
    node = names[table]
    seeds = {node: [Seed(0, frozenset({column}))]}
    sql = {0: Fragment(f"{adapter.quote(column)} = %s", (value,))}
    owners = {0: (node, frozenset({column}))}
    return RestrictionSQL(adapter, g, propagate(g, seeds, mode), sql, owners)


CASES = {
    ("mysql", "restrict select trial"): Fragment(
        "WITH _r0 AS (SELECT `subject_id` FROM `lab`.`subject` WHERE `species` = %s) SELECT `trial_id` FROM `lab`.`trial` WHERE `subject_id` IN (SELECT `subject_id` FROM _r0)",
        ("mouse",),
    ),
    ("mysql", "restrict count session"): Fragment(
        "WITH _r0 AS (SELECT `subject_id` FROM `lab`.`subject` WHERE `species` = %s) SELECT count(*) FROM `lab`.`session` WHERE `subject_id` IN (SELECT `subject_id` FROM _r0)",
        ("mouse",),
    ),
    ("mysql", "cascade count session"): Fragment(
        "WITH _r0 AS (SELECT `subject_id` FROM `lab`.`subject` WHERE `species` = %s) SELECT count(*) FROM `lab`.`session` WHERE `subject_id` IN (SELECT `subject_id` FROM _r0)",
        ("mouse",),
    ),
    ("mysql", "cascade delete trial"): [
        Fragment(
            "DELETE `lab`.`trial` FROM `lab`.`trial` JOIN (WITH _r0 AS (SELECT `subject_id` FROM `lab`.`subject` WHERE `species` = %s) SELECT DISTINCT `subject_id` AS `subject_id` FROM _r0) AS _keys USING (`subject_id`)",
            ("mouse",),
        )
    ],
    ("mysql", "trace select experimenter"): Fragment(
        "WITH _r0 AS (SELECT `subject_id`, `session_id`, `trial_id` FROM `lab`.`trial` WHERE `trial_id` = %s), _r1 AS (SELECT `subject_id`, `session_id`, `eid` FROM `lab`.`session` WHERE (`subject_id`, `session_id`) IN (SELECT `subject_id`, `session_id` FROM _r0)) SELECT `eid` FROM `lab`.`experimenter` WHERE `eid` IN (SELECT `eid` FROM _r1)",
        (3,),
    ),
    ("postgresql", "restrict select trial"): Fragment(
        'WITH _r0 AS (SELECT "subject_id" FROM "lab"."subject" WHERE "species" = %s) SELECT "trial_id" FROM "lab"."trial" WHERE "subject_id" IN (SELECT "subject_id" FROM _r0)',
        ("mouse",),
    ),
    ("postgresql", "restrict count session"): Fragment(
        'WITH _r0 AS (SELECT "subject_id" FROM "lab"."subject" WHERE "species" = %s) SELECT count(*) FROM "lab"."session" WHERE "subject_id" IN (SELECT "subject_id" FROM _r0)',
        ("mouse",),
    ),
    ("postgresql", "cascade count session"): Fragment(
        'WITH _r0 AS (SELECT "subject_id" FROM "lab"."subject" WHERE "species" = %s) SELECT count(*) FROM "lab"."session" WHERE "subject_id" IN (SELECT "subject_id" FROM _r0)',
        ("mouse",),
    ),
    ("postgresql", "cascade delete trial"): [
        Fragment(
            'WITH _r0 AS (SELECT "subject_id" FROM "lab"."subject" WHERE "species" = %s) DELETE FROM "lab"."trial" WHERE "subject_id" IN (SELECT "subject_id" FROM _r0)',
            ("mouse",),
        )
    ],
    ("postgresql", "trace select experimenter"): Fragment(
        'WITH _r0 AS (SELECT "subject_id", "session_id", "trial_id" FROM "lab"."trial" WHERE "trial_id" = %s), _r1 AS (SELECT "subject_id", "session_id", "eid" FROM "lab"."session" WHERE ("subject_id", "session_id") IN (SELECT "subject_id", "session_id" FROM _r0)) SELECT "eid" FROM "lab"."experimenter" WHERE "eid" IN (SELECT "eid" FROM _r1)',
        (3,),
    ),
}


def _compute(backend: str, label: str) -> object:
    kind, what, table = label.split()
    names = lab(backend)[1]
    if kind == "trace":
        return compiled(backend, Mode.TRACE, "trial", "trial_id", 3).select(names[table], ["eid"])
    mode = Mode.RESTRICT if kind == "restrict" else Mode.CASCADE
    sql = compiled(backend, mode, "subject", "species", "mouse")
    if what == "delete":
        return sql.delete_statements(names[table])
    return sql.select(names[table], ["trial_id"]) if what == "select" else sql.count(names[table])


@pytest.mark.parametrize(("backend", "label"), sorted(CASES))
def test_plan_sql(backend: str, label: str) -> None:
    assert _compute(backend, label) == CASES[(backend, label)]


SUBSET = {
    ("mysql", "statuses"): [
        ("`lab`.`experimenter`", "referenced"),
        ("`lab`.`subject`", "referenced"),
        ("`lab`.`session`", "restricted"),
        ("`lab`.`trial`", "restricted"),
    ],
    ("mysql", "subject"): Fragment(
        "WITH _r0 AS (SELECT `subject_id`, `session_id`, `eid` FROM `lab`.`session` WHERE `day` > %s) SELECT `subject_id`, `species` FROM `lab`.`subject` WHERE `subject_id` IN (SELECT `subject_id` FROM _r0) ORDER BY `subject_id`",
        ("2024-01-01",),
    ),
    ("mysql", "experimenter"): Fragment(
        "WITH _r0 AS (SELECT `subject_id`, `session_id`, `eid` FROM `lab`.`session` WHERE `day` > %s) SELECT count(*) FROM `lab`.`experimenter` WHERE `eid` IN (SELECT `eid` FROM _r0)",
        ("2024-01-01",),
    ),
    ("postgresql", "statuses"): [
        ('"lab"."experimenter"', "referenced"),
        ('"lab"."subject"', "referenced"),
        ('"lab"."session"', "restricted"),
        ('"lab"."trial"', "restricted"),
    ],
    ("postgresql", "subject"): Fragment(
        'WITH _r0 AS (SELECT "subject_id", "session_id", "eid" FROM "lab"."session" WHERE "day" > %s) SELECT "subject_id", "species" FROM "lab"."subject" WHERE "subject_id" IN (SELECT "subject_id" FROM _r0) ORDER BY "subject_id"',
        ("2024-01-01",),
    ),
    ("postgresql", "experimenter"): Fragment(
        'WITH _r0 AS (SELECT "subject_id", "session_id", "eid" FROM "lab"."session" WHERE "day" > %s) SELECT count(*) FROM "lab"."experimenter" WHERE "eid" IN (SELECT "eid" FROM _r0)',
        ("2024-01-01",),
    ),
}


@pytest.mark.parametrize("backend", ["mysql", "postgresql"])
def test_subset_with_referenced_ancestors(backend: str) -> None:
    """Sessions after a day: their subjects and experimenters are the rows they reference."""
    adapter = get_adapter(backend)
    g, names = lab(backend)
    day = Seed(0, frozenset({"day"}))
    propagation = propagate(g, {names["session"]: [day]}, Mode.RESTRICT)
    plan = plan_subset(g, propagation, list(g), upstream=Upstream.REFERENCED)
    assert plan.propagation is not None
    seeds = {0: Fragment(f"{adapter.quote('day')} > %s", ("2024-01-01",))}
    owners = {0: (names["session"], frozenset({"day"}))}
    sql = SubsetSQL(plan, adapter, g, RestrictionSQL(adapter, g, plan.propagation, seeds, owners))
    assert [(t.node, t.status.value) for t in plan.tables] == SUBSET[(backend, "statuses")]
    assert sql.select(names["subject"], ["subject_id", "species"]) == SUBSET[(backend, "subject")]
    assert sql.count(names["experimenter"]) == SUBSET[(backend, "experimenter")]
