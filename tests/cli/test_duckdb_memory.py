"""DuckDB output memory: ``subset run`` of a 200-table source (a root and 199 children) to DuckDB
peaks at about the memory of a 5-table one, under 300 MB; the default file holds no index
constraints, its keys are in ``_subset``, and ``subset verify`` / ``subset load`` read them."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

import datajoint_core as dj

from ..conftest import Server
from .conftest import PASSWORD_VAR, run_cli, write_recipe

MAX_PEAK_MB = 300
ROOTS = 2000
CHILD_ROWS = 600  # rows of all the children per root row: the same data in 4 or 199 tables


def make_source(inst: dj.Instance, schema: str, children: int, roots: int = ROOTS) -> None:
    """``root`` and ``children`` tables ``child_<i>`` referencing it, filled on the server:
    ``CHILD_ROWS // children`` rows per root row in each child."""
    conn = inst.connection
    a = conn.adapter
    q = a.quote
    conn.execute(a.create_schema_sql(schema))
    root = a.full_name(schema, "root")
    conn.execute(
        f"CREATE TABLE {root} ({q('id')} int NOT NULL, {q('label')} varchar(16), "
        f"PRIMARY KEY ({q('id')}))"
    )
    values = ", ".join(["(%s, %s)"] * roots)
    conn.execute(
        f"INSERT INTO {root} VALUES {values}",
        [v for i in range(roots) for v in (i, f"r{i}")],
    )
    numbers = " UNION ALL ".join(f"SELECT {k} AS n" for k in range(CHILD_ROWS // children))
    for c in range(children):
        child = a.full_name(schema, f"child_{c}")
        conn.execute(
            f"CREATE TABLE {child} ({q('id')} int NOT NULL, {q('k')} int NOT NULL, "
            f"{q('x')} double precision, PRIMARY KEY ({q('id')}, {q('k')}), "
            f"FOREIGN KEY ({q('id')}) REFERENCES {root} ({q('id')}))"
        )
        conn.execute(
            f"INSERT INTO {child} SELECT r.{q('id')}, k.n, r.{q('id')} * 0.5 "
            f"FROM {root} AS r CROSS JOIN ({numbers}) AS k"
        )


def peak_of_run(recipe: Path, env: dict[str, str]) -> float:
    """Peak RSS (MB) of one ``subset run`` process, from its own rusage."""
    log = recipe.with_suffix(".log")
    with open(log, "wb") as output:
        proc = subprocess.Popen(
            [sys.executable, "-m", "subsetter", "run", str(recipe)],
            env={**os.environ, **env},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 0, log.read_text()[-2000:]
    return usage.ru_maxrss / 1024  # KiB on Linux


@pytest.fixture
def schemas(inst: dj.Instance) -> Iterator[list[str]]:
    made: list[str] = []
    yield made
    for name in made:
        inst.connection.execute(inst.connection.adapter.drop_schema_sql(name))


def test_200_tables_need_no_more_memory_than_5(
    tmp_path: Path,
    server: Server,
    inst: dj.Instance,
    schemas: list[str],
    cli_env: dict[str, str],
) -> None:
    peaks = {}
    for children in (4, 199):
        schema = f"djtest_{uuid.uuid4().hex[:10]}"
        schemas.append(schema)
        make_source(inst, schema, children)
        recipe = write_recipe(
            tmp_path,
            server,
            f"""\
            schemas: [{schema}]
            restrictions:
              - table: {schema}.root
                where: "id < 1500"
            outputs:
              duckdb: {{type: duckdb, path: ./out-{children}.duckdb}}
            """,
            name=f"recipe-{children}.yaml",
        )
        peaks[children] = peak_of_run(recipe, cli_env)
        target = tmp_path / f"out-{children}.duckdb"
        verified = run_cli("verify", str(target))
        assert verified.returncode == 0, verified.stdout + verified.stderr
        db = duckdb.connect(str(target), read_only=True)
        try:
            assert db.execute(
                f'SELECT count(*) FROM "{schema}"."child_{children - 1}"'
            ).fetchone() == (1500 * (CHILD_ROWS // children),)
            # the default file: keys in the metadata, no index constraints
            assert db.execute(
                "SELECT count(*) FROM duckdb_constraints() "
                "WHERE constraint_type IN ('PRIMARY KEY', 'FOREIGN KEY', 'UNIQUE')"
            ).fetchone() == (0,)
            assert db.execute(
                "SELECT primary_key FROM _subset.tables WHERE table_name = 'child_0'"
            ).fetchone() == ('["id", "k"]',)
            assert db.execute(
                "SELECT count(*), bool_or(enforced) FROM _subset.foreign_keys"
            ).fetchone() == (children, False)
        finally:
            db.close()
    assert peaks[199] < MAX_PEAK_MB, peaks
    assert peaks[199] < peaks[4] * 1.25, peaks  # flat in the number of tables


def test_default_file_loads_back_with_its_keys(
    tmp_path: Path,
    server: Server,
    inst: dj.Instance,
    schemas: list[str],
    cli_env: dict[str, str],
) -> None:
    schema = f"djtest_{uuid.uuid4().hex[:10]}"
    schemas.append(schema)
    make_source(inst, schema, 100, roots=20)
    recipe = write_recipe(
        tmp_path,
        server,
        f"""\
        schemas: [{schema}]
        restrictions:
          - table: {schema}.root
            where: "id < 10"
        outputs:
          duckdb: {{type: duckdb, path: ./out.duckdb}}
        """,
    )
    ran = run_cli("run", str(recipe), env=cli_env)
    assert ran.returncode == 0, ran.stderr
    target = f"{schema}_back"
    schemas.append(target)
    url = f"{server.backend}://{server.user}@{server.host}:{server.port}"
    if server.backend == "postgresql":
        url += "/postgres"
    loaded = run_cli(
        "load",
        str(tmp_path / "out.duckdb"),
        "--to",
        url,
        "--schema-map",
        f"{schema}={target}",
        env={"SUBSET_PASSWORD": server.password, PASSWORD_VAR: server.password},
    )
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    conn = inst.connection
    child = dj.FreeTable(conn, conn.adapter.full_name(target, "child_99"))
    assert child.primary_key == ["id", "k"]
    assert [conn.adapter.split_full_name(fk.parent)[1] for fk in child.heading.foreign_keys] == [
        "root"
    ]
    assert len(child) == 10 * (CHILD_ROWS // 100)
