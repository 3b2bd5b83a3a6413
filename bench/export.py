"""``subset run`` -> Parquet / DuckDB against the fastest raw readers of the same rows (issue 11).

The subset: the bench lab's subjects with ``MOD(subject_id, 100) = 0`` (1 %), ``MOD(subject_id,
10) = 0`` (10 %) or ``MOD(subject_id, 10) < 9`` (90 %: 2.8M rows at scale 1) and what they
reference. Every method is a whole process started from here (interpreter start and imports
included, as a user would see it): its wall time, and its peak RSS from ``wait4``. Methods run
in turns, the order reversed every round; each figure is a median of ``repeats``.

- ``subset run -> parquet|duckdb``: the CLI (``python -m subsetter run RECIPE --output O``): the
  plan (counts), then every table read inside one snapshot and written; on MySQL also with
  ``DJ_MYSQL_DRIVER=pymysql`` (the fallback without the ``mysql-fast`` extra);
- raw readers of the plan's own queries (``bench.readers``): ``connectorx`` (outside any
  snapshot), ``mysqlclient -> pyarrow`` (in the snapshot; the fastest in-snapshot reader known
  before this work), ``COPY -> parquet`` (PostgreSQL, in the snapshot), and the floors
  ``mysqlclient rows`` / ``COPY rows`` with and without the plan's ``ORDER BY`` (the sort's cost);
- ``reference to_arrow()``: the reference ``datajoint`` in its own venv (pyarrow added there),
  each table restricted to the kept subjects, ``to_arrow()``, written to Parquet.

Targets: MySQL ``subset run -> parquet`` at most 1.3x the fastest in-snapshot reader and 2.5x
connectorx (10 % and 90 %); PostgreSQL at most 1.3x ``COPY -> parquet``; ``-> duckdb`` at most
1.2x ``-> parquet``; peak RSS of the runs under 300 MB at 90 %.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import Result, median
from .data import SERVERS, connect, ensure_lab, schema_name
from .writers import write_recipe

logger = logging.getLogger("bench")
ROOT = Path(__file__).resolve().parent.parent
FRACTIONS = {
    "1 %": "MOD(subject_id, 100) = 0",
    "10 %": "MOD(subject_id, 10) = 0",
    "90 %": "MOD(subject_id, 10) < 9",
}
RUNS = ("subset run -> parquet", "subset run -> duckdb")
READERS = {
    "mysql": (
        "connectorx",
        "mysqlclient -> pyarrow",
        "mysqlclient rows",
        "mysqlclient rows (no ORDER BY)",
    ),
    "postgresql": ("connectorx", "COPY -> parquet", "COPY rows", "COPY rows (no ORDER BY)"),
}
IN_SNAPSHOT = {"mysql": "mysqlclient -> pyarrow", "postgresql": "COPY -> parquet"}
FALLBACK = "subset run -> parquet (pymysql)"
REFERENCE = "reference to_arrow()"
TARGETS = {"in-snapshot": 1.3, "connectorx": 2.5, "duckdb": 1.2}
MAX_PEAK_MB = 300.0
REFERENCE_PYTHON = Path.home() / ".cache/datajoint-subsetter/djref/venv/bin/python"


def reference_python() -> Path | None:
    """The reference's interpreter, with pyarrow installed into its venv if need be."""
    python = Path(os.environ.get("DJ_REFERENCE_PYTHON") or REFERENCE_PYTHON)
    if not python.exists():
        return None
    probe = [str(python), "-c", "import datajoint, pyarrow"]
    if subprocess.run(probe, capture_output=True).returncode:
        logger.info("installing pyarrow into the reference venv (%s)", python)
        install = [str(python), "-m", "pip", "install", "--quiet", "pyarrow"]
        if subprocess.run(install, capture_output=True).returncode:
            return None
    return python


def methods(backend: str, with_reference: bool) -> list[str]:
    found = [*RUNS, *READERS[backend]]
    if backend == "mysql":
        found.insert(2, FALLBACK)
    return [*found, REFERENCE] if with_reference else found


def write_plan(recipe: Path, backend: str, scale: float, where: str) -> Path:
    """The plan's tables and their queries as JSON for the raw readers (values inlined)."""
    from subsetter import api

    plan = api.preview(recipe)
    schema = schema_name(scale)
    adapter = connect(backend).connection.adapter
    tables = []
    for table in plan.tables:
        if table.select.params:
            raise RuntimeError(f"{table.key}: the bench expects no query parameters")
        tables.append(
            {
                "table": table.table,
                "full_name": adapter.full_name(table.schema, table.table),
                "sql": table.select.sql % (),  # the driver's formatting: '%%' -> '%'
                "rows": table.count,
                "keyed": table.table != "#stimulus",  # the others have subject_id in their key
            }
        )
    document = {
        "backend": backend,
        "server": SERVERS[backend],
        "schema": schema,
        "subject": adapter.full_name(schema, "subject"),
        "where": where,
        "tables": tables,
    }
    path = recipe.with_suffix(".plan.json")
    path.write_text(json.dumps(document, indent=1))
    return path


def command(method: str, recipe: Path, plan: Path, out: Path, ref: Path | None) -> list[str]:
    if method.startswith("subset run -> "):
        output = method.removeprefix("subset run -> ").split()[0]
        return [sys.executable, "-m", "subsetter", "run", str(recipe), "--output", output]
    if method == REFERENCE:
        assert ref is not None
        return [str(ref), str(ROOT / "bench" / "reference_export.py"), str(plan), str(out)]
    return [sys.executable, "-m", "bench.readers", method, str(plan), str(out)]


def measure(argv: list[str], cwd: Path, env: dict[str, str]) -> dict[str, float]:
    """Wall seconds and peak RSS (MB) of one process."""
    log = cwd / "last.log"
    started = time.perf_counter()
    with open(log, "wb") as output:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{log.read_text()[-3000:]}")
    return {"seconds": seconds, "peak_mb": usage.ru_maxrss / 1024}


def _rows_of(method: str, cwd: Path, out: Path) -> int:
    """Rows the method wrote (checked against the plan: every method reads the same rows)."""
    if method.startswith("subset run"):
        if "duckdb" in method:
            import duckdb

            db = duckdb.connect(str(cwd / "out" / "subset.duckdb"), read_only=True)
            try:
                found = db.execute('SELECT sum("rows") FROM _subset.tables').fetchone()
            finally:
                db.close()
            return int(found[0]) if found else 0
        manifest = json.loads((cwd / "out" / "parquet" / "manifest.json").read_text())
        return sum(t["rows"] for t in manifest["tables"].values())
    last = (cwd / "last.log").read_text().strip().splitlines()[-1]
    return int(json.loads(last)["rows"])


def run(backend: str, scale: float = 1.0, repeats: int = 3) -> list[Result]:
    ensure_lab(connect(backend), scale)
    ref = reference_python()
    names = methods(backend, ref is not None)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    samples: dict[tuple[str, str], list[dict[str, float]]] = {}
    expected: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        setups = {}
        for label, where in FRACTIONS.items():
            cwd = Path(tmp) / label.replace(" %", "pct")
            cwd.mkdir()
            recipe = write_recipe(cwd, backend, scale, where)
            plan = write_plan(recipe, backend, scale, where)
            expected[label] = sum(t["rows"] for t in json.loads(plan.read_text())["tables"])
            setups[label] = (cwd, recipe, plan)
        for round_ in range(repeats):
            order = names if round_ % 2 == 0 else list(reversed(names))
            for label, (cwd, recipe, plan) in setups.items():
                for method in order:
                    out = cwd / "raw"
                    argv = command(method, recipe, plan, out, ref)
                    one_env = {**env, "DJ_MYSQL_DRIVER": "pymysql"} if method == FALLBACK else env
                    one = measure(argv, cwd, one_env)
                    rows = _rows_of(method, cwd, out)
                    if rows != expected[label]:
                        raise RuntimeError(
                            f"{method} {label}: {rows} rows, the plan has {expected[label]}"
                        )
                    samples.setdefault((label, method), []).append(one)
                    logger.info(
                        "%s %s %s: %.2f s, %.0f MB",
                        backend,
                        label,
                        method,
                        one["seconds"],
                        one["peak_mb"],
                    )
    return summarise(backend, names, samples, expected)


def summarise(
    backend: str,
    names: list[str],
    samples: dict[tuple[str, str], list[dict[str, float]]],
    expected: dict[str, int],
) -> list[Result]:
    results: list[Result] = []
    for label in FRACTIONS:
        tag = f"{label} ({expected[label] / 1000:,.0f}k rows)"
        seconds = {m: [r["seconds"] for r in samples[label, m]] for m in names}
        peaks = {m: [r["peak_mb"] for r in samples[label, m]] for m in names}
        med = {m: median(v) for m, v in seconds.items()}
        for method in names:
            result = Result("export", backend, f"{method} {tag}", med[method], "s", seconds[method])
            results.append(result)
            baseline, target = _baseline(backend, method, label)
            if baseline is not None:
                result.baseline = f"{baseline} {tag}"
                result.ratio = med[method] / med[baseline]
                if target is not None:
                    result.target = f"<= {target:g}x"
                    result.met = result.ratio <= target
            if method.startswith("subset run") or method == REFERENCE:
                peak = Result(
                    "export",
                    backend,
                    f"{method} {tag}: peak RSS",
                    median(peaks[method]),
                    "MB",
                    peaks[method],
                )
                if method in RUNS and label == "90 %":
                    peak.target = f"< {MAX_PEAK_MB:g} MB"
                    peak.met = peak.median < MAX_PEAK_MB
                results.append(peak)
        # the run against connectorx (outside the snapshot) and against the floor (rows dropped)
        floor = "mysqlclient rows" if backend == "mysql" else "COPY rows"
        for other in ("connectorx", floor):
            vs = Result("export", backend, f"{RUNS[0]} vs {other} {tag}", med[RUNS[0]], "s")
            vs.baseline = f"{other} {tag}"
            vs.ratio = med[RUNS[0]] / med[other]
            if other == "connectorx" and backend == "mysql" and label != "1 %":
                vs.target = f"<= {TARGETS['connectorx']:g}x"
                vs.met = vs.ratio <= TARGETS["connectorx"]
            results.append(vs)
    return results


def _baseline(backend: str, method: str, label: str) -> tuple[str | None, float | None]:
    """What a method is compared with, and the target ratio (None: reported only)."""
    timed = label != "1 %"  # at 1 % the process start-up dominates: reported, no target
    if method == RUNS[0]:
        return IN_SNAPSHOT[backend], TARGETS["in-snapshot"] if timed else None
    if method in (RUNS[1], FALLBACK):
        return RUNS[0], (TARGETS["duckdb"] if timed and method == RUNS[1] else None)
    if method.endswith("(no ORDER BY)"):
        return method.removesuffix(" (no ORDER BY)"), None
    if method == REFERENCE:
        return RUNS[0], None
    return None, None
