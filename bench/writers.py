"""``subset run`` to a staging database, and the file writers alone, next to the bulk loads
(issue 5). The exports to Parquet / DuckDB against raw readers are ``bench.export``.

The subset: subjects with ``MOD(subject_id, 10) < k`` and everything below them (10 % and 60 %
of the ~3.1M rows at scale 1). Every measurement runs in a fresh interpreter, which reports its
peak RSS. Methods, same rows:

- ``run -> staging``: ``subsetter.api.run`` of a recipe written for the bench lab to a schema on
  the same server (``if_exists: replace``), the product under test;
- ``write -> parquet|duckdb (rows in memory)``: the writer alone, fed the subset from memory:
  its share of a run's time (no target);
- ``load: bulk path``: the same rows, rendered as CSV beforehand (not timed), loaded by
  ``COPY FROM STDIN`` / ``LOAD DATA LOCAL INFILE`` in one transaction into tables declared
  beforehand with their primary keys and no foreign keys (not timed): the floor of any load;
- ``load: InstanceWriter``: the same rows from memory through the staging writer, everything
  timed (declaring, CSV rendering, loading, renaming into place).

Targets: the InstanceWriter load at most 1.5x the bulk path; peak RSS of ``run`` under 300 MB.
"""

from __future__ import annotations

import dataclasses
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .common import Result, median
from .data import SERVERS, connect, ensure_lab, schema_name

FRACTIONS = {"10 %": 1, "60 %": 6}  # MOD(subject_id, 10) < k
MAX_PEAK_MB = 300.0
LOAD_TARGET = 1.5
STAGE = "bench_stage"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def write_recipe(
    directory: Path, backend: str, scale: float, where: str, name: str = "bench"
) -> Path:
    """A recipe for the bench lab restricted to the subjects ``where`` holds for, with the
    outputs ``parquet``, ``duckdb`` and ``staging`` (under ``directory``)."""
    server = SERVERS[backend]
    source = schema_name(scale)
    text = f"""
version: 1
source:
  backend: {backend}
  host: "{server["host"]}"
  port: {server["port"]}
  user: {server["user"]}
  password: ${{BENCH_PASSWORD:-}}
schemas: [{source}]
restrictions:
  - table: {source}.Subject
    where: "{where}"
prune: true
outputs:
  parquet: {{type: parquet, path: ./out/parquet, if_exists: replace}}
  duckdb: {{type: duckdb, path: ./out/subset.duckdb, if_exists: replace}}
  staging:
    type: instance
    backend: {backend}
    host: "{server["host"]}"
    port: {server["port"]}
    user: {server["user"]}
    password: ${{BENCH_PASSWORD:-}}
    schema_map: {{{source}: {STAGE}}}
    if_exists: replace
"""
    path = directory / f"{name}-{backend}.yaml"
    path.write_text(text)
    return path


# -- the child: one measurement ----------------------------------------------------------------


def _run(recipe: Path, output: str) -> tuple[int, float]:
    from subsetter import api

    started = time.perf_counter()
    result = api.run(recipe, outputs=[output])
    return result.outputs[output].rows, time.perf_counter() - started


def _plan(recipe: Path) -> tuple[Any, Any]:
    from subsetter import api

    parsed = api.recipe_of(recipe)
    inst = api.connect(parsed.source, parsed)
    return inst, parsed


def _fetch(recipe: Path) -> tuple[Any, list[tuple[Any, Any]]]:
    """The subset in memory as Arrow tables, with its TableMeta (not timed)."""
    import pyarrow as pa

    from subsetter import api

    inst, parsed = _plan(recipe)
    conn = inst.connection
    data = []
    with conn.snapshot():
        plan = api._plan(parsed, conn)
        for table in plan.tables:
            meta, free = api.table_meta(conn, table)
            batches = list(api._batches(conn, table, meta, free, lambda *_: None))
            data.append((meta, pa.Table.from_batches(batches, meta.arrow_schema)))
    return inst, data


def _drop(target: Any, schema: str) -> None:
    conn = target.connection
    conn.execute(conn.adapter.drop_schema_sql(schema))


def _load_bulk(recipe: Path, backend: str) -> tuple[int, float]:
    """COPY / LOAD DATA of pre-rendered CSV into pre-declared tables, in one transaction."""
    from datajoint_core.adapters.bulk_load import copy_csv, load_data_csv
    from datajoint_core.declare.ddl import compile_table
    from subsetter.writers.instance import target_heading

    _, data = _fetch(recipe)
    target = connect(backend)
    conn = target.connection
    adapter = conn.adapter
    schema = STAGE + "_raw"
    _drop(target, schema)
    conn.execute(adapter.create_schema_sql(schema))
    rendered = []
    for meta, table in data:
        keyless = dataclasses.replace(meta, foreign_keys=())  # the floor: no key checks
        heading = target_heading(keyless, lambda fk: None, adapter)
        for statement in compile_table(heading, schema, meta.table, adapter):
            conn.execute(statement)
        batch = table.combine_chunks().to_batches()[0] if table.num_rows else None
        if batch is None:
            continue
        if backend == "postgresql":
            rendered.append((meta, copy_csv(batch), []))
        else:
            text, binary = load_data_csv(batch)
            rendered.append((meta, text, binary))
    raw = conn._raw
    started = time.perf_counter()
    rows = 0
    conn.start_transaction()
    for meta, text, binary in rendered:
        full = adapter.full_name(schema, meta.table)
        cols = ", ".join(adapter.quote(c) for c in meta.arrow_schema.names)
        with raw.cursor() as cursor:
            if backend == "postgresql":
                import pyarrow as pa

                cursor.copy_expert(
                    f"COPY {full} ({cols}) FROM STDIN (FORMAT csv)", pa.BufferReader(text)
                )
                rows += cursor.rowcount
            else:
                assert not binary
                with tempfile.NamedTemporaryFile(suffix=".csv", delete=False) as handle:
                    handle.write(memoryview(text))
                try:
                    rows += cursor.execute(
                        f"LOAD DATA LOCAL INFILE %s INTO TABLE {full} CHARACTER SET binary "
                        "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '' "
                        f"LINES TERMINATED BY X'0a' ({cols})",
                        (handle.name,),
                    )
                finally:
                    os.unlink(handle.name)
    conn.commit_transaction()
    seconds = time.perf_counter() - started
    _drop(target, schema)
    return rows, seconds


def _load_ours(recipe: Path, backend: str) -> tuple[int, float]:
    from subsetter.guard import Action, permit
    from subsetter.writers.instance import InstanceWriter

    _, data = _fetch(recipe)
    target = connect(backend)
    schema = STAGE + "_ours"
    _drop(target, schema)
    source = str(data[0][0].schema)
    started = time.perf_counter()
    with permit(target.connection, [schema], Action.REPLACE, source=None) as granted:
        writer = InstanceWriter(granted, {source: schema}, "replace")
        writer.open([m for m, _ in data])
        rows = 0
        for meta, table in data:
            rows += writer.write_table(meta, iter(table.to_batches(max_chunksize=50_000))).rows
        writer.commit({"bench": True})
    seconds = time.perf_counter() - started
    _drop(target, schema)
    return rows, seconds


def _write_file(recipe: Path, kind: str, directory: str) -> tuple[int, float]:
    """The Parquet or DuckDB writer alone, fed from memory: its share of a run's time."""
    from subsetter.writers.duckdb import DuckDBWriter
    from subsetter.writers.parquet import ParquetWriter

    _, data = _fetch(recipe)
    path = Path(directory) / "out" / f"alone.{kind}"
    writer = ParquetWriter(path, "replace") if kind == "parquet" else DuckDBWriter(path, "replace")
    started = time.perf_counter()
    writer.open([m for m, _ in data])
    rows = 0
    for meta, table in data:
        rows += writer.write_table(meta, iter(table.to_batches(max_chunksize=50_000))).rows
    writer.commit({"bench": True})
    return rows, time.perf_counter() - started


def child(backend: str, scale: float, k: int, method: str, directory: str) -> dict[str, Any]:
    import pyarrow  # noqa: F401 - part of the idle footprint

    recipe = write_recipe(Path(directory), backend, scale, f"MOD(subject_id, 10) < {k}", f"k{k}")
    idle = _peak_mb()
    if method.startswith("run -> "):
        rows, seconds = _run(recipe, method.removeprefix("run -> "))
    elif method.startswith("write -> "):
        rows, seconds = _write_file(recipe, method.split()[2], directory)
    elif method == "load: bulk path":
        rows, seconds = _load_bulk(recipe, backend)
    else:
        rows, seconds = _load_ours(recipe, backend)
    return {"rows": rows, "seconds": seconds, "idle_mb": idle, "peak_mb": _peak_mb()}


# -- the parent --------------------------------------------------------------------------------

METHODS = (
    "run -> staging",
    "write -> parquet (rows in memory)",
    "write -> duckdb (rows in memory)",
    "load: bulk path",
    "load: InstanceWriter",
)


def measure(backend: str, scale: float, k: int, method: str, directory: str) -> dict[str, Any]:
    root = Path(__file__).resolve().parent.parent
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
    }
    args = [sys.executable, "-m", "bench.writers", "child", backend, str(scale), str(k), method]
    done = subprocess.run(
        [*args, directory], cwd=root, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(backend: str, scale: float = 1.0, repeats: int = 3) -> list[Result]:
    ensure_lab(connect(backend), scale)
    samples: dict[tuple[str, str], list[dict[str, Any]]] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-writers-") as directory:
            for _ in range(repeats):  # interleaved, so drift falls on every method alike
                for label, k in FRACTIONS.items():
                    for method in METHODS:
                        one = measure(backend, scale, k, method, directory)
                        samples.setdefault((label, method), []).append(one)
    finally:
        _drop(connect(backend), STAGE)
    results: list[Result] = []
    for label in FRACTIONS:
        runs = {m: samples[label, m] for m in METHODS}
        rows = runs["load: bulk path"][0]["rows"]
        seconds = {m: median([r["seconds"] for r in v]) for m, v in runs.items()}
        for method in METHODS:
            name = f"{method} {label} ({rows / 1000:,.0f}k rows)"
            rate = [r["rows"] / r["seconds"] for r in runs[method]]
            result = Result("writers", backend, name, median(rate), "rows/s", rate)
            if method in ("run -> staging", "load: InstanceWriter"):
                result.baseline = "load: bulk path"
                result.ratio = seconds[method] / seconds["load: bulk path"]
                if method == "load: InstanceWriter":  # a run also reads the source: no target
                    result.target = f"<= {LOAD_TARGET:g}x"
                    result.met = result.ratio <= LOAD_TARGET
            results.append(result)
            if method.startswith("run"):
                peaks = [r["peak_mb"] for r in runs[method]]
                peak = Result("writers", backend, f"{name}: peak RSS", median(peaks), "MB", peaks)
                peak.target = f"< {MAX_PEAK_MB:g} MB"
                peak.met = peak.median < MAX_PEAK_MB
                results.append(peak)
    return results


if __name__ == "__main__":
    if len(sys.argv) == 7 and sys.argv[1] == "child":
        _, _, backend_, scale_, k_, method_, directory_ = sys.argv
        print(json.dumps(child(backend_, float(scale_), int(k_), method_, directory_)))
    else:
        sys.exit("usage: python -m bench.writers child BACKEND SCALE K METHOD DIRECTORY")
