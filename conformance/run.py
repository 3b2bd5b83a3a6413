"""Run the extracted suite in a pytest subprocess and read back its per-test outcomes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.suite import SERVER_ENV, Cache

PLUGINS_DIR = Path(__file__).parent / "plugins"


@dataclass(frozen=True)
class Side:
    """One interpreter the suite runs under."""

    name: str  # "reference" or "ours"
    python: Path
    plugins: tuple[str, ...]  # pytest plugins from PLUGINS_DIR, loaded with -p in this order
    append_path: Path | None = None  # test dependencies installed beside the interpreter
    # the shim in every interpreter (PLUGINS_DIR/ours_site/sitecustomize.py), so the suite's
    # subprocesses (``python -m datajoint.cli``) import datajoint as the pytest process does
    shim_everywhere: bool = False


def reference_side(cache: Cache) -> Side:
    return Side("reference", cache.ref_python, ("dj_skips", "dj_results"))


def ours_side(cache: Cache, *, stand_ins: bool = False) -> Side:
    # dj_alias first: it must be on sys.meta_path before the suite's conftest imports datajoint.
    extra = ("dj_standins",) if stand_ins else ()
    plugins = ("dj_alias", *extra, "dj_skips", "dj_results")
    name = "ours-standins" if stand_ins else "ours"
    return Side(name, Path(sys.executable), plugins, cache.ours_deps, shim_everywhere=True)


def suite_env(side: Side, results: Path) -> dict[str, str]:
    """The environment of the pytest subprocess: no inherited DJ_* settings, the suite's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJ_")}
    env.pop("PYTHONPATH", None)
    env.update(SERVER_ENV)
    paths = [PLUGINS_DIR / "ours_site"] if side.shim_everywhere else []
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in [*paths, PLUGINS_DIR])
    env["DJ_CONFORMANCE_RESULTS"] = str(results)
    if side.append_path is not None:
        env["DJ_CONFORMANCE_APPEND_PATH"] = str(side.append_path)
    return env


def pytest_command(side: Side, selection: list[str], keyword: str | None) -> list[str]:
    cmd = [str(side.python), "-m", "pytest", "-q", "--tb=long", "-p", "no:cacheprovider"]
    cmd += ["--continue-on-collection-errors", "-o", "addopts="]
    for plugin in side.plugins:
        cmd += ["-p", plugin]
    cmd += selection or ["tests"]
    if keyword:
        cmd += ["-k", keyword]
    return cmd


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


@dataclass
class RunResult:
    side: str
    returncode: int | None  # None: killed at the timeout
    seconds: float
    tests: dict[str, dict[str, Any]]  # nodeid -> record written by dj_results
    collect_errors: dict[str, dict[str, Any]]  # module nodeid -> record
    log: Path


def run_suite(
    side: Side,
    cache: Cache,
    selection: list[str],
    keyword: str | None,
    timeout: float,
) -> RunResult:
    """Run the suite under ``side``; the log goes to the cache, outcomes come from dj_results."""
    import time

    results = cache.raw(side.name)
    results.unlink(missing_ok=True)
    log = cache.root / f"{side.name}.log"
    cmd = pytest_command(side, selection, keyword)
    print(f"conformance: running the suite on {side.name} ({side.python})", file=sys.stderr)
    started = time.monotonic()
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.Popen(
            cmd,
            cwd=cache.suite,
            env=suite_env(side, results),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # one process group: a timeout ends the tests' children too
        )
        try:
            returncode: int | None = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            returncode = None
            print(f"conformance: {side.name} run killed after {timeout:.0f} s", file=sys.stderr)
    records = _read_jsonl(results)
    return RunResult(
        side=side.name,
        returncode=returncode,
        seconds=time.monotonic() - started,
        tests={r["nodeid"]: r for r in records if r["kind"] == "test"},
        collect_errors={r["nodeid"]: r for r in records if r["kind"] == "collect_error"},
        log=log,
    )


def collect_ids(side: Side, cache: Cache, selection: list[str], keyword: str | None) -> set[str]:
    """The node ids a selection picks (collection only, on the reference: it imports every file)."""
    cmd = [*pytest_command(Side(side.name, side.python, ()), selection, keyword), "--co"]
    out = subprocess.run(
        cmd,
        cwd=cache.suite,
        env=suite_env(side, cache.root / "collect.jsonl"),
        capture_output=True,
        text=True,
    )
    return {line.strip() for line in out.stdout.splitlines() if "::" in line}
