"""``python -m bench [BENCH] [--backend B] [--scale S]``; BENCH: stream, insert, preview,
export, writers, delete, startup, all (the default), diamonds or mysql_readers (how to read
MySQL into Arrow: the measurement behind the MySQL export path). ``startup`` (how fast
``subset --help`` and ``subset validate`` start) needs no database and runs once, not per backend.

Prints a table of medians, same-run ratios and targets, and records them in
``bench/results/latest.json``: the benches run replace their earlier entries, the others stay.
Servers: MariaDB on 127.0.0.1:3306 (root, no password) and PostgreSQL on 127.0.0.1:5432
(postgres, trust). The first run at a scale fills ``bench_lab_<scale>``
(~30 s per backend at scale 1); later runs reuse it.
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import os
import platform
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import delete, diamonds, export, insert, mysql_readers, preview, startup, stream, writers
from .common import Result, table
from .data import BACKENDS, connect, ensure_lab

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
BENCHES: dict[str, tuple[Callable[..., list[Result]], int]] = {
    "stream": (stream.run, 3),
    "insert": (insert.run, 5),
    "preview": (preview.run, 5),
    "export": (export.run, 3),  # subset run to Parquet / DuckDB vs raw readers (issue 11)
    "writers": (writers.run, 3),  # subset run to staging, the writers alone, loads (issue 5)
    "delete": (delete.run, 5),  # last: it churns the tables (each run rolled back)
    "diamonds": (diamonds.run, 3),  # a prototype for graph/sql.py, not part of "all"
    "mysql_readers": (mysql_readers.run, 3),  # MySQL only, not part of "all"
    "startup": (startup.run, 15),  # subset --help / validate start-up (issue 12), no database
}
ALL = ["stream", "insert", "preview", "export", "writers", "delete", "startup"]
NO_DATABASE = {"startup"}  # run once, as backend "none"
DIAGNOSES: dict[str, Callable[[str, float], str]] = {
    "preview": preview.explain,
    "delete": delete.breakdown,
}


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Benchmarks with their same-run baselines."
    )
    parser.add_argument("bench", nargs="?", default="all", choices=[*BENCHES, "all"])
    parser.add_argument("--backend", default="both", choices=[*BACKENDS, "both"])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0: ~3.1M rows")
    parser.add_argument("--repeats", type=int, help="runs per method (default: per bench)")
    parser.add_argument(
        "--explain", action="store_true", help="also print plans / per-statement breakdowns"
    )
    return parser.parse_args(argv)


def _environment(backends: list[str]) -> dict[str, Any]:
    root = Path(__file__).resolve().parent.parent
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
    ).stdout.strip()
    servers = {}
    for backend in backends:
        conn = connect(backend).connection
        servers[backend] = str(conn.fetchall("SELECT version()")[0][0])
    return {
        "when": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": commit,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "servers": servers,
    }


def _save(results: list[Result], diagnoses: dict[str, str], run: dict[str, Any]) -> None:
    """Update ``latest.json``: the benches of this run replace their earlier results, per
    backend, and the others stay, each group with the run it came from."""
    ran = {f"{r.bench}/{r.backend}" for r in results}
    old: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    if "runs" not in old:  # a file from before runs were kept per group
        old = {}
    groups = {k: v for k, v in old.get("runs", {}).items() if k not in ran}
    groups.update(dict.fromkeys(sorted(ran), run))
    kept = [r for r in old.get("results", []) if f"{r['bench']}/{r['backend']}" not in ran]
    notes = {k: v for k, v in old.get("diagnoses", {}).items() if k not in ran}
    payload = {
        "runs": groups,
        "results": kept + [r.as_dict() for r in results],
        "diagnoses": {**notes, **diagnoses},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(payload, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    logging.getLogger("datajoint_core").setLevel(logging.WARNING)
    backends = list(BACKENDS) if args.backend == "both" else [args.backend]
    names = ALL if args.bench == "all" else [args.bench]
    database = [name for name in names if name not in NO_DATABASE]
    environment = _environment(backends if database else [])
    results: list[Result] = []
    diagnoses: dict[str, str] = {}
    runs = [(backend, database) for backend in backends if database]
    runs.append(("none", [name for name in names if name in NO_DATABASE]))
    for backend, benches in runs:
        if benches and backend != "none":
            ensure_lab(connect(backend), args.scale)
        for name in benches:
            run, repeats = BENCHES[name]
            for attempt in (1, 2):  # once more on a failure: tests running alongside kill
                logging.info("bench %s on %s ...", name, backend)  # idle connections
                try:
                    results += run(backend, args.scale, args.repeats or repeats)
                    if args.explain and name in DIAGNOSES:
                        diagnoses[f"{name}/{backend}"] = DIAGNOSES[name](backend, args.scale)
                    break
                except Exception as err:  # one failed bench should not lose the others' numbers
                    logging.exception("bench %s on %s failed (attempt %d)", name, backend, attempt)
                    if attempt == 2:
                        failed = Result(name, backend, "FAILED", float("nan"), "s", met=False)
                        failed.note = f"{type(err).__name__}: {str(err)[:200]}"
                        results.append(failed)
    report = table(results)
    for key, text in diagnoses.items():
        print(f"== {key} ==\n{text}\n")
    print(report)
    environment["load_average_after"] = os.getloadavg()
    _save(results, diagnoses, {**environment, "arguments": vars(args)})
    print("\nnumbers are noisy on a shared 2-core machine: compare ratios within a run.")
    print(f"written to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
