"""The project as a new user installs it: a wheel built from the source, installed (not
editable) into a virtual environment of its own, and its ``subset`` run from outside the repo.

The wheel is built once per test session from a clean copy of the source (the files git knows,
so that nothing stale in ``build/`` gets in). The venv's dependencies are cached in
``~/.cache/datajoint-subsetter/wheel/<key>`` (key: the Python version and the wheel's
requirements), and each session installs its fresh wheel into it (``--force-reinstall``) before
its first test uses it. A lock serialises the test sessions that share the cache.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXTRAS = "embedded"  # the README's first set-up command installs '.[embedded]'
_IGNORED = (".git", ".venv", ".ci-venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache")


def _run(step: list[str], *, timeout: float = 900, cwd: Path | None = None) -> str:
    """Run a set-up step; a failure fails the test with the step's last lines."""
    try:
        done = subprocess.run(step, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    except (OSError, subprocess.TimeoutExpired) as err:
        pytest.fail(f"{' '.join(step[:5])}: {err}")
    if done.returncode:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        pytest.fail(f"{' '.join(step[:5])} failed: " + " | ".join(tail))
    return done.stdout


def _copy_source(dest: Path) -> Path:
    """The project's files in ``dest``: those git tracks or would track, else all but caches."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
    )
    if listed.returncode == 0 and listed.stdout:
        for name in listed.stdout.decode().split("\0"):
            source = ROOT / name
            if name and source.is_file():
                (dest / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, dest / name)
        return dest
    shutil.copytree(ROOT, dest, ignore=shutil.ignore_patterns(*_IGNORED), dirs_exist_ok=True)
    return dest


def build_wheel(workdir: Path) -> Path:
    """``pip wheel . --no-deps`` on a clean copy of the source; the wheel's path."""
    source = _copy_source(workdir / "source")
    out = workdir / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), "."],
         cwd=source)  # fmt: skip
    (wheel,) = out.glob("datajoint_subsetter-*.whl")
    return wheel


def requirements(wheel: Path) -> list[str]:
    """The ``Requires-Dist`` lines of the wheel's metadata."""
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        text = archive.read(name).decode()
    return sorted(line for line in text.splitlines() if line.startswith("Requires-Dist:"))


def _cache_root() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "datajoint-subsetter" / "wheel"


@contextlib.contextmanager
def installed(wheel: Path) -> Iterator[Path]:
    """The ``bin`` directory of a venv where ``wheel`` (with its embedded extra) is installed;
    the venv is this caller's until the block ends."""
    key_text = "\n".join([sys.version, EXTRAS, *requirements(wheel)])
    cache = _cache_root() / hashlib.sha256(key_text.encode()).hexdigest()[:16]
    cache.mkdir(parents=True, exist_ok=True)
    venv = cache / "venv"
    python = venv / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    with open(cache / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one session at a time uses (and reinstalls) the venv
        if not (venv / ".complete").exists():
            _run([sys.executable, "-m", "venv", "--clear", str(venv)])
            _run([*pip, f"{wheel}[{EXTRAS}]"])  # the dependencies, cached from here on
            (venv / ".complete").touch()
        # this session's wheel (its path is the session's own), installed once per session
        digest = f"{wheel} {hashlib.sha256(wheel.read_bytes()).hexdigest()}"
        marker = venv / ".installed-wheel"
        if not marker.exists() or marker.read_text() != digest:
            _run([*pip, "--force-reinstall", "--no-deps", str(wheel)])
            marker.write_text(digest)
        yield venv / "bin"


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a user's shell: no PYTHONPATH or active venv pointing at the repo."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return {**env, **extra}


def postgres_on(directory: Path) -> list[int]:
    """The pids of PostgreSQL processes whose data directory is ``directory`` (any OS user)."""
    import psutil

    wanted = str(directory.resolve())
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if (proc.info["name"] or "").startswith("postgres") and wanted in cmdline:
            found.append(proc.pid)
    return found
