"""The source is never harmed: every spelling of the source server is refused by ``run``,
``load``, ``clean`` and ``clean --drop`` with the source unchanged; schemas that subset did not
create are refused; a marked staging schema on the same server works; concurrent runs into one
target never destroy each other; a run publishes all its outputs or none (issue 8)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import datajoint_core as dj

from ..conftest import Server, server_for
from .conftest import PASSWORD_VAR, run_cli, write_recipe
from .safety import (
    OTHER_PASSWORD,
    OTHER_PASSWORD_VAR,
    SPELLINGS,
    Spelling,
    create_other_user,
    fingerprint,
    spelled,
)


@pytest.fixture
def env(server: Server) -> dict[str, str]:
    return {
        PASSWORD_VAR: server.password,
        OTHER_PASSWORD_VAR: OTHER_PASSWORD,
        "SUBSET_PASSWORD": server.password,
    }


@pytest.fixture
def other_user(inst: dj.Instance) -> Any:
    create_other_user(inst)
    yield
    conn = inst.connection
    if conn.backend == "mysql":
        for host in ("%%", "localhost"):
            conn.execute(f"DROP USER IF EXISTS 'subset_other'@'{host}'")
    else:
        conn.execute("DROP ROLE IF EXISTS subset_other")


@pytest.fixture
def extra_schemas(inst: dj.Instance) -> Any:
    """Names of schemas a test creates besides ``schema_name``; dropped afterwards."""
    names: list[str] = []
    yield names
    for name in names:
        inst.connection.execute(inst.connection.adapter.drop_schema_sql(name))


def staging_recipe(
    tmp_path: Path, server: Server, schema: str, spelling: Spelling, extra: str = ""
) -> Path:
    body = (
        f"schemas: [{schema}]\n"
        f"restrictions:\n  - table: {schema}.Subject\n    where: {{species: mouse}}\n"
        "outputs:\n  staging:\n    type: instance\n"
        f"{spelling.recipe_block(server.backend)}\n    if_exists: replace\n{extra}\n"
    )
    name = f"staging-{spelling.label.replace(' ', '-')}.yaml"
    return write_recipe(tmp_path, server, body, name=name)


def snapshot_of(tmp_path: Path, server: Server, schema: str, env: dict[str, str]) -> Path:
    recipe = write_recipe(
        tmp_path,
        server,
        f"""\
        schemas: [{schema}]
        outputs:
          snap: {{type: parquet, path: ./snap}}
        """,
        name="snap.yaml",
    )
    done = run_cli("run", str(recipe), env=env)
    assert done.returncode == 0, done.stderr
    return tmp_path / "snap"


def refused(result: Any, *words: str) -> None:
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


@pytest.mark.parametrize("label", SPELLINGS)
def test_every_spelling_of_the_source_is_refused(
    label: str,
    tmp_path: Path,
    server: Server,
    inst: dj.Instance,
    schema_name: str,
    lab: dict[str, Any],
    env: dict[str, str],
    other_user: Any,
) -> None:
    conn = inst.connection
    snap = snapshot_of(tmp_path, server, schema_name, env)
    before = fingerprint(conn, [schema_name])
    with spelled(label, server, PASSWORD_VAR) as spelling:
        recipe = staging_recipe(tmp_path, server, schema_name, spelling)
        run_env = {**env, "SUBSET_PASSWORD": OTHER_PASSWORD if "other" in label else ""}
        refused(run_cli("run", str(recipe), env=run_env), "is the source itself", schema_name)
        assert fingerprint(conn, [schema_name]) == before
        for mode in ("replace", "append", "fail"):
            loaded = run_cli(
                "load", str(snap), "--to", spelling.url(server.backend), "--if-exists", mode,
                env=run_env,
            )  # fmt: skip
            refused(loaded, "is the source itself")
            assert fingerprint(conn, [schema_name]) == before
        refused(run_cli("clean", str(recipe), "--yes", env=run_env), "is the source itself")
        assert fingerprint(conn, [schema_name]) == before
        dropped = run_cli("clean", str(recipe), "--drop", "--yes", env=run_env)
        refused(dropped, "is the source itself")
    assert fingerprint(conn, [schema_name]) == before
    assert len(lab["Session"]()) == 4


def test_a_marked_staging_schema_on_the_source_server_works(
    tmp_path: Path,
    server: Server,
    inst: dj.Instance,
    schema_name: str,
    lab: dict[str, Any],
    env: dict[str, str],
    extra_schemas: list[str],
) -> None:
    conn = inst.connection
    staging, loaded = f"{schema_name}_stg", f"{schema_name}_ld"
    extra_schemas += [staging, loaded]
    snap = snapshot_of(tmp_path, server, schema_name, env)
    before = fingerprint(conn, [schema_name])
    with spelled("0.0.0.0", server, PASSWORD_VAR) as spelling:
        recipe = staging_recipe(
            tmp_path, server, schema_name, spelling, f"    schema_map: {{{schema_name}: {staging}}}"
        )
        for _ in range(2):  # created, then replaced (the marker allows it)
            done = run_cli("run", str(recipe), env=env)
            assert done.returncode == 0, done.stderr
        assert "~subset_manifest" in {
            t for _, t in conn.adapter.table_names(conn.fetchall, [staging])
        }
        target = spelling.url(server.backend)
        mapping = f"{schema_name}={loaded}"
        for mode in ("fail", "replace"):
            done = run_cli(
                "load", str(snap), "--to", target, "--schema-map", mapping, "--if-exists", mode,
                env=env,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
        done = run_cli("clean", str(recipe), "--yes", env=env)
        assert done.returncode == 0, done.stderr
        assert len(dj.FreeTable(conn, conn.adapter.full_name(staging, "subject"))) == 0
        done = run_cli("clean", str(recipe), "--drop", "--yes", env=env)
        assert done.returncode == 0, done.stderr
    assert staging not in conn.list_schemas()
    assert fingerprint(conn, [schema_name]) == before


def test_schemas_subset_did_not_create_are_refused(
    tmp_path: Path,
    server: Server,
    inst: dj.Instance,
    schema_name: str,
    lab: dict[str, Any],
    env: dict[str, str],
    extra_schemas: list[str],
) -> None:
    conn = inst.connection
    foreign = f"{schema_name}_theirs"
    extra_schemas.append(foreign)
    theirs = dj.Schema(foreign, connection=conn)

    @theirs
    class Subject(dj.Manual):
        definition = """
        subject_id : int32
        ---
        species : varchar(32)
        """

    Subject.insert1((7, "owl"))
    snap = snapshot_of(tmp_path, server, schema_name, env)
    watched = [schema_name, foreign]
    before = fingerprint(conn, watched)
    with spelled("127.0.0.1", server, PASSWORD_VAR) as spelling:
        mapped = f"    schema_map: {{{schema_name}: {foreign}}}"
        recipe = staging_recipe(tmp_path, server, schema_name, spelling, mapped)
        refused(run_cli("run", str(recipe), env=env), "not created by subset", "adopt: true")
        adopting = staging_recipe(
            tmp_path, server, schema_name, spelling, mapped + "\n    adopt: true"
        )
        refused(run_cli("run", str(adopting), env=env), "is the source server")
        target = spelling.url(server.backend)
        for extra in ([], ["--adopt"]):
            loaded = run_cli(
                "load", str(snap), "--to", target, "--schema-map", f"{schema_name}={foreign}",
                "--if-exists", "replace", *extra, env=env,
            )  # fmt: skip
            refused(loaded, "--adopt" if not extra else "is the source server")
        refused(run_cli("clean", str(recipe), "--yes", env=env), "not created by subset")
        refused(run_cli("clean", str(recipe), "--drop", "--yes", env=env), "not created by subset")
    assert fingerprint(conn, watched) == before


def test_adopting_a_schema_on_another_server_is_allowed(
    tmp_path: Path, server: Server, schema_name: str, lab: dict[str, Any], env: dict[str, str]
) -> None:
    """The flag works where it is meant to: an existing schema elsewhere than the source."""
    other = server_for("postgresql" if server.backend == "mysql" else "mysql")
    target = other.instance()
    name = f"{schema_name}_adopted"
    try:
        target.connection.execute(target.connection.adapter.create_schema_sql(name))
        recipe = write_recipe(
            tmp_path,
            server,
            f"""\
            schemas: [{schema_name}]
            outputs:
              staging:
                type: instance
                backend: {other.backend}
                host: "{other.host}"
                port: {other.port}
                user: {other.user}
                schema_map: {{{schema_name}: {name}}}
                adopt: true
            """,
        )
        done = run_cli("run", str(recipe), env=env)
        assert done.returncode == 0, done.stderr
        conn = target.connection
        assert len(dj.FreeTable(conn, conn.adapter.full_name(name, "session"))) == 4
    finally:
        target.connection.execute(target.connection.adapter.drop_schema_sql(name))
        target.close()


def _holder(server: Server) -> dj.Instance:
    return server.instance()


def test_a_run_holding_the_target_makes_another_fail_clearly(
    tmp_path: Path,
    server: Server,
    inst: dj.Instance,
    schema_name: str,
    lab: dict[str, Any],
    env: dict[str, str],
    extra_schemas: list[str],
) -> None:
    from subsetter.guard import lock_name

    staging = f"{schema_name}_busy"
    extra_schemas.append(staging)
    with spelled("127.0.0.1", server, PASSWORD_VAR) as spelling:
        recipe = staging_recipe(
            tmp_path, server, schema_name, spelling, f"    schema_map: {{{schema_name}: {staging}}}"
        )
        holder = _holder(server)
        try:
            assert holder.connection.try_lock(lock_name(staging))
            refused(run_cli("run", str(recipe), env=env), "another subset run", staging)
            refused(run_cli("clean", str(recipe), "--drop", "--yes", env=env), "another subset run")
        finally:
            holder.close()  # the server releases a session's locks with it
        done = run_cli("run", str(recipe), env=env)
        assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("mode", ["fail", "replace", "append"])
def test_concurrent_runs_into_one_target(
    mode: str,
    tmp_path: Path,
    server: Server,
    inst: dj.Instance,
    schema_name: str,
    lab: dict[str, Any],
    env: dict[str, str],
    extra_schemas: list[str],
) -> None:
    """Two runs started together: each either succeeds or fails with a clear one-line error,
    at least one succeeds, and the target holds exactly one whole subset."""
    staging = f"{schema_name}_race"
    extra_schemas.append(staging)
    with spelled("127.0.0.1", server, PASSWORD_VAR) as spelling:
        recipe = staging_recipe(
            tmp_path, server, schema_name, spelling, f"    schema_map: {{{schema_name}: {staging}}}"
        ).read_text()
        path = tmp_path / f"race-{mode}.yaml"
        path.write_text(recipe.replace("if_exists: replace", f"if_exists: {mode}"))
        full_env = {**os.environ, **env}
        command = [sys.executable, "-m", "subsetter", "run", str(path)]
        for _ in range(3 if mode == "replace" else 1):  # fail / append: the next round must fail
            runs = [
                subprocess.Popen(
                    command, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
                )
                for _ in range(2)
            ]
            outcomes = [(p.wait(timeout=300), p.stderr.read().decode()) for p in runs]  # type: ignore[union-attr]
            assert any(code == 0 for code, _ in outcomes), outcomes
            for code, stderr in outcomes:
                assert "Traceback" not in stderr
                if code:
                    assert code == 1 and len(stderr.strip().splitlines()) == 1, stderr
            conn = inst.connection
            subjects = dj.FreeTable(conn, conn.adapter.full_name(staging, "subject"))
            assert sorted(r["subject_id"] for r in subjects.to_dicts()) == [1, 2]
            sessions = dj.FreeTable(conn, conn.adapter.full_name(staging, "session"))
            assert len(sessions) == 3
            hidden = [t for _, t in conn.adapter.table_names(conn.fetchall, [staging])]
            assert not [t for t in hidden if t.startswith("~sub_") or t.startswith("~old_")]


def test_a_failing_output_publishes_nothing(
    tmp_path: Path, server: Server, schema_name: str, lab: dict[str, Any], env: dict[str, str]
) -> None:
    (tmp_path / "not-a-dir").write_text("a file where a directory should be")
    recipe = write_recipe(
        tmp_path,
        server,
        f"""\
        schemas: [{schema_name}]
        outputs:
          first: {{type: parquet, path: ./snap}}
          second: {{type: duckdb, path: ./not-a-dir/out.duckdb}}
        """,
    )
    result = run_cli("run", str(recipe), env=env)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "snap").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not-a-dir", "recipe.yaml"]


def test_the_source_session_is_read_only(server: Server, schema_name: str, lab: Any) -> None:
    from subsetter import api
    from subsetter.recipe import parse_recipe

    recipe = parse_recipe(
        f"version: 1\nsource: {{backend: {server.backend}, host: '{server.host}', "
        f"port: {server.port}, user: {server.user}}}\nschemas: [{schema_name}]\n"
        "outputs: {o: {type: parquet, path: ./x}}\n",
        env={},
    )
    source = api.connect(recipe.source, recipe)
    try:
        conn = source.connection
        table = conn.adapter.full_name(schema_name, "subject")
        for attempt in range(2):
            with pytest.raises(dj.DataJointError, match="(?i)read.only"):
                conn.execute(f"INSERT INTO {table} VALUES (%s, %s)", (99, "mouse"))
            with pytest.raises(dj.DataJointError, match="(?i)read.only"):
                conn.execute(conn.adapter.drop_schema_sql(schema_name))
            if attempt == 0:  # the server ends the session; the new one is read-only too
                killer = server.instance()
                killer.connection.execute(conn.adapter.kill_session_sql(), (conn.session_id(),))
                killer.close()
                time.sleep(0.2)
    finally:
        source.close()
    assert len(lab["Subject"]()) == 3
