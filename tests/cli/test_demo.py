"""``subset demo`` stops the embedded server it started, also when interrupted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import run_cli
from .wheel import postgres_on


def _wait_for(process: subprocess.Popen[str], text: str, lines: list[str]) -> None:
    """Read the demo's output until a line contains ``text``."""
    assert process.stdout is not None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            stderr = process.stderr.read() if process.stderr else ""
            pytest.fail(f"the demo ended before {text!r}: {lines} {stderr}")
        lines.append(line)
        if text in line:
            return
    pytest.fail(f"no {text!r} within 120 s: {lines}")


@pytest.mark.parametrize(
    ("moment", "sig", "code"),
    [
        ("demo pipeline:", signal.SIGINT, 130),  # the server runs, the recipe has not started
        ("running the recipe", signal.SIGINT, 130),  # the run has begun
        ("running the recipe", signal.SIGTERM, 143),
    ],
)
def test_an_interrupted_demo_stops_its_server(
    demo_tmp: Path, moment: str, sig: int, code: int
) -> None:
    demo = demo_tmp / "demo"
    process = subprocess.Popen(
        [sys.executable, "-m", "subsetter", "demo", "--dir", str(demo)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: list[str] = []
    try:
        _wait_for(process, moment, lines)
        assert postgres_on(demo / "pg")
        process.send_signal(sig)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == code, stderr
    assert stderr.strip() in (
        "Interrupted; nothing was published.",
        "Terminated; nothing was published.",
    ), stderr
    assert not postgres_on(demo / "pg"), "the interrupted demo left its server running"
    assert not (demo / "parquet").exists() and not (demo / "demo.duckdb").exists()
    assert not [p.name for p in demo.iterdir() if ".tmp" in p.name]


def test_stop_without_a_server_says_so(tmp_path: Path) -> None:
    done = run_cli("demo", "--stop", "--dir", str(tmp_path / "none"))
    assert done.returncode == 0, done.stderr
    assert "no embedded PostgreSQL runs in" in done.stdout
