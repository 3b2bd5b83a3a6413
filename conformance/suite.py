"""Fetch the reference's release source, extract its test suite, prepare both interpreters.

Everything lives in one cache directory outside git (``DJ_CONFORMANCE_CACHE``, default
``~/.cache/datajoint-subsetter/conformance``); the suite is never committed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

VERSION = "2.3.5"
DIST = "datajoint"

# The suite hard-codes ``djtest`` in its schema prefix, its grants and a few schema names, and its
# session teardown drops every ``djtest_%`` database: the project's tests use ``djtest_*`` too.
# The extracted copy is rewritten to this prefix, so it creates and drops only its own schemas;
# two runs at once need two prefixes (``DJ_CONFORMANCE_PREFIX``) and two caches.
SUITE_PREFIX = os.environ.get("DJ_CONFORMANCE_PREFIX", "djconf")
HARD_CODED_PREFIX = "djtest"

# The suite's test dependencies (its pyproject's ``test`` group, less coverage, containers, S3 and
# IPython); ``requests`` brings ``certifi`` and ``urllib3``, which the suite's conftest imports.
REFERENCE_TEST_DEPS = (
    "pytest",
    "requests",
    "faker",
    "polars",
    "pyarrow",
    "psycopg2-binary",
    "matplotlib",
)
# Third-party modules the suite's own files import that the project venv may lack; installed
# beside it (appended to sys.path in the pytest subprocess, so the project's packages win).
# pydot and matplotlib: the project's ``diagram`` extra, which the reference installs with it.
OURS_TEST_DEPS = ("requests", "faker", "polars", "pydantic", "pydot", "matplotlib")

# Where the suite's conftest finds external servers instead of testcontainers.
SERVER_ENV = {
    "DJ_USE_EXTERNAL_CONTAINERS": "1",
    "DJ_HOST": "127.0.0.1",
    "DJ_PORT": "3306",
    "DJ_USER": "root",
    "DJ_PASS": "",
    "DJ_PG_HOST": "127.0.0.1",
    "DJ_PG_PORT": "5432",
    "DJ_PG_USER": "postgres",
    "DJ_PG_PASS": "",
    "DJ_TEST_DB_PREFIX": SUITE_PREFIX,
}


@dataclass(frozen=True)
class Cache:
    """The paths of one cache directory."""

    root: Path

    @classmethod
    def default(cls) -> Cache:
        env = os.environ.get("DJ_CONFORMANCE_CACHE")
        root = Path(env) if env else Path.home() / ".cache" / "datajoint-subsetter" / "conformance"
        return cls(root.expanduser())

    @property
    def sdist_dir(self) -> Path:
        return self.root / "sdist"

    @property
    def suite(self) -> Path:
        """The extracted suite: ``tests/`` and the release's ``pyproject.toml`` (pytest config)."""
        return self.root / f"suite-{VERSION}"

    @property
    def ref_python(self) -> Path:
        return self.root / "refvenv" / "bin" / "python"

    @property
    def ours_deps(self) -> Path:
        return self.root / "ours-deps"

    @property
    def baseline(self) -> Path:
        """The reference's per-test outcomes, reused by ``--ours-only``."""
        return self.root / f"reference-{VERSION}.json"

    def results(self, side: str) -> Path:
        return self.root / ("results.json" if side == "ours" else f"results-{side}.json")

    def report(self, side: str) -> Path:
        return self.root / ("report.md" if side == "ours" else f"report-{side}.md")

    def raw(self, side: str) -> Path:
        return self.root / f"{side}.jsonl"


def _run(cmd: list[str], **kwargs: object) -> None:
    print("+", " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, check=True, **kwargs)  # type: ignore[call-overload]


def download_sdist(cache: Cache) -> Path:
    """The release's source distribution, downloaded once with pip."""
    found = sorted(cache.sdist_dir.glob(f"{DIST}-{VERSION}.tar.gz"))
    if found:
        return found[0]
    cache.sdist_dir.mkdir(parents=True, exist_ok=True)
    _run(
        [
            *(sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"),
            *("--no-binary", ":all:", f"{DIST}=={VERSION}", "--dest", str(cache.sdist_dir)),
        ]
    )
    return next(cache.sdist_dir.glob(f"{DIST}-{VERSION}.tar.gz"))


def extract_suite(cache: Cache, *, fresh: bool = False) -> Path:
    """Extract ``tests/`` and ``pyproject.toml`` and rewrite the hard-coded schema prefix."""
    marker = cache.suite / ".extracted"
    if marker.exists() and not fresh:
        return cache.suite
    sdist = download_sdist(cache)
    top = f"{DIST}-{VERSION}/"
    cache.suite.mkdir(parents=True, exist_ok=True)
    with tarfile.open(sdist) as tar:
        for member in tar.getmembers():
            rel = member.name.removeprefix(top)
            if not member.isfile() or not (rel.startswith("tests/") or rel == "pyproject.toml"):
                continue
            data = tar.extractfile(member)
            assert data is not None
            content = data.read()
            if rel.endswith(".py"):
                content = content.replace(HARD_CODED_PREFIX.encode(), SUITE_PREFIX.encode())
            target = cache.suite / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
    marker.write_text(sdist.name)
    return cache.suite


def ensure_reference_venv(cache: Cache) -> Path:
    """A venv with datajoint==VERSION and the suite's test dependencies (never the project's)."""
    python = cache.ref_python
    if not python.exists():
        _run([sys.executable, "-m", "venv", str(python.parent.parent)])
    probe = "import datajoint, pytest, faker, certifi, urllib3; "
    probe += f"assert datajoint.__version__ == {VERSION!r}"
    check = subprocess.run(
        [str(python), "-c", probe],
        capture_output=True,
    )
    if check.returncode != 0:
        _run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                f"{DIST}=={VERSION}",
                *REFERENCE_TEST_DEPS,
            ]
        )
    return python


def ensure_ours_deps(cache: Cache) -> Path:
    """Install the suite's third-party test imports the project venv lacks into ``ours-deps``.

    pip resolves them against the project venv (a dry run), then installs exactly the missing
    distributions there with ``--no-deps``: nothing in the project venv is changed or shadowed.
    """
    target = cache.ours_deps
    stamp = target / ".installed"
    if stamp.exists():
        return target
    report = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--quiet",
            "--report",
            "-",
            *OURS_TEST_DEPS,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    pins = [
        f"{item['metadata']['name']}=={item['metadata']['version']}"
        for item in json.loads(report.stdout)["install"]
    ]
    if pins:
        _run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-deps",
                "--target",
                str(target),
                *pins,
            ]
        )
    target.mkdir(parents=True, exist_ok=True)
    stamp.write_text("\n".join(pins))
    return target


def drop_suite_schemas() -> list[str]:
    """Drop leftover ``djconf_*`` schemas on both local servers (only the suite's own names).

    The suite's fixtures drop what they create; a crash or a timeout can leave some behind.
    """
    import datajoint_core as dj

    dropped: list[str] = []
    for backend, (host, port, user) in {
        "mysql": ("127.0.0.1", 3306, "root"),
        "postgresql": ("127.0.0.1", 5432, "postgres"),
    }.items():
        try:
            inst = dj.Instance(host, user, "", port=port, backend=backend)
        except dj.DataJointError as err:
            print(f"conformance: {backend} unreachable ({err})", file=sys.stderr)
            continue
        with inst:
            connection = inst.connection
            left = [n for n in connection.list_schemas() if n.startswith(SUITE_PREFIX + "_")]
            for _ in range(3):  # a schema referenced by another one drops on a later pass
                failed = []
                for name in left:
                    try:
                        connection.execute(connection.adapter.drop_schema_sql(name))
                        dropped.append(f"{backend}:{name}")
                    except dj.DataJointError:
                        failed.append(name)
                left = failed
    return dropped
