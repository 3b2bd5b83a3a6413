"""``<blob>`` agrees with the reference ``datajoint`` byte for byte and value for value (issue 9).

(a) Bytes: the reference packs the corpus (tests/reference/blob_corpus.py); our ``pack`` writes
    the same bytes, our ``unpack`` reads the reference's bytes as the reference does, and the
    reference reads ours as its own -- also with ``squeeze``, for blobs MATLAB wrote, and for
    32-bit mYm blobs. These do not touch a database, so they run once, not per backend.
(b) Through the database, on every backend: the reference inserts the corpus into a ``<blob>``
    column and we fetch it; we insert it and the reference fetches it; both stored the same
    bytes.

Values are compared through ``describe`` (types of containers and scalars, dtypes, shapes,
memory order, writeability, every value bit for bit). The reference runs only as a subprocess
(tests/reference/reference_blob.py) in its own virtual environment, found or made as in
test_reference_compat.py; without it these tests are skipped.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import datajoint_core as dj
from datajoint_core import blob
from datajoint_core.blob import MatCell, MatStruct, pack, unpack

from ..conftest import Server
from ..reference.blob_corpus import MATLAB_32BIT_HEX, MATLAB_HEX, corpus, describe

SCRIPT = Path(__file__).resolve().parents[1] / "reference" / "reference_blob.py"
CORPUS = corpus(MatCell, MatStruct)

# where the reference fails and we do not: squeezing a one-record record array (the reference
# squeezes each field to a Python scalar, then asks it for a shape)
SQUEEZE_FAILS_IN_REFERENCE = {"records_object", "records_zero_dim", "records_nested", "records_str"}
# where we read more faithfully: MATLAB's -0.0 real parts keep their sign (the reference computes
# real + 1j * imag, which turns -0.0 into 0.0)
SIGNED_ZEROS = {"matlab_3d_complex"}


def run(
    python: str, action: str, *extra: str, stdin: Any = None, server: Server | None = None
) -> Any:
    """One JSON document from tests/reference/reference_blob.py."""
    command = [python, str(SCRIPT), action, *extra]
    env = {**os.environ, "DJ_IGNORE_CONFIG_FILE": "true"}
    for name in ("DJ_HOST", "DJ_USER", "DJ_PASS", "DJ_PORT", "DJ_BACKEND", "DJ_THREAD_SAFE"):
        env.pop(name, None)
    if server is not None:
        command += ["--backend", server.backend, "--host", server.host, "--port", str(server.port)]
        command += ["--user", server.user]
        env["DJREF_PASS"] = server.password
    done = subprocess.run(
        command,
        input=None if stdin is None else json.dumps(stdin),
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    if done.returncode:
        raise AssertionError(
            f"reference {action} failed ({done.returncode}):\n{done.stderr[-4000:]}"
        )
    return json.loads(done.stdout.strip().splitlines()[-1])


def described(value: Any) -> Any:
    """``describe`` as it arrives from the reference's process (through JSON)."""
    return json.loads(json.dumps(describe(value)))


def outcome(f: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    try:
        return {"value": described(f(*args, **kwargs))}
    except dj.DataJointError as err:
        return {"error": f"DataJointError: {err}"}


@pytest.fixture(scope="module")
def packed(reference_python: str) -> dict[str, Any]:
    """Per corpus name: the reference's bytes (hex) and what it unpacks from them."""
    return dict(run(reference_python, "pack"))


# --------------------------------------------------------------------------------------------
# (a) bytes


def test_corpus_is_covered(packed: dict[str, Any]) -> None:
    assert set(packed) == set(CORPUS)
    assert all("value" in v for v in packed.values()), "the reference cannot read its own blob"


def test_we_write_the_bytes_the_reference_writes(packed: dict[str, Any]) -> None:
    differ = [n for n, v in CORPUS.items() if pack(v).hex() != packed[n]["hex"]]
    assert not differ
    assert packed["big_compressible"]["hex"].startswith(b"ZL123\0".hex())
    assert packed["f8_2d_c"]["hex"].startswith(b"mYm\0".hex())
    assert packed["dict"]["hex"].startswith(b"dj0\0".hex())


def test_we_read_the_reference_bytes_as_it_does(packed: dict[str, Any]) -> None:
    for name, theirs in packed.items():
        assert outcome(unpack, bytes.fromhex(theirs["hex"])) == {"value": theirs["value"]}, name


def test_the_reference_reads_our_bytes_as_we_do(reference_python: str) -> None:
    ours = {name: pack(value, compress=False) for name, value in CORPUS.items()}
    ours |= {f"{name}_compressed": pack(value) for name, value in CORPUS.items()}
    theirs = run(reference_python, "unpack", stdin={n: b.hex() for n, b in ours.items()})
    for name, data in ours.items():
        assert theirs[name] == outcome(unpack, data), name


@pytest.mark.parametrize("squeeze", [False, True])
def test_squeeze_and_matlab_blobs(reference_python: str, squeeze: bool) -> None:
    blobs = {n: pack(v) for n, v in CORPUS.items()}
    blobs |= {n: bytes.fromhex(h) for n, h in MATLAB_HEX.items()}
    flags = ["--squeeze"] if squeeze else []
    theirs = run(reference_python, "unpack", *flags, stdin={n: b.hex() for n, b in blobs.items()})
    for name, data in blobs.items():
        ours = outcome(unpack, data, squeeze=squeeze)
        if squeeze and name in SQUEEZE_FAILS_IN_REFERENCE:
            assert "AttributeError" in theirs[name]["error"] and "value" in ours, name
        elif name in SIGNED_ZEROS:
            mine, reference = unpack(data), _complex_of(theirs[name]["value"])
            assert np.array_equal(mine, reference) and mine.tobytes() != reference.tobytes()
            assert pack(unpack(data, squeeze=squeeze)) == data  # ours is what MATLAB wrote
        else:
            assert theirs[name] == ours, name


def _complex_of(doc: dict[str, Any]) -> np.ndarray:
    flat = np.frombuffer(bytes.fromhex(doc["data"]), dtype=np.complex128)
    return flat.reshape(doc["shape"])


def test_32bit_mym_blobs(reference_python: str) -> None:
    theirs = run(reference_python, "unpack", "--32bit", stdin=MATLAB_32BIT_HEX)
    blob.use_32bit_dims = True
    try:
        for name, text in MATLAB_32BIT_HEX.items():
            assert theirs[name] == outcome(unpack, bytes.fromhex(text)), name
    finally:
        blob.use_32bit_dims = False


# --------------------------------------------------------------------------------------------
# (b) through the database


def declare_here(connection: dj.Connection, schema_name: str) -> Any:
    schema = dj.Schema(schema_name, connection=connection)

    @schema
    class Ours(dj.Manual):
        definition = """
        id : int32
        ---
        name : varchar(64)
        data = null : <blob>
        """

    return Ours


def rows_of(values: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"id": i, "name": n, "data": v} for i, (n, v) in enumerate(sorted(values.items()))]


def stored(inst: dj.Instance, schema_name: str, table: str) -> dict[str, bytes | None]:
    conn = inst.connection
    q = conn.adapter.quote
    sql = f"SELECT {q('name')}, {q('data')} FROM {conn.adapter.full_name(schema_name, table)}"
    return {name: None if data is None else bytes(data) for name, data in conn.fetchall(sql)}


def test_reference_inserts_we_fetch(
    reference_python: str,
    packed: dict[str, Any],
    server: Server,
    inst: dj.Instance,
    schema_name: str,
) -> None:
    run(reference_python, "insert", "--schema", schema_name, server=server)
    theirs = run(reference_python, "fetch", "--schema", schema_name, server=server)
    table = dj.FreeTable(inst.connection, f"{schema_name}.blobs")
    ours = {row["name"]: described(row["data"]) for row in table.to_dicts(order_by="id")}
    assert set(ours) == set(CORPUS)
    for name in CORPUS:
        assert ours[name] == theirs[name] == packed[name]["value"], name


def test_we_insert_the_reference_fetches(
    reference_python: str,
    packed: dict[str, Any],
    server: Server,
    inst: dj.Instance,
    schema_name: str,
) -> None:
    declare_here(inst.connection, schema_name).insert(rows_of(CORPUS))
    theirs = run(
        reference_python, "fetch", "--schema", schema_name, "--table", "ours", server=server
    )
    assert set(theirs) == set(CORPUS)
    for name, value in CORPUS.items():
        assert theirs[name] == packed[name]["value"] == described(unpack(pack(value))), name
    # and the column holds the bytes the reference stores for the same values
    run(reference_python, "insert", "--schema", schema_name, server=server)
    ours, reference = stored(inst, schema_name, "ours"), stored(inst, schema_name, "blobs")
    assert ours == reference
    assert ours["none"] is None and ours["dict"] == bytes.fromhex(packed["dict"]["hex"])
