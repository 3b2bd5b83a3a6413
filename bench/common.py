"""Results, timing and the printed table shared by the benchmarks.

Every comparison is a ratio of medians measured in the same run, with the methods interleaved so
that the drift of a noisy machine (other jobs on 2 cores) falls on all of them alike.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Result:
    """One line of the report: a median, and its ratio to a baseline of the same run."""

    bench: str
    backend: str
    name: str
    median: float
    unit: str
    samples: list[float] = field(default_factory=list)
    baseline: str | None = None  # the name of the Result this one is compared with
    ratio: float | None = None
    target: str | None = None
    met: bool | None = None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def interleaved(
    methods: Mapping[str, Callable[[], object]],
    repeats: int,
    *,
    setup: Callable[[], object] | None = None,
    teardown: Callable[[], object] | None = None,
) -> dict[str, list[float]]:
    """Seconds per call of each method, run in turns (a, b, a, b, ...) with the order flipped every
    round; ``setup`` / ``teardown`` run around each call, outside the timing."""
    samples: dict[str, list[float]] = {name: [] for name in methods}
    names = list(methods)
    for round_ in range(repeats):
        for name in names if round_ % 2 == 0 else reversed(names):
            if setup is not None:
                setup()
            try:
                samples[name].append(timed(methods[name]))
            finally:
                if teardown is not None:
                    teardown()
    return samples


def compare(
    bench: str,
    backend: str,
    samples: Mapping[str, list[float]],
    ours: str,
    baseline: str,
    *,
    target: float | None,
    unit: str = "s",
    note: str = "",
) -> list[Result]:
    """Results for every method in ``samples``; ``ours`` carries the ratio to ``baseline`` and
    whether it meets ``target`` (a maximum ratio)."""
    base = median(samples[baseline])
    results = []
    for name, values in samples.items():
        result = Result(bench, backend, name, median(values), unit, list(values))
        if name != baseline:
            result.baseline = baseline
            result.ratio = result.median / base if base else float("nan")
        if name == ours and target is not None:
            result.target = f"<= {target:g}x"
            result.met = result.ratio is not None and result.ratio <= target
            result.note = note
        results.append(result)
    return results


def plan(conn: Any, sql: str, params: tuple[Any, ...] = (), *, analyze: bool = True) -> str:
    """The server's plan of ``sql``, indented; ``analyze`` runs it (MariaDB ``ANALYZE``,
    PostgreSQL ``EXPLAIN ANALYZE``) to show actual row counts."""
    postgres = conn.backend == "postgresql"
    prefix = ("EXPLAIN ANALYZE " if postgres else "ANALYZE ") if analyze else "EXPLAIN "
    cursor = conn.query(prefix + sql, params)
    try:
        rows = cursor.fetchall()
        header = [d[0] for d in cursor.description]
    finally:
        cursor.close()
    if postgres:
        return "\n".join(f"    {r[0]}" for r in rows)
    keep = [k for k in ("table", "type", "key", "ref", "rows", "r_rows", "Extra") if k in header]
    lines = ["    " + " | ".join(keep)]
    for row in rows:
        cells = dict(zip(header, row))
        lines.append("    " + " | ".join(str(cells.get(k, "")) for k in keep))
    return "\n".join(lines)


def _fmt(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value:.3f} s"
    if unit == "rows/s":
        return f"{value:,.0f} rows/s"
    if unit == "MB":
        return f"{value:.0f} MB"
    if unit == "%":
        return f"{value:.1f} %"
    return f"{value:g} {unit}"


def table(results: list[Result]) -> str:
    """A plain-text table of results."""
    header = ("bench", "backend", "measurement", "median", "n", "ratio", "target", "met")
    rows = [header]
    for r in results:
        rows.append(
            (
                r.bench,
                r.backend,
                r.name,
                _fmt(r.median, r.unit),
                str(len(r.samples)) if r.samples else "",
                f"{r.ratio:.2f}x vs {r.baseline}" if r.ratio is not None else "",
                r.target or "",
                {True: "yes", False: "NO", None: ""}[r.met],
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    notes = [f"  {r.bench}/{r.backend}/{r.name}: {r.note}" for r in results if r.note]
    return "\n".join(lines + (["", "notes:", *notes] if notes else []))
