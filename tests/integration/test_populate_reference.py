"""populate() and job tables shared with the reference ``datajoint`` 2.3.5, both ways (issue 13).

The reference runs as a subprocess (``tests/reference/reference_populate.py``, interpreter as in
test_reference_compat.py) on the same pipeline. A pipeline populated half by the reference and
half here must end with the rows and job states of one populated by the reference alone, and
each side reads, reserves and skips the jobs the other wrote.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

import datajoint_core as dj
from datajoint_core.blob import pack, unpack

from ..conftest import Server

SCRIPT = Path(__file__).resolve().parents[1] / "reference" / "reference_populate.py"
SOURCES = [(1, 1.5), (2, 2.0), (3, -1.0), (4, 4.0), (5, 0.5), (6, -3.0)]  # as the script's


class RefPopulate:
    """Runs steps of the reference's side of these tests, in one process, on one server."""

    def __init__(self, python: str, server: Server) -> None:
        self.python = python
        self.server = server

    def __call__(self, schema: str, *steps: tuple[str, dict[str, Any]]) -> list[Any]:
        s = self.server
        command = [self.python, str(SCRIPT), json.dumps(steps), "--backend", s.backend]
        command += ["--schema", schema, "--host", s.host, "--port", str(s.port), "--user", s.user]
        env = {**os.environ, "DJREF_PASS": s.password, "DJ_IGNORE_CONFIG_FILE": "true"}
        for name in ("DJ_HOST", "DJ_USER", "DJ_PASS", "DJ_PORT", "DJ_BACKEND", "DJ_THREAD_SAFE"):
            env.pop(name, None)
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
        if done.returncode:
            raise AssertionError(f"reference {steps} on {schema} failed:\n{done.stderr[-4000:]}")
        return list(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.fixture
def ref(reference_python: str, server: Server) -> RefPopulate:
    return RefPopulate(reference_python, server)


@pytest.fixture
def baseline_schema(inst: dj.Instance, schema_name: str) -> Any:
    name = schema_name + "_ref"
    yield name
    inst.connection.execute(inst.connection.adapter.drop_schema_sql(name))


def pipeline(schema: dj.Schema) -> dict[str, Any]:
    """The pipeline of tests/reference/reference_populate.py, declared here."""

    @schema
    class Source(dj.Manual):
        definition = """
        source_id : int32
        ---
        value : float64
        """

    @schema
    class Stage(dj.Lookup):
        definition = """
        stage : varchar(8)
        ---
        weight : float64
        """
        contents = [("a", 1.0), ("b", 2.0)]

    @schema
    class Result(dj.Computed):
        definition = """
        -> Source
        -> Stage
        ---
        total : float64
        """

        class Item(dj.Part):
            definition = """
            -> master
            item : int32
            ---
            x : float64
            """

        def make(self, key: dict[str, Any]) -> None:
            value = (Source & key).fetch1("value")
            weight = (Stage & key).fetch1("weight")
            if value < 0:
                raise ValueError(f"negative value for source {key['source_id']}")
            self.insert1({**key, "total": value * weight})
            self.Item.insert([{**key, "item": i, "x": value + i} for i in range(2)])

    @schema
    class Pair(dj.Computed):
        definition = """
        -> Source.proj(left_id='source_id')
        -> Source.proj(right_id='source_id')
        ---
        diff : float64
        """

        def make(self, key: dict[str, Any]) -> None:
            left = (Source & {"source_id": key["left_id"]}).fetch1("value")
            right = (Source & {"source_id": key["right_id"]}).fetch1("value")
            self.insert1({**key, "diff": left - right})

    return {"Source": Source, "Stage": Stage, "Result": Result, "Pair": Pair}


def declare_here(inst: dj.Instance, schema_name: str) -> dict[str, Any]:
    t = pipeline(inst.Schema(schema_name))
    t["Source"].insert([{"source_id": s, "value": v} for s, v in SOURCES])
    return t


def _rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: json.dumps(r, sort_keys=True, default=str))


def job_states(jobs: list[dict[str, Any]], key: tuple[str, ...]) -> list[Any]:
    """What two runs of the same work agree on: per key, status, message and priority."""
    states = [
        [{k: j[k] for k in key}, j["status"], j["error_message"], j["priority"]] for j in jobs
    ]
    return sorted(states, key=lambda s: json.dumps(s, sort_keys=True))


@pytest.mark.parametrize("first", ["reference", "here"])
def test_half_here_half_by_reference_as_the_reference_alone(
    ref: RefPopulate,
    inst: dj.Instance,
    schema_name: str,
    baseline_schema: str,
    first: str,
) -> None:
    kept = {"reserve_jobs": True, "keep_completed": True}
    alone = ref(baseline_schema, ("declare", {}), ("populate", kept), ("describe", {}))[-1]

    t = declare_here(inst, schema_name)
    result = t["Result"]
    with inst.config.override(jobs__keep_completed=True):
        if first == "reference":
            got = ref(schema_name, ("populate", {**kept, "restrictions": ["source_id < 4"]}))[0]
            ours = result.populate(reserve_jobs=True, suppress_errors=True)
            mixed = ref(schema_name, ("describe", {}))[0]
        else:
            ours = result.populate("source_id < 4", reserve_jobs=True, suppress_errors=True)
            got, mixed = ref(schema_name, ("populate", kept), ("describe", {}))

    # each side did its half: 6 + 6 keys, errors for sources 3 and 6 (both stages)
    assert got["success_count"] + ours["success_count"] == 8
    assert sorted(m for _, m in ours["error_list"] + [tuple(e) for e in got["error_list"]]) == [
        f"ValueError: negative value for source {s}" for s in (3, 3, 6, 6)
    ]
    for name in ("result", "item", "progress", "job_progress", "schema_jobs"):
        assert mixed[name] == alone[name], name
    key = ("source_id", "stage")
    assert job_states(mixed["jobs"], key) == job_states(alone["jobs"], key)
    # the reference reads every error_stack as the string written, by either side
    for job in mixed["jobs"]:
        assert (job["status"] == "error") == (job["error_stack"] is not None)
        if job["error_stack"] is not None:
            assert job["error_stack"].endswith(job["error_message"] + "\n")
    # and so does this side, for the reference's jobs as for its own
    here = result.jobs.to_dicts()
    assert job_states(here, key) == job_states(alone["jobs"], key)
    for job in result.jobs.errors.to_dicts():
        assert job["error_stack"].endswith(job["error_message"] + "\n")
    # the job table as the reference reads it, whoever declared it (key types aside: the
    # reference declares an inherited int key column without its ":int32:" marker)
    assert secondary(mixed["job_heading"]) == secondary(alone["job_heading"])
    assert sorted(k for k, v in mixed["job_heading"].items() if v[1]) == ["source_id", "stage"]


def secondary(heading: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """The secondary attributes of a job table as the reference reads them. The reference
    writes the int64 default as '0' (PostgreSQL reads it back as '0'::bigint), this side as 0."""
    out = {}
    for name, (type_, in_key, nullable, default) in heading.items():
        if not in_key:
            out[name] = [type_, nullable, "0" if default == "'0'::bigint" else default]
    return out


def test_key_source_as_the_reference_has_it(
    ref: RefPopulate, inst: dj.Instance, schema_name: str, baseline_schema: str
) -> None:
    steps = [("declare", {}), ("populate", {"table": "Pair"}), ("describe", {})]
    _, got, theirs = ref(baseline_schema, *steps)
    t = declare_here(inst, schema_name)
    for name in ("Result", "Pair"):  # Pair: two renamed references to the same parent
        assert _rows(t[name].key_source.to_dicts()) == theirs["key_source"][name], name
        assert t[name].progress() == (len(theirs["key_source"][name]),) * 2
    assert t["Pair"].populate() == got == {"success_count": 36, "error_list": []}
    assert _rows(t["Pair"].to_dicts()) == theirs["pair"]


def test_reservations_are_shared_both_ways(
    ref: RefPopulate, inst: dj.Instance, schema_name: str
) -> None:
    t = declare_here(inst, schema_name)
    jobs = t["Result"].jobs  # declared here
    assert jobs.refresh() == {"added": 12, "removed": 0, "orphaned": 0, "re_pended": 0}
    k1, k2, k3 = ({"source_id": s, "stage": "a"} for s in (1, 2, 4))
    assert ref(schema_name, ("jobs", {"op": "reserve", "args": [k1]})) == [True]
    assert jobs.reserve(k1) is False  # held by the reference
    assert jobs.reserve(k2) is True
    failed = {"op": "error", "args": [k2, "failed over there", "stack\nlines"]}
    assert ref(schema_name, ("jobs", {"op": "reserve", "args": [k2]}), ("jobs", failed)) == [
        False,  # held here
        None,
    ]
    jobs.ignore(k3)
    error = (jobs & k2).fetch1()
    assert (error["status"], error["error_message"]) == ("error", "failed over there")
    assert error["error_stack"] == "stack\nlines"

    populate = {"reserve_jobs": True, "keep_completed": True}
    got, described = ref(schema_name, ("populate", populate), ("describe", {}))
    # 12 keys: k1 reserved, k2 error, k3 ignored; sources 3 and 6 fail
    assert got["success_count"] == 12 - 3 - 4
    described = described["jobs"]
    states = {(j["source_id"], j["stage"]): j["status"] for j in described}
    expected = {(s, g): "success" for s in (1, 2, 4, 5) for g in "ab"}
    expected.update({(s, g): "error" for s in (3, 6) for g in "ab"})
    expected.update({(1, "a"): "reserved", (2, "a"): "error", (4, "a"): "ignore"})
    assert states == expected
    assert len(t["Result"]) == 5


def test_error_stacks_are_packed_as_the_reference_packs_strings(
    reference_python: str,
) -> None:
    texts = ["", "short", "é ✓", "x" * 5000, "".join(chr(65 + i % 58) for i in range(3000))]
    code = (
        "import datajoint.blob as b, json, sys; "
        "print(json.dumps([b.pack(t).hex() for t in json.load(sys.stdin)]))"
    )
    done = subprocess.run(
        [reference_python, "-c", code],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        env={**os.environ, "DJ_IGNORE_CONFIG_FILE": "true"},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    theirs = [bytes.fromhex(h) for h in json.loads(done.stdout.strip().splitlines()[-1])]
    assert [pack(t) for t in texts] == theirs  # compressed above 1000 bytes, as theirs
    assert [unpack(b) for b in theirs] == texts
