"""The query algebra on both backends, with property tests for the restriction laws."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import datajoint_core as dj
from datajoint_core import errors

from ..conftest import Server
from .pipeline import declare_lab


@pytest.fixture
def lab(inst: dj.Instance, schema_name: str) -> dict[str, Any]:
    return declare_lab(inst.connection, schema_name)


def ids(expr: Any, *names: str) -> list[tuple[Any, ...]]:
    """The rows' values of ``names`` (default: the primary key), sorted."""
    names = names or tuple(expr.primary_key)
    return sorted(tuple(row[n] for n in names) for row in expr.to_dicts())


# -- restriction ----------------------------------------------------------------------------


def test_restrict_by_dict(lab: dict[str, Any]) -> None:
    subject, session = lab["Subject"], lab["Session"]
    assert ids(subject & {"species": "mouse"}) == [(1,), (2,)]
    assert ids(session & {"subject_id": 1, "session_id": 2}) == [(1, 2)]
    assert ids(session & {"subject_id": 1, "not_an_attribute": 5}) == [(1, 1), (1, 2)]
    assert ids(session & {}) == ids(session)
    assert ids(lab["Trial"] & {"outcome": None}) == ids(lab["Trial"])
    assert ids(subject & {"species": "'; drop table x; --"}) == []


def test_restrict_by_list_is_or(lab: dict[str, Any]) -> None:
    subject = lab["Subject"]
    assert ids(subject & [{"subject_id": 1}, {"subject_id": 3}]) == [(1,), (3,)]
    assert ids(subject & ({"subject_id": 1}, "subject_id = 2")) == [(1,), (2,)]
    mixed = [{"subject_id": 1}, "subject_id = 3", lab["Session"] & {"subject_id": 2}]
    assert ids(subject & mixed) == [(1,), (2,), (3,)]
    assert ids(subject & []) == []
    assert ids(subject - []) == ids(subject)
    assert ids(subject & [[], {"subject_id": 2}]) == [(2,)]


def test_restrict_by_string(lab: dict[str, Any]) -> None:
    session = lab["Session"]
    assert ids(session & "session_date > '2024-02-15'") == [(2, 1), (3, 1)]
    assert ids(session & "session_id = 2 OR subject_id = 3") == [(1, 2), (3, 1)]
    assert ids(lab["Subject"] & "species LIKE '%ou%'") == [(1,), (2,)]
    assert ids(lab["Subject"] & "`species` = 'rat'") == [(3,)]


def test_seed_condition_with_double_quoted_literal(lab: dict[str, Any]) -> None:
    """The seed's own restriction: MySQL dialect, a double-quoted string literal."""
    Session = lab["Session"]
    restricted = Session & 'session_date > "2024-01-01"'
    assert len(restricted) == 3
    assert ids(restricted) == [(1, 2), (2, 1), (3, 1)]
    assert ids(Session & 'session_date BETWEEN "2024-02-01" AND "2024-03-01"') == [(1, 2), (2, 1)]
    assert ids(lab["Subject"] & 'species IN ("rat", "hamster")') == [(3,)]
    assert ids(lab["Subject"] & 'species = "it\'s"') == []


def test_mysql_dialect_functions(lab: dict[str, Any]) -> None:
    session, trial = lab["Session"], lab["Trial"]
    assert ids(trial & "IFNULL(outcome, 0) = 0") == ids(trial)
    assert ids(session & "session_date < CURDATE()") == ids(session)
    assert ids(session & "YEAR(session_date) = 2024 AND MONTH(session_date) = 3") == [(2, 1)]
    assert ids(lab["Subject"] & "species REGEXP '^ra'") == [(3,)]


def test_unknown_attribute_in_condition_is_named(lab: dict[str, Any]) -> None:
    with pytest.raises(errors.UnknownAttributeError) as info:
        lab["Session"] & 'sesion_date > "2024-01-01"'
    message = str(info.value)
    assert "sesion_date" in message and 'sesion_date > "2024-01-01"' in message
    assert "Session" in message
    # a mapping that names no attribute restricts nothing, as in the reference
    assert len(lab["Subject"] & {"nope": 1}) == len(lab["Subject"]())
    with pytest.raises(errors.UnknownAttributeError, match="did you mean 'species'"):
        lab["Subject"] & "specie = 'rat'"
    with pytest.raises(errors.UnknownAttributeError, match="species"):
        lab["Subject"].proj() & "species = 'rat'"


def test_condition_that_cannot_be_parsed(lab: dict[str, Any], inst: dj.Instance) -> None:
    condition = "subject_id ==== 1"
    with pytest.raises(dj.DataJointError) as info:
        len(lab["Subject"] & condition)
    if inst.connection.adapter.sqlglot_dialect != "mysql":  # translated: the condition is named
        assert condition in str(info.value)


def test_restrict_by_expression_is_semijoin(lab: dict[str, Any]) -> None:
    subject, session, trial = lab["Subject"], lab["Session"], lab["Trial"]
    assert ids(subject & (session & "session_id = 2")) == [(1,)]
    assert ids(subject - (session & "session_id = 2")) == [(2,), (3,)]
    assert ids(subject & trial.Event) == [(1,), (3,)]
    assert ids(subject & subject.proj()) == ids(subject)
    with pytest.raises(dj.DataJointError, match="lineage"):  # `species` has none: refused
        subject & subject
    assert ids(subject.restrict(subject, semantic_check=False)) == ids(subject)
    assert ids(lab["Stimulus"] & lab["Stimulus"].proj(other="stimulus_id")) == [(1,), (2,)]
    # no common attribute: everything if the other is non-empty, else nothing
    assert len(lab["Stimulus"] & (subject & {"subject_id": 1})) == 2
    assert len(lab["Stimulus"] & (subject & {"subject_id": 9})) == 0


def test_semijoin_on_nullable_attributes(lab: dict[str, Any], inst: dj.Instance) -> None:
    """NULLs in a nullable foreign key neither empty ``r - s`` nor drop rows from both sides."""
    schema = lab["schema"]
    Subject = lab["Subject"]  # noqa: F841  (resolved by the definition below)

    @schema
    class Owner(dj.Manual):
        definition = """
        owner_id : int32
        ---
        -> [nullable] Subject
        """

    Owner.insert([(1, 1), (2, None)])
    subject = lab["Subject"]
    assert ids(subject & Owner) == [(1,)]
    assert ids(subject - Owner) == [(2,), (3,)]
    assert ids(Owner & subject) == [(1,)]
    assert ids(Owner - subject) == [(2,)]
    assert len(Owner & subject) + len(Owner - subject) == len(Owner())


def test_andlist_not_bool(lab: dict[str, Any]) -> None:
    subject = lab["Subject"]
    assert ids(subject & dj.AndList([{"species": "mouse"}, "subject_id > 1"])) == [(2,)]
    assert ids(subject & dj.AndList([])) == ids(subject)
    assert ids(subject & dj.Not({"species": "mouse"})) == [(3,)]
    assert ids(subject & dj.Not(lab["Session"] & "session_id = 2")) == [(2,), (3,)]
    assert ids(subject & dj.Not([])) == ids(subject)
    assert ids(subject & True) == ids(subject) and ids(subject & False) == []
    assert ids(subject - True) == [] and ids(subject - False) == ids(subject)
    assert ids(subject - {"species": "mouse"}) == [(3,)]
    assert ids(subject & dj.Not(dj.Not({"species": "rat"}))) == [(3,)]


def test_top(lab: dict[str, Any]) -> None:
    subject, session = lab["Subject"], lab["Session"]
    assert ids(subject & dj.Top()) == [(1,)]
    assert [r["subject_id"] for r in (subject & dj.Top(2, "subject_id DESC")).to_dicts()] == [3, 2]
    assert ids(subject & dj.Top(1, "subject_id", offset=1)) == [(2,)]
    assert (subject & dj.Top(2, "species DESC, KEY DESC")).keys() == [
        {"subject_id": 3},
        {"subject_id": 2},
    ]
    assert (session & dj.Top(2, ["KEY DESC"])).keys() == [
        {"subject_id": 3, "session_id": 1},
        {"subject_id": 2, "session_id": 1},
    ]
    assert len(subject & dj.Top(None, "subject_id", offset=1)) == 2
    latest = session & dj.Top(1, "session_date DESC")
    assert latest.fetch1("KEY") == {"subject_id": 3, "session_id": 1}
    assert ids((subject & dj.Top(2)) & {"species": "mouse"}) == [(1,), (2,)]
    assert ids((subject & {"species": "mouse"}) & dj.Top(1, "subject_id DESC")) == [(2,)]
    assert ids((subject & dj.Top(2, "species DESC")).proj()) == [(1,), (3,)]
    assert len((subject & dj.Top(1)) * session) == 2
    with pytest.raises(dj.DataJointError):
        dj.Top(-1)
    with pytest.raises(errors.UnknownAttributeError, match="nope"):
        (subject & dj.Top(1, "nope")).to_dicts()


# -- projection, join, aggregation, union -------------------------------------------------


def test_proj(lab: dict[str, Any]) -> None:
    subject, session, trial = lab["Subject"], lab["Session"], lab["Trial"]
    assert subject.proj().heading.names == ["subject_id"]
    assert subject.proj("species").heading.names == ["subject_id", "species"]
    renamed = subject.proj(kind="species")
    assert renamed.heading.names == ["subject_id", "kind"]
    assert ids(renamed & {"kind": "rat"}) == [(3,)]
    assert ids(renamed & "kind = 'rat'") == [(3,)]
    key_renamed = subject.proj(sid="subject_id")
    assert key_renamed.primary_key == ["sid"] and ids(key_renamed) == [(1,), (2,), (3,)]
    assert trial.proj(..., "-outcome").heading.names == [
        "subject_id",
        "session_id",
        "trial_id",
        "stimulus_id",
    ]
    computed = session.proj(next_id="session_id + 1", tag='CONCAT("s", session_id)')
    rows = {(r["subject_id"], r["session_id"]): r for r in computed.to_dicts()}
    assert rows[(1, 2)]["next_id"] == 3 and rows[(1, 2)]["tag"] == "s2"
    assert ids(computed & "next_id > 2", "subject_id", "session_id") == [(1, 2)]
    assert subject.proj("species", again="species").to_dicts(order_by="subject_id")[0] == {
        "subject_id": 1,
        "species": "mouse",
        "again": "mouse",
    }
    with pytest.raises(errors.UnknownAttributeError, match="nope"):
        subject.proj("nope")
    with pytest.raises(errors.UnknownAttributeError, match="nope"):
        subject.proj(x="nope + 1")


def test_join(lab: dict[str, Any]) -> None:
    subject, session = lab["Subject"], lab["Session"]
    joined = subject * session
    assert joined.primary_key == ["subject_id", "session_id"]
    assert set(joined.heading.names) == {"subject_id", "session_id", "species", "session_date"}
    assert len(joined) == 4
    mice = (subject & {"species": "mouse"}) * (session & "session_id = 1")
    assert ids(mice) == [(1, 1), (2, 1)]
    pairs = lab["Pairing"] * subject.proj(subj_a="subject_id", species_a="species")
    assert ids(pairs, "subj_a", "subj_b", "species_a") == [(1, 2, "mouse"), (2, 3, "mouse")]
    assert len(subject * lab["Stimulus"]) == 6  # no common attribute: the cross product
    assert ids((subject * session) & 'species = "mouse" AND session_id = 2') == [(1, 2)]


def test_aggr(lab: dict[str, Any]) -> None:
    subject, session, trial = lab["Subject"], lab["Session"], lab["Trial"]
    counts = subject.aggr(session, n="count(*)")
    assert ids(counts, "subject_id", "n") == [(1, 2), (2, 1), (3, 1)]
    assert counts.primary_key == ["subject_id"]
    last = subject.aggr(session, "species", last="max(session_date)")
    assert ids(last & {"subject_id": 1}, "species", "last") == [
        ("mouse", datetime.date(2024, 2, 1))
    ]
    assert ids(counts & "n > 1") == [(1,)]
    events = session.aggr(trial.Event, n="count(*)", exclude_nonmatching=True)
    assert ids(events, "subject_id", "session_id", "n") == [(1, 1, 2), (1, 2, 1), (3, 1, 1)]
    every = session.aggr(trial.Event, n="count(event_id)")  # every session: a left join
    assert ids(every, "subject_id", "session_id", "n") == [
        (1, 1, 2),
        (1, 2, 1),
        (2, 1, 0),
        (3, 1, 1),
    ]


def test_union(lab: dict[str, Any]) -> None:
    subject = lab["Subject"]
    both = (subject & {"subject_id": 1}).proj() + (subject & "subject_id = 3").proj()
    assert ids(both) == [(1,), (3,)]
    assert ids(both & {"subject_id": 3}) == [(3,)]
    assert ids((subject & {"species": "mouse"}).proj() + subject.proj()) == [(1,), (2,), (3,)]
    tops = (subject & dj.Top(1)).proj() + (subject & dj.Top(1, "subject_id DESC")).proj()
    assert ids(tops) == [(1,), (3,)]
    with pytest.raises(dj.DataJointError, match="union"):
        subject + lab["Session"]
    with pytest.raises(dj.DataJointError, match="secondary"):  # as the reference refuses it
        (subject & {"subject_id": 1}) + subject
    # an outer union: the rows of both, each with the other's secondary attributes NULL
    left = (subject & "subject_id < 3").proj(a="species")
    right = (subject & "subject_id > 1").proj(b="species")
    assert ids(left + right, "subject_id", "a", "b") == [
        (1, "mouse", None),
        (2, "mouse", "mouse"),
        (3, None, "rat"),
    ]


def test_universal_set(lab: dict[str, Any]) -> None:
    subject, session = lab["Subject"], lab["Session"]
    assert ids(dj.U("species") & subject) == [("mouse",), ("rat",)]
    assert len(dj.U("species") & subject) == 2
    per_species = dj.U("species").aggr(subject, n="count(*)")
    assert ids(per_species, "species", "n") == [("mouse", 2), ("rat", 1)]
    assert dj.U().aggr(session, n="count(*)").fetch1("n") == 4
    with pytest.raises(dj.DataJointError, match="no longer supported"):
        dj.U("species") * subject
    with pytest.raises(dj.DataJointError, match="no longer supported"):
        subject * dj.U("species")
    with pytest.raises(dj.DataJointError, match="infinite"):
        dj.U("species") - subject
    assert (subject & dj.U("species")).make_sql() == subject().make_sql()
    days = dj.U("session_date") & (session & {"subject_id": 1})
    assert ids(days) == [(datetime.date(2024, 1, 1),), (datetime.date(2024, 2, 1),)]


def test_len_bool_in_iteration(lab: dict[str, Any]) -> None:
    subject = lab["Subject"]
    assert len(subject) == 3 and len(subject()) == 3
    assert bool(subject) and not bool(subject & {"subject_id": 9})
    assert {"subject_id": 1} in subject and {"subject_id": 9} not in subject
    assert "species = 'rat'" in subject
    assert sorted(r["subject_id"] for r in subject) == [1, 2, 3]
    assert sorted(r["subject_id"] for r in subject & {"species": "mouse"}) == [1, 2]


def test_expressions_are_immutable(lab: dict[str, Any]) -> None:
    subject = lab["Subject"]()
    mice = subject & {"species": "mouse"}
    _ = mice & {"subject_id": 1}
    _ = mice.proj()
    _ = mice - {"subject_id": 2}
    assert len(mice) == 2 and len(subject) == 3
    assert mice.heading.names == ["subject_id", "species"]


def test_repr_honours_display_limit(lab: dict[str, Any], inst: dj.Instance) -> None:
    session = lab["Session"]()
    inst.config.display.limit = 2
    text = repr(session)
    lines = text.splitlines()
    assert lines[0].split() == ["*subject_id", "*session_id", "session_date"]
    assert len([line for line in lines if line.startswith(("1 ", "2 ", "3 "))]) == 2
    assert "..." in text and "(Total: 4)" in text
    inst.config.display.limit = 10
    text = repr(session & {"subject_id": 1})
    assert "..." not in text and "(Total: 2)" in text
    assert "2024-02-01" in text
    assert "<table" in session._repr_html_()


def test_combining_connections_raises(lab: dict[str, Any], server: Server) -> None:
    other = server.instance()
    try:
        schema = dj.Schema(lab["schema"].database, connection=other.connection)
        vm: dict[str, Any] = {}
        schema.spawn_missing_classes(context=vm)
        theirs, ours = vm["Session"], lab["Subject"]
        assert len(theirs) == 4  # the same table, through another connection
        for combine in (
            lambda: ours & theirs,
            lambda: ours - theirs,
            lambda: ours * theirs,
            lambda: ours.aggr(theirs, n="count(*)"),
            lambda: ours.proj() + vm["Subject"].proj(),
        ):
            with pytest.raises(dj.DataJointError, match="different connections"):
                combine()
    finally:
        other.close()


# -- property tests -------------------------------------------------------------------------

ROWS = st.lists(
    st.tuples(
        st.integers(0, 5) | st.none(),
        st.sampled_from(["x", "y", "z"]),
    ),
    max_size=12,
)
OTHER = st.lists(st.integers(0, 11) | st.none(), max_size=6)


def _atoms(other: Any) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.integers(0, 11).map(lambda n: {"id": n}),
        (st.integers(0, 5) | st.none()).map(lambda n: {"a": n}),
        st.sampled_from(["x", "y", "z", "w"]).map(lambda s: {"b": s}),
        st.integers(-1, 6).map(lambda n: f"a > {n}"),
        st.sampled_from(["x", "y"]).map(lambda s: f'b = "{s}"'),
        st.just(other),
        st.integers(0, 5).map(lambda n: other & {"oid": n}),
        st.just("id % 2 = 0"),
    )


def restrictions(other: Any) -> st.SearchStrategy[Any]:
    return st.recursive(
        _atoms(other),
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.lists(inner, max_size=3).map(dj.AndList),
            inner.map(dj.Not),
        ),
        max_leaves=4,
    )


@pytest.fixture
def algebra(inst: dj.Instance, schema_name: str) -> Iterator[tuple[Any, Any]]:
    schema = dj.Schema(schema_name, connection=inst.connection)

    @schema
    class Item(dj.Manual):
        definition = """
        id : int32
        ---
        a = null : int16
        b : varchar(4)
        """

    @schema
    class Other(dj.Manual):
        definition = """
        oid : int32
        ---
        -> [nullable] Item
        """

    yield Item, Other


def _fill(item: Any, other: Any, rows: list[tuple[Any, str]], refs: list[Any]) -> None:
    other.delete_quick()
    item.delete_quick()
    item.insert([(i, a, b) for i, (a, b) in enumerate(rows)])
    # references to rows that exist (or NULL): the foreign key gives `id` Item's lineage
    other.insert(
        [(i, ref if ref is None or ref < len(rows) else None) for i, ref in enumerate(refs)]
    )


def keyset(expr: Any) -> set[int]:
    return {row["id"] for row in expr.to_dicts()}


LAWS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@LAWS
@given(data=st.data(), rows=ROWS, refs=OTHER)
def test_restriction_laws(data: st.DataObject, rows: Any, refs: Any, algebra: Any) -> None:
    item, other = algebra
    _fill(item, other, rows, refs)
    a = data.draw(restrictions(other()), label="a")
    b = data.draw(restrictions(other()), label="b")
    r = item()
    everything = set(range(len(rows)))
    assert keyset(r) == everything
    assert keyset(r & []) == set()
    assert keyset(r - []) == everything
    assert keyset(r & True) == everything
    ab, ba = keyset((r & a) & b), keyset((r & b) & a)
    assert ab == ba
    assert keyset(r & dj.AndList([a, b])) == ab
    assert keyset(r & a) <= everything
    assert len(r & a) == len(keyset(r & a))


@LAWS
@given(data=st.data(), rows=ROWS, refs=OTHER)
def test_restriction_partitions_two_valued(
    data: st.DataObject, rows: Any, refs: Any, algebra: Any
) -> None:
    """Where SQL stays two-valued (equality on non-null attributes, IS NULL, semijoins on
    nullable attributes), ``r & c`` and ``r - c`` split ``r``."""
    item, other = algebra
    _fill(item, other, rows, refs)
    atom = st.one_of(
        st.just({"a": None}),
        st.integers(0, 11).map(lambda n: {"id": n}),
        st.sampled_from(["x", "y"]).map(lambda s: {"b": s}),
        st.just(other()),
        st.integers(0, 5).map(lambda n: other() & {"oid": n}),
    )
    c = data.draw(st.one_of(atom, st.lists(atom, max_size=3), atom.map(dj.Not)), label="c")
    r = item()
    inside, outside = keyset(r & c), keyset(r - c)
    assert inside & outside == set()
    assert inside | outside == set(range(len(rows)))
    assert keyset(r & dj.Not(c)) == outside
