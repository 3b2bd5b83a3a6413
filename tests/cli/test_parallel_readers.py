"""``subset run --jobs N``: several connections share one snapshot and read tables ahead; the
outputs are byte for byte those of one connection; an account that may not synchronise snapshots
reads on one connection and says so; a failing reader publishes nothing (both backends)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import datajoint_core as dj
from subsetter import api
from subsetter.progress import ProgressEvent

from ..conftest import Server
from .conftest import PASSWORD_VAR, run_cli
from .test_run import _as_reader, _recipe, reader

__all__ = ["reader"]  # the fixture


def _files(snapshot: Path) -> dict[str, Any]:
    manifest = json.loads((snapshot / "manifest.json").read_text())
    return {k: [(f["rows"], f["sha256"]) for f in v] for k, v in manifest["files"].items()}


def test_parallel_readers_write_what_one_connection_writes(
    tmp_path: Path, server: Server, schema_name: str, lab: dict[str, Any], cli_env: dict[str, str]
) -> None:
    results = {}
    for jobs in ("1", "3"):
        where = tmp_path / f"jobs{jobs}"
        where.mkdir()
        recipe = _recipe(where, server, schema_name)
        done = run_cli("run", str(recipe), "--output", "parquet", "--jobs", jobs, env=cli_env)
        assert done.returncode == 0, done.stderr
        assert "one connection" not in done.stderr
        results[jobs] = _files(where / "snap")
    assert results["3"] == results["1"]
    assert len(results["1"]) >= 5


def test_an_account_that_cannot_synchronise_reads_on_one_connection(
    tmp_path: Path,
    server: Server,
    inst: dj.Instance,
    schema_name: str,
    lab: dict[str, Any],
    reader: tuple[str, str],
) -> None:
    recipe = _recipe(tmp_path, server, schema_name)
    _as_reader(recipe, server, reader[0])
    done = run_cli("run", str(recipe), "--jobs", "2", env={PASSWORD_VAR: reader[1]})
    assert done.returncode == 0, done.stderr
    if server.backend == "mysql":  # a SELECT-only account has no RELOAD
        assert "reading with one connection" in done.stderr and "RELOAD" in done.stderr
    else:  # any PostgreSQL account may share an exported snapshot
        assert "one connection" not in done.stderr
    assert run_cli("verify", str(tmp_path / "snap")).returncode == 0


def test_a_failing_reader_publishes_nothing(
    tmp_path: Path,
    server: Server,
    schema_name: str,
    lab: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(PASSWORD_VAR, server.password)
    recipe = _recipe(tmp_path, server, schema_name)
    seen: list[str] = []

    def fail_on_trials(event: ProgressEvent) -> None:  # called by reader threads
        seen.append(event.table)
        if event.table is not None and event.table.endswith(".Trial"):
            raise RuntimeError("a reader went away")

    with pytest.raises(RuntimeError, match="a reader went away"):
        api.run(recipe, progress=fail_on_trials, jobs=3)
    assert seen
    assert sorted(p.name for p in tmp_path.iterdir()) == ["recipe.yaml"]
    api.run(recipe, jobs=3)  # and the next run goes through
    assert (tmp_path / "snap" / "manifest.json").exists()
