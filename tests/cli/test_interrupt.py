"""Ctrl-C in the first second of a real ``subset run``: one line, exit 130, nothing written.

The signal lands wherever the run is at that moment (imports, connecting, the preview, the first
tables); pymysql, the driver that printed "Exception ignored" noise, reads MySQL here.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import datajoint_core as dj
from subsetter.demo import declare, populate

from ..conftest import Server
from .conftest import write_recipe

DELAYS = (0.05, 0.15, 0.3, 0.45, 0.6, 0.8, 1.0)  # after the interpreter's own start-up


def _interpreter_start() -> float:
    """How long Python takes to start here, now (a Ctrl-C before that is Python's own)."""
    times = []
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - started)
    return max(times)


def _listing(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir())


def test_ctrl_c_early_in_a_run_is_one_line(
    tmp_path: Path,
    server: Server,
    inst: dj.Instance,
    demo_schemas: tuple[str, str, str],
    cli_env: dict[str, str],
) -> None:
    populate(declare(inst.connection, demo_schemas), subjects=20)
    lab, ephys, analysis = demo_schemas
    recipe = write_recipe(
        tmp_path,
        server,
        f"""\
        schemas: [{lab}, {ephys}, {analysis}]
        restrictions:
          - table: {lab}.Subject
            where: {{species: mouse}}
        outputs:
          snap: {{type: parquet, path: ./snap}}
          db: {{type: duckdb, path: ./snap.duckdb}}
        """,
    )
    env = {**os.environ, **cli_env, "DJ_MYSQL_DRIVER": "pymysql"}
    command = [sys.executable, "-m", "subsetter", "run", str(recipe)]
    started = time.perf_counter()
    full = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path)
    took = time.perf_counter() - started
    assert full.returncode == 0, full.stderr
    clean = _listing(tmp_path)
    assert clean == ["recipe.yaml", "snap", "snap.duckdb"]

    start_up = 1.5 * _interpreter_start()
    interrupted = 0
    for delay in DELAYS:
        for name in ("snap", "snap.duckdb"):  # outputs fail if they exist (no if_exists)
            shutil.rmtree(tmp_path / name, ignore_errors=True)
            (tmp_path / name).unlink(missing_ok=True)
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        time.sleep(start_up + delay)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=120)
        case = f"SIGINT at {start_up + delay:.2f} s of a {took:.2f} s run: {stderr!r}"
        assert "Traceback" not in stderr and "Exception ignored" not in stderr, case
        if process.returncode == 0:  # it finished first: whole outputs
            assert start_up + delay > took / 2, case
            assert _listing(tmp_path) == clean, case
            continue
        assert process.returncode == 130, case
        assert len(stderr.strip().splitlines()) == 1, case
        assert stderr.startswith("Interrupted"), case
        assert _listing(tmp_path) == ["recipe.yaml"], case  # nothing, not even a temporary
        interrupted += 1
    assert interrupted >= len(DELAYS) // 2, "the runs ended before the signals"


FINALIZER = """\
import signal, sys, time
from subsetter import cli

signal.signal(signal.SIGINT, cli._on_signal)  # as cli.main() installs them
sys.unraisablehook = cli._unraisable(sys.unraisablehook)

class Connection:
    def __del__(self):
        raise KeyboardInterrupt  # a Ctrl-C landing in a finalizer, as in pymysql's __del__

Connection()
try:
    time.sleep(10)
    print("lost")
except KeyboardInterrupt:
    print("delivered")
"""


def test_a_ctrl_c_swallowed_by_a_finalizer_is_delivered_again() -> None:
    done = subprocess.run([sys.executable, "-c", FINALIZER], capture_output=True, text=True)
    assert done.stdout.strip() == "delivered", done.stdout + done.stderr
    assert "Exception ignored" not in done.stderr, done.stderr
