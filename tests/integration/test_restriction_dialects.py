"""Restriction strings in the dialect of the source (issue 12, item 2), on both backends.

Valid PostgreSQL (JSON operators, ``::`` casts, ``ILIKE``, ``INTERVAL '1 month'``) runs as
written on PostgreSQL; MySQL-only text (the seed's ``"2024-01-01"``, backticks, ``INTERVAL 1
MONTH``, ``YEAR()``) is translated there; on MySQL every string is sent as written. Typos get a
"did you mean" naming the table's class; syntax errors are refused before any query, naming the
condition; a subquery may name other tables' columns.
"""

from __future__ import annotations

from typing import Any

import pytest

import datajoint_core as dj
from datajoint_core import errors


@pytest.fixture
def sample(inst: dj.Instance, schema_name: str) -> tuple[Any, Any]:
    schema = dj.Schema(schema_name, connection=inst.connection)

    @schema
    class Sample(dj.Manual):
        definition = """
        sample_id : int32
        ---
        name : varchar(16)
        taken : date
        notes = null : json
        """

    @schema
    class Tag(dj.Manual):
        definition = """
        -> Sample
        tag : varchar(16)
        """

    Sample.insert(
        [
            {"sample_id": 1, "name": "Alpha", "taken": "2023-12-31", "notes": {"temp": "22"}},
            {"sample_id": 2, "name": "beta", "taken": "2024-02-10", "notes": {"temp": "25"}},
            {"sample_id": 3, "name": "gamma", "taken": "2024-03-05", "notes": None},
        ]
    )
    Tag.insert([{"sample_id": 1, "tag": "chen_lab"}, {"sample_id": 3, "tag": "other"}])
    return Sample, Tag


def ids(expr: Any) -> list[int]:
    return sorted(r["sample_id"] for r in expr.to_dicts())


# (condition, expected ids); each runs on every backend: valid on both, or translated
PORTABLE = [
    ('taken > "2024-01-01"', [2, 3]),  # the seed's double-quoted literal
    ("`taken` > '2024-01-01'", [2, 3]),
    ("taken BETWEEN '2024-01-01' AND '2024-02-28'", [2]),
    ("DATE_SUB(taken, INTERVAL 1 MONTH) > '2024-01-01'", [2, 3]),
    ("YEAR(taken) = 2024 AND MONTH(taken) = 3", [3]),
    ("IFNULL(name, 'x') = 'beta'", [2]),
    ("CAST(sample_id AS CHAR) = '2'", [2]),
    ("name LIKE 'b%'", [2]),
]

# valid PostgreSQL that the MySQL reading would break: sent as written on PostgreSQL
POSTGRESQL = [
    ("notes->>'temp' = '22'", [1]),
    ("taken > '2024-01-01'::date", [2, 3]),
    ("name ILIKE 'alpha'", [1]),
    ("taken > DATE '2024-03-01' - INTERVAL '1 month'", [2, 3]),
    ("(notes->>'temp')::int > 23", [2]),
]

# the same questions in MySQL's (MariaDB's) own words
MYSQL = [
    ("JSON_VALUE(notes, '$.temp') = '22'", [1]),
    ("taken > CAST('2024-01-01' AS DATE)", [2, 3]),
    ("LOWER(name) LIKE 'alpha'", [1]),
    ("taken > DATE '2024-03-01' - INTERVAL 1 MONTH", [2, 3]),
]


@pytest.mark.parametrize(("condition", "expected"), PORTABLE)
def test_portable_conditions(sample: Any, condition: str, expected: list[int]) -> None:
    Sample, _ = sample
    assert ids(Sample & condition) == expected
    assert ids(Sample - condition) == sorted({1, 2, 3} - set(expected))


def test_native_conditions(sample: Any, backend: str) -> None:
    Sample, _ = sample
    native = {"postgresql": POSTGRESQL, "mysql": MYSQL}[backend]
    for condition, expected in native:
        assert ids(Sample & condition) == expected, condition


def test_valid_postgresql_is_sent_as_written(sample: Any, backend: str) -> None:
    Sample, _ = sample
    if Sample().adapter.sqlglot_dialect == "postgres":
        sql = (Sample & "notes->>'temp' = '22'").make_sql().sql
        assert "notes->>'temp' = '22'" in sql and "JSON_EXTRACT" not in sql.upper()
        sql = (Sample & 'taken > "2024-01-01"').make_sql().sql
        assert "taken > '2024-01-01'" in sql
    else:
        sql = (Sample & 'taken > "2024-01-01"').make_sql().sql
        assert 'taken > "2024-01-01"' in sql  # MySQL reads it itself


def test_a_typo_suggests_the_attribute(sample: Any) -> None:
    Sample, _ = sample
    with pytest.raises(errors.UnknownAttributeError) as info:
        Sample & "sampel_id = 1"
    message = str(info.value)
    assert "Sample" in message and "sampel_id" in message
    assert "did you mean 'sample_id'" in message
    with pytest.raises(KeyError):  # as the reference's insert raises a KeyError
        Sample & "nmae = 'beta'"


def test_a_syntax_error_names_the_condition(sample: Any, inst: dj.Instance) -> None:
    Sample, _ = sample
    for condition in ("sample_id = = 1", "sample_id = 1 AND (", "sample_id = 1; DROP TABLE x"):
        with pytest.raises(dj.DataJointError) as info:
            Sample & condition  # refused at once: nothing is sent
        assert condition in str(info.value) and "Sample" in str(info.value)
    assert len(Sample()) == 3


def test_a_subquery_may_name_other_tables_columns(sample: Any) -> None:
    Sample, Tag = sample
    condition = (
        f"sample_id IN (SELECT sample_id FROM {Tag().full_table_name} WHERE tag = 'chen_lab')"
    )
    restricted = Sample & condition
    assert ids(restricted) == [1]
    assert restricted.restriction_attributes == frozenset({"sample_id"})
    with pytest.raises(errors.UnknownAttributeError, match="tag"):  # outside the subquery
        Sample & f"tag = 'x' AND {condition}"


def test_computed_attributes_are_read_in_the_dialect_too(sample: Any) -> None:
    Sample, _ = sample
    shout = Sample.proj(label='CONCAT(name, "!")', year="YEAR(taken)")
    rows = {r["sample_id"]: r for r in shout.to_dicts()}
    assert rows[2]["label"] == "beta!" and int(rows[3]["year"]) == 2024
