"""populate(), make() and key_source on both backends (issue 13): what is made, in which
transaction, with which restrictions and limits; the three-part make; direct inserts refused.

The reference's semantics (datajoint 2.3.5 autopopulate.py) are the yardstick; where this
file's expectations could come from the reference itself, test_populate_reference.py does so.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

import datajoint_core as dj
from datajoint_core.autopopulate import fingerprint

from ..conftest import Server

VALUES = {1: 1.5, 2: 2.0, 3: -1.0, 4: 4.0, 5: 0.5}  # source 3 fails in make()


def lab(schema: dj.Schema) -> dict[str, Any]:
    """Source -> Result (with a Part) -> Summary; Result.make fails for negative values after
    inserting, so a rolled-back transaction is visible."""

    @schema
    class Source(dj.Manual):
        definition = """
        source_id : int32
        ---
        value : float64
        """

    @schema
    class Result(dj.Computed):
        definition = """
        -> Source
        ---
        doubled : float64
        """

        class Detail(dj.Part):
            definition = """
            -> master
            k : int32
            ---
            v : float64
            """

        def make(self, key: dict[str, Any], scale: float = 1.0) -> None:
            value = (Source & key).fetch1("value")
            self.insert1({**key, "doubled": 2 * value * scale})
            self.Detail.insert([{**key, "k": k, "v": value + k} for k in range(2)])
            if value < 0:
                raise ValueError(f"negative value for source {key['source_id']}")

    Source.insert([{"source_id": s, "value": v} for s, v in VALUES.items()])
    return {"schema": schema, "Source": Source, "Result": Result}


@pytest.fixture
def t(inst: dj.Instance, schema_name: str) -> dict[str, Any]:
    return lab(inst.Schema(schema_name))


def made(table: Any) -> list[int]:
    return sorted(r["source_id"] for r in table.proj().to_dicts())


# -- what is made -------------------------------------------------------------------------------


def test_populate_makes_each_missing_key_once(t: dict[str, Any]) -> None:
    result = t["Result"]
    result.insert1({"source_id": 1, "doubled": 0.0}, allow_direct_insert=True)
    out = result.populate(suppress_errors=True)
    assert out["success_count"] == 3  # 1 is there already, 3 fails
    assert out["error_list"] == [({"source_id": 3}, "ValueError: negative value for source 3")]
    assert made(result) == [1, 2, 4, 5]
    assert (result & {"source_id": 1}).fetch1("doubled") == 0.0  # not made again
    assert (result & {"source_id": 4}).fetch1("doubled") == 8.0
    assert len(result.Detail) == 3 * 2  # Part rows inserted by the master's make
    # the failing key's rows were inserted and rolled back with its transaction
    assert not (result & {"source_id": 3}) and not (result.Detail & {"source_id": 3})
    again = result.populate(suppress_errors=True)
    assert again["success_count"] == 0 and len(again["error_list"]) == 1


def test_errors_raise_unless_suppressed(t: dict[str, Any]) -> None:
    result = t["Result"]
    with pytest.raises(ValueError, match="negative value for source 3"):
        result.populate({"source_id": 3})
    assert not t["Result"].connection.in_transaction
    assert len(result) == 0 and len(result.Detail) == 0
    out = result.populate(suppress_errors=True, return_exception_objects=True)
    ((key, error),) = out["error_list"]
    assert key == {"source_id": 3} and isinstance(error, ValueError)
    assert str(error) == "negative value for source 3"


def test_restrictions_and_max_calls(t: dict[str, Any]) -> None:
    result, source = t["Result"], t["Source"]
    assert result.progress() == (5, 5)
    assert result.populate({"source_id": 2}) == {"success_count": 1, "error_list": []}
    assert result.populate("source_id >= 4", source & "value > 1") == {
        "success_count": 1,  # source 4 only: the restrictions are AND-ed
        "error_list": [],
    }
    assert made(result) == [2, 4]
    assert result.progress("source_id >= 4") == (1, 2)
    assert result.progress() == (3, 5)
    out = result.populate(max_calls=1, suppress_errors=True)
    assert out["success_count"] + len(out["error_list"]) == 1  # one of 1, 3, 5
    missing = {1, 5} - set(made(result))
    assert result.populate([{"source_id": 1}, {"source_id": 5}])["success_count"] == len(missing)
    assert made(result) == [1, 2, 4, 5]


def test_populate_refuses_a_restricted_table_and_an_open_transaction(t: dict[str, Any]) -> None:
    result = t["Result"]
    with pytest.raises(dj.DataJointError, match="pass conditions to populate"):
        (result & {"source_id": 1}).populate()
    conn = result.connection
    with conn.transaction, pytest.raises(dj.DataJointError, match="during a transaction"):
        result.populate()


def test_direct_inserts_are_refused_outside_make(t: dict[str, Any]) -> None:
    result = t["Result"]
    with pytest.raises(dj.DataJointError, match="allow_direct_insert=True") as raised:
        result.insert1({"source_id": 1, "doubled": 3.0})
    assert "only be done inside its make method during a populate call" in str(raised.value)
    with pytest.raises(dj.DataJointError, match="allow_direct_insert"):
        result.insert(t["Source"].proj(doubled="value"))
    result.insert1({"source_id": 1, "doubled": 3.0}, allow_direct_insert=True)
    result.Detail.insert1({"source_id": 1, "k": 0, "v": 1.0})  # Parts: as in the reference
    assert len(result) == 1 and len(result.Detail) == 1


def test_make_kwargs(t: dict[str, Any]) -> None:
    result = t["Result"]
    result.populate({"source_id": 1})
    result.populate({"source_id": 2}, make_kwargs={"scale": 10})
    assert result.to_dicts(order_by="KEY") == [
        {"source_id": 1, "doubled": 3.0},
        {"source_id": 2, "doubled": 40.0},
    ]


def test_processes_fork_workers(t: dict[str, Any]) -> None:
    result = t["Result"]
    out = result.populate(processes=2, suppress_errors=True)
    assert out["success_count"] == 4
    assert out["error_list"] == [({"source_id": 3}, "ValueError: negative value for source 3")]
    assert made(result) == [1, 2, 4, 5]
    assert result.connection.is_connected  # the parent reconnected after the pool
    t["Source"].insert1({"source_id": 6, "value": 6.0})
    assert result.populate(processes=None, suppress_errors=True)["success_count"] == 1  # per CPU


def test_progress_display_and_bar(t: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    result = t["Result"]
    with caplog.at_level(logging.INFO, logger="datajoint_core"):
        assert result.progress(display=True) == (5, 5)
    assert "Completed 0 of 5 (0.0%)" in caplog.text
    out = result.populate(display_progress=True, suppress_errors=True)
    assert out["success_count"] == 4


# -- key_source ---------------------------------------------------------------------------------


def test_key_source_override(inst: dj.Instance, schema_name: str) -> None:
    schema = inst.Schema(schema_name)
    t = lab(schema)
    Source = t["Source"]

    @schema
    class Positive(dj.Computed):
        definition = """
        -> Source
        ---
        num_samples : float64      # a name the key source has too, with another value
        """

        @property
        def key_source(self) -> Any:
            return Source.proj(num_samples="value") & "num_samples > 1"

        def make(self, key: dict[str, Any]) -> None:
            self.insert1({**key, "num_samples": -1.0})

    @schema
    class Everything(dj.Computed):
        definition = """
        -> Source
        """
        key_source = Source  # a class, as the reference allows

        def make(self, key: dict[str, Any]) -> None:
            self.insert1(key)

    assert Positive.progress() == (3, 3)  # 1.5, 2.0, 4.0
    assert Positive.populate()["success_count"] == 3
    assert Positive.progress() == (0, 3)  # matched on the key, not on num_samples
    assert Positive.populate()["success_count"] == 0
    assert Everything.populate()["success_count"] == 5


def test_key_source_needs_primary_parents(inst: dj.Instance, schema_name: str) -> None:
    schema = inst.Schema(schema_name)

    @schema
    class Orphan(dj.Computed):
        definition = """
        orphan_id : int32
        """

        def make(self, key: dict[str, Any]) -> None:
            raise AssertionError("never called")

    with pytest.raises(dj.DataJointError, match="dependencies from its primary key"):
        Orphan.populate()


def test_key_source_missing_from_the_target(inst: dj.Instance, schema_name: str) -> None:
    schema = inst.Schema(schema_name)
    t = lab(schema)
    Source = t["Source"]

    @schema
    class Other(dj.Computed):
        definition = """
        -> Source
        """

        @property
        def key_source(self) -> Any:
            return Source.proj(other_id="source_id")

        def make(self, key: dict[str, Any]) -> None:
            raise AssertionError("never called")

    with pytest.raises(dj.DataJointError, match="lacks attribute other_id"):
        Other.populate()


# -- the forms of make() ------------------------------------------------------------------------


def test_make_tuples_and_a_missing_make(inst: dj.Instance, schema_name: str) -> None:
    schema = inst.Schema(schema_name)
    t = lab(schema)
    Source = t["Source"]  # noqa: F841 -- "-> Source" below

    @schema
    class Legacy(dj.Imported):
        definition = """
        -> Source
        """

        def _make_tuples(self, key: dict[str, Any]) -> None:
            self.insert1(key)

    @schema
    class Nothing(dj.Computed):
        definition = """
        -> Source
        """

    assert Legacy.populate()["success_count"] == 5
    with pytest.raises(NotImplementedError, match="make_fetch"):
        Nothing.populate()
    out = Nothing.populate(suppress_errors=True, max_calls=1)
    assert out["error_list"][0][1].startswith("NotImplementedError: Subclasses of AutoPopulate")


def three_part(schema: dj.Schema, source: Any, other: dj.Instance | None = None) -> Any:
    """A three-part make; with ``other``, make_compute changes the source row on another
    connection, between the fetch outside the transaction and the one inside."""
    calls: list[str] = []

    @schema
    class Staged(dj.Computed):
        definition = """
        -> source
        ---
        result : float64
        """

        def make_fetch(self, key: dict[str, Any], offset: float = 0.0) -> tuple[Any, ...]:
            calls.append("fetch")
            return ((source & key).fetch1("value"), offset, [{"nested": key}])

        def make_compute(
            self, key: dict[str, Any], value: float, offset: float, nested: Any
        ) -> tuple[float]:
            calls.append("compute")
            if other is not None:
                q = other.connection.adapter.quote
                other.connection.execute(
                    f"UPDATE {source.full_table_name} SET {q('value')} = {q('value')} + 100 "
                    f"WHERE {q('source_id')} = %s",
                    (key["source_id"],),
                )
            return (value + offset,)

        def make_insert(self, key: dict[str, Any], result: float) -> None:
            calls.append("insert")
            assert self.connection.in_transaction
            self.insert1({**key, "result": result})

    Staged.calls = calls
    return Staged


def test_three_part_make(inst: dj.Instance, schema_name: str) -> None:
    schema = inst.Schema(schema_name)
    t = lab(schema)
    staged = three_part(schema, t["Source"])
    assert staged.populate({"source_id": 2}, make_kwargs={"offset": 0.5})["success_count"] == 1
    # fetch + compute outside the transaction, fetch again inside it, then insert
    assert staged.calls == ["fetch", "compute", "fetch", "insert"]
    assert staged.fetch1("result") == 2.5


def test_three_part_make_detects_a_changed_source(
    inst: dj.Instance, schema_name: str, server: Server
) -> None:
    schema = inst.Schema(schema_name)
    t = lab(schema)
    other = server.instance()
    try:
        staged = three_part(schema, t["Source"], other)
        message = "Referential integrity failed! The `make_fetch` data has changed"
        with pytest.raises(dj.DataJointError, match=message):
            staged.populate({"source_id": 1})
        assert len(staged) == 0
        out = staged.populate({"source_id": 2}, reserve_jobs=True, suppress_errors=True)
        assert out["error_list"] == [({"source_id": 2}, f"DataJointError: {message}")]
        assert staged.jobs.errors.fetch1("error_message") == f"DataJointError: {message}"
        assert len(staged) == 0
    finally:
        other.close()


def test_fingerprint_sees_values_types_and_order() -> None:
    import numpy as np

    a = (1, [2.0, "x"], {"k": np.arange(3)})
    assert fingerprint(a) == fingerprint((1, [2.0, "x"], {"k": np.arange(3)}))
    for changed in [
        (1, [2.0, "y"], {"k": np.arange(3)}),
        (1, ["x", 2.0], {"k": np.arange(3)}),
        (1.0, [2.0, "x"], {"k": np.arange(3)}),
        (1, [2.0, "x"], {"k": np.arange(3).astype("float64")}),
        (1, [2.0, "x"], {"k": np.arange(3).reshape(3, 1)}),
    ]:
        assert fingerprint(changed) != fingerprint(a)
    assert fingerprint({"a": 1, "b": 2}) == fingerprint({"b": 2, "a": 1})


def test_upstream_inside_make(inst: dj.Instance, schema_name: str) -> None:
    """``self.upstream`` is the trace of ``self & key``: each ancestor restricted to what the key
    descends from, one object per call, refused outside make() and for non-ancestors."""
    schema = inst.Schema(schema_name)
    t = lab(schema)
    Source = t["Source"]
    seen: list[tuple[int, list[int], list[float], int]] = []
    makers: list[Any] = []

    @schema
    class Other(dj.Lookup):
        definition = """
        other_id : int32
        """
        contents = [(1,)]

    @schema
    class Traced(dj.Computed):
        definition = """
        -> Source
        ---
        n : int32
        """

        def make(self, key: dict[str, Any]) -> None:
            makers.append(self)
            up = self.upstream
            assert self.upstream is up  # built once per call
            sources = up[Source].to_dicts()
            seen.append(
                (
                    key["source_id"],
                    [r["source_id"] for r in sources],
                    [r["value"] for r in sources],
                    len(up["Source"]),
                )
            )
            with pytest.raises(dj.DataJointError, match="not in this trace"):
                _ = up[Other]
            if key["source_id"] == 3:
                raise ValueError("three")
            self.insert1({**key, "n": len(sources)})

    with pytest.raises(dj.DataJointError, match="only available inside make"):
        _ = Traced().upstream
    result = Traced.populate(suppress_errors=True)
    assert result["success_count"] == 4
    assert sorted(seen) == [(s, [s], [v], 1) for s, v in sorted(VALUES.items())]
    for maker in makers:  # cleared after each call, also the one that raised
        assert maker._upstream_key is None and maker._upstream is None
        with pytest.raises(dj.DataJointError, match="only available inside make"):
            _ = maker.upstream
