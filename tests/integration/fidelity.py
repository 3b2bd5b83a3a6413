"""Running ``tests/reference/probe.py`` with the reference and with datajoint_core, and comparing.

A probe prints one JSON document. Two documents agree when every value is equal and every
exception of the reference is matched by one of ours that is an instance of the same builtin and
DataJoint classes (ours may be more: a ConfigError is a DataJointError and a ValueError where the
reference raises pydantic's ValidationError, a ValueError). Messages are not compared.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from ..conftest import Server

PROBE = Path(__file__).resolve().parents[1] / "reference" / "probe.py"


def probe(
    python: str,
    package: str,
    scenario: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    server: Server | None = None,
    schema: str = "",
) -> dict[str, Any]:
    """One scenario in a fresh interpreter: no inherited ``DJ_*`` variables, ``env`` added."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJ_", "DJREF_"))}
    command = [python, str(PROBE), scenario, "--package", package]
    if server is not None:
        command += ["--backend", server.backend, "--host", server.host]
        command += ["--port", str(server.port), "--user", server.user, "--schema", schema]
        clean["DJREF_PASS"] = server.password
        clean["DJ_IGNORE_CONFIG_FILE"] = "true"
    done = subprocess.run(
        command, cwd=cwd, env={**clean, **(env or {})}, capture_output=True, text=True, timeout=300
    )
    if done.returncode:
        raise AssertionError(f"{package} {scenario} failed:\n{done.stderr[-4000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def both(
    reference_python: str, scenario: str, make_dir: Any, **kwargs: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the reference's document, ours) for a scenario, each run in a directory of its own that
    ``make_dir(name)`` prepares alike."""
    theirs = probe(reference_python, "datajoint", scenario, make_dir("reference"), **kwargs)
    ours = probe(sys.executable, "datajoint_core", scenario, make_dir("ours"), **kwargs)
    return theirs, ours


def differences(theirs: Any, ours: Any, path: str = "") -> list[str]:
    """Where two probe documents disagree (see the module docstring)."""
    if isinstance(theirs, dict) and "error" in theirs and set(theirs) <= {"error", "message"}:
        if not isinstance(ours, dict) or "error" not in ours:
            return [f"{path}: the reference raises {theirs['error']}, ours gives {ours!r}"]
        missing = set(theirs["error"]) - set(ours["error"])
        return [f"{path}: ours raises {ours['error']}, not {sorted(missing)}"] if missing else []
    if isinstance(theirs, dict) and isinstance(ours, dict):
        found: list[str] = []
        for key in sorted(set(theirs) | set(ours)):
            if key == "message":
                continue
            if key not in theirs or key not in ours:
                found.append(f"{path}/{key}: only in {'ours' if key in ours else 'the reference'}")
                continue
            found += differences(theirs[key], ours[key], f"{path}/{key}")
        return found
    return [] if theirs == ours else [f"{path}: reference {theirs!r}, ours {ours!r}"]


def assert_agree(theirs: dict[str, Any], ours: dict[str, Any]) -> None:
    found = differences(theirs, ours)
    assert not found, "datajoint_core differs from the reference:\n" + "\n".join(found)
