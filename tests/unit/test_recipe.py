"""Recipe parsing and validation: every example in recipes/ (and the demo's, shipped in the
package) loads, every mistake is located."""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from subsetter.recipe import (
    CONNECTION_KEYS,
    INSTANCE_OUTPUT_KEYS,
    RESTRICTION_KEYS,
    SAMPLE_KEYS,
    TOP_KEYS,
    ConnectionSpec,
    IfExists,
    Location,
    OutputType,
    Recipe,
    RecipeError,
    Sample,
    Upstream,
    load_recipe,
    parse_recipe,
    resolve_path,
)

ROOT = Path(__file__).parents[2]
DEMO = ROOT / "subsetter" / "recipes" / "demo.yaml"  # package data: `subset demo` runs it
RECIPES = sorted([*(ROOT / "recipes").glob("*.yaml"), *DEMO.parent.glob("*.yaml")])

# Line numbers below refer to this text.
BASE = """\
version: 1
source:
  embedded: ./.subset/pg
schemas: [lab, ephys]
restrictions:
  - table: lab.Subject
    where: {species: mouse}
outputs:
  snapshot:
    type: parquet
    path: ./out
"""

SERVER_SOURCE = """\
source:
  backend: postgresql
  host: 127.0.0.1
  user: postgres
  password: ${PGPASSWORD}
"""

SERVER_RECIPE = (
    "version: 1\n" + SERVER_SOURCE + "schemas: [lab]\noutputs: {o: {type: duckdb, path: x}}\n"
)


def parse(text: str, **env: str) -> Recipe:
    return parse_recipe(text, file="recipe.yaml", env=env)


def fail(text: str, **env: str) -> RecipeError:
    with pytest.raises(RecipeError) as info:
        parse(text, **env)
    return info.value


def edit(old: str, new: str, text: str = BASE) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def with_restrictions(entries: str) -> str:
    return edit("  - table: lab.Subject\n    where: {species: mouse}\n", entries)


def with_outputs(outputs: str) -> str:
    return edit("  snapshot:\n    type: parquet\n    path: ./out\n", outputs)


# --- the examples --------------------------------------------------------------------------------


def test_recipes_directory_has_examples() -> None:
    names = {path.name for path in RECIPES}
    assert {"demo.yaml", "mysql-to-staging.yaml", "sample-and-top.yaml"} <= names


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_every_recipe_validates(path: Path) -> None:
    recipe = load_recipe(path, env={})  # examples need no environment: every ${VAR} has a default
    assert recipe.version == 1 and recipe.schemas and recipe.outputs
    assert recipe.path == str(path) and recipe.text == path.read_text()
    for restriction in recipe.restrictions:
        assert restriction.table.split(".")[0] in recipe.schemas


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_every_recipe_top_level_key_is_commented(path: Path) -> None:
    lines = path.read_text().splitlines()
    assert lines[0].startswith("#"), "a recipe opens with a comment saying what it does"
    for number, line in enumerate(lines):
        if line[:1].isalpha():  # a top-level key
            assert "#" in line or lines[number - 1].startswith("#"), f"line {number + 1}: {line}"


def test_examples_document_every_key() -> None:
    text = "\n".join(path.read_text() for path in RECIPES)
    keys = {*TOP_KEYS, *CONNECTION_KEYS, *RESTRICTION_KEYS, *SAMPLE_KEYS, *INSTANCE_OUTPUT_KEYS}
    keys |= {f"{choice.value}" for enum in (Upstream, IfExists, OutputType) for choice in enum}
    assert not {key for key in keys if key not in text}
    assert "${" in text and ":-" in text


def test_demo_recipe() -> None:
    recipe = load_recipe(DEMO, env={})
    assert recipe.source.embedded == "./pg" and recipe.source.backend == "postgresql"
    assert recipe.schemas == ("demo_lab", "demo_ephys", "demo_analysis")
    assert [r.table for r in recipe.restrictions] == ["demo_lab.Subject", "demo_lab.Session"]
    assert recipe.restrictions[0].where == {"species": "mouse"}
    assert recipe.prune and recipe.upstream is Upstream.ALL
    assert [(o.type, o.path) for o in recipe.outputs] == [
        (OutputType.PARQUET, "./parquet"),
        (OutputType.DUCKDB, "./demo.duckdb"),
    ]


def test_mysql_to_staging_recipe() -> None:
    recipe = load_recipe(ROOT / "recipes" / "mysql-to-staging.yaml", env={"DJ_PASS": "s3cret"})
    assert recipe.source.backend == "mysql" and recipe.source.password == "s3cret"
    (staging,) = recipe.outputs
    assert staging.type is OutputType.INSTANCE and staging.if_exists is IfExists.REPLACE
    assert staging.connection is not None and staging.connection.backend == "postgresql"
    assert staging.schema_map["demo_lab"] == "staging_lab"
    assert "s3cret" not in repr(recipe) and "s3cret" not in recipe.source.describe()


def test_sample_and_top_recipe() -> None:
    recipe = load_recipe(ROOT / "recipes" / "sample-and-top.yaml", env={"PGPORT": "6543"})
    top, sample = recipe.restrictions
    assert (top.limit, top.order_by, top.where) == (20, ("session_date DESC",), None)
    assert sample.sample == Sample(percent=10.0, seed=42)
    assert recipe.upstream is Upstream.REFERENCED and recipe.source.port == 6543


# --- values --------------------------------------------------------------------------------------


def test_base_recipe_values_and_locations() -> None:
    recipe = parse(BASE)
    (restriction,) = recipe.restrictions
    assert restriction.location == Location("recipe.yaml", 6, "restrictions[0]")
    assert restriction.table_location == Location("recipe.yaml", 6, "restrictions[0].table")
    assert recipe.location("schemas[1]") == Location("recipe.yaml", 4, "schemas[1]")
    assert recipe.location("outputs.snapshot.nothing").line == 9
    assert recipe.outputs[0].if_exists is IfExists.FAIL and recipe.outputs[0].connection is None
    assert (recipe.include, recipe.exclude, recipe.prune) == ((), (), True)


def test_where_forms() -> None:
    recipe = parse(
        with_restrictions(
            "  - table: lab.Subject\n"
            "    where: [{species: mouse, sex: F}, \"species = 'rat'\"]\n"
            "  - table: lab.Session\n"
            "    where: \"session_date > '2024-01-01'\"\n"
            "  - table: lab.Session.Note\n"
            "    where: {session_date: 2024-01-01}\n"
        )
    )
    where = [r.where for r in recipe.restrictions]
    assert where[0] == [{"species": "mouse", "sex": "F"}, "species = 'rat'"]
    assert where[1] == "session_date > '2024-01-01'"
    assert str(where[2]["session_date"]) == "2024-01-01"


def test_server_connection_defaults_and_describe() -> None:
    recipe = parse(edit("source:\n  embedded: ./.subset/pg\n", SERVER_SOURCE), PGPASSWORD="pw")
    source = recipe.source
    assert (source.port, source.password, source.database) == (5432, "pw", None)
    assert source.describe() == "postgresql://postgres@127.0.0.1:5432"
    assert "pw" not in repr(source)
    mysql = dataclasses.replace(source, backend="mysql", host="::1", port=3306, user=None)
    assert mysql.describe() == "mysql://[::1]:3306"


@pytest.mark.parametrize(
    ("spelled", "backend", "port"), [("mariadb", "mysql", 3306), ("Postgres", "postgresql", 5432)]
)
def test_backend_aliases_and_default_ports(spelled: str, backend: str, port: int) -> None:
    """A backend's other names (the facts of datajoint_core.adapters) and its default port."""
    text = edit("  backend: postgresql\n", f"  backend: {spelled}\n", SERVER_SOURCE)
    recipe = parse(edit("source:\n  embedded: ./.subset/pg\n", text), PGPASSWORD="pw")
    assert (recipe.source.backend, recipe.source.port) == (backend, port)


def test_interpolation() -> None:
    text = edit("    path: ./out\n", "    path: ${OUT:-./default}/$${HOME}/${NAME}\n")
    assert parse(text, NAME="x").outputs[0].path == "./default/${HOME}/x"
    assert parse(text, NAME="x", OUT="").outputs[0].path == "./default/${HOME}/x"
    assert parse(text, NAME="", OUT="/o").outputs[0].path == "/o/${HOME}/"


def test_merge_keys_share_connection_settings() -> None:
    text = (
        "version: 1\n"
        "source: &server {backend: postgresql, host: db, password: '${PW}'}\n"
        "schemas: [lab]\n"
        "outputs:\n"
        "  staging:\n"
        "    <<: *server\n"
        "    type: instance\n"
        "    schema_map: {lab: lab_copy}\n"
    )
    (staging,) = parse(text, PW="pw").outputs
    assert staging.connection is not None and staging.connection.host == "db"
    assert staging.target_schema("lab") == "lab_copy"


def test_keeps_include_and_exclude() -> None:
    recipe = parse(edit("outputs:\n", 'include: ["lab.*"]\nexclude: [lab.Big*]\noutputs:\n'))
    assert recipe.keeps("lab.Subject") and recipe.keeps("lab.Subject.Part")
    assert not recipe.keeps("lab.BigTable") and not recipe.keeps("ephys.Probe")


def test_restriction_describe() -> None:
    text = with_restrictions(
        "  - table: lab.Session\n    limit: 5\n    order_by: date DESC\n"
        "    sample: {percent: 2.5}\n"
    )
    (restriction,) = parse(text).restrictions
    assert restriction.describe() == "lab.Session: top 5 by date DESC; sample 2.5% (seed 0)"


def test_dataclasses_are_frozen() -> None:
    recipe = parse(BASE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        recipe.prune = False  # type: ignore[misc]


def test_resolve_path(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "r.yaml"
    path.parent.mkdir()
    path.write_text(BASE)
    recipe = load_recipe(path, env={})
    assert resolve_path(recipe, "./out") == str(tmp_path / "sub" / "out")
    assert resolve_path(recipe, "../x") == str(tmp_path / "x")
    assert resolve_path(recipe, "/abs/p") == "/abs/p"
    assert resolve_path(parse(BASE), "out") == str(Path.cwd() / "out")


def test_recipe_output_lookup() -> None:
    recipe = parse(BASE)
    assert recipe.output("snapshot").name == "snapshot"
    with pytest.raises(RecipeError, match="did you mean 'snapshot'"):
        recipe.output("snapshots")


# --- errors --------------------------------------------------------------------------------------


def test_error_str_matches_the_documented_form() -> None:
    where = Location("recipe.yaml", 12, "restrictions[1].table")
    err = where.error(
        'unknown table "lab.Sesion"', ["lab.Session", "lab.Subject"], near="lab.Sesion"
    )
    assert str(err) == (
        'recipe.yaml:12: restrictions[1].table: unknown table "lab.Sesion" '
        '(did you mean "lab.Session"?)'
    )
    assert (err.file, err.line, err.key) == ("recipe.yaml", 12, "restrictions[1].table")
    assert err.choices == ("lab.Session", "lab.Subject")
    assert str(RecipeError("no such file", file="r.yaml")) == "r.yaml: no such file"
    copy = pickle.loads(pickle.dumps(err))
    assert (str(copy), copy.choices) == (str(err), err.choices)


def test_error_lists_choices_when_nothing_is_close() -> None:
    err = Location("r.yaml", 1, "upstream").error("unknown value 'x'", ["all", "referenced"], "x")
    assert str(err) == "r.yaml:1: upstream: unknown value 'x' (expected one of: all, referenced)"


ERRORS = {
    # kind: (recipe text, environment, line, key, message fragment)
    "unknown top-level key": (
        edit("restrictions:", "restriction:"),
        {},
        5,
        "restriction",
        "unknown key 'restriction' (did you mean 'restrictions'?)",
    ),
    "unknown nested key": (
        edit("    where:", "    wher:"),
        {},
        7,
        "restrictions[0].wher",
        "unknown key 'wher' (did you mean 'where'?)",
    ),
    "wrong type": (
        edit("schemas: [lab, ephys]", "schemas: lab"),
        {},
        4,
        "schemas",
        "expected a list, got a string",
    ),
    "wrong scalar type": (
        edit("outputs:", "prune: maybe\noutputs:"),
        {},
        8,
        "prune",
        "expected true or false, got a string",
    ),
    "missing top-level key": (
        edit("schemas: [lab, ephys]\n", ""),
        {},
        1,
        None,
        "missing required key 'schemas'",
    ),
    "missing nested key": (
        with_restrictions("  - where: {species: mouse}\n"),
        {},
        6,
        "restrictions[0]",
        "missing required key 'table'",
    ),
    "bad enum value": (
        edit("outputs:", "upstream: referenced2\noutputs:"),
        {},
        8,
        "upstream",
        "unknown value 'referenced2' (did you mean 'referenced'?)",
    ),
    "bad enum value lists choices": (
        edit("    path: ./out\n", "    path: ./out\n    if_exists: overwrite\n"),
        {},
        12,
        "outputs.snapshot.if_exists",
        "(expected one of: fail, replace, append)",
    ),
    "bad output type": (
        edit("type: parquet", "type: csv"),
        {},
        10,
        "outputs.snapshot.type",
        "unknown value 'csv' (expected one of: parquet, duckdb, instance)",
    ),
    "unsupported version": (
        edit("version: 1", "version: 2"),
        {},
        1,
        "version",
        "unsupported version 2 (supported: 1)",
    ),
    "missing version": (
        edit("version: 1\n", ""),
        {},
        1,
        None,
        "missing required key 'version'",
    ),
    "yaml syntax error": (
        edit("    where: {species: mouse}", "    where: {species: mouse"),
        {},
        8,
        None,
        "invalid YAML",
    ),
    "yaml tab indentation": (
        edit("  embedded:", "\tembedded:"),
        {},
        3,
        None,
        "invalid YAML",
    ),
    "unknown yaml tag": (
        edit("path: ./out", "path: !!python/name:os.system ./out"),
        {},
        11,
        None,
        "invalid YAML",
    ),
    "duplicate key": (
        edit("    where: {species: mouse}\n", "    where: {species: mouse}\n    where: x\n"),
        {},
        8,
        "restrictions[0].where",
        "duplicate key 'where' (first at line 7)",
    ),
    "duplicate output name": (
        BASE + "  snapshot:\n    type: duckdb\n    path: x.duckdb\n",
        {},
        12,
        "outputs.snapshot",
        "duplicate output 'snapshot' (first at line 9)",
    ),
    "empty outputs": (
        with_outputs("  {}\n").replace("outputs:\n  {}", "outputs: {}"),
        {},
        8,
        "outputs",
        "expected at least one output",
    ),
    "missing environment variable": (
        edit("path: ./out", "path: ${OUT_DIR}/x"),
        {},
        11,
        "outputs.snapshot.path",
        "environment variable OUT_DIR is not set",
    ),
    "malformed environment reference": (
        edit("path: ./out", "path: ${OUT DIR}"),
        {},
        11,
        "outputs.snapshot.path",
        "invalid reference '${OUT DIR}'",
    ),
    "unterminated environment reference": (
        edit("path: ./out", "path: ${OUT"),
        {},
        11,
        "outputs.snapshot.path",
        "unterminated '${'",
    ),
    "literal password": (
        edit("${PGPASSWORD}", "hunter2", SERVER_RECIPE),
        {},
        6,
        "source.password",
        "a literal password is refused: pass it through the environment, e.g. ${PGPASSWORD}",
    ),
    "literal password for mysql": (
        edit("${PGPASSWORD}", "hunter2", edit("postgresql", "mysql", SERVER_RECIPE)),
        {},
        6,
        "source.password",
        "a literal password is refused: pass it through the environment, e.g. ${MYSQL_PWD} or "
        "${DJ_PASS}",
    ),
    "literal password as a default": (
        edit("${PGPASSWORD}", "${PGPASSWORD:-hunter2}", SERVER_RECIPE),
        {"PGPASSWORD": "pw"},
        6,
        "source.password",
        "a literal password is refused",
    ),
    "output path missing": (
        edit("    path: ./out\n", ""),
        {},
        9,
        "outputs.snapshot",
        "missing required key 'path'",
    ),
    "output type missing": (
        edit("    type: parquet\n", ""),
        {},
        9,
        "outputs.snapshot",
        "missing required key 'type' (expected one of: parquet, duckdb, instance)",
    ),
    "connection missing for instance": (
        with_outputs("  staging:\n    type: instance\n    if_exists: replace\n"),
        {},
        9,
        "outputs.staging",
        "missing a connection: give 'host' (a server) or 'embedded'",
    ),
    "backend missing for a server": (
        with_outputs("  staging:\n    type: instance\n    host: db\n"),
        {},
        9,
        "outputs.staging",
        "missing required key 'backend' (expected one of: mysql, postgresql)",
    ),
    "key not valid for the output type": (
        edit("    path: ./out\n", "    path: ./out\n    host: db\n"),
        {},
        12,
        "outputs.snapshot.host",
        "unknown key 'host'",
    ),
    "append on a file output": (
        edit("    path: ./out\n", "    path: ./out\n    if_exists: append\n"),
        {},
        12,
        "outputs.snapshot.if_exists",
        "'append' applies only to instance outputs",
    ),
    "unknown backend": (
        edit("  embedded: ./.subset/pg", "  backend: postgress\n  host: db"),
        {},
        3,
        "source.backend",
        "unknown backend 'postgress' (did you mean 'postgresql'?)",
    ),
    "embedded with host": (
        edit("  embedded: ./.subset/pg", "  embedded: ./.subset/pg\n  host: db"),
        {},
        4,
        "source.host",
        "'host' cannot be used with 'embedded'",
    ),
    "embedded mysql": (
        edit("  embedded: ./.subset/pg", "  embedded: ./.subset/pg\n  backend: mysql"),
        {},
        4,
        "source.backend",
        "an embedded server is postgresql",
    ),
    "database on mysql": (
        edit("  embedded: ./.subset/pg", "  backend: mysql\n  host: db\n  database: lab"),
        {},
        5,
        "source.database",
        "'database' applies only to postgresql, not mysql",
    ),
    "port out of range": (
        edit("  embedded: ./.subset/pg", "  backend: mysql\n  host: db\n  port: 70000"),
        {},
        5,
        "source.port",
        "port 70000 is out of range",
    ),
    "interpolated port not a number": (
        edit("  embedded: ./.subset/pg", "  backend: mysql\n  host: db\n  port: ${P:-x}"),
        {},
        5,
        "source.port",
        "expected an integer, got a string",
    ),
    "empty schemas": (
        edit("schemas: [lab, ephys]", "schemas: []"),
        {},
        4,
        "schemas",
        "expected at least one schema name",
    ),
    "duplicate schema": (
        edit("schemas: [lab, ephys]", "schemas: [lab, lab]"),
        {},
        4,
        "schemas[1]",
        "duplicate schema 'lab'",
    ),
    "table in an unknown schema": (
        edit("table: lab.Subject", "table: labb.Subject"),
        {},
        6,
        "restrictions[0].table",
        "correct schemas[0] 'lab' (line 4) to 'labb', or this name to 'lab', or add 'labb'",
    ),
    "table in a schema missing from schemas": (
        edit("table: lab.Subject", "table: other.Subject"),
        {},
        6,
        "restrictions[0].table",
        "schema 'other' of 'other.Subject' is not in `schemas` (lab, ephys): add it there",
    ),
    "table in a misspelt schema another restriction names right": (
        with_restrictions(
            "  - table: lab.Subject\n    limit: 1\n  - table: labb.Session\n    limit: 1\n"
        ),
        {},
        8,
        "restrictions[1].table",
        "is not in `schemas` (lab, ephys): did you mean 'lab'? (or add it there)",
    ),
    "malformed table name": (
        edit("table: lab.Subject", "table: Subject"),
        {},
        6,
        "restrictions[0].table",
        "invalid table 'Subject'",
    ),
    "restriction without a condition": (
        with_restrictions("  - table: lab.Subject\n"),
        {},
        6,
        "restrictions[0]",
        "needs at least one of 'where', 'limit', 'sample'",
    ),
    "order_by without limit": (
        with_restrictions("  - table: lab.Session\n    where: x > 1\n    order_by: [x]\n"),
        {},
        8,
        "restrictions[0].order_by",
        "'order_by' needs 'limit'",
    ),
    "limit not positive": (
        with_restrictions("  - table: lab.Session\n    limit: 0\n"),
        {},
        7,
        "restrictions[0].limit",
        "'limit' must be at least 1, not 0",
    ),
    "limit not an integer": (
        with_restrictions("  - table: lab.Session\n    limit: 2.5\n"),
        {},
        7,
        "restrictions[0].limit",
        "'limit' must be a whole number of rows, not 2.5",
    ),
    "limit in exponent notation (a string to YAML)": (
        with_restrictions("  - table: lab.Session\n    limit: 1e40\n"),
        {},
        7,
        "restrictions[0].limit",
        "'limit' must be a whole number of rows, not 1e40",
    ),
    "limit beyond a bigint": (
        with_restrictions("  - table: lab.Session\n    limit: 10000000000000000000000\n"),
        {},
        7,
        "restrictions[0].limit",
        "'limit' must be at most 9223372036854775807 (2^63 - 1)",
    ),
    "where string with a syntax error": (
        edit("{species: mouse}", "\"species = = 'mouse'\""),
        {},
        7,
        "restrictions[0].where",
        "\"species = = 'mouse'\" is not valid SQL: unexpected '=' at column 11",
    ),
    "where string with two comparisons apart": (
        edit("{species: mouse}", '"session_date > > 1"'),
        {},
        7,
        "restrictions[0].where",
        "is not valid SQL: unexpected '>' at column 16",
    ),
    "where list item with a syntax error": (
        edit("{species: mouse}", '\n      - {species: mouse}\n      - "x IN (1, 2"'),
        {},
        9,
        "restrictions[0].where[1]",
        "'x IN (1, 2' is not valid SQL: a '(' is not closed",
    ),
    "where string of two statements": (
        edit("{species: mouse}", '"x = 1; DROP TABLE y"'),
        {},
        7,
        "restrictions[0].where",
        "is not valid SQL: it is not one expression",
    ),
    "order_by unknown direction": (
        with_restrictions("  - table: lab.Session\n    limit: 2\n    order_by: [x DSC]\n"),
        {},
        8,
        "restrictions[0].order_by[0]",
        "unknown direction 'DSC' in 'x DSC' (did you mean DESC?)",
    ),
    "order_by garbage": (
        with_restrictions('  - table: lab.Session\n    limit: 2\n    order_by: "x DESC ((("\n'),
        {},
        8,
        "restrictions[0].order_by",
        "'x DESC (((' is not 'attribute [ASC|DESC]'",
    ),
    "order_by empty item": (
        with_restrictions('  - table: lab.Session\n    limit: 2\n    order_by: "x,, y"\n'),
        {},
        8,
        "restrictions[0].order_by",
        "an empty item in 'x,, y'",
    ),
    "sample percent out of range": (
        with_restrictions("  - table: lab.Session\n    sample:\n      percent: 120\n"),
        {},
        8,
        "restrictions[0].sample.percent",
        "percent must be in (0, 100], not 120",
    ),
    "sample seed not an integer": (
        with_restrictions("  - table: lab.Session\n    sample: {percent: 5, seed: abc}\n"),
        {},
        7,
        "restrictions[0].sample.seed",
        "expected an integer, got a string",
    ),
    "sample unknown key": (
        with_restrictions("  - table: lab.Session\n    sample: {pct: 5}\n"),
        {},
        7,
        "restrictions[0].sample.pct",
        "unknown key 'pct' (did you mean 'percent'?)",
    ),
    "where list value": (
        edit("{species: mouse}", "{species: [mouse, rat]}"),
        {},
        7,
        "restrictions[0].where.species",
        "expected a single value, got a list; for alternatives use a list of mappings",
    ),
    "where empty list": (
        edit("{species: mouse}", "[]"),
        {},
        7,
        "restrictions[0].where",
        "an empty list matches no rows",
    ),
    "where list of lists": (
        edit("{species: mouse}", "\n      - [a, b]"),
        {},
        8,
        "restrictions[0].where[0]",
        "expected a mapping or a string, got a list",
    ),
    "include pattern matching no schema": (
        edit("outputs:", "include: [lab.*, ephy.*]\noutputs:"),
        {},
        8,
        "include[1]",
        "pattern 'ephy.*' matches no schema in 'schemas' (did you mean 'ephys'?)",
    ),
    "schema_map of an unknown schema": (
        with_outputs(
            "  staging:\n    type: instance\n    host: db\n    backend: mysql\n"
            "    password: ${PW:-}\n    schema_map: {labs: lab_copy}\n"
        ),
        {},
        14,
        "outputs.staging.schema_map.labs",
        "schema 'labs' is not in 'schemas' (did you mean 'lab'?)",
    ),
    "path not a string": (
        with_outputs("  snap: {type: parquet, path: 123}\n"),
        {},
        9,
        "outputs.snap.path",
        "expected a string, got an integer",
    ),
    "path with NUL": (
        with_outputs('  snap: {type: parquet, path: "a\\0b"}\n'),
        {},
        9,
        "outputs.snap.path",
        "the path contains a NUL character",
    ),
    "invalid yaml value": (
        edit("{species: mouse}", "{day: 2024-02-30}"),
        {},
        7,
        "restrictions[0].where.day",
        "cannot read '2024-02-30' as timestamp",
    ),
    "control character": (BASE + "\x00", {}, 12, None, "unacceptable character #x0000"),
    "several documents": (BASE + "---\nversion: 1\n", {}, 12, None, "expected a single document"),
    "recipe not a mapping": ("- version: 1\n", {}, 1, None, "expected a mapping, got a list"),
    "empty recipe": ("# nothing here\n", {}, 1, None, "the recipe is empty"),
    "recursive alias": (
        edit("schemas: [lab, ephys]", "schemas: &s [lab, *s]"),
        {},
        4,
        "schemas[1]",
        "recursive alias",
    ),
}


@pytest.mark.parametrize("kind", list(ERRORS))
def test_error_names_line_and_key(kind: str) -> None:
    text, env, line, key, fragment = ERRORS[kind]
    err = fail(text, **env)
    assert (err.file, err.line, err.key) == ("recipe.yaml", line, key), str(err)
    assert fragment in err.message, str(err)
    prefix = f"recipe.yaml:{line}: " + (f"{key}: " if key else "")
    assert str(err).startswith(prefix), str(err)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_edit_of_a_recipe_parses_or_raises_recipe_error(data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(BASE)))
    end = data.draw(st.integers(start, min(len(BASE), start + 8)))
    insert = data.draw(st.text(alphabet=" \t\n:-[]{},&*!#'\"$%|>?@`a1.", max_size=4))
    try:
        parse(BASE[:start] + insert + BASE[end:])
    except RecipeError as err:
        assert err.file == "recipe.yaml" and err.line is not None


def test_yaml_errors_are_wrapped_without_a_yaml_cause() -> None:
    err = fail("version: 1\nsource: [\n")
    assert err.__cause__ is None and err.__suppress_context__


def test_password_never_in_errors_or_repr() -> None:
    err = fail(edit("type: duckdb", "type: pq", SERVER_RECIPE), PGPASSWORD="topsecret")
    assert "topsecret" not in str(err)
    literal = fail(edit("${PGPASSWORD}", "topsecret", SERVER_RECIPE))
    assert "topsecret" not in str(literal)
    spec = parse(SERVER_RECIPE, PGPASSWORD="topsecret").source
    assert isinstance(spec, ConnectionSpec) and "topsecret" not in repr(spec)


def test_load_recipe_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RecipeError) as info:
        load_recipe(tmp_path / "nope.yaml")
    err = info.value
    assert err.file == str(tmp_path / "nope.yaml") and "cannot read the recipe" in str(err)


def test_load_recipe_uses_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(edit("path: ./out", "path: ${SUBSET_TEST_OUT}"))
    monkeypatch.setenv("SUBSET_TEST_OUT", "/tmp/o")
    assert load_recipe(path).outputs[0].path == "/tmp/o"
