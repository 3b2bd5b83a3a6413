"""The SQL in a recipe, through the real ``subset`` command on both backends (issue 12, items 2,
3, 4 and 7): `where:` strings in the source's dialect, syntax errors caught by ``validate``,
server-side errors and typos located at the recipe line (exit 2), restrictions applied in order
with each one's effect in the preview, and hints that name the right fix."""

from __future__ import annotations

import difflib
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

import datajoint_core as dj
from datajoint_core.graph.sql import sample_condition

from ..conftest import Server
from .conftest import run_cli, write_recipe

OUTPUTS = "outputs:\n  out: {type: parquet, path: ./out}\n"


def line_of(path: Path, needle: str) -> int:
    """The 1-based line of ``path`` that holds ``needle`` (first one)."""
    for number, text in enumerate(path.read_text().splitlines(), 1):
        if needle in text:
            return number
    raise AssertionError(f"{needle!r} is not in {path}")


def refused(result: Any, path: Path, line: int, key: str) -> str:
    """The one-line message of a recipe mistake: exit 2, located, no traceback or SQL dump."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    message = result.stderr.strip()
    assert message.startswith(f"Error: {path}:{line}: {key}: "), message
    assert "Traceback" not in message
    for generated in ("count(*)", "_keys", "_top", "FROM ("):  # no piece of the plan's SQL
        assert generated not in message, message
    return message


def table_rows(out: Path, name: str) -> list[dict[str, Any]]:
    """The rows of table ``name`` (``Session``, the class name) in a Parquet snapshot ``out``."""
    files = [p for p in out.rglob("*.parquet") if p.stem.rsplit(".", 1)[-1].lower() == name.lower()]
    assert len(files) == 1, (name, sorted(p.name for p in out.rglob("*.parquet")))
    return pq.read_table(files[0]).to_pylist()


def restrict(tmp_path: Path, server: Server, schema: str, entries: str) -> Path:
    return write_recipe(
        tmp_path, server, f"schemas: [{schema}]\nrestrictions:\n{entries}\n{OUTPUTS}"
    )


# -- item 2: restriction strings in the source's dialect ---------------------------------------

SAMPLE = """
sample_id : int32
---
name : varchar(16)
taken : date
notes = null : json
"""
ROWS = [
    {"sample_id": 1, "name": "Alpha", "taken": "2023-12-31", "notes": {"temp": "22"}},
    {"sample_id": 2, "name": "beta", "taken": "2024-02-10", "notes": {"temp": "25"}},
    {"sample_id": 3, "name": "gamma", "taken": "2024-03-05", "notes": None},
]
# (condition, the sample_ids it keeps): each on a table of its own, all in one run
CONDITIONS = {
    "postgresql": [
        ("notes->>'temp' = '22'", [1]),  # JSON operator: kept as written
        ("(notes->>'temp')::int > 23", [2]),  # a :: cast
        ("CAST(sample_id AS CHAR) = '2'", [2]),
        ("name ILIKE 'alpha'", [1]),
        ("taken > DATE '2024-03-01' - INTERVAL '1 month'", [2, 3]),
        ("DATE_SUB(taken, INTERVAL 40 DAY) > '2024-01-01'", [3]),  # MySQL: translated
        ('taken > "2024-01-01"', [2, 3]),  # the seed's double-quoted literal: translated
    ],
    "mysql": [
        ("JSON_VALUE(notes, '$.temp') = '22'", [1]),
        ("CAST(JSON_VALUE(notes, '$.temp') AS SIGNED) > 23", [2]),
        ("CAST(sample_id AS CHAR) = '2'", [2]),
        ("LOWER(name) LIKE 'alpha'", [1]),
        ("taken > DATE '2024-03-01' - INTERVAL 1 MONTH", [2, 3]),
        ("DATE_SUB(taken, INTERVAL 40 DAY) > '2024-01-01'", [3]),
        ('taken > "2024-01-01"', [2, 3]),
    ],
}


def test_where_strings_are_read_in_the_source_dialect(
    tmp_path: Path, server: Server, inst: dj.Instance, schema_name: str, cli_env: dict[str, str]
) -> None:
    schema = dj.Schema(schema_name, connection=inst.connection)
    cases = CONDITIONS[server.backend]
    for i in range(len(cases)):
        table = schema(type(f"Sample{i}", (dj.Manual,), {"definition": SAMPLE}))
        table.insert(ROWS)
    entries = "".join(
        f"  - table: {schema_name}.Sample{i}\n    where: {json.dumps(condition)}\n"
        for i, (condition, _) in enumerate(cases)
    )
    recipe = restrict(tmp_path, server, schema_name, entries)
    assert run_cli("validate", str(recipe)).returncode == 0
    result = run_cli("run", str(recipe), "--json", env=cli_env)
    assert result.returncode == 0, result.stderr
    for i, (condition, expected) in enumerate(cases):
        rows = table_rows(tmp_path / "out", f"sample{i}")
        assert sorted(r["sample_id"] for r in rows) == expected, condition


def test_mysql_only_syntax_on_mysql_and_postgresql_only_syntax_are_located(
    tmp_path: Path, server: Server, inst: dj.Instance, schema_name: str, cli_env: dict[str, str]
) -> None:
    """Text valid on neither reading is refused by the server: located, exit 2."""
    schema = dj.Schema(schema_name, connection=inst.connection)
    schema(type("Sample", (dj.Manual,), {"definition": SAMPLE})).insert(ROWS)
    other = "name ILIKE 'alpha'" if server.backend == "mysql" else "name == 'alpha'"
    recipe = restrict(
        tmp_path, server, schema_name, f"  - table: {schema_name}.Sample\n    where: {other!r}\n"
    )
    result = run_cli("preview", str(recipe), env=cli_env)
    message = refused(result, recipe, line_of(recipe, "where:"), "restrictions[0].where")
    assert f"the source refused this restriction of {schema_name}.Sample" in message


# -- item 3: syntax checked by validate, server errors located ----------------------------------


@pytest.mark.parametrize(
    ("entry", "key", "problem"),
    [
        ('where: "session_date > > 1"', "where", "is not valid SQL: unexpected '>' at column 16"),
        ("where: \"session_date > '2024' AN session_id = 1\"", "where", "unexpected 'session_id'"),
        ('where: [{session_id: 1}, "session_id IN (1, 2"]', "where[1]", "a '(' is not closed"),
        ("limit: 1e40", "limit", "'limit' must be a whole number of rows, not 1e40"),
        ("limit: 2.5", "limit", "'limit' must be a whole number of rows, not 2.5"),
        ("limit: -3", "limit", "'limit' must be at least 1, not -3"),
        (
            "limit: 2\n    order_by: [session_date SIDEWAYS]",
            "order_by[0]",
            "unknown direction 'SIDEWAYS' in 'session_date SIDEWAYS' (expected ASC or DESC)",
        ),
        (
            'limit: 2\n    order_by: "session_date DESC ((("',
            "order_by",
            "'session_date DESC (((' is not 'attribute [ASC|DESC]'",
        ),
    ],
)
def test_validate_parses_where_limit_and_order_by(
    tmp_path: Path, server: Server, entry: str, key: str, problem: str
) -> None:
    recipe = restrict(tmp_path, server, "lab", f"  - table: lab.Session\n    {entry}\n")
    line = line_of(recipe, key.split("[")[0] + ":")
    for command in ("validate", "preview"):  # preview refuses it before connecting
        result = run_cli(command, str(recipe), env={"SUBSET_TEST_PASSWORD": "unused"})
        message = refused(result, recipe, line, f"restrictions[0].{key}")
        assert problem in message, message


SERVER_ERRORS = {
    # kind: {backend: (where, words of the server's message)}
    "subquery of several rows": dict.fromkeys(
        ("mysql", "postgresql"), ("subject_id = (SELECT subject_id FROM {subject})", "row")
    ),
    "unknown function": dict.fromkeys(("mysql", "postgresql"), ("nosuchf(species) = 1", "nosuchf")),
    "unknown column in a subquery": dict.fromkeys(
        ("mysql", "postgresql"), ("subject_id IN (SELECT nosuch FROM {subject})", "nosuch")
    ),
    "invalid value": {
        "postgresql": ("CAST(species AS INTEGER) > 3", "invalid input syntax"),
        "mysql": ("species REGEXP '('", "Regex error"),  # MariaDB casts 'mouse' to 0 quietly
    },
}


@pytest.mark.parametrize("kind", list(SERVER_ERRORS))
@pytest.mark.parametrize("command", ["preview", "run"])
def test_a_condition_the_server_refuses_is_located(
    tmp_path: Path,
    server: Server,
    schema_name: str,
    lab: dict[str, Any],
    cli_env: dict[str, str],
    command: str,
    kind: str,
) -> None:
    where, says = SERVER_ERRORS[kind][server.backend]
    condition = where.format(subject=lab["Subject"]().full_table_name)
    recipe = restrict(
        tmp_path,
        server,
        schema_name,
        f"  - table: {schema_name}.Session\n    limit: 3\n"
        f"  - table: {schema_name}.Subject\n    where: {json.dumps(condition)}\n",
    )
    result = run_cli(command, str(recipe), env=cli_env)
    line = line_of(recipe, f"where: {json.dumps(condition)}")
    message = refused(result, recipe, line, "restrictions[1].where")
    assert f"the source refused this restriction of {schema_name}.Subject: " in message
    assert says in message and len(message) < 400, message
    assert not (tmp_path / "out").exists()  # nothing written


# -- item 4: restrictions apply in order; the preview shows each one's effect -------------------


def _ids(tmp_path: Path) -> list[tuple[int, int]]:
    """The sessions in the snapshot ``tmp_path / "out"``."""
    rows = table_rows(tmp_path / "out", "session")
    return sorted((r["subject_id"], r["session_id"]) for r in rows)


def test_limit_picks_the_top_of_what_the_earlier_restrictions_left(
    tmp_path: Path, server: Server, schema_name: str, lab: dict[str, Any], cli_env: dict[str, str]
) -> None:
    # the latest session of all is the rat's (3, 1): a top-2 of the whole table would keep it
    recipe = restrict(
        tmp_path,
        server,
        schema_name,
        f"  - table: {schema_name}.Subject\n    where: {{species: mouse}}\n"
        f"  - table: {schema_name}.Session\n    limit: 2\n    order_by: [session_date DESC]\n"
        f"  - table: {schema_name}.Session\n    where: \"session_date < '2024-03-01'\"\n",
    )
    preview = run_cli("preview", str(recipe), "--json", env=cli_env)
    assert preview.returncode == 0, preview.stderr
    steps = json.loads(preview.stdout)["steps"]
    assert [(s["table"], s["rows"]) for s in steps] == [
        (f"{schema_name}.Subject", 2),
        (f"{schema_name}.Session", 2),  # the top 2 of the mice's 3 sessions
        (f"{schema_name}.Session", 1),
    ]
    assert [s["line"] for s in steps] == [
        line_of(recipe, f"table: {schema_name}.Subject"),
        line_of(recipe, "limit: 2") - 1,
        line_of(recipe, "session_date < ") - 1,
    ]
    text = run_cli("preview", str(recipe), env=cli_env)
    assert text.returncode == 0, text.stderr
    assert "Restrictions, in order" in text.stdout and "rows after" in text.stdout
    assert re.search(r"top 2 by session_date DESC\s*│\s*2 │", text.stdout), text.stdout
    result = run_cli("run", str(recipe), env=cli_env)
    assert result.returncode == 0, result.stderr
    assert _ids(tmp_path) == [(1, 2)]


def test_sample_then_limit_and_limit_then_sample_act_on_what_is_left(
    tmp_path: Path,
    server: Server,
    inst: dj.Instance,
    schema_name: str,
    lab: dict[str, Any],
    cli_env: dict[str, str],
) -> None:
    session = lab["Session"]()
    key = session.primary_key

    def sampled(seed: int) -> set[tuple[int, int]]:
        rows = (session & sample_condition(session.adapter, key, 50, seed)).to_dicts()
        return {(r["subject_id"], r["session_id"]) for r in rows}

    # a seed that leaves out the latest session (3, 1) but keeps another one
    seed = next(s for s in range(200) if sampled(s) and (3, 1) not in sampled(s))
    latest = max(sampled(seed), key=lambda k: {(1, 1): 1, (1, 2): 2, (2, 1): 3}[k])
    recipe = restrict(
        tmp_path,
        server,
        schema_name,
        f"  - table: {schema_name}.Session\n    sample: {{percent: 50, seed: {seed}}}\n"
        f"  - table: {schema_name}.Session\n    limit: 1\n    order_by: session_date DESC\n",
    )
    result = run_cli("run", str(recipe), env=cli_env)
    assert result.returncode == 0, result.stderr
    assert _ids(tmp_path) == [latest]  # not the whole table's top 1

    limited = tmp_path / "limited"
    limited.mkdir()
    seed = next(s for s in range(200) if (3, 1) in sampled(s) and (2, 1) not in sampled(s))
    recipe = restrict(
        limited,
        server,
        schema_name,
        f"  - table: {schema_name}.Session\n    limit: 2\n    order_by: session_date DESC\n"
        f"  - table: {schema_name}.Session\n    sample: {{percent: 50, seed: {seed}}}\n",
    )
    result = run_cli("run", str(recipe), env=cli_env)
    assert result.returncode == 0, result.stderr
    assert _ids(limited) == [(3, 1)]  # the sample of the top 2


# -- item 7: hints that name the right fix ------------------------------------------------------


@pytest.fixture
def other_schema(inst: dj.Instance, schema_name: str) -> Iterator[str]:
    """A second schema on the server, left out of the recipe's `schemas` (a name unlike it)."""
    name = f"zz_{uuid.uuid4().hex[:8]}"
    assert not difflib.get_close_matches(name, [schema_name], cutoff=0.6)

    @dj.Schema(name, connection=inst.connection)
    class Thing(dj.Manual):
        definition = "thing_id : int32\n"

    yield name
    inst.connection.execute(inst.connection.adapter.drop_schema_sql(name))


def test_a_restriction_on_a_schema_missing_from_schemas_says_add_it(
    tmp_path: Path,
    server: Server,
    schema_name: str,
    lab: dict[str, Any],
    other_schema: str,
    cli_env: dict[str, str],
) -> None:
    recipe = restrict(
        tmp_path, server, schema_name, f"  - table: {other_schema}.Thing\n    limit: 1\n"
    )
    line = line_of(recipe, f"table: {other_schema}.Thing")
    checked = refused(run_cli("validate", str(recipe)), recipe, line, "restrictions[0].table")
    assert checked.endswith(f"is not in `schemas` ({schema_name}): add it there"), checked
    result = run_cli("preview", str(recipe), env=cli_env)
    message = refused(result, recipe, line, "restrictions[0].table")
    assert message.endswith(
        f"schema '{other_schema}' of '{other_schema}.Thing' is not in "
        "`schemas`: add it to `schemas`"
    ), message
    assert "did you mean" not in message


def test_a_typo_in_schemas_is_fixed_in_schemas(
    tmp_path: Path, server: Server, schema_name: str, lab: dict[str, Any], cli_env: dict[str, str]
) -> None:
    typo = schema_name + "x"
    recipe = write_recipe(
        tmp_path,
        server,
        f"schemas: [{typo}]\nrestrictions:\n  - table: {schema_name}.Session\n    limit: 1\n"
        + OUTPUTS,
    )
    entry, table = line_of(recipe, "schemas:"), line_of(recipe, "table:")
    # without a server either may be the typo: validate names both fixes
    checked = refused(run_cli("validate", str(recipe)), recipe, table, "restrictions[0].table")
    assert f"correct schemas[0] '{typo}' (line {entry}) to '{schema_name}'" in checked
    # the source knows: the entry of `schemas` is the one to fix, toward the restriction's
    message = refused(run_cli("preview", str(recipe), env=cli_env), recipe, entry, "schemas[0]")
    assert message.endswith(
        f"schema '{typo}' does not exist on the source (did you mean '{schema_name}'?)"
    ), message


@pytest.mark.parametrize(
    ("table", "entry", "key", "expected"),
    [
        (
            "Subject",
            "where: {specie: mouse}",
            "where.specie",
            "Subject has no attribute 'specie' (did you mean 'species'?)",
        ),
        (
            "Session",
            "where: [{session_id: 1}, {sesion_id: 2}]",
            "where[1].sesion_id",
            "Session has no attribute 'sesion_id' (did you mean 'session_id'?)",
        ),
        (
            "Trial.Event",
            'where: "tt > 1"',
            "where",
            "Trial.Event: the condition 'tt > 1' names "
            "unknown attribute(s) ['tt']; did you mean 't' for 'tt'?",
        ),
        (
            "Session",
            "limit: 1\n    order_by: [sesion_date DESC]",
            "order_by[0]",
            "Session has no attribute 'sesion_date' to order by (did you mean 'session_date'?)",
        ),
    ],
)
def test_a_column_typo_gets_did_you_mean_with_the_class_name(
    tmp_path: Path,
    server: Server,
    schema_name: str,
    lab: dict[str, Any],
    cli_env: dict[str, str],
    table: str,
    entry: str,
    key: str,
    expected: str,
) -> None:
    recipe = restrict(
        tmp_path, server, schema_name, f"  - table: {schema_name}.{table}\n    {entry}\n"
    )
    line = line_of(recipe, key.split(".")[0].split("[")[0] + ":")
    for command in ("preview", "run"):
        result = run_cli(command, str(recipe), env=cli_env)
        message = refused(result, recipe, line, f"restrictions[0].{key}")
        assert f"{schema_name}.{expected}" in message, message


def test_a_literal_password_suggests_the_backends_variable(tmp_path: Path, server: Server) -> None:
    recipe = restrict(tmp_path, server, "lab", "  - table: lab.Session\n    limit: 1\n")
    secret = "hunter2-xyz"
    recipe.write_text(recipe.read_text().replace("${SUBSET_TEST_PASSWORD:-}", secret))
    result = run_cli("validate", str(recipe))
    message = refused(result, recipe, line_of(recipe, "password:"), "source.password")
    expected = {"mysql": "${MYSQL_PWD} or ${DJ_PASS}", "postgresql": "${PGPASSWORD}"}
    assert message.endswith(f"e.g. {expected[server.backend]}"), message
    assert secret not in result.stdout + result.stderr
