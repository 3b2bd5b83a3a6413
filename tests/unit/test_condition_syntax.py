"""check_syntax / read_sql: restriction strings read without a server (issue 12, item 2)."""

from __future__ import annotations

import pytest

import datajoint_core as dj
from datajoint_core.condition import check_syntax, read_sql, syntax_problem


def test_check_syntax_returns_the_attributes_outside_subqueries() -> None:
    assert check_syntax("a = 1 AND b IN (SELECT c FROM t WHERE d = 2)") == {"a", "b"}
    assert check_syntax("notes->>'temp' = '22'", "postgresql") == {"notes"}
    assert check_syntax('d > "2024-01-01"', "postgresql") == {"d"}  # a MySQL literal


@pytest.mark.parametrize("dialect", ["mysql", "postgresql"])
@pytest.mark.parametrize(
    "text", ["a = = 1", "a = 1 AND (", "", "a = 1; DROP TABLE t", "DROP TABLE t", "SELECT 1"]
)
def test_check_syntax_refuses_what_is_no_condition(text: str, dialect: str) -> None:
    with pytest.raises(dj.DataJointError) as info:
        check_syntax(text, dialect)
    assert repr(text) in str(info.value)


@pytest.mark.parametrize("dialect", ["mysql", "postgresql"])
@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a = = 1", "unexpected '=' at column 5"),
        ("a > > 1", "unexpected '>' at column 5"),  # sqlglot alone reads it as a >> 1
        ("a < = 1", "unexpected '=' at column 5"),
        ("a = 1)", "unexpected ')' at column 6"),
        ("a = 1 AND (", "it ends too early, after '('"),
        ("a = 1 OR", "it ends too early, after 'OR'"),
        ("a IN (1, 2", "a '(' is not closed"),
        ("a = 'x", "an unterminated quote or comment"),
        ("a = 1 ORDER BY a", "unexpected 'ORDER BY' at column 7"),
        ("(" * 200 + "a = 1" + ")" * 200, "it nests parentheses too deeply"),
    ],
)
def test_syntax_problem_says_where_in_the_users_words(
    text: str, problem: str, dialect: str
) -> None:
    assert syntax_problem(text, dialect) == f"not valid SQL: {problem}"


@pytest.mark.parametrize("text", ["a >> 1", "a >= 1", "a <> 1", "a != 1", "a = -1", "a<=1"])
def test_syntax_problem_accepts_operators_written_together(text: str) -> None:
    assert syntax_problem(text, "mysql") is None and syntax_problem(text, "postgresql") is None


def test_postgresql_text_is_kept_mysql_text_is_translated() -> None:
    names = ["d", "notes", "name"]
    kept = read_sql("notes->>'temp' = '22' AND d > '2024-01-01'::date", "postgres", names)
    assert not kept.translated and kept.sql == "notes->>'temp' = '22' AND d > '2024-01-01'::date"
    assert read_sql("name ILIKE 'a%'", "postgres", names).sql == "name ILIKE 'a%'"
    for mysql in ('d > "2024-01-01"', "`d` > '2024-01-01'", "d > NOW() - INTERVAL 3 DAY"):
        read = read_sql(mysql, "postgres", names)
        assert read.translated and "`" not in read.sql and '"2024' not in read.sql, read.sql
    assert read_sql("IFNULL(name, 'x') = 'y'", "postgres", names).sql.startswith("COALESCE")
    # on MySQL nothing is rewritten
    assert read_sql('d > "2024-01-01"', "mysql", names).sql == 'd > "2024-01-01"'


def test_unknown_attributes_get_a_suggestion() -> None:
    with pytest.raises(dj.errors.UnknownAttributeError, match="did you mean 'session_date'"):
        read_sql("sesion_date > '2024-01-01'", "mysql", ["session_date"], "Session")
    with pytest.raises(dj.errors.UnknownAttributeError, match="Session"):
        read_sql('sesion_date > "2024-01-01"', "postgres", ["session_date"], "Session")
