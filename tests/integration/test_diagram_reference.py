"""Diagram restrict / prune / cascade / trace and delete agree with the reference ``datajoint``
exactly, row for row, on a pipeline full of nullable foreign keys (semantics.md §4): a row whose
foreign key to a restricted parent is NULL is excluded by restrict() and never reached by
cascade() or a delete. Both packages run on the same data; the reference in its own venv."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

import datajoint_core as dj

from ..conftest import Server

SCRIPT = Path(__file__).resolve().parents[1] / "reference" / "reference_diagram.py"


def declare(conn: dj.Connection, name: str) -> dj.Schema:
    schema = dj.Schema(name, connection=conn)

    @schema
    class Experimenter(dj.Manual):
        definition = """
        eid : int32
        ---
        name : varchar(16)
        """

    @schema
    class Subject(dj.Manual):
        definition = """
        subject_id : int32
        ---
        species : varchar(16)
        """

    @schema
    class Surgery(dj.Manual):
        definition = """
        -> Subject
        surgery_id : int32
        """

    @schema
    class Session(dj.Manual):
        definition = """
        -> Subject
        session_id : int32
        ---
        -> [nullable] Experimenter
        -> [nullable] Surgery
        session_date : date
        """

        class Note(dj.Part):
            definition = """
            -> master
            note_id : int32
            ---
            -> [nullable] Experimenter.proj(reviewer='eid')
            """

    @schema
    class Tag(dj.Manual):
        definition = """
        tag_id : int32
        ---
        -> [nullable] Session
        """

    Experimenter.insert([(1, "ann"), (2, "bob"), (3, "cy")])
    Subject.insert([(1, "mouse"), (2, "mouse"), (3, "rat")])
    Surgery.insert([(1, 1), (1, 2), (3, 1)])
    day = datetime.date(2024, 1, 1)
    Session.insert(
        [
            dict(subject_id=1, session_id=1, eid=1, surgery_id=1, session_date=day),
            dict(subject_id=1, session_id=2, eid=None, surgery_id=None, session_date=day),
            dict(subject_id=1, session_id=3, eid=2, surgery_id=2, session_date=day),
            dict(subject_id=2, session_id=1, eid=None, surgery_id=None, session_date=day),
            dict(subject_id=3, session_id=1, eid=1, surgery_id=None, session_date=day),
            dict(subject_id=3, session_id=2, eid=3, surgery_id=1, session_date=day),
        ]
    )
    Session.Note.insert(
        [
            dict(subject_id=1, session_id=1, note_id=1, reviewer=2),
            dict(subject_id=1, session_id=2, note_id=1, reviewer=None),
            dict(subject_id=1, session_id=3, note_id=1, reviewer=1),
            dict(subject_id=3, session_id=2, note_id=1, reviewer=None),
        ]
    )
    Tag.insert(
        [
            dict(tag_id=1, subject_id=1, session_id=1),
            dict(tag_id=2, subject_id=None, session_id=None),
            dict(tag_id=3, subject_id=3, session_id=2),
        ]
    )
    return schema


OPS: list[dict[str, Any]] = [
    {"kind": "restrict", "seeds": [["experimenter", {"eid": 1}]]},
    {"kind": "restrict", "seeds": [["surgery", {"subject_id": 1}]]},
    {"kind": "restrict", "seeds": [["subject", {"species": "mouse"}], ["experimenter", "eid < 3"]]},
    {"kind": "restrict", "seeds": [["experimenter", {"eid": 2}]], "prune": True},
    {"kind": "restrict", "seeds": [["session", {"session_id": 1}]]},
    {"kind": "cascade", "seed": ["surgery", {"subject_id": 1}]},
    {"kind": "cascade", "seed": ["experimenter", {"eid": 1}]},
    {"kind": "cascade", "seed": ["subject", {"subject_id": 3}]},
    {"kind": "cascade", "seed": ["session__note", {"note_id": 1}], "part_integrity": "cascade"},
    {"kind": "trace", "seed": ["session__note", {"subject_id": 1}]},
    {"kind": "trace", "seed": ["tag", "tag_id > 1"]},
    {"kind": "trace", "seed": ["session", {"session_id": 2}]},
]


def bare(name: str) -> str:
    return name.split(".")[-1].strip('`"')


def keys_of(table: Any) -> list[str]:
    key = table.primary_key
    rows = table.proj().to_dicts()
    return sorted(json.dumps([row[k] for k in key], default=str) for row in rows)


def ours(schema: dj.Schema, op: dict[str, Any]) -> dict[str, Any]:
    conn = schema.connection

    def seed(spec: list[Any]) -> Any:
        return dj.FreeTable(conn, f"{schema.database}.{spec[0]}") & spec[1]

    try:
        kind = op["kind"]
        if kind == "delete":
            count = seed(op["seed"]).delete(
                prompt=False, part_integrity=op.get("part_integrity", "enforce")
            )
            return {"deleted": count, "keys": contents(schema)}
        if kind == "restrict":
            diagram = dj.Diagram(schema)
            for spec in op["seeds"]:
                diagram = diagram.restrict(seed(spec))
            if op.get("prune"):
                diagram = diagram.prune()
        elif kind == "cascade":
            part_integrity = op.get("part_integrity", "enforce")
            diagram = dj.Diagram.cascade(seed(op["seed"]), part_integrity=part_integrity)
        else:
            diagram = dj.Diagram.trace(seed(op["seed"]))
        counts = {bare(k): v for k, v in diagram.counts().items()}
        keys = {bare(t.full_table_name): keys_of(t) for t in diagram}
        return {"counts": counts, "keys": {k: v for k, v in keys.items() if k in counts}}
    except Exception as err:
        return {"error": f"{type(err).__name__}: {err}"}


def theirs(reference_python: str, server: Server, schema: str, ops: list[Any]) -> list[Any]:
    command = [reference_python, str(SCRIPT), "--backend", server.backend, "--schema", schema]
    command += ["--ops", json.dumps(ops), "--host", server.host, "--port", str(server.port)]
    command += ["--user", server.user, "--password", server.password]
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJ_")}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.fixture
def schemas(inst: dj.Instance, schema_name: str) -> Any:
    names = [schema_name, f"{schema_name}_b"]
    yield names
    inst.connection.execute(inst.connection.adapter.drop_schema_sql(names[1]))


def test_restrict_cascade_and_trace_agree_with_the_reference(
    reference_python: str, server: Server, inst: dj.Instance, schema_name: str
) -> None:
    schema = declare(inst.connection, schema_name)
    expected = theirs(reference_python, server, schema_name, OPS)
    for op, reference in zip(OPS, expected):
        assert "error" not in reference, (op, reference)
        assert ours(schema, op) == reference, op


@pytest.mark.parametrize(
    "op",
    [
        {"kind": "delete", "seed": ["surgery", {"subject_id": 1}]},
        {"kind": "delete", "seed": ["experimenter", {"eid": 1}]},
        {"kind": "delete", "seed": ["subject", "subject_id > 1"]},
        {"kind": "delete", "seed": ["session", {"session_id": 2}]},
        {"kind": "delete", "seed": ["session__note", {"note_id": 1}], "part_integrity": "cascade"},
        {"kind": "delete", "seed": ["session__note", {"note_id": 1}]},
    ],
    ids=lambda op: f"{op['seed'][0]}-{op.get('part_integrity', 'enforce')}",
)
def test_deletes_agree_with_the_reference(
    op: dict[str, Any],
    reference_python: str,
    server: Server,
    inst: dj.Instance,
    schemas: list[str],
) -> None:
    """The same data twice: the reference deletes from one copy, we from the other."""
    mine, other = (declare(inst.connection, name) for name in schemas)
    reference = theirs(reference_python, server, other.database, [op])[0]
    got = ours(mine, op)
    if "error" in reference:  # refused by both, and nothing deleted by either
        assert "error" in got, (got, reference)
        assert contents(mine) == contents(other)
        return
    assert got == reference


def contents(schema: dj.Schema) -> dict[str, list[str]]:
    conn = schema.connection
    return {t: keys_of(dj.FreeTable(conn, f"{schema.database}.{t}")) for t in schema.list_tables()}
