"""Peak memory and time of streaming Trial as Arrow record batches (issue 3).

Each measurement runs in a fresh interpreter (``python -m bench.stream child ...``) and reads its
own ``ru_maxrss``, so no run inherits another's heap. Measured at 10 % of Trial (100k rows at
scale 1) and all of it (1M rows). Target: peak under 300 MB at 1M rows and under 10 % growth from
100k to 1M.

Methods, same rows:

- ``iter_batches``: ``expr.iter_batches(BATCH)``, the datajoint_core path under test;
- ``driver cursor``: the driver's server-side cursor, rows fetched and thrown away (no Arrow): the
  floor of any path through the same driver;
- ``COPY csv -> arrow`` (PostgreSQL): ``COPY (SELECT ...) TO STDOUT`` parsed by
  ``pyarrow.csv.open_csv`` as a stream, the fastest path in performance.md.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from .common import Result, median
from .data import connect, declare_lab, ensure_lab

logger = logging.getLogger("bench")

BATCH = 10_000
MAX_PEAK_MB = 300.0
MAX_GROWTH = 0.10
FRACTIONS = (0.1, 1.0)
METHODS = {
    "mysql": ("iter_batches", "driver cursor"),
    "postgresql": ("iter_batches", "driver cursor", "COPY csv -> arrow"),
}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# -- the child: one measurement ------------------------------------------------------------------


def _stream_ours(expr: Any) -> int:
    return sum(batch.num_rows for batch in expr.iter_batches(BATCH))


def _stream_driver(expr: Any) -> int:
    conn = expr.connection
    sql = expr.make_sql()
    return sum(len(rows) for rows in conn.stream(sql.sql, sql.params, BATCH))


def _stream_copy(expr: Any) -> int:
    """PostgreSQL COPY TO STDOUT through a pipe into pyarrow's streaming CSV reader."""
    import pyarrow.csv as pcsv

    conn = expr.connection
    sql = expr.make_sql()
    cursor = conn._raw.cursor()
    copy = cursor.mogrify(sql.sql, sql.params).decode()
    read_fd, write_fd = os.pipe()
    errors: list[BaseException] = []

    def produce() -> None:
        with os.fdopen(write_fd, "wb") as sink:
            try:
                cursor.copy_expert(f"COPY ({copy}) TO STDOUT (FORMAT csv, HEADER true)", sink)
            except BaseException as err:  # reported by the reader's thread below
                errors.append(err)

    writer = threading.Thread(target=produce)
    writer.start()
    rows = 0
    with os.fdopen(read_fd, "rb") as source:
        # no reader threads: a threaded reader on a pipe has aborted the process (std::terminate)
        options = pcsv.ReadOptions(block_size=1 << 20, use_threads=False)
        reader = pcsv.open_csv(source, read_options=options)
        for batch in reader:
            rows += batch.num_rows
    writer.join()
    if errors:
        raise errors[0]
    return rows


def child(backend: str, scale: float, fraction: float, method: str) -> dict[str, Any]:
    """Stream the rows in this process; return rows, seconds and memory (MB)."""
    import pyarrow  # noqa: F401 - part of the idle footprint, as in performance.md

    lab = declare_lab(connect(backend), scale)
    # a string restriction at every size, so that every child loads the same modules
    expr = lab.Trial & f"subject_id <= {round(lab.subjects * fraction)}"
    idle = _peak_mb()
    run = {
        "iter_batches": _stream_ours,
        "driver cursor": _stream_driver,
        "COPY csv -> arrow": _stream_copy,
    }[method]
    started = time.perf_counter()
    rows = run(expr)
    seconds = time.perf_counter() - started
    return {"rows": rows, "seconds": seconds, "idle_mb": idle, "peak_mb": _peak_mb()}


# -- the parent: fresh subprocesses --------------------------------------------------------------


def measure(backend: str, scale: float, fraction: float, method: str) -> dict[str, Any]:
    root = Path(__file__).resolve().parent.parent
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
    }
    args = [
        sys.executable,
        "-m",
        "bench.stream",
        "child",
        backend,
        str(scale),
        str(fraction),
        method,
    ]
    for attempt in (1, 2):  # once more if a child dies (tests running alongside kill sessions)
        done = subprocess.run(args, cwd=root, env=env, capture_output=True, text=True)
        if not done.returncode:
            return dict(json.loads(done.stdout.strip().splitlines()[-1]))
        logger.warning("attempt %d of %s failed:\n%s", attempt, " ".join(args), done.stderr[-2000:])
    raise RuntimeError(f"{' '.join(args)} failed:\n{done.stderr[-2000:]}")


def _label(runs: list[dict[str, Any]]) -> str:
    return f"{runs[0]['rows'] / 1000:,.0f}k rows"


def _summarise(
    backend: str, method: str, runs: list[dict[str, Any]], fastest: list[dict[str, Any]] | None
) -> list[Result]:
    """Peak RSS and time of one method at one size; ``fastest``: the baseline's runs, if any."""
    label = f"{method} {_label(runs)}"
    peaks = [r["peak_mb"] for r in runs]
    seconds = [r["seconds"] for r in runs]
    peak = Result("stream", backend, f"{label}: peak RSS", median(peaks), "MB", peaks)
    time_ = Result("stream", backend, f"{label}: time", median(seconds), "s", seconds)
    if fastest is not None:
        peak.note = f"idle interpreter {median([r['idle_mb'] for r in runs]):.0f} MB"
        time_.baseline = f"the fastest other method, {_label(runs)}"
        time_.ratio = time_.median / median([r["seconds"] for r in fastest])
    return [peak, time_]


def run(backend: str, scale: float = 1.0, repeats: int = 3) -> list[Result]:
    ensure_lab(connect(backend), scale)
    samples: dict[tuple[str, float], list[dict[str, Any]]] = {}
    for _ in range(repeats):  # interleaved, so drift falls on every method alike
        for fraction in FRACTIONS:
            for method in METHODS[backend]:
                one = measure(backend, scale, fraction, method)
                samples.setdefault((method, fraction), []).append(one)
    results: list[Result] = []
    for fraction in FRACTIONS:
        others = [samples[m, fraction] for m in METHODS[backend][1:]]
        fastest = min(others, key=lambda runs: median([r["seconds"] for r in runs]))
        for method in METHODS[backend]:
            ours = method == "iter_batches"
            results += _summarise(
                backend, method, samples[method, fraction], fastest if ours else None
            )
        if fraction == FRACTIONS[-1]:
            peak = [r for r in results if r.name.startswith("iter_batches") and "RSS" in r.name][-1]
            peak.target = f"< {MAX_PEAK_MB:g} MB"
            peak.met = peak.median < MAX_PEAK_MB
    small, large = (samples["iter_batches", f] for f in (FRACTIONS[0], FRACTIONS[-1]))
    grown = median([r["peak_mb"] for r in large]) / median([r["peak_mb"] for r in small]) - 1
    name = f"iter_batches peak RSS growth {_label(small)} -> {_label(large)}"
    growth = Result("stream", backend, name, 100 * grown, "%")
    growth.target = f"< {100 * MAX_GROWTH:g} %"
    growth.met = grown < MAX_GROWTH
    return [*results, growth]


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "child":
        _, _, backend_, scale_, fraction_, method_ = sys.argv
        print(json.dumps(child(backend_, float(scale_), float(fraction_), method_)))
    else:
        sys.exit("usage: python -m bench.stream child BACKEND SCALE FRACTION METHOD")
