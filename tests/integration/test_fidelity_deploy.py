"""``datajoint_core.deploy`` and ``datajoint_core.migrate`` as the reference's modules (issue 9),
on both backends, compared with datajoint 2.3.5 through tests/reference/probe.py."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import datajoint_core as dj

from ..conftest import Server
from .fidelity import assert_agree, probe
from .test_fidelity_connection import names, workdir

__all__ = ["names", "workdir"]  # fixtures

JOB_COLUMNS = ("_job_start_time", "_job_duration", "_job_version")


def test_set_replica_identity(
    reference_python: str, server: Server, workdir: Callable[[str], Path], names: Any
) -> None:
    """The DDL (dry run, then applied) for a schema, a table class and a table; on PostgreSQL
    the tables' replica identity afterwards; on MySQL the error."""
    theirs = probe(
        reference_python, "datajoint", "deploy", workdir("r"), server=server, schema=names()
    )
    ours = probe(
        sys.executable, "datajoint_core", "deploy", workdir("o"), server=server, schema=names()
    )
    assert_agree(theirs, ours)


def _job_columns(inst: dj.Instance, schema: str, table: str) -> list[tuple[Any, ...]]:
    conn = inst.connection
    catalog = conn.adapter.read_catalog(conn.fetchall, [schema])
    return [
        (c.name, c.native_type, c.nullable, c.default, c.comment)
        for c in sorted(catalog.columns, key=lambda c: c.position)
        if c.table == table and c.name in JOB_COLUMNS
    ]


def test_add_job_metadata_columns(
    reference_python: str,
    server: Server,
    inst: dj.Instance,
    workdir: Callable[[str], Path],
    names: Any,
) -> None:
    """A table the reference declared without the job columns, migrated here, gets exactly the
    columns the reference declares (``jobs.add_job_metadata``) and the reference's own
    migration adds; the reports agree; populate() fills them."""
    theirs_schema, ours_schema = names(), names()
    for schema in (theirs_schema, ours_schema):
        probe(
            reference_python,
            "datajoint",
            "jobmeta_declare",
            workdir(schema),
            server=server,
            schema=schema,
        )
    assert _job_columns(inst, ours_schema, "__legacy") == []
    theirs = probe(
        reference_python,
        "datajoint",
        "jobmeta_migrate",
        workdir("r"),
        server=server,
        schema=theirs_schema,
    )
    ours = probe(
        sys.executable,
        "datajoint_core",
        "jobmeta_migrate",
        workdir("o"),
        server=server,
        schema=ours_schema,
    )
    assert_agree(theirs, ours)
    declared = _job_columns(inst, ours_schema, "__fresh")
    assert [c[0] for c in declared] == list(JOB_COLUMNS)
    assert _job_columns(inst, ours_schema, "__legacy") == declared
    assert _job_columns(inst, theirs_schema, "__legacy") == declared

    schema = inst.Schema(ours_schema, context={})
    module = dj.VirtualModule("m", ours_schema, connection=inst.connection)

    class Legacy(dj.Computed):
        definition = """
        -> Source
        ---
        result : float32
        """

        def make(self, key: dict[str, Any]) -> None:
            self.insert1({**key, "result": 2.0})

    schema(Legacy, context={"Source": module.Source})
    Legacy.populate()
    conn = inst.connection
    q = conn.adapter.quote
    rows = conn.fetchall(
        f"SELECT {q('_job_start_time')}, {q('_job_duration')} FROM {Legacy().full_table_name}"
    )
    assert len(rows) == 2 and all(start is not None and took is not None for start, took in rows)
