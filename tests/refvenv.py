"""The reference ``datajoint`` package's interpreter for the tests that compare with it.

It lives in a virtual environment of its own, never in the project's: ``DJ_REFERENCE_PYTHON``
names its python; otherwise /tmp/djref/venv is used if present, or a venv is made once in the
user cache (``~/.cache/datajoint-subsetter/djref``) with pip. Without network the tests that need
it are skipped, unless ``DJ_REFERENCE_REQUIRED=1`` (set by CI), which makes that a failure.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest

REFERENCE_SPEC = os.environ.get("DJ_REFERENCE_SPEC", "datajoint==2.3.5")
LEGACY_VENV = Path("/tmp/djref/venv/bin/python")


def _has_reference(python: Path) -> bool:
    try:
        done = subprocess.run(
            [str(python), "-c", "import datajoint, psycopg2, pymysql"],
            capture_output=True,
            timeout=120,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _install(cache: Path) -> Path | str:
    """The python of a venv with the reference in ``cache``, or why it could not be made."""
    cache.mkdir(parents=True, exist_ok=True)
    venv = cache / "venv"
    python = venv / "bin" / "python"
    with open(cache / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one installer at a time (parallel sessions)
        if (venv / ".complete").exists() and _has_reference(python):
            return python
        steps = [
            [sys.executable, "-m", "venv", "--clear", str(venv)],
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             "--retries", "1", "--timeout", "20", REFERENCE_SPEC, "psycopg2-binary"],
        ]  # fmt: skip
        for step in steps:
            try:
                done = subprocess.run(step, capture_output=True, text=True, timeout=900)
            except (OSError, subprocess.TimeoutExpired) as err:
                return f"{' '.join(step[:4])}: {err}"
            if done.returncode:
                tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
                return f"{' '.join(step[:4])} failed: {' | '.join(tail)}"
        (venv / ".complete").touch()
    return python


@pytest.fixture(scope="session")
def reference_python() -> str:
    """The interpreter that has the reference ``datajoint`` (made once per session if need be)."""
    named = os.environ.get("DJ_REFERENCE_PYTHON")
    if named:
        if not _has_reference(Path(named)):
            pytest.fail(f"DJ_REFERENCE_PYTHON={named} cannot import datajoint and psycopg2")
        return named
    if LEGACY_VENV.exists() and _has_reference(LEGACY_VENV):
        return str(LEGACY_VENV)
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    found = _install(base / "datajoint-subsetter" / "djref")
    if isinstance(found, str):
        reason = f"cannot install the reference {REFERENCE_SPEC}: {found}"
        if os.environ.get("DJ_REFERENCE_REQUIRED", "").lower() in ("1", "true", "yes"):
            pytest.fail(reason)
        pytest.skip(reason)
    return str(found)
