"""Declaration, codecs, alter and update1 agree with the reference ``datajoint`` (issue 9).

The same classes (tests/reference/declare_cases.py: a Part named like an outer table,
``-> self.source`` through a subclass, a singleton, hidden job metadata, ``<blob>``,
``<attach>``, custom codecs chained to ``<blob>`` and to ``varchar``, reserved words, enums,
defaults) are declared by the reference (tests/reference/reference_declare.py, a subprocess in
its own interpreter) and here, on every backend. Then:

(a) the catalogs match column for column: types, ``:type:`` comments, nullability, defaults,
    keys and indexes (the one deliberate difference: a foreign-key column keeps its core type
    and comment here; the reference drops the type, except ``:uuid:``, and on PostgreSQL the
    whole comment);
(b) each package reads the other's rows as its own, codec values included, and both stored
    the same bytes;
(c) ``alter`` leaves the same table in both;
(d) codec chains resolve as the reference resolves them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import datajoint_core as dj
from datajoint_core import errors

from ..conftest import Server
from ..reference import declare_cases as cases
from ..reference.blob_corpus import describe

SCRIPT = Path(__file__).resolve().parents[1] / "reference" / "reference_declare.py"


def run(python: str, action: str, *extra: str, server: Server | None = None) -> Any:
    """One JSON document from tests/reference/reference_declare.py."""
    command = [python, str(SCRIPT), action, *extra]
    env = {**os.environ, "DJ_IGNORE_CONFIG_FILE": "true"}
    for name in ("DJ_HOST", "DJ_USER", "DJ_PASS", "DJ_PORT", "DJ_BACKEND", "DJ_THREAD_SAFE"):
        env.pop(name, None)
    if server is not None:
        command += ["--backend", server.backend, "--host", server.host, "--port", str(server.port)]
        command += ["--user", server.user]
        env["DJREF_PASS"] = server.password
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    if done.returncode:
        raise AssertionError(f"reference {action} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def pair(inst: dj.Instance, server: Server, reference_python: str, tmp_path: Path) -> Any:
    """Two schemas with the same cases: declared and filled by the reference, and here."""
    ours, theirs = f"djtest_decl_{uuid.uuid4().hex[:8]}", f"djtest_declref_{uuid.uuid4().hex[:8]}"
    attachment = tmp_path / "notes.txt"
    attachment.write_bytes(b"line one\nline two\x00\xff")
    run(
        reference_python,
        "declare",
        "--schema",
        theirs,
        "--attachment",
        str(attachment),
        server=server,
    )
    cases.codecs(dj)
    inst.config["jobs.add_job_metadata"] = True
    schema = inst.Schema(ours)
    classes = cases.tables(dj)
    context = {cls.__name__: cls for cls in classes}
    for cls in classes:
        schema(cls, context=context)
    schema(cases.alterable(dj))
    by_name = {cls.__name__: cls for cls in classes}
    for target, values in cases.rows(str(attachment)).items():
        master, _, part = target.partition(".")
        table = getattr(by_name[master], part) if part else by_name[master]
        table.insert(values)
    yield {"ours": ours, "theirs": theirs, "classes": by_name, "attachment": attachment}
    for name in (ours, theirs):
        inst.connection.execute(inst.connection.adapter.drop_schema_sql(name))


_TYPE_TAG = re.compile(r"^:[^:]*:")


def _comparable(found: dict[str, Any]) -> dict[str, Any]:
    """The catalog report without what may differ: index names on PostgreSQL (a name is not
    part of a definition) and the ``~lineage`` table's own column comments."""
    columns = {t: c for t, c in found["columns"].items() if t != "~lineage"}
    indexes = {}
    for table, rows in found["indexes"].items():
        if table == "~lineage":
            continue
        indexes[table] = sorted(re.sub(r"INDEX \S+ ON", "INDEX ON", str(r[2])) for r in rows)
    return {"columns": columns, "indexes": indexes}


def test_catalogs_match(pair: dict[str, Any], reference_python: str, server: Server) -> None:
    ours = _comparable(run(reference_python, "columns", "--schema", pair["ours"], server=server))
    theirs = _comparable(
        run(reference_python, "columns", "--schema", pair["theirs"], server=server)
    )
    ours_text = json.dumps(ours).replace(pair["ours"], "S")
    theirs_text = json.dumps(theirs).replace(pair["theirs"], "S")
    ours, theirs = json.loads(ours_text), json.loads(theirs_text)
    assert sorted(ours["columns"]) == sorted(theirs["columns"])
    for table, columns in theirs["columns"].items():
        mine = ours["columns"][table]
        assert [c[0] for c in mine] == [c[0] for c in columns], table
        for a, b in zip(mine, columns):
            a, b = [*a[:2], a[2] or "", *a[3:]], [*b[:2], b[2] or "", *b[3:]]
            if not _TYPE_TAG.match(b[2]):
                # a foreign-key column: the reference leaves out its core type (and on
                # PostgreSQL its whole comment); we keep both
                a = [a[0], a[1], _TYPE_TAG.sub("", a[2]) if b[2] else "", *a[3:]]
            assert a == b, (table, a, b)
    assert ours["indexes"] == theirs["indexes"]


def test_describe_declares_the_same_table(
    pair: dict[str, Any], inst: dj.Instance, reference_python: str, server: Server
) -> None:
    """Each table declared again from its ``describe()`` text is the same table."""
    texts = {}
    for name, cls in pair["classes"].items():
        texts[name] = cls.describe()
        for part in ("Website", "Note"):
            if hasattr(cls, part):
                texts[f"{name}.{part}"] = getattr(cls, part).describe()
    assert "enum('A+', 'A-', 'O+')" in texts["Profile"]  # the type as the definition wrote it
    again = f"djtest_again_{uuid.uuid4().hex[:8]}"
    classes = cases.tables(dj)
    for cls in classes:
        cls.definition = texts[cls.__name__]
        for part in ("Website", "Note"):
            if hasattr(cls, part):
                getattr(cls, part).definition = texts[f"{cls.__name__}.{part}"]
    schema = inst.Schema(again)
    try:
        context = {cls.__name__: cls for cls in classes}
        for cls in classes:
            schema(cls, context=context)
        found = [
            _comparable(run(reference_python, "columns", "--schema", name, server=server))
            for name in (pair["ours"], again)
        ]
    finally:
        inst.connection.execute(inst.connection.adapter.drop_schema_sql(again))
    found[0]["columns"].pop("alterable")
    found[0]["indexes"].pop("alterable")
    texts_found = [
        json.dumps(f, sort_keys=True).replace(n, "S") for f, n in zip(found, (pair["ours"], again))
    ]
    assert texts_found[0] == texts_found[1]


def _ours(value: Any) -> Any:
    """Our fetched values in the reference script's JSON form."""
    if isinstance(value, str) and os.path.isfile(value):
        return {"file": Path(value).name, "content": Path(value).read_bytes().hex()}
    if isinstance(value, bytes):
        return {"bytes": value.hex()}
    if isinstance(value, (uuid.UUID,)):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (int, float, str)) or value is None:
        return value
    return json.loads(json.dumps(describe(value), default=str))


def _fetch_ours(inst: dj.Instance, schema_name: str, classes: dict[str, Any]) -> dict[str, Any]:
    schema = inst.Schema(schema_name)
    context = dict(classes)
    fresh = {cls.__name__: cls for cls in cases.tables(dj)}
    for cls in fresh.values():
        schema(cls, context={**context, **fresh})
    out: dict[str, Any] = {}
    for name, cls in fresh.items():
        labelled = [(name, cls)] + [
            (f"{name}.{p}", getattr(cls, p)) for p in ("Website", "Note") if hasattr(cls, p)
        ]
        for label, table in labelled:
            out[label] = [
                {k: _ours(v) for k, v in row.items()}
                for row in table.to_dicts(order_by=table.primary_key or None)
            ]
    return out


def test_each_reads_the_others_rows(
    pair: dict[str, Any],
    inst: dj.Instance,
    reference_python: str,
    server: Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # attachments are fetched into the working directory
    theirs_by_them = run(reference_python, "fetch", "--schema", pair["theirs"], server=server)
    ours_by_them = run(reference_python, "fetch", "--schema", pair["ours"], server=server)
    for label in set(theirs_by_them) ^ set(ours_by_them):  # uuid columns, see the helper
        theirs_by_them.pop(label, None)
        ours_by_them.pop(label, None)
    theirs_by_us = _fetch_ours(inst, pair["theirs"], pair["classes"])
    ours_by_us = _fetch_ours(inst, pair["ours"], pair["classes"])
    for fetched in (theirs_by_us, ours_by_us):
        for label in set(fetched) - set(theirs_by_them):  # uuid tables the reference cannot read
            del fetched[label]
        if "doc" not in theirs_by_them["Payload"][0]:  # an <attach> it cannot read
            for row in fetched["Payload"]:
                del row["doc"]
    assert theirs_by_them == ours_by_them
    assert theirs_by_us == theirs_by_them
    assert ours_by_us == theirs_by_them
    payload = theirs_by_them["Payload"][0]
    assert payload["items"] == _ours([1, 2, 3]) and payload["word"] == "hello"
    if "doc" in payload:
        assert payload["doc"]["file"] == "notes.txt"
        assert bytes.fromhex(payload["doc"]["content"]) == pair["attachment"].read_bytes()
    ours_doc = (pair["classes"]["Payload"] & {"payload_id": 1}).fetch1("doc")
    assert Path(ours_doc).read_bytes() == pair["attachment"].read_bytes()
    assert theirs_by_them["Settings"] == [{"level": 3, "label": "x"}]  # _singleton is hidden


def test_same_bytes_stored(pair: dict[str, Any], inst: dj.Instance) -> None:
    conn = inst.connection
    q = conn.adapter.quote
    columns = ", ".join(q(c) for c in ("data", "items", "word", "doc"))
    stored = [
        conn.fetchall(
            f"SELECT {columns} FROM {conn.adapter.full_name(name, 'payload')} "
            f"ORDER BY {q('payload_id')}",
            (),
        )
        for name in (pair["ours"], pair["theirs"])
    ]
    plain = [
        [[bytes(v) if isinstance(v, memoryview) else v for v in row] for row in s] for s in stored
    ]
    for row_ours, row_theirs in zip(*plain):
        for name, a, b in zip(("data", "items", "word", "doc"), row_ours, row_theirs):
            assert a == b, (name, a, b)
    assert len(plain[0]) == len(plain[1])
    assert plain[0][0][2] == "HELLO@payload.word"  # the codec saw its context


def test_alter_agrees(
    pair: dict[str, Any], inst: dj.Instance, reference_python: str, server: Server
) -> None:
    positional = inst.connection.adapter.supports_column_position
    altered = cases.ALTERED_RENAMING if positional else cases.ALTERED_PLAIN
    run(
        reference_python,
        "alter",
        "--schema",
        pair["theirs"],
        "--definition",
        altered,
        server=server,
    )
    schema = inst.Schema(pair["ours"])
    cls = cases.alterable(dj)
    schema(cls)
    cls.insert1({"a_id": 1, "old_name": 2.5, "keep": "k"})
    cls.definition = altered
    cls.alter(prompt=False)
    found = [
        _comparable(run(reference_python, "columns", "--schema", name, server=server))
        for name in (pair["ours"], pair["theirs"])
    ]
    assert found[0]["columns"]["alterable"] == found[1]["columns"]["alterable"]
    heading = dj.FreeTable(inst.connection, cls().full_table_name).heading
    assert heading.comment == ("after" if positional else "before")
    renamed = "new_name" if positional else "old_name"
    assert cls.to_dicts()[0][renamed] == 2.5  # the values stay
    if positional:  # the rename mark stays in the comment: as in the reference, it now errs
        with pytest.raises(errors.DataJointError, match="does not exist in the original"):
            cls.alter(prompt=False)
    else:
        cls.alter(prompt=False)  # nothing left to change


def test_alter_refuses_what_it_cannot_do(inst: dj.Instance, schema_name: str) -> None:
    schema = inst.Schema(schema_name)
    cls = cases.alterable(dj)
    schema(cls)
    cls.definition = cases.ALTERABLE.replace("a_id : int32", "a_id : int32\nb_id : int32")
    with pytest.raises(NotImplementedError, match="primary key"):
        cls.alter(prompt=False)
    cls.definition = cases.ALTERABLE + "index(keep)\n"
    with pytest.raises(NotImplementedError, match="indexes"):
        cls.alter(prompt=False)
    if not inst.connection.adapter.supports_column_position:
        cls.definition = cases.ALTERABLE.replace("keep : varchar(8)", "keep : varchar(9)")
        with pytest.raises(errors.DataJointError, match="not supported on postgresql"):
            cls.alter(prompt=False)
        cls.definition = cases.ALTERABLE.replace("# the value", "# {gone} the value")
        with pytest.raises(errors.DataJointError, match="Renaming attribute `gone`"):
            cls.alter(prompt=False)


def test_codec_chains_resolve_as_in_reference(reference_python: str) -> None:
    from datajoint_core.codecs import resolve_dtype

    cases.codecs(dj)
    specs = ["<blob>", "<blob@>", "<blob@cold>", "<attach>", "<attach@s>", "<hash@s>", "<hash>"]
    specs += ["<object@s>", "<npy@s>", "<filepath@s>", "<filepath>", "<zigzag>", "<zigzag@s>"]
    specs += ["<shout>", "<nosuch>", "bytes", "json"]
    theirs = run(reference_python, "resolve", "--specs", json.dumps(specs))
    for spec in specs:
        try:
            dtype, chain, store = resolve_dtype(spec)
        except errors.DataJointError:
            assert "error" in theirs[spec], spec
        else:
            assert theirs[spec] == {
                "dtype": dtype,
                "chain": [c.name for c in chain],
                "store": store,
            }
    assert set(theirs["list_codecs"]) == set(dj.list_codecs())


def test_update1(pair: dict[str, Any], inst: dj.Instance) -> None:
    payload = pair["classes"]["Payload"]
    payload.update1({"payload_id": 2, "word": "again", "items": [4, 5], "data": np.eye(2)})
    row = (payload & {"payload_id": 2}).fetch1()
    assert (row["word"], row["items"]) == ("again", [4, 5])
    assert np.array_equal(row["data"], np.eye(2))
    payload.update1({"payload_id": 2, "word": None, "flag": None})  # None: the default
    row = (payload & {"payload_id": 2}).fetch1()
    assert (row["word"], row["flag"]) == (None, False)
    for bad, message in [
        ({"word": "x"}, "all primary key"),
        ({"payload_id": 2, "nosuch": 1}, "not found"),
        ({"payload_id": 99, "word": "x"}, "one existing entry"),
    ]:
        with pytest.raises(errors.DataJointError, match=message):
            payload.update1(bad)
    with pytest.raises(errors.DataJointError, match="restricted"):
        (payload & {"payload_id": 2}).update1({"payload_id": 2, "word": "x"})
