"""Table methods (dependencies, quick delete and drop, names) and the seed's Instance / Schema
examples, run with ``import datajoint_core as dj`` and the test server's credentials."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

import datajoint_core as dj
from datajoint_core import errors

from ..conftest import Server
from .pipeline import declare_lab


@pytest.fixture
def lab(inst: dj.Instance, schema_name: str) -> dict[str, Any]:
    return declare_lab(inst.connection, schema_name)


@pytest.fixture
def other_schema(inst: dj.Instance) -> Iterator[str]:
    name = f"djtest_{uuid.uuid4().hex[:10]}"
    yield name
    conn = inst.connection
    conn.execute(conn.adapter.drop_schema_sql(name))


def names(inst: dj.Instance, schema_name: str, *tables: str) -> list[str]:
    return [inst.connection.adapter.full_name(schema_name, t) for t in tables]


# -- names ----------------------------------------------------------------------------------


def test_full_table_name(lab: dict[str, Any], inst: dj.Instance, schema_name: str) -> None:
    adapter = inst.connection.adapter
    q = adapter.quote_char
    assert lab["Subject"].full_table_name == f"{q}{schema_name}{q}.{q}subject{q}"
    assert lab["Subject"]().full_table_name == lab["Subject"].full_table_name
    assert lab["Stimulus"].full_table_name == adapter.full_name(schema_name, "#stimulus")
    assert lab["Trial"].Event.full_table_name == adapter.full_name(schema_name, "trial__event")
    assert (lab["Trial"] & {"trial_id": 1}).full_table_name == lab["Trial"].full_table_name
    free = dj.FreeTable(inst.connection, lab["Trial"].Event.full_table_name)
    assert free.full_table_name == lab["Trial"].Event.full_table_name
    assert free.table_name == "trial__event" and free.database == schema_name


# -- dependencies ---------------------------------------------------------------------------


def test_parents_and_children(lab: dict[str, Any], inst: dj.Instance, schema_name: str) -> None:
    subject, session, trial, pairing = (lab[n] for n in ("Subject", "Session", "Trial", "Pairing"))
    full = dict(
        zip(
            ["subject", "session", "trial", "event", "stimulus", "pairing"],
            names(
                inst,
                schema_name,
                "subject",
                "session",
                "trial",
                "trial__event",
                "#stimulus",
                "pairing",
            ),
        )
    )
    assert subject.parents() == []
    assert sorted(subject.children()) == sorted([full["session"], full["pairing"]])
    assert sorted(trial.parents()) == sorted([full["session"], full["stimulus"]])
    assert trial.parents(primary=True) == [full["session"]]
    assert trial.parents(primary=False) == [full["stimulus"]]
    assert trial.children() == [full["event"]]
    assert lab["Stimulus"].children() == [full["trial"]]
    assert pairing.parents() == [full["subject"]]  # two foreign keys, one parent
    info = sorted(pairing.parents(foreign_key_info=True), key=lambda p: str(p[1]["attr_map"]))
    assert [(name, props["attr_map"], props["aliased"]) for name, props in info] == [
        (full["subject"], {"subj_a": "subject_id"}, True),
        (full["subject"], {"subj_b": "subject_id"}, True),
    ]
    objects = session.parents(as_objects=True)
    assert [type(o) for o in objects] == [dj.FreeTable]
    assert objects[0].full_table_name == full["subject"] and len(objects[0]) == 3
    kids = subject.children(as_objects=True, foreign_key_info=True)
    assert {(k.full_table_name, p["primary"]) for k, p in kids} == {
        (full["session"], True),
        (full["pairing"], True),
    }


def test_ancestors_and_descendants(
    lab: dict[str, Any], inst: dj.Instance, schema_name: str
) -> None:
    subject, session, trial = lab["Subject"], lab["Session"], lab["Trial"]
    n = dict(
        zip(
            ["subject", "session", "trial", "event", "stimulus", "pairing"],
            names(
                inst,
                schema_name,
                "subject",
                "session",
                "trial",
                "trial__event",
                "#stimulus",
                "pairing",
            ),
        )
    )
    down = subject.descendants()
    assert down[0] == n["subject"]  # self first, as the reference does
    assert set(down) == {n["subject"], n["session"], n["trial"], n["event"], n["pairing"]}
    assert down.index(n["session"]) < down.index(n["trial"]) < down.index(n["event"])
    assert trial.Event.descendants() == [n["event"]]
    up = trial.Event.ancestors()
    assert up[0] == n["event"]
    assert set(up) == {n["event"], n["trial"], n["session"], n["subject"], n["stimulus"]}
    assert up.index(n["trial"]) < up.index(n["session"]) < up.index(n["subject"])
    assert subject.ancestors() == [n["subject"]]
    objects = session.descendants(as_objects=True)
    assert [o.full_table_name for o in objects] == session.descendants()


def test_parts(lab: dict[str, Any], inst: dj.Instance, schema_name: str) -> None:
    event = inst.connection.adapter.full_name(schema_name, "trial__event")
    assert lab["Trial"].parts() == [event]
    assert lab["Subject"].parts() == []
    assert [p.full_table_name for p in lab["Trial"].parts(as_objects=True)] == [event]
    assert lab["Trial"].Event.master is lab["Trial"]


def test_children_in_another_schema(
    lab: dict[str, Any], inst: dj.Instance, other_schema: str
) -> None:
    downstream = dj.Schema(other_schema, connection=inst.connection)
    Subject = lab["Subject"]  # noqa: F841  (resolved by the definition below)

    @downstream
    class Surgery(dj.Manual):
        definition = """
        -> Subject
        surgery_id : int16
        """

    assert Surgery.full_table_name in lab["Subject"].children()
    assert Surgery.full_table_name in lab["Subject"].descendants()
    assert lab["Subject"].full_table_name in Surgery.ancestors()


# -- quick delete and drop ------------------------------------------------------------------


def test_delete_quick(lab: dict[str, Any]) -> None:
    event = lab["Trial"].Event
    assert (event & {"subject_id": 3}).delete_quick(get_count=True) == 1
    assert (event & {"subject_id": 3}).delete_quick() is None
    assert len(event()) == 3
    assert (event & dj.Top(2, "t DESC")).delete_quick(get_count=True) == 2
    assert [r["t"] for r in event.to_dicts()] == [0.25]
    assert event.delete_quick(get_count=True) == 1
    assert len(event()) == 0


def test_delete_quick_does_not_cascade(lab: dict[str, Any]) -> None:
    with pytest.raises(errors.IntegrityError):
        (lab["Subject"] & {"subject_id": 3}).delete_quick()
    assert len(lab["Subject"]()) == 3 and len(lab["Session"]()) == 4


def test_drop_quick(lab: dict[str, Any], inst: dj.Instance, schema_name: str) -> None:
    schema = dj.Schema(schema_name, connection=inst.connection)
    assert "trial__event" in schema.list_tables()
    with pytest.raises(dj.DataJointError, match="restricted"):
        (lab["Trial"].Event & {"subject_id": 1}).drop_quick()
    with pytest.raises(dj.DataJointError):
        lab["Session"].drop_quick()  # the database refuses: trial references it
    assert "session" in schema.list_tables()
    lab["Trial"].Event.drop_quick()
    assert "trial__event" not in schema.list_tables()
    dropped = lab["Trial"].Event()  # as in the reference: a class needs no table behind it
    assert not dropped.is_declared
    with pytest.raises(dj.DataJointError, match="not declared"):
        _ = dropped.heading
    assert lab["Trial"].parts() == []
    pairing = dj.FreeTable(inst.connection, lab["Pairing"].full_table_name)
    pairing.drop_quick()
    assert "pairing" not in schema.list_tables()
    assert lab["Subject"].children() == [lab["Session"].full_table_name]


# -- the seed's examples ------------------------------------------------------------------


def test_seed_instance_pattern(server: Server, schema_name: str) -> None:
    inst = dj.Instance(
        host=server.host,
        user=server.user,
        password=server.password,
        port=server.port,
        backend=server.backend,
    )
    schema = inst.Schema(schema_name)

    @schema
    class Experiment(dj.Manual):
        definition = """
        experiment_id : int32
        ---
        description : varchar(255)
        """

    Experiment.insert1({"experiment_id": 1, "description": "first"})
    assert Experiment.to_dicts() == [{"experiment_id": 1, "description": "first"}]
    assert Experiment.connection is inst.connection
    assert schema_name in dj.list_schemas(inst.connection)
    assert schema.list_tables() == ["experiment"]
    table = inst.FreeTable(Experiment.full_table_name)
    assert table.fetch1("description") == "first"
    assert inst.config is inst.connection.config
    inst.close()


def test_seed_config_overrides(server: Server) -> None:
    inst = dj.Instance(
        host=server.host,
        user=server.user,
        password=server.password,
        port=server.port,
        backend=server.backend,
        safemode=False,
        database__reconnect=False,
    )
    assert inst.config.safemode is False and inst.config.database.reconnect is False
    inst.config.safemode = False
    inst.config.display.limit = 25
    assert dj.config.safemode is True  # still True (default)
    assert inst.config.display.limit == 25 and dj.config.display.limit != 25
    inst.close()


def test_seed_multiple_databases(server: Server, schema_name: str, other_schema: str) -> None:
    def instance() -> dj.Instance:
        return dj.Instance(
            host=server.host,
            user=server.user,
            password=server.password,
            port=server.port,
            backend=server.backend,
            safemode=False,
        )

    production, staging = instance(), instance()
    prod_schema = production.Schema(schema_name)
    staging_schema = staging.Schema(other_schema)

    @prod_schema
    class Prod(dj.Manual):
        definition = """
        id : int32
        ---
        value : float64
        """

    @staging_schema
    class Staging(dj.Manual):
        definition = Prod.definition

    Prod.insert1((1, 1.0))
    Staging.insert([(1, 2.0), (2, 3.0)])
    prod_data = Prod.to_dicts()
    staging_data = Staging.to_dicts()
    assert prod_data == [{"id": 1, "value": 1.0}]
    assert len(staging_data) == 2
    assert Prod.connection is production.connection
    assert Staging.connection is staging.connection
    with pytest.raises(dj.DataJointError, match="different connections"):
        Prod * Staging
    production.close()
    staging.close()


def test_seed_global_pattern(
    server: Server, schema_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DJ_THREAD_SAFE", raising=False)
    with dj.config.override(
        database__port=server.port,
        database__user=server.user,
        database__password=server.password,
        database__backend=server.backend,
    ):
        dj.config["database.host"] = server.host
        dj.conn(reset=True)
        try:
            schema = dj.Schema(schema_name)

            @schema
            class MyTable(dj.Manual):
                definition = """
                id : int32
                ---
                value : float64
                """

            MyTable.insert1((1, 0.5))
            assert MyTable.to_dicts() == [{"id": 1, "value": 0.5}]
            assert MyTable.connection is dj.conn()
        finally:
            dj.conn().close()
