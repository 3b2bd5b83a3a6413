"""insert / insert1 on both backends: every source of rows, the options, batching, atomicity and
the errors."""

from __future__ import annotations

import datetime
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import datajoint_core as dj
from datajoint_core import errors

from .pipeline import declare_lab


@pytest.fixture
def lab(inst: dj.Instance, schema_name: str) -> dict[str, Any]:
    return declare_lab(inst.connection, schema_name)


@pytest.fixture
def measure(inst: dj.Instance, schema_name: str) -> Any:
    schema = dj.Schema(schema_name, connection=inst.connection)

    @schema
    class Measure(dj.Manual):
        definition = """
        id : int32
        ---
        value = null : float64
        label = "none" : varchar(16)
        taken = null : date
        tag = null : uuid
        small = null : uint8
        """

    return Measure


def rows_of(table: Any) -> list[dict[str, Any]]:
    return table.to_dicts(order_by="KEY")


class Statements(logging.Handler):
    """Counts the SQL statements that the connection logs."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())

    def count(self, word: str) -> int:
        return sum(word in message for message in self.messages)


@pytest.fixture
def statements() -> Iterator[Statements]:
    logger = logging.getLogger("datajoint_core.sql")
    handler, level = Statements(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


# -- sources of rows ----------------------------------------------------------------------


def test_insert1_dict_and_sequence(measure: Any) -> None:
    measure.insert1({"id": 1, "value": 0.5, "label": "a"})
    measure.insert1((2, 1.5, "b", datetime.date(2024, 1, 1), None, 7))
    assert rows_of(measure) == [
        {"id": 1, "value": 0.5, "label": "a", "taken": None, "tag": None, "small": None},
        {
            "id": 2,
            "value": 1.5,
            "label": "b",
            "taken": datetime.date(2024, 1, 1),
            "tag": None,
            "small": 7,
        },
    ]


def test_insert_defaults_apply_to_missing_and_none(measure: Any) -> None:
    measure.insert([{"id": 1}, {"id": 2, "label": None}, {"id": 3, "label": "set"}])
    assert [r["label"] for r in rows_of(measure)] == ["none", "none", "set"]


def test_insert_list_of_dicts_with_different_fields(measure: Any) -> None:
    measure.insert([{"id": 1, "value": 1.0}, {"id": 2, "label": "x"}, {"id": 3, "value": 3.0}])
    assert [(r["value"], r["label"]) for r in rows_of(measure)] == [
        (1.0, "none"),
        (None, "x"),
        (3.0, "none"),
    ]


def test_insert_pandas(measure: Any) -> None:
    frame = pd.DataFrame(
        {
            "id": [1, 2, 3],
            "value": [0.25, np.nan, 2.0],
            "label": ["a", "b", "c"],
            "taken": [pd.Timestamp("2024-01-02"), pd.NaT, pd.Timestamp("2024-03-04")],
            "small": pd.array([1, None, 3], dtype="UInt8"),
        }
    )
    measure.insert(frame)
    rows = rows_of(measure)
    assert [(r["value"], r["taken"], r["small"]) for r in rows] == [
        (0.25, datetime.date(2024, 1, 2), 1),
        (None, None, None),
        (2.0, datetime.date(2024, 3, 4), 3),
    ]


def test_insert_pandas_round_trip_keeps_the_index(measure: Any, lab: dict[str, Any]) -> None:
    measure.insert([{"id": i, "value": i / 2, "label": f"r{i}"} for i in range(5)])
    frame = measure.to_pandas()
    assert frame.index.names == ["id"]
    measure.delete_quick()
    measure.insert(frame)
    assert [r["label"] for r in rows_of(measure)] == [f"r{i}" for i in range(5)]
    assert (
        len(
            lab["Subject"]
            & measure.to_pandas().reset_index().rename(columns={"id": "subject_id"})[["subject_id"]]
        )
        == 3
    )


def test_insert_arrow_table_and_record_batch(measure: Any) -> None:
    tag = uuid.uuid4()
    table = pa.table(
        {
            "id": pa.array([1, 2], pa.int32()),
            "value": pa.array([1.5, None], pa.float64()),
            "taken": pa.array([datetime.date(2024, 5, 6), None], pa.date32()),
            "tag": pa.array([tag.bytes, None], pa.binary(16)),
        }
    )
    measure.insert(table)
    batch = pa.record_batch({"id": pa.array([3], pa.int64()), "label": pa.array(["batch"])})
    measure.insert(batch)
    rows = rows_of(measure)
    assert [(r["id"], r["value"], r["taken"], r["tag"], r["label"]) for r in rows] == [
        (1, 1.5, datetime.date(2024, 5, 6), tag, "none"),
        (2, None, None, None, "none"),
        (3, None, None, None, "batch"),
    ]


def test_insert_arrow_from_to_arrow(measure: Any, inst: dj.Instance, schema_name: str) -> None:
    """What to_arrow / iter_batches produce goes back in unchanged."""
    measure.insert(
        [
            {"id": 1, "value": 1.0, "taken": "2024-01-01", "tag": uuid.uuid4(), "small": 1},
            {"id": 2},
        ]
    )
    before = rows_of(measure)
    table = measure.to_arrow()
    batches = list(measure.iter_batches(batch_size=1))
    measure.delete_quick()
    measure.insert(table)
    assert rows_of(measure) == before
    measure.delete_quick()
    for batch in batches:
        measure.insert(batch)
    assert rows_of(measure) == before


def test_insert_from_query(lab: dict[str, Any], inst: dj.Instance, schema_name: str) -> None:
    schema = lab["schema"]
    Subject = lab["Subject"]  # noqa: F841  (resolved by the definition below)

    @schema
    class Mouse(dj.Manual):
        definition = """
        -> Subject
        ---
        species : varchar(32)
        """

    Mouse.insert(lab["Subject"] & {"species": "mouse"})
    assert [r["subject_id"] for r in rows_of(Mouse)] == [1, 2]
    Mouse.insert(lab["Subject"], skip_duplicates=True)
    assert len(Mouse()) == 3
    Mouse.insert(lab["Subject"].proj(species="'renamed'"), replace=True)
    assert set(Mouse().to_arrays("species")) == {"renamed"}
    with pytest.raises(errors.DuplicateError, match="Mouse"):
        Mouse.insert(lab["Subject"] & {"subject_id": 1})
    extra = lab["Subject"] * lab["Session"]
    with pytest.raises(dj.DataJointError, match="session_date"):
        Mouse.insert(extra)
    Mouse.delete_quick()
    Mouse.insert(extra & {"session_id": 2}, ignore_extra_fields=True)
    assert [r["subject_id"] for r in rows_of(Mouse)] == [1]


# -- options --------------------------------------------------------------------------------


def test_skip_duplicates(measure: Any) -> None:
    measure.insert([{"id": 1, "label": "first"}])
    measure.insert([{"id": 1, "label": "second"}, {"id": 2, "label": "new"}], skip_duplicates=True)
    assert [r["label"] for r in rows_of(measure)] == ["first", "new"]


def test_skip_duplicates_still_checks_foreign_keys(lab: dict[str, Any]) -> None:
    with pytest.raises(errors.IntegrityError, match="subject"):
        lab["Session"].insert([(9, 1, "2024-01-01")], skip_duplicates=True)
    assert len(lab["Session"]()) == 4


def test_ignore_extra_fields(measure: Any) -> None:
    with pytest.raises(dj.DataJointError, match="bogus"):
        measure.insert1({"id": 1, "bogus": 2})
    measure.insert1({"id": 1, "bogus": 2}, ignore_extra_fields=True)
    frame = pd.DataFrame({"id": [2], "bogus": ["x"]})
    measure.insert(frame, ignore_extra_fields=True)
    measure.insert(pa.table({"id": [3], "other": [1]}), ignore_extra_fields=True)
    assert [r["id"] for r in rows_of(measure)] == [1, 2, 3]


def test_replace(measure: Any) -> None:
    measure.insert1({"id": 1, "value": 1.0, "label": "old"})
    measure.insert([{"id": 1, "value": 2.0, "label": "new"}, {"id": 2}], replace=True)
    assert [(r["value"], r["label"]) for r in rows_of(measure)] == [(2.0, "new"), (None, "none")]


def test_replace_a_row_that_has_children(lab: dict[str, Any]) -> None:
    lab["Subject"].insert1((1, "rat"), replace=True)
    assert (lab["Subject"] & {"subject_id": 1}).fetch1("species") == "rat"
    assert len(lab["Session"] & {"subject_id": 1}) == 2


# -- batching and atomicity ---------------------------------------------------------------


def test_100k_rows_in_few_statements(measure: Any, statements: Statements) -> None:
    rows = [(i, i * 0.5, f"r{i % 97}") for i in range(100_000)]
    measure.insert([{"id": i, "value": v, "label": s} for i, v, s in rows])
    inserts = statements.count("INSERT")
    assert 1 <= inserts <= 50, inserts
    assert len(measure()) == 100_000
    assert (measure & {"id": 99_999}).fetch1("value") == 99_999 * 0.5


def test_a_failing_row_rolls_back_the_whole_insert(measure: Any, lab: dict[str, Any]) -> None:
    measure.insert1({"id": 5})
    with pytest.raises(errors.DuplicateError):
        measure.insert([{"id": i} for i in range(10)], batch_size=3)  # id 5 is in the 2nd batch
    assert [r["id"] for r in rows_of(measure)] == [5]
    with pytest.raises(dj.DataJointError, match="small"):
        measure.insert([{"id": 6}, {"id": 7, "small": 300}])
    assert len(measure()) == 1
    with pytest.raises(errors.IntegrityError):
        lab["Session"].insert([(1, 7, "2024-01-01"), (9, 1, "2024-01-01")])
    assert len(lab["Session"]()) == 4


def test_insert_joins_an_open_transaction(measure: Any, inst: dj.Instance) -> None:
    conn = inst.connection
    with pytest.raises(RuntimeError), conn.transaction:
        measure.insert1({"id": 1})
        assert len(measure()) == 1
        raise RuntimeError("abort")
    assert len(measure()) == 0
    with conn.transaction:
        measure.insert1({"id": 1})
        measure.insert1({"id": 2})
    assert len(measure()) == 2


# -- errors -----------------------------------------------------------------------------------


def test_duplicate_names_the_table(lab: dict[str, Any]) -> None:
    with pytest.raises(errors.DuplicateError) as info:
        lab["Subject"].insert1((1, "mouse"))
    assert "Subject" in str(info.value)


def test_missing_parent_names_the_parent_table(lab: dict[str, Any]) -> None:
    with pytest.raises(errors.IntegrityError) as info:
        lab["Trial"].insert1(dict(subject_id=1, session_id=1, trial_id=9, stimulus_id=99))
    message = str(info.value)
    assert "Trial" in message and "stimulus" in message
    with pytest.raises(errors.IntegrityError) as info:
        lab["Pairing"].insert1((1, 42))
    assert "subject" in str(info.value)


WRONG = [
    ({"id": "one"}, "id"),
    ({"id": 1, "value": "lots"}, "value"),
    ({"id": 1, "small": -1}, "small"),
    ({"id": 1, "small": 256}, "small"),
    ({"id": 2**31}, "id"),
    ({"id": 1, "label": "x" * 17}, "label"),
    ({"id": 1, "taken": "yesterday"}, "taken"),
    ({"id": 1, "taken": 20240101}, "taken"),
    ({"id": 1, "tag": "not-a-uuid"}, "tag"),
    ({"id": None}, "id"),
]


@pytest.mark.parametrize(("row", "attribute"), WRONG)
def test_wrong_type_names_table_and_attribute(
    measure: Any, row: dict[str, Any], attribute: str
) -> None:
    with pytest.raises(dj.DataJointError) as info:
        measure.insert1(row)
    message = str(info.value)
    assert "Measure" in message and attribute in message, message
    assert len(measure()) == 0


def test_wrong_enum_json_bool_values(
    lab: dict[str, Any], inst: dj.Instance, schema_name: str
) -> None:
    schema = lab["schema"]

    @schema
    class Flags(dj.Manual):
        definition = """
        id : int32
        ---
        kind = null : enum('visual', 'Audio')
        on = null : bool
        doc = null : json
        """

    for row, attribute in (
        ({"id": 1, "kind": "audio"}, "kind"),  # enums are case-sensitive on every backend
        ({"id": 1, "on": "yes"}, "on"),
        ({"id": 1, "on": 2}, "on"),
        ({"id": 1, "doc": {1, 2}}, "doc"),
    ):
        with pytest.raises(dj.DataJointError) as info:
            Flags.insert1(row)
        assert "Flags" in str(info.value) and attribute in str(info.value)
    Flags.insert1({"id": 1, "kind": "Audio", "on": np.bool_(True), "doc": {"k": [1]}})
    assert Flags.fetch1("kind", "on", "doc") == ("Audio", True, {"k": [1]})


def test_unknown_attribute_and_bad_rows(measure: Any) -> None:
    with pytest.raises(dj.DataJointError, match="colour"):
        measure.insert1({"id": 1, "colour": "red"})
    with pytest.raises(dj.DataJointError, match="id"):
        measure.insert1({"value": 1.0})
    with pytest.raises(dj.DataJointError, match="6 attributes"):
        measure.insert1((1, 2.0))
    with pytest.raises(dj.DataJointError, match="insert1"):
        measure.insert({"id": 1})
    with pytest.raises(dj.DataJointError, match="restricted"):
        (measure & {"id": 1}).insert1({"id": 1})
    assert len(measure()) == 0


def test_hostile_values_travel_as_parameters(measure: Any) -> None:
    hostile = "'; DROP TABLE x; -- %s %(a)s `\""
    measure.insert1({"id": 1, "label": hostile[:16]})
    assert (measure & {"label": hostile[:16]}).fetch1("id") == 1


def test_insert_from_a_query_of_another_connection_raises(lab: dict[str, Any], server: Any) -> None:
    other = server.instance()
    try:
        theirs = dj.FreeTable(other.connection, lab["Subject"].full_table_name)
        with pytest.raises(dj.DataJointError, match="different connections"):
            lab["Subject"].insert(theirs, skip_duplicates=True)
    finally:
        other.close()
