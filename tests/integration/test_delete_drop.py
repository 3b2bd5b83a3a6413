"""Table.delete() and Table.drop() through the dependency graph: part integrity, schemas not
activated on the connection, transactions, the return value and prompts (both backends)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import datajoint_core as dj
from datajoint_core import errors

from .builder import declare, drop_schemas, short, sql_log
from .pipeline import declare_lab


def _counts(t: dict[str, Any], names: str) -> list[int]:
    """Row counts of the named tables, e.g. "Recording Recording.Channel"."""
    out = []
    for name in names.split():
        head, *rest = name.split(".")
        table = t[head]
        for part in rest:
            table = getattr(table, part)
        out.append(len(table()))
    return out


ALL = "Subject Session Probe Recording Recording.Channel Recording.Marker Recording.Spare"


@pytest.fixture
def rec(inst: dj.Instance, schema_name: str) -> dict[str, Any]:
    """A master with three Parts; Channel and Marker also reference Probe (from outside)."""
    schema = dj.Schema(schema_name, connection=inst.connection)
    t = declare(
        schema,
        [
            ("Subject", "subject_id : int32"),
            ("Session", "-> Subject\nsession_id : int32"),
            ("Probe", "-> Subject\nprobe_id : int32"),
        ],
    )
    Probe, Session = t["Probe"], t["Session"]  # named by the definitions

    @schema
    class Recording(dj.Manual):
        definition = """
        -> Session
        rec_id : int32
        """

        class Channel(dj.Part):
            definition = """
            -> master
            channel : int32
            ---
            -> Probe.proj(probe_subject='subject_id')
            """

        class Marker(dj.Part):
            definition = """
            -> master
            marker : int32
            ---
            -> Probe.proj(probe_subject='subject_id')
            """

        class Spare(dj.Part):
            definition = """
            -> master
            spare : int32
            """

    assert Probe is not None and Session is not None
    t["Subject"].insert([(1,), (2,)])
    Session.insert([(1, 1), (2, 1)])
    Probe.insert([(1, 1), (1, 2), (2, 1), (1, 3)])
    Recording.insert([(1, 1, 1), (1, 1, 2), (2, 1, 1)])
    # (subject, session, rec, channel, probe_subject, probe): subject 2 uses subject 1's probe 1
    Recording.Channel.insert(
        [(1, 1, 1, 1, 1, 1), (1, 1, 1, 2, 1, 2), (1, 1, 2, 1, 1, 2), (2, 1, 1, 1, 1, 1)]
    )
    Recording.Channel.insert([(2, 1, 1, 2, 2, 1)])
    Recording.Marker.insert([(1, 1, 1, 1, 1, 1), (2, 1, 1, 1, 2, 1)])
    Recording.Spare.insert([(1, 1, 2, 1)])
    t["Recording"] = Recording
    t["schema"] = schema
    return t


BEFORE = [2, 2, 4, 3, 5, 2, 1]


# ---------------------------------------------------------------------------------------------
# part_integrity


def test_enforce_rolls_back_and_names_part_and_master(rec: dict[str, Any]) -> None:
    with pytest.raises(errors.PartIntegrityError) as info:
        (rec["Probe"] & {"subject_id": 1, "probe_id": 2}).delete(prompt=False)
    message = str(info.value)
    assert rec["Recording"].Channel().full_table_name in message
    assert rec["Recording"]().full_table_name in message
    assert _counts(rec, ALL) == BEFORE
    assert not rec["schema"].connection.in_transaction


def test_enforce_is_checked_per_table_as_in_the_reference(rec: dict[str, Any]) -> None:
    """Deleting subject 1 reaches its recordings, and through its probe 1 a channel of subject
    2's recording, whose master row stays. The reference checks part integrity per table (the
    master table lost rows in the same delete), so the delete goes through there, and here
    (test_diagram_reference.py compares such deletes with the reference row for row)."""
    assert (rec["Subject"] & {"subject_id": 1}).delete(prompt=False) == 1
    assert _counts(rec, ALL) == [1, 1, 1, 1, 1, 1, 0]


def test_enforce_no_false_alarm_on_parts_with_zero_rows(rec: dict[str, Any]) -> None:
    diagram = dj.Diagram.cascade(rec["Probe"] & {"subject_id": 1, "probe_id": 3})
    conn = rec["schema"].connection
    assert short(conn, diagram.preview()) == {
        "probe": 1,
        "recording__channel": 0,
        "recording__marker": 0,
    }
    assert (rec["Probe"] & {"subject_id": 1, "probe_id": 3}).delete(prompt=False) == 1
    assert _counts(rec, ALL) == [2, 2, 3, 3, 5, 2, 1]


def test_enforce_deleting_masters_takes_their_parts(rec: dict[str, Any]) -> None:
    assert (rec["Recording"] & {"subject_id": 1, "rec_id": 1}).delete(prompt=False) == 1
    assert _counts(rec, ALL) == [2, 2, 4, 2, 3, 1, 1]
    assert (rec["Subject"] & {"subject_id": 2}).delete(prompt=False) == 1
    assert _counts(rec, ALL) == [1, 1, 3, 1, 1, 0, 1]


def test_ignore_deletes_part_rows_alone(rec: dict[str, Any]) -> None:
    seed = rec["Probe"] & {"subject_id": 1, "probe_id": 2}
    assert seed.delete(prompt=False, part_integrity="ignore") == 1
    assert _counts(rec, ALL) == [2, 2, 3, 3, 3, 2, 1]


def test_cascade_deletes_whole_compositional_units(rec: dict[str, Any]) -> None:
    conn = rec["schema"].connection
    seed = rec["Probe"] & {"subject_id": 1, "probe_id": 1}
    preview = dj.Diagram.cascade(seed, part_integrity="cascade").preview()
    assert short(conn, preview) == {
        "probe": 1,
        "recording": 2,
        "recording__channel": 4,
        "recording__marker": 2,
        "recording__spare": 0,
    }
    assert seed.delete(prompt=False, part_integrity="cascade") == 1
    assert _counts(rec, ALL) == [2, 2, 3, 1, 1, 0, 1]


def test_part_seed(rec: dict[str, Any]) -> None:
    channel = rec["Recording"].Channel & {"subject_id": 1, "rec_id": 2, "channel": 1}
    with pytest.raises(errors.PartIntegrityError, match="master"):
        channel.delete(prompt=False)
    assert _counts(rec, ALL) == BEFORE
    assert channel.delete(prompt=False, part_integrity="cascade") == 1
    assert _counts(rec, ALL) == [2, 2, 4, 2, 4, 2, 0]
    channel = rec["Recording"].Channel & {"subject_id": 2, "channel": 2}
    assert channel.delete(prompt=False, part_integrity="ignore") == 1
    assert _counts(rec, ALL) == [2, 2, 4, 2, 3, 2, 0]


def test_part_of_part(inst: dj.Instance, schema_name: str) -> None:
    schema = dj.Schema(schema_name, connection=inst.connection)

    @schema
    class Master(dj.Manual):
        definition = """
        m : int32
        """

        class Part(dj.Part):
            definition = """
            -> master
            p : int32
            """

            class Sub(dj.Part):
                definition = """
                -> master
                s : int32
                """

    Master.insert([(1,), (2,)])
    Master.Part.insert([(1, 1), (1, 2), (2, 1)])
    Master.Part.Sub.insert([(1, 1, 1), (1, 2, 1), (2, 1, 1), (2, 1, 2)])
    graph = dj.Diagram(schema).graph
    sub, part = Master.Part.Sub().full_table_name, Master.Part().full_table_name
    assert graph.nodes[sub]["master"] == part
    assert graph.nodes[part]["master"] == Master().full_table_name
    with pytest.raises(errors.PartIntegrityError):
        dj.FreeTable(inst.connection, sub).delete(prompt=False)
    seed = Master.Part.Sub & {"m": 1, "p": 2}
    preview = dj.Diagram.cascade(seed, part_integrity="cascade").preview()
    assert short(inst.connection, preview) == {
        "master": 1,
        "master__part": 2,
        "master__part__sub": 2,
    }
    # the count deleted from the seed table: both Subs of master 1 went
    assert seed.delete(prompt=False, part_integrity="cascade") == 2
    assert [len(Master()), len(Master.Part()), len(Master.Part.Sub())] == [1, 1, 2]
    assert (Master & {"m": 2}).delete(prompt=False) == 1
    assert [len(Master()), len(Master.Part()), len(Master.Part.Sub())] == [0, 0, 0]


# ---------------------------------------------------------------------------------------------
# three schemas; the grandchild's schema never activated on the deleting connection


@pytest.fixture
def three(server: Any, inst: dj.Instance, schema_name: str) -> Iterator[dict[str, Any]]:
    names = [schema_name, f"{schema_name}_b", f"{schema_name}_c"]
    owner = server.instance()
    try:
        a = declare(
            dj.Schema(names[0], connection=owner.connection), [("Animal", "animal : int32")]
        )
        b = declare(
            dj.Schema(names[1], context=a, connection=owner.connection),
            [("Visit", "-> Animal\nvisit : int32")],
        )
        c = declare(
            dj.Schema(names[2], context=b, connection=owner.connection),
            [("Sample", "-> Visit\nsample : int32")],
        )
        a["Animal"].insert([(1,), (2,)])
        b["Visit"].insert([(1, 1), (1, 2), (2, 1)])
        c["Sample"].insert([(1, 1, 1), (1, 2, 1), (1, 2, 2), (2, 1, 1)])
        yield {"names": names, "owner": owner}
    finally:
        drop_schemas(owner.connection, names[:0:-1])
        owner.close()


def _rows(server: Any, table: str) -> int | None:
    """Rows of ``schema.table`` seen from a brand-new connection; None if it does not exist."""
    fresh = server.instance()
    try:
        schema, bare = table.split(".")
        if bare not in dj.Schema(schema, connection=fresh.connection).list_tables():
            return None
        return len(fresh.FreeTable(table))
    finally:
        fresh.close()


def test_delete_reaches_a_schema_never_activated(three: dict[str, Any], server: Any) -> None:
    a, b, c = three["names"]
    fresh = server.instance()
    try:
        animal = dj.VirtualModule("a", a, connection=fresh.connection).Animal
        assert fresh.connection.activated_schemas == {a}
        preview = dj.Diagram.cascade(animal & {"animal": 1}).preview()
        assert sorted(preview.values()) == [1, 2, 3]
        assert (animal & {"animal": 1}).delete(prompt=False) == 1
        assert fresh.connection.activated_schemas == {a}
    finally:
        fresh.close()
    assert [_rows(server, f"{a}.animal"), _rows(server, f"{b}.visit")] == [1, 1]
    assert _rows(server, f"{c}.sample") == 1


def test_drop_reaches_a_schema_never_activated(three: dict[str, Any], server: Any) -> None:
    a, b, c = three["names"]
    fresh = server.instance()
    try:
        animal = dj.VirtualModule("a", a, connection=fresh.connection).Animal
        animal.drop(prompt=False)
        assert fresh.connection.activated_schemas == {a}
    finally:
        fresh.close()
    assert [_rows(server, f"{a}.animal"), _rows(server, f"{b}.visit")] == [None, None]
    assert _rows(server, f"{c}.sample") is None


# ---------------------------------------------------------------------------------------------
# transactions, the return value, prompts


@pytest.fixture
def lab(inst: dj.Instance, schema_name: str) -> dict[str, Any]:
    return declare_lab(inst.connection, schema_name)


LAB = "Subject Session Trial Trial.Event Pairing"


def test_delete_joins_an_outer_transaction(lab: dict[str, Any]) -> None:
    conn = lab["schema"].connection
    conn.start_transaction()
    try:
        assert (lab["Session"] & {"subject_id": 1}).delete(prompt=False) == 2
        assert conn.in_transaction
        assert _counts(lab, LAB) == [3, 2, 2, 1, 2]
    finally:
        conn.cancel_transaction()
    assert _counts(lab, LAB) == [3, 4, 5, 4, 2]
    with pytest.raises(RuntimeError), conn.transaction:
        (lab["Subject"] & {"subject_id": 1}).delete(prompt=False)
        raise RuntimeError("undo")
    assert _counts(lab, LAB) == [3, 4, 5, 4, 2]
    with conn.transaction:
        assert (lab["Subject"] & {"subject_id": 1}).delete(prompt=False) == 1
    assert _counts(lab, LAB) == [2, 2, 2, 1, 1]


def test_delete_cannot_prompt_inside_a_transaction(lab: dict[str, Any]) -> None:
    conn = lab["schema"].connection
    with pytest.raises(dj.DataJointError, match="prompt"), conn.transaction:
        (lab["Session"] & {"subject_id": 1}).delete(prompt=True)
    assert _counts(lab, LAB) == [3, 4, 5, 4, 2]


def test_delete_returning_zero_keeps_everything(
    lab: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = lab["schema"].connection
    assert (lab["Session"] & {"subject_id": 99}).delete(prompt=False) == 0
    assert not conn.in_transaction
    questions: list[str] = []

    def no(question: str) -> bool:
        questions.append(question)
        return False

    monkeypatch.setattr("datajoint_core.cascade.ask", no)
    assert (lab["Subject"] & {"subject_id": 1}).delete(prompt=True) == 0
    assert len(questions) == 1 and "session" in questions[0]
    assert _counts(lab, LAB) == [3, 4, 5, 4, 2]
    assert not conn.in_transaction
    assert (lab["Subject"] & {"subject_id": 1}).delete(transaction=False, prompt=True) == 0
    assert _counts(lab, LAB) == [3, 4, 5, 4, 2]
    monkeypatch.setattr("datajoint_core.cascade.ask", lambda question: True)
    assert (lab["Subject"] & {"subject_id": 1}).delete(prompt=True) == 1
    assert _counts(lab, LAB) == [2, 2, 2, 1, 1]


def test_delete_with_safemode_prompts(
    server: Any, schema_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    careful = server.instance(safemode=True)
    try:
        lab = declare_lab(careful.connection, schema_name)
        monkeypatch.setattr("datajoint_core.cascade.ask", lambda question: False)
        assert (lab["Session"] & {"subject_id": 1}).delete() == 0
        assert _counts(lab, LAB) == [3, 4, 5, 4, 2]
        monkeypatch.setattr("datajoint_core.cascade.ask", lambda question: True)
        assert (lab["Session"] & {"subject_id": 1}).delete() == 2
        assert _counts(lab, LAB) == [3, 2, 2, 1, 2]
    finally:
        careful.close()


def test_top_as_delete_seed(lab: dict[str, Any]) -> None:
    """dj.Top keys are frozen before anything is deleted, so the seed set cannot shift."""
    assert (lab["Session"] & dj.Top(2)).delete(prompt=False) == 2
    assert _counts(lab, LAB) == [3, 2, 2, 1, 2]
    remaining = sorted((r["subject_id"], r["session_id"]) for r in lab["Session"].to_dicts())
    assert remaining == [(2, 1), (3, 1)]


def test_seed_reading_its_own_descendants_is_frozen(lab: dict[str, Any]) -> None:
    """``Session & Trial.Event``: the condition reads a table the delete empties first."""
    seed = lab["Session"] & lab["Trial"].Event
    assert seed.delete(prompt=False) == 3
    assert _counts(lab, LAB) == [3, 1, 1, 0, 2]


def test_seed_reading_an_ancestor_is_not_frozen(lab: dict[str, Any]) -> None:
    """A condition on a parent cannot change during the delete: it is kept as SQL."""
    seed = lab["Session"] & (lab["Subject"] & {"species": "rat"})
    with sql_log() as statements:
        assert seed.delete(prompt=False) == 1
    deletes = [s for s in statements if "DELETE" in s.upper()]
    assert len(deletes) == 3 and all("species" in s for s in deletes)
    assert _counts(lab, LAB) == [3, 3, 4, 3, 2]


# ---------------------------------------------------------------------------------------------
# drop


def test_drop_part_before_master_raises(lab: dict[str, Any]) -> None:
    event = lab["Trial"].Event
    with pytest.raises(errors.PartIntegrityError, match="master"):
        event.drop(prompt=False)
    full = event().full_table_name
    with pytest.raises(errors.PartIntegrityError, match="master"):
        dj.FreeTable(lab["schema"].connection, full).drop(prompt=False)
    assert "trial__event" in lab["schema"].list_tables()
    event.drop(prompt=False, part_integrity="ignore")
    assert "trial__event" not in lab["schema"].list_tables()


def test_drop_of_a_parent_of_a_part_without_its_master(rec: dict[str, Any]) -> None:
    with pytest.raises(errors.PartIntegrityError, match="recording__channel"):
        rec["Probe"].drop(prompt=False)
    assert "probe" in rec["schema"].list_tables()
    rec["Probe"].drop(prompt=False, part_integrity="ignore")
    assert sorted(rec["schema"].list_tables()) == [
        "recording",
        "recording__spare",
        "session",
        "subject",
    ]


def test_restricted_table_cannot_be_dropped(lab: dict[str, Any]) -> None:
    with pytest.raises(dj.DataJointError, match="restricted"):
        (lab["Session"] & {"subject_id": 1}).drop(prompt=False)
    with pytest.raises(dj.DataJointError, match="restricted"):
        (lab["Session"] & dj.Top(1)).drop(prompt=False)
    assert "session" in lab["schema"].list_tables()


def test_drop_takes_descendants_only(lab: dict[str, Any]) -> None:
    lab["Session"].drop(prompt=False)
    assert sorted(lab["schema"].list_tables()) == ["#stimulus", "pairing", "subject"]


def test_drop_prompt_declined_keeps_tables(
    lab: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("datajoint_core.cascade.ask", lambda question: False)
    lab["Session"].drop(prompt=True)
    assert len(lab["schema"].list_tables()) == 6
