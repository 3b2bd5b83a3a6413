"""A table class before, during and after its table exists, as the reference behaves
(issue 9): undecorated classes, deferred schemas, ``is_declared``, hidden attributes."""

from __future__ import annotations

import pytest

import datajoint_core as dj
from datajoint_core import errors


def test_undecorated_class_instantiates_and_explains() -> None:
    class Loose(dj.Manual):
        definition = "id : int32"

    table = Loose()  # no table needed to make an instance
    assert not table.is_declared
    with pytest.raises(errors.DataJointError, match="not associated with a schema"):
        _ = table.full_table_name
    with pytest.raises(errors.DataJointError, match="not properly configured"):
        _ = table.heading
    with pytest.raises(errors.DataJointError, match="not properly configured"):
        _ = table.primary_key


def test_deferred_schema_declares_on_activate(inst: dj.Instance, schema_name: str) -> None:
    schema = dj.Schema(connection=inst.connection)

    @schema
    class Item(dj.Manual):
        definition = """
        item : int32
        """

    @schema
    class Measure(dj.Manual):
        definition = """
        -> Item
        ---
        value : float32
        """

        class Note(dj.Part):
            definition = """
            -> master
            ---
            note : varchar(16)
            """

    with pytest.raises(errors.DataJointError, match="not properly configured"):
        _ = Measure.heading
    schema.activate(schema_name, connection=inst.connection)
    try:
        assert Item.is_declared and Measure.is_declared and Measure.Note.is_declared
        assert Measure.Note.heading.primary_key == ["item"]
        assert "Table definition:" in (Measure.__doc__ or "")
        Measure.drop(prompt=False)
        assert not Measure().is_declared  # dropped: the class still instantiates
        with pytest.raises(errors.DataJointError, match="not declared"):
            _ = Measure().heading
    finally:
        schema.drop(prompt=False)


def test_part_named_like_an_outer_table(inst: dj.Instance, schema_name: str) -> None:
    schema = inst.Schema(schema_name)

    class Website(dj.Lookup):
        definition = "url : varchar(64)"
        contents = [("a.org",)]

    class Profile(dj.Manual):
        definition = "ssn : char(11)"

        class Website(dj.Part):
            definition = """
            -> master
            -> Website
            """

    context = {"Website": Website, "Profile": Profile}
    schema(Website, context=context)
    schema(Profile, context=context)
    assert Profile.Website.heading.primary_key == ["ssn", "url"]
    parents = Profile.Website.parents()
    assert sorted(parents) == sorted([Website().full_table_name, Profile().full_table_name])


def test_inherited_parts_and_self_references(inst: dj.Instance, schema_name: str) -> None:
    schema = inst.Schema(schema_name)

    class A(dj.Manual):
        definition = "a_id : int32"

    class B(dj.Manual):
        source = None
        definition = """
        -> self.source
        b_id : int32
        """

        class H(dj.Part):
            definition = """
            -> master
            name : varchar(16)
            """

        class C(dj.Part):
            definition = """
            -> master
            -> master.H
            """

    class D(B):
        source = A

    schema(A)
    schema(D)
    assert D.heading.primary_key == ["a_id", "b_id"]
    assert D.C.heading.primary_key == ["a_id", "b_id", "name"]
    assert D.C().table_name == "d__c"


def test_hidden_job_metadata(inst: dj.Instance, schema_name: str) -> None:
    inst.config["jobs.add_job_metadata"] = True
    schema = inst.Schema(schema_name)

    class Source(dj.Lookup):
        definition = "source_id : int16"
        contents = [(1,), (2,)]

    class Doubled(dj.Computed):
        definition = """
        -> Source
        ---
        twice : int32
        """

        def make(self, key: dict[str, int]) -> None:
            self.insert1({**key, "twice": 2 * key["source_id"]})

    class Entered(dj.Manual):
        definition = "e : int32"

    context = {"Source": Source, "Doubled": Doubled}
    for cls in (Source, Doubled, Entered):
        schema(cls, context=context)
    heading = Doubled.heading
    assert heading.names == ["source_id", "twice"] and "_job_start_time" not in heading
    assert set(heading._attributes) == {
        "source_id",
        "twice",
        "_job_start_time",
        "_job_duration",
        "_job_version",
    }
    assert all(heading._attributes[n].is_hidden for n in heading._attributes if n[0] == "_")
    assert Entered.heading.hidden == ()
    Doubled.populate()
    assert Doubled.to_dicts(order_by="source_id") == [
        {"source_id": 1, "twice": 2},
        {"source_id": 2, "twice": 4},
    ]
    q = inst.connection.adapter.quote
    rows = inst.connection.fetchall(
        f"SELECT {q('_job_start_time')}, {q('_job_duration')} FROM {Doubled().full_table_name}", ()
    )
    assert len(rows) == 2 and all(start is not None and duration >= 0 for start, duration in rows)


def test_singleton_holds_one_row(inst: dj.Instance, schema_name: str) -> None:
    schema = inst.Schema(schema_name)

    @schema
    class Config(dj.Lookup):
        definition = """
        # one row
        ---
        level : int32
        """

    assert Config.heading.primary_key == [] and "_singleton" in Config.heading._attributes
    Config.insert1({"level": 1})
    with pytest.raises(errors.DuplicateError):
        Config.insert1({"level": 2})
    assert Config.fetch1() == {"level": 1}


def test_missing_definition_and_class_names(inst: dj.Instance, schema_name: str) -> None:
    schema = inst.Schema(schema_name)

    class NoDefinition(dj.Manual):
        definitions = "id : int32"  # misspelled

    with pytest.raises(NotImplementedError):
        schema(NoDefinition)

    class With_Underscore(dj.Manual):
        definition = "id : int32"

    with pytest.warns(UserWarning, match="contains underscores"):
        schema(With_Underscore)
