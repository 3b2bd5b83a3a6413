"""dj.Diagram on hand-made pipelines: propagation rules, convergence, sources, operators, order,
errors, and SQL that stays linear on deep, wide and diamond-shaped pipelines (both backends)."""

from __future__ import annotations

import itertools
import types
from typing import Any

import networkx as nx
import pytest

import datajoint_core as dj

from .builder import brute_force, declare, fetch_rows, node, selected_rows, short, sql_log
from .pipeline import declare_lab


def _schema(inst: dj.Instance, name: str) -> dj.Schema:
    return dj.Schema(name, connection=inst.connection)


def _check_brute(diagram: dj.Diagram, seeds: dict[str, list[Any]], cascade: bool) -> None:
    """preview() and the rows of sql().select() agree with a row-by-row computation."""
    graph = diagram.graph
    rows = fetch_rows(diagram.connection, graph, list(graph.nodes))
    expected = brute_force(graph, rows, seeds, cascade=cascade)
    shown = set(diagram.nodes_to_show)
    assert diagram.preview() == {n: len(r) for n, r in expected.items() if n in shown}
    for name, kept in expected.items():
        got = sorted(map(repr, selected_rows(diagram, name)))
        assert got == sorted(map(repr, kept)), name


# ---------------------------------------------------------------------------------------------
# a diamond


DIAMOND = [
    ("A", "a : int32\n---\nv : int32"),
    ("B", "-> A\nb : int32"),
    ("C", "-> A\nc : int32"),
    ("D", "-> B\n-> C\nd : int32"),
]


@pytest.fixture
def diamond(inst: dj.Instance, schema_name: str) -> dict[str, Any]:
    t = declare(_schema(inst, schema_name), DIAMOND)
    t["A"].insert([(1, 10), (2, 20)])
    t["B"].insert([(1, 1), (1, 2), (2, 1)])
    t["C"].insert([(1, 1), (2, 1), (2, 2)])
    t["D"].insert([(1, 1, 1, 1), (1, 2, 1, 1), (2, 1, 1, 1), (2, 1, 2, 1)])
    t["schema"] = _schema(inst, schema_name)
    return t


def test_diamond_restrict_and_cascade(diamond: dict[str, Any], inst: dj.Instance) -> None:
    conn = inst.connection
    d = dj.Diagram(diamond["schema"])
    r = d.restrict(diamond["A"] & {"a": 1})
    assert short(conn, r.preview()) == {"a": 1, "b": 2, "c": 1, "d": 2}
    r = d.restrict(diamond["B"] & {"b": 1}).restrict(diamond["C"] & {"c": 1})
    assert short(conn, r.preview()) == {"b": 2, "c": 2, "d": 2}
    c = d.cascade(diamond["A"] & {"a": 2})
    assert short(conn, c.preview()) == {"a": 1, "b": 1, "c": 2, "d": 2}
    c = d.cascade(diamond["B"] & {"b": 2})
    assert short(conn, c.preview()) == {"b": 1, "d": 1}


def test_diamond_seed_on_a_secondary_attribute(diamond: dict[str, Any]) -> None:
    d = dj.Diagram(diamond["schema"])
    a = node(diamond["A"])
    r = d.restrict(diamond["A"] & "v > 15")
    _check_brute(r, {a: [lambda row: row["v"] > 15]}, cascade=False)
    c = d.cascade(diamond["A"] & "v > 15")
    _check_brute(c, {a: [lambda row: row["v"] > 15]}, cascade=True)


def test_diamond_delete(diamond: dict[str, Any]) -> None:
    assert (diamond["A"] & {"a": 2}).delete(prompt=False) == 1
    assert [len(diamond[n]()) for n in "ABCD"] == [1, 2, 1, 2]


# ---------------------------------------------------------------------------------------------
# renamed foreign keys


RENAMED = [
    ("Person", "pid : int32\n---\nage : int32"),
    ("Pair", "-> Person.proj(first='pid')\n-> Person.proj(second='pid')"),
    ("Experiment", "exp : int32\n---\n-> Person.proj(owner='pid')"),
    ("Run", "-> Experiment\nrun : int32"),
]


@pytest.fixture
def renamed(inst: dj.Instance, schema_name: str) -> dict[str, Any]:
    t = declare(_schema(inst, schema_name), RENAMED)
    t["Person"].insert([(1, 30), (2, 40), (3, 50), (4, 60)])
    t["Pair"].insert([(1, 2), (2, 3), (3, 4), (4, 1), (1, 3)])
    t["Experiment"].insert([(1, 1), (2, 2), (3, 1)])
    t["Run"].insert([(1, 1), (1, 2), (2, 1), (3, 1)])
    t["schema"] = _schema(inst, schema_name)
    return t


def test_two_renamed_fks_and_in_restrict(renamed: dict[str, Any], inst: dj.Instance) -> None:
    d = dj.Diagram(renamed["schema"]).restrict(renamed["Person"] & "pid <= 2")
    counts = short(inst.connection, d.preview())
    assert counts["pair"] == 1  # only (1, 2) has both ends kept
    pair = node(renamed["Pair"])
    assert [(r["first"], r["second"]) for r in selected_rows(d, pair)] == [(1, 2)]


def test_two_renamed_fks_or_in_cascade(renamed: dict[str, Any], inst: dj.Instance) -> None:
    d = dj.Diagram(renamed["schema"]).cascade(renamed["Person"] & {"pid": 1})
    assert short(inst.connection, d.preview()) == {
        "person": 1,
        "pair": 3,
        "experiment": 2,
        "run": 3,
    }
    assert (renamed["Person"] & {"pid": 1}).delete(prompt=False) == 1
    assert sorted(renamed["Pair"].to_dicts(), key=repr) == [
        {"first": 2, "second": 3},
        {"first": 3, "second": 4},
    ]


def test_two_renamed_fks_share_one_cte(renamed: dict[str, Any]) -> None:
    d = dj.Diagram(renamed["schema"]).restrict(renamed["Person"] & "age > 35")
    sql = d.sql().count(node(renamed["Pair"])).sql
    person = node(renamed["Person"])
    assert sql.count(f"FROM {person}") == 1  # the restricted Person is computed once


def test_renamed_fk_as_secondary_attribute(renamed: dict[str, Any], inst: dj.Instance) -> None:
    d = dj.Diagram(renamed["schema"])
    r = d.restrict(renamed["Person"] & {"pid": 1})
    assert short(inst.connection, r.preview()) == {
        "person": 1,
        "pair": 0,
        "experiment": 2,
        "run": 3,
    }
    c = d.cascade(renamed["Person"] & {"pid": 2})
    assert short(inst.connection, c.preview()) == {
        "person": 1,
        "pair": 2,
        "experiment": 1,
        "run": 1,
    }
    person = node(renamed["Person"])
    _check_brute(
        d.restrict(renamed["Person"] & "age >= 40"), {person: [lambda r: r["age"] >= 40]}, False
    )


# ---------------------------------------------------------------------------------------------
# a restriction attribute that becomes secondary downstream


SECONDARY = [
    ("A", "a : int32"),
    ("C", "-> A\nc : int32"),
    ("D", "d : int32\n---\n-> C"),
    ("E", "-> D\ne : int32"),
]


def test_restriction_attribute_becomes_secondary(inst: dj.Instance, schema_name: str) -> None:
    conn = inst.connection
    schema = _schema(inst, schema_name)
    t = declare(schema, SECONDARY)
    t["A"].insert([(1,), (2,)])
    t["C"].insert([(1, 1), (1, 2), (2, 1)])
    t["D"].insert([(1, 1, 1), (2, 1, 2), (3, 2, 1), (4, 2, 1)])
    t["E"].insert([(1, 1), (2, 1), (3, 1), (4, 1), (4, 2)])
    d = dj.Diagram(schema)
    assert short(conn, d.restrict(t["A"] & {"a": 1}).preview()) == {"a": 1, "c": 2, "d": 2, "e": 2}
    assert short(conn, d.restrict(t["C"] & {"c": 1}).preview()) == {"c": 2, "d": 3, "e": 4}
    assert short(conn, d.cascade(t["A"] & {"a": 2}).preview()) == {"a": 1, "c": 1, "d": 2, "e": 3}
    a, c = node(t["A"]), node(t["C"])
    _check_brute(d.restrict(t["A"] & {"a": 1}), {a: [lambda r: r["a"] == 1]}, False)
    _check_brute(
        d.restrict(t["A"] & {"a": 1}).restrict(t["C"] & {"c": 2}),
        {a: [lambda r: r["a"] == 1], c: [lambda r: r["c"] == 2]},
        False,
    )


# ---------------------------------------------------------------------------------------------
# a nullable foreign key


NULLABLE = [
    ("Person", "pid : int32"),
    ("Note", "note : int32\n---\n-> [nullable] Person\ntext = null : varchar(16)"),
    ("Tag", "-> Note\ntag : int32"),
]


@pytest.fixture
def nullable(inst: dj.Instance, schema_name: str) -> dict[str, Any]:
    t = declare(_schema(inst, schema_name), NULLABLE)
    t["Person"].insert([(1,), (2,)])
    t["Note"].insert(
        [
            {"note": 1, "pid": 1},
            {"note": 2, "pid": 2},
            {"note": 3, "pid": None},
            {"note": 4},
        ]
    )
    t["Tag"].insert([(1, 1), (2, 1), (3, 1), (4, 1), (4, 2)])
    t["schema"] = _schema(inst, schema_name)
    return t


def test_nullable_fk_cascade_leaves_null_rows(nullable: dict[str, Any], inst: dj.Instance) -> None:
    d = dj.Diagram(nullable["schema"]).cascade(nullable["Person"] & {"pid": 1})
    assert short(inst.connection, d.preview()) == {"person": 1, "note": 1, "tag": 1}
    assert (nullable["Person"] & {"pid": 1}).delete(prompt=False) == 1
    assert sorted(r["note"] for r in nullable["Note"].to_dicts()) == [2, 3, 4]
    assert len(nullable["Tag"]()) == 4


def test_nullable_fk_restrict_excludes_null_rows(
    nullable: dict[str, Any], inst: dj.Instance
) -> None:
    """A row whose nullable foreign key to a restricted parent is NULL references no kept
    parent row, so it is left out (semantics.md §4, as the reference does)."""
    d = dj.Diagram(nullable["schema"]).restrict(nullable["Person"] & {"pid": 1})
    assert short(inst.connection, d.preview()) == {"person": 1, "note": 1, "tag": 1}
    notes = sorted(r["note"] for r in selected_rows(d, node(nullable["Note"])))
    assert notes == [1]
    person = node(nullable["Person"])
    _check_brute(d, {person: [lambda r: r["pid"] == 1]}, cascade=False)


# ---------------------------------------------------------------------------------------------
# restrict after prune, dj.Top seeds


def test_restrict_after_prune(inst: dj.Instance, schema_name: str) -> None:
    conn = inst.connection
    lab = declare_lab(conn, schema_name)
    d = dj.Diagram(lab["schema"]).restrict(lab["Subject"] & {"species": "rat"}).prune()
    assert short(conn, d.preview()) == {"subject": 1, "session": 1, "trial": 1, "trial__event": 1}
    assert "pairing" not in short(conn, {n: 0 for n in d.nodes_to_show})
    d2 = d.restrict(lab["Stimulus"] & {"kind": "audio"})
    # the pruned Pairing stays hidden; the new restriction flows through the kept tables
    assert short(conn, d2.preview()) == {
        "#stimulus": 1,
        "subject": 1,
        "session": 1,
        "trial": 0,
        "trial__event": 0,
    }
    assert short(conn, d2.prune().preview()) == {"#stimulus": 1, "subject": 1, "session": 1}
    empty = dj.Diagram(lab["schema"]).prune()  # no restrictions: drops physically empty tables
    assert len(empty) == 6
    (lab["Pairing"]()).delete_quick()
    assert len(dj.Diagram(lab["schema"]).prune()) == 5


def test_prune_then_restrict_through_a_pruned_table(inst: dj.Instance, schema_name: str) -> None:
    conn = inst.connection
    lab = declare_lab(conn, schema_name)
    d = dj.Diagram(lab["schema"]).restrict(lab["Session"] & {"subject_id": 2}).prune()
    assert short(conn, d.preview()) == {"session": 1, "trial": 1}
    d2 = d.restrict(lab["Subject"] & {"species": "mouse"})
    assert "trial__event" not in short(conn, d2.preview())  # pruned, still hidden
    assert short(conn, d2.preview())["trial"] == 1


def test_top_as_restrict_seed(inst: dj.Instance, schema_name: str) -> None:
    conn = inst.connection
    lab = declare_lab(conn, schema_name)
    d = dj.Diagram(lab["schema"]).restrict(lab["Session"] & dj.Top(2))
    assert short(conn, d.preview()) == {"session": 2, "trial": 3, "trial__event": 3}
    d = dj.Diagram(lab["schema"]).restrict(lab["Session"] & dj.Top(1, order_by="session_date DESC"))
    assert short(conn, d.preview()) == {"session": 1, "trial": 1, "trial__event": 1}
    d = d.restrict(lab["Subject"] & {"species": "mouse"})
    assert short(conn, d.preview())["session"] == 0
    # trial_id 2 first: (1, 1, 2), then (1, 1, 1), whose two events go with it
    c = dj.Diagram.cascade(lab["Trial"] & dj.Top(2, order_by=["trial_id DESC", "KEY"]))
    assert short(conn, c.preview()) == {"trial": 2, "trial__event": 2}


# ---------------------------------------------------------------------------------------------
# sources, operators, order


def test_diagram_sources(inst: dj.Instance, schema_name: str) -> None:
    conn = inst.connection
    lab = declare_lab(conn, schema_name)
    everything = {"subject", "session", "#stimulus", "trial", "trial__event", "pairing"}

    def names(d: dj.Diagram) -> set[str]:
        return {conn.adapter.split_full_name(n)[1] for n in d.nodes_to_show}

    assert names(dj.Diagram(lab["schema"])) == everything
    assert names(dj.Diagram(lab["Session"])) == {"session"}
    assert names(dj.Diagram(lab["Session"]())) == {"session"}
    assert names(dj.Diagram(lab["Trial"].Event)) == {"trial__event"}
    module = dj.VirtualModule("lab", schema_name, connection=conn)
    assert names(dj.Diagram(module)) == everything
    plain = types.ModuleType("plain")
    plain.Subject = lab["Subject"]  # type: ignore[attr-defined]
    plain.Trial = lab["Trial"]  # type: ignore[attr-defined]
    assert names(dj.Diagram(plain)) == {"subject", "trial"}
    assert names(dj.Diagram([lab["Subject"], lab["Session"]])) == {"subject", "session"}
    assert names(dj.Diagram([lab["schema"], lab["Session"]])) == everything
    with pytest.raises(dj.DataJointError):
        dj.Diagram(42)


def test_diagram_operators(inst: dj.Instance, schema_name: str) -> None:
    conn = inst.connection
    lab = declare_lab(conn, schema_name)

    def names(d: dj.Diagram) -> set[str]:
        return {conn.adapter.split_full_name(n)[1] for n in d.nodes_to_show}

    subject, session, trial = (dj.Diagram(lab[n]) for n in ("Subject", "Session", "Trial"))
    whole = dj.Diagram(lab["schema"])
    assert names(subject + session) == {"subject", "session"}
    assert names(subject + lab["Trial"]) == {"subject", "trial"}
    assert names(whole - session) == names(whole) - {"session"}
    assert names(whole - lab["Session"] - lab["Trial"]) == names(whole) - {"session", "trial"}
    assert names(whole * (subject + trial)) == {"subject", "trial"}
    assert names(subject + 1) == {"subject", "session", "pairing"}
    assert names(subject + 2) == {"subject", "session", "pairing", "trial"}
    assert names(subject + 3) == names(subject + 2) | {"trial__event"}
    assert names(trial - 1) == {"trial", "session", "#stimulus"}
    assert names(trial - 2) == {"trial", "session", "#stimulus", "subject"}
    assert names(subject + 0) == {"subject"}
    assert names(subject) == {"subject"}  # operators return new diagrams


def test_diagrams_of_two_connections_do_not_mix(
    server: Any, inst: dj.Instance, schema_name: str
) -> None:
    lab = declare_lab(inst.connection, schema_name)
    other = server.instance()
    try:
        theirs = dj.Diagram(dj.Schema(schema_name, connection=other.connection))
        for combine in (lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b):
            with pytest.raises(dj.DataJointError, match="connections"):
                combine(dj.Diagram(lab["schema"]), theirs)
        with pytest.raises(dj.DataJointError, match="connection"):
            theirs.restrict(lab["Subject"] & {"subject_id": 1})
    finally:
        other.close()


def test_cascade_accepts_a_table_class(inst: dj.Instance, schema_name: str) -> None:
    conn = inst.connection
    lab = declare_lab(conn, schema_name)
    expected = {"session": 4, "trial": 5, "trial__event": 4}
    assert short(conn, dj.Diagram.cascade(lab["Session"]).preview()) == expected
    assert short(conn, dj.Diagram(lab["schema"]).cascade(lab["Session"]).counts()) == expected
    with pytest.raises(ValueError, match="part_integrity must be"):  # as the reference
        dj.Diagram.cascade(lab["Session"], part_integrity="sometimes")
    with pytest.raises(dj.DataJointError, match="restrict the table"):
        dj.Diagram(lab["schema"]).restrict(lab["Session"] * lab["Subject"])


def test_iteration_is_topological_with_parts_after_their_master(
    inst: dj.Instance, schema_name: str
) -> None:
    conn = inst.connection
    schema = _schema(inst, schema_name)
    t = declare(schema, [("Master", "m : int32"), ("Other", "o : int32"), ("Late", "l : int32")])
    Other, Late = t["Other"], t["Late"]  # the definitions below name them

    @schema
    class Zmaster(dj.Manual):
        definition = """
        -> Late
        z : int32
        """

        class Alpha(dj.Part):
            definition = """
            -> master
            -> Other
            """

        class Beta(dj.Part):
            definition = """
            -> master
            beta : int32
            """

    assert Other is not None and Late is not None
    order = [_bare(conn, t.full_table_name) for t in dj.Diagram(schema)]
    assert len(order) == 6
    position = {n: i for i, n in enumerate(order)}
    for parent, child in dj.Diagram(schema).graph.edges():
        assert position[_bare(conn, parent)] < position[_bare(conn, child)]
    z = position["zmaster"]
    assert {order[z + 1], order[z + 2]} == {"zmaster__alpha", "zmaster__beta"}
    assert position["other"] < z  # a Part's other parent comes before its master
    names = [t.full_table_name for t in dj.Diagram(schema)]  # tables, as the reference iterates
    assert names == dj.Diagram(schema).topological_order()


def test_lab_order(inst: dj.Instance, schema_name: str) -> None:
    conn = inst.connection
    lab = declare_lab(conn, schema_name)
    order = [_bare(conn, t.full_table_name) for t in dj.Diagram(lab["schema"])]
    assert order.index("subject") < order.index("session") < order.index("trial")
    assert order[order.index("trial") + 1] == "trial__event"
    assert order.index("#stimulus") < order.index("trial")


def _bare(conn: dj.Connection, name: str) -> str:
    return conn.adapter.split_full_name(name)[1]


# ---------------------------------------------------------------------------------------------
# errors: a cycle, a schema that cannot be loaded


def test_cycle_is_a_clear_error(inst: dj.Instance, schema_name: str) -> None:
    conn = inst.connection
    schema = _schema(inst, schema_name)
    t = declare(schema, [("A", "a : int32"), ("B", "-> A\nb : int32")])
    q = conn.adapter.quote
    a, b = node(t["A"]), node(t["B"])
    conn.execute(
        f"ALTER TABLE {a} ADD COLUMN {q('ca')} integer NULL, ADD COLUMN {q('cb')} integer NULL"
    )
    conn.execute(
        f"ALTER TABLE {a} ADD CONSTRAINT {q('cyc')} FOREIGN KEY ({q('ca')}, {q('cb')}) "
        f"REFERENCES {b} ({q('a')}, {q('b')})"
    )
    conn.catalog.invalidate(schema_name)
    with pytest.raises(dj.DataJointError, match="cycle"):
        list(dj.Diagram(schema))
    with pytest.raises(dj.DataJointError, match="cycle"):
        dj.Diagram(schema).restrict(t["A"] & {"a": 1}).preview()
    with pytest.raises(dj.DataJointError, match="cycle"):
        (t["A"] & {"a": 1}).delete(prompt=False)


def test_unloadable_schema_says_activate(
    server: Any, inst: dj.Instance, schema_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A schema the catalog cannot show (as MySQL's information_schema hides a schema the user
    has no privilege on) gives "activate schema X", not a crash deep inside."""
    parent_schema, child_schema = schema_name, f"{schema_name}_child"
    conn = inst.connection
    up = declare(_schema(inst, parent_schema), [("Animal", "animal : int32")])
    down = dj.Schema(child_schema, context=up, connection=conn)
    declare(down, [("Visit", "-> Animal\nvisit : int32")])
    other = server.instance()
    try:
        adapter = other.connection.adapter
        original = adapter.read_catalog

        def hiding(run: Any, schemas: Any) -> Any:
            return original(run, [s for s in schemas if s != parent_schema])

        monkeypatch.setattr(adapter, "read_catalog", hiding)  # undone before the clean-up
        visible = dj.Schema(child_schema, connection=other.connection)
        with pytest.raises(dj.DataJointError, match=f"activate schema {parent_schema}"):
            dj.Diagram(visible)
        visit = other.FreeTable(f"{child_schema}.visit")
        with pytest.raises(dj.DataJointError, match=f"activate schema {parent_schema}"):
            (visit & {"visit": 1}).delete(prompt=False)
        with pytest.raises(dj.DataJointError, match=f"activate schema {parent_schema}"):
            visit.drop(prompt=False)
    finally:
        monkeypatch.undo()
        other.close()
        conn.execute(conn.adapter.drop_schema_sql(child_schema))


# ---------------------------------------------------------------------------------------------
# deep, wide, chains of diamonds; the cost of preview()


def _chain(levels: int) -> list[tuple[str, str]]:
    """T0 <- T1 <- ... alternating a primary and a secondary foreign key."""
    tables = [("T0", "k0 : int32\n---\nv : int32")]
    for i in range(1, levels):
        if i % 2:
            tables.append((f"T{i}", f"k{i} : int32\n---\n-> T{i - 1}\nv : int32"))
        else:
            tables.append((f"T{i}", f"-> T{i - 1}\nk{i} : int32\n---\nv : int32"))
    return tables


def _fill_chain(t: dict[str, Any], levels: int) -> None:
    parent_rows: list[dict[str, Any]] = [{"k0": i, "v": i % 2} for i in range(3)]
    t["T0"].insert(parent_rows)
    for i in range(1, levels):
        heading = t[f"T{i}"]().heading.names
        rows = []
        for j, parent in enumerate(parent_rows):
            for extra in range(2 if j < 2 else 1):
                row = {k: v for k, v in parent.items() if k in heading and k != "v"}
                row[f"k{i}"] = j * 2 + extra
                row["v"] = (j + extra) % 2
                rows.append(row)
        t[f"T{i}"].insert(rows)
        parent_rows = rows


def test_deep_pipeline(inst: dj.Instance, schema_name: str) -> None:
    levels = 12
    schema = _schema(inst, schema_name)
    t = declare(schema, _chain(levels))
    _fill_chain(t, levels)
    d = dj.Diagram(schema)
    top = node(t["T0"])
    r = d.restrict(t["T0"] & {"v": 1}).restrict(t["T5"] & {"v": 0})
    _check_brute(
        r, {top: [lambda row: row["v"] == 1], node(t["T5"]): [lambda row: row["v"] == 0]}, False
    )
    c = d.cascade(t["T0"] & {"v": 1})
    _check_brute(c, {top: [lambda row: row["v"] == 1]}, cascade=True)
    deepest = node(t[f"T{levels - 1}"])
    expected = c.preview()
    assert expected[deepest] > 0
    assert (t["T0"] & {"v": 1}).delete(prompt=False) == expected[top]
    assert len(t[f"T{levels - 1}"]()) == len(
        fetch_rows(inst.connection, d.graph, [deepest])[deepest]
    )


def test_wide_pipeline(inst: dj.Instance, schema_name: str) -> None:
    schema = _schema(inst, schema_name)
    parents = [(f"P{i}", f"p{i} : int32\n---\nv : int32") for i in range(5)]
    child = ("W", "\n".join(f"-> P{i}" for i in range(5)) + "\nw : int32")
    t = declare(schema, [*parents, child])
    for i in range(5):
        t[f"P{i}"].insert([(0, 0), (1, 1)])
    rows = [(*((n >> i) & 1 for i in range(5)), n) for n in range(32)]
    t["W"].insert(rows)
    d = dj.Diagram(schema)
    r = d
    seeds: dict[str, list[Any]] = {}
    for i in range(5):
        r = r.restrict(t[f"P{i}"] & {"v": 1})
        seeds[node(t[f"P{i}"])] = [lambda row: row["v"] == 1]
    assert r.preview()[node(t["W"])] == 1
    _check_brute(r, seeds, cascade=False)
    c = d.cascade(t["P3"] & {"v": 0})
    assert c.preview()[node(t["W"])] == 16
    assert (t["P3"] & {"v": 0}).delete(prompt=False) == 1
    assert len(t["W"]()) == 16


def _diamonds(n: int) -> list[tuple[str, str]]:
    """D0 -> (L0, R0) -> D1 -> ... over secondary foreign keys, so no restriction is copied."""
    tables = [("D0", "d0 : int32\n---\nv : int32")]
    for i in range(n):
        tables.append((f"L{i}", f"l{i} : int32\n---\n-> D{i}"))
        tables.append((f"R{i}", f"r{i} : int32\n---\n-> D{i}"))
        tables.append((f"D{i + 1}", f"d{i + 1} : int32\n---\n-> L{i}\n-> R{i}"))
    return tables


def test_sql_grows_linearly_through_diamonds(inst: dj.Instance, schema_name: str) -> None:
    n = 6
    schema = _schema(inst, schema_name)
    t = declare(schema, _diamonds(n))
    t["D0"].insert([(1, 1), (2, 0)])
    for i in range(n):
        t[f"L{i}"].insert([(1, 1), (2, 2)])
        t[f"R{i}"].insert([(1, 1), (2, 2)])
        t[f"D{i + 1}"].insert([(1, 1, 1), (2, 2, 2), (3, 1, 2)])
    for mode in ("restrict", "cascade"):
        d = getattr(dj.Diagram(schema), mode)(t["D0"] & {"v": 1})
        sql = d.sql()
        sizes = [len(sql.count(node(t[f"D{i}"])).sql) for i in range(1, n + 1)]
        steps = [b - a for a, b in itertools.pairwise(sizes)]
        assert max(steps) <= min(steps) * 1.2 + 20, (mode, sizes)
        counts = d.preview()
        assert counts[node(t[f"D{n}"])] == (1 if mode == "restrict" else 2)
    seeds = {node(t["D0"]): [lambda row: row["v"] == 1]}
    _check_brute(dj.Diagram(schema).restrict(t["D0"] & {"v": 1}), seeds, cascade=False)
    _check_brute(dj.Diagram(schema).cascade(t["D0"] & {"v": 1}), seeds, cascade=True)


def test_preview_costs_one_count_per_table(inst: dj.Instance, schema_name: str) -> None:
    conn = inst.connection
    lab = declare_lab(conn, schema_name)
    d = (
        dj.Diagram(lab["schema"])
        .restrict(lab["Subject"] & {"species": "mouse"})
        .restrict(lab["Session"] & "session_date < '2024-02-15'")
    )
    d.sql()
    with sql_log() as statements:
        counts = d.preview()
    assert len(statements) == len(counts) == 5
    assert all("count(*)" in s.lower() for s in statements)
    with sql_log() as statements:
        assert d.counts() == counts
    assert len(statements) <= len(counts)
    c = dj.Diagram(lab["schema"]).cascade(lab["Subject"] & {"subject_id": 1})
    with sql_log() as statements:
        counts = c.preview()
    assert len(statements) == len(counts) == 5


def test_loading_the_graph_costs_a_constant_number_of_queries(
    server: Any, inst: dj.Instance, schema_name: str
) -> None:
    big = f"{schema_name}_big"
    declare(_schema(inst, schema_name), _chain(2))
    try:
        declare(_schema(inst, big), _chain(12))
        costs = []
        for name in (schema_name, big):
            fresh = server.instance()  # an empty catalog cache
            try:
                schema = dj.Schema(name, connection=fresh.connection)
                with sql_log() as statements:
                    diagram = dj.Diagram(schema)
                costs.append(len(statements))
                assert len(diagram) in (2, 12)
            finally:
                fresh.close()
        assert 0 < costs[0] == costs[1] <= 8, costs
    finally:
        inst.connection.execute(inst.connection.adapter.drop_schema_sql(big))


def test_graph_has_one_edge_per_foreign_key(inst: dj.Instance, schema_name: str) -> None:
    conn = inst.connection
    lab = declare_lab(conn, schema_name)
    graph = dj.Diagram(lab["schema"]).graph
    assert isinstance(graph, nx.MultiDiGraph)
    subject, pairing = node(lab["Subject"]), node(lab["Pairing"])
    edges = sorted(
        (sorted(d["attr_map"].items()), d["aliased"], d["primary"])
        for d in graph.get_edge_data(subject, pairing).values()
    )
    assert edges == [
        ([("subj_a", "subject_id")], True, True),
        ([("subj_b", "subject_id")], True, True),
    ]
    trial, stimulus = node(lab["Trial"]), node(lab["Stimulus"])
    (data,) = graph.get_edge_data(stimulus, trial).values()
    assert data["attr_map"] == {"stimulus_id": "stimulus_id"}
    assert not data["aliased"] and not data["primary"]
