"""The query algebra, fetch and insert against the reference ``datajoint`` 2.3.5, case by case,
on both backends (issue 9).

The reference runs the battery of tests/reference/algebra_cases.py in a subprocess on a
pipeline it declares; here the same battery runs on the same pipeline declared by
``datajoint_core``, and the queries run once more on the reference's own pipeline, loaded from
the catalog (its ``~lineage`` rows included). Results must be equal; an error must be of at
least the reference's kinds (DataJointError, KeyError, ValueError, TypeError). The few
deliberate differences are listed, with their reasons, in ``algebra_cases.DIFFERENCES``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import datajoint_core as dj

from ..conftest import Server

HERE = Path(__file__).resolve().parents[1] / "reference"
sys.path.insert(0, str(HERE))
import algebra_cases as cases  # noqa: E402


def _reference(python: str, server: Server, schema: str) -> dict[str, Any]:
    command = [python, str(HERE / "reference_algebra.py"), "--backend", server.backend]
    command += ["--schema", schema, "--host", server.host, "--port", str(server.port)]
    command += ["--user", server.user]
    env = {**os.environ, "DJREF_PASS": server.password, "DJ_IGNORE_CONFIG_FILE": "true"}
    for name in ("DJ_HOST", "DJ_USER", "DJ_PASS", "DJ_PORT", "DJ_BACKEND", "DJ_THREAD_SAFE"):
        env.pop(name, None)
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    if done.returncode:
        raise AssertionError(f"the reference battery failed:\n{done.stderr[-4000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _compare(ours: dict[str, Any], theirs: dict[str, Any], names: list[str], backend: str) -> None:
    problems = []
    for name in names:
        mine, ref = ours[name], theirs[name]
        if ref.get("absent") and mine.get("absent"):
            continue  # neither declares an auto_increment key on this backend
        if ref.get("absent"):  # the reference could not declare the table: what it would give
            ref = cases.AUTO_INCREMENT[name]
        if (name, None) in cases.DIFFERENCES or (name, backend) in cases.DIFFERENCES:
            assert "value" in mine, (name, mine)  # the deliberate difference still answers
            assert mine != ref, f"{name} is listed as a difference but agrees with the reference"
            continue
        if "error" in ref:
            if "error" not in mine or not set(ref["error"]) <= set(mine["error"]):
                problems.append(f"{name}: the reference raises {ref}, here {mine}")
        elif mine != ref:
            problems.append(f"{name}:\n  reference {ref}\n  here      {mine}")
    assert not problems, "\n".join(problems)


@pytest.fixture
def theirs(reference_python: str, server: Server, inst: dj.Instance, schema_name: str) -> Any:
    schema = f"{schema_name}_ref"
    try:
        yield schema, _reference(reference_python, server, schema)
    finally:
        inst.connection.execute(inst.connection.adapter.drop_schema_sql(schema))


def test_battery_matches_the_reference(
    theirs: tuple[str, dict[str, Any]], inst: dj.Instance, schema_name: str, backend: str
) -> None:
    _, reference = theirs
    schema = dj.Schema(schema_name, connection=inst.connection)
    # `int auto_increment` is a MySQL native type: neither package declares it on PostgreSQL
    tables = cases.declare(dj, schema, auto_increment=backend == "mysql")
    cases.fill(tables)
    scope = cases.scope(dj, np, pd, tables)
    ours = cases.run(cases.QUERIES, scope)
    ours.update(cases.run(cases.INSERTS, scope))
    _compare(ours, reference, [n for n, _ in cases.QUERIES + cases.INSERTS], backend)


def test_queries_on_the_reference_pipeline(
    theirs: tuple[str, dict[str, Any]], inst: dj.Instance, backend: str
) -> None:
    """The reference's pipeline loaded from its catalog: the lineage it wrote drives the same
    semantic checks here."""
    schema, reference = theirs
    loaded: dict[str, Any] = {}
    dj.Schema(schema, connection=inst.connection).spawn_missing_classes(context=loaded)
    scope = cases.scope(dj, np, pd, {n: c for n, c in loaded.items() if isinstance(c, type)})
    queries = [(n, c) for n, c in cases.QUERIES if "warns" not in c]
    ours = cases.run(queries, scope)
    _compare(ours, reference, [n for n, _ in queries], backend)
