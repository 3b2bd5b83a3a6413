"""Every ``subset`` line of the README's shell blocks, run as written, with the exit code the line
documents (0 unless its comment says ``# exit N``).

The lines run in README order with the ``subset`` of a wheel built from the project
(tests/cli/wheel.py), so they are what a new user gets from ``pip install .``. A block that runs
``subset demo`` runs once, in a directory of its own, on the embedded server. The other blocks run
once per backend, in one directory, after these mechanical replacements:

- ``recipe.yaml`` is the README's example recipe (its ``yaml`` block) with every connection
  replaced: ``source`` by the server of the backend under test, the staging output by the server
  of the other backend (so that staging is another server, as in the README);
- a URL naming ``db.example.org`` becomes the URL of the source server, one naming
  ``staging.example.org`` that of the staging server (``SUBSET_PASSWORD``: its password);
- the schema names (``lab``, ``ephys``, ``staging_lab``, ... as whole words, see ``WORDS``)
  become fresh ``djtest_*`` names, in the recipe and in the lines. The demo pipeline
  (:func:`subsetter.demo.declare`) is declared and filled in the source's ``lab``, ``ephys`` and
  ``analysis``; the ``scratch_*`` schemas are created empty on the staging server (for
  ``--adopt``); all of them are dropped afterwards, on both servers.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import datajoint_core as dj
from subsetter.demo import declare, populate
from subsetter.recipe import CONNECTION_KEYS, parse_recipe

from ..conftest import Server, server_for
from .wheel import ROOT, clean_env, postgres_on

README = ROOT / "README.md"
WORDS = ("lab", "ephys", "analysis", "staging_lab", "staging_ephys", "lab_copy", "ephys_copy")
WORDS += ("scratch_lab", "scratch_ephys")
HOSTS = {"db.example.org": "source", "staging.example.org": "staging"}
URL = re.compile(r"\b(?:mysql|postgresql)://[^\s@]*@([\w.-]+)(?::\d+)?(?:/\w*)?")
SOURCE_PASSWORD, STAGING_PASSWORD = "SUBSET_TEST_PASSWORD", "SUBSET_TEST_STAGING_PASSWORD"


def blocks(language: str) -> list[str]:
    """The README's fenced blocks in ``language``."""
    return re.findall(rf"^```{language}\n(.*?)^```", README.read_text(), re.S | re.M)


def subset_lines(block: str) -> list[tuple[str, int]]:
    """The ``subset`` lines of a shell block, each with the exit code it documents."""
    lines = []
    for line in block.splitlines():
        if line.startswith("subset "):
            command, _, comment = line.partition("#")
            expected = re.search(r"\bexit (\d+)", comment)
            lines.append((command.strip(), int(expected.group(1)) if expected else 0))
    return lines


def is_demo(lines: list[tuple[str, int]]) -> bool:
    return any(line.startswith("subset demo") for line, _ in lines)


def url(server: Server) -> str:
    if server.host.startswith("/"):  # a socket directory (the embedded server)
        return f"postgresql://{server.user}@localhost:{server.port}/postgres?host={server.host}"
    database = "/postgres" if server.backend == "postgresql" else ""
    return f"{server.backend}://{server.user}@{server.host}:{server.port}{database}"


def connection(server: Server, password_var: str) -> dict[str, Any]:
    return {
        "backend": server.backend,
        "host": server.host,
        "port": server.port,
        "user": server.user,
        "password": f"${{{password_var}:-}}",
    }


class Replacements:
    """The README's names and hosts, mapped to this test's schemas and servers."""

    def __init__(self, source: Server, staging: Server) -> None:
        base = f"djtest_{uuid.uuid4().hex[:8]}"
        self.schemas = {word: f"{base}_{word}" for word in WORDS}
        self.servers = {"source": source, "staging": staging}

    def text(self, text: str) -> str:
        pattern = r"\b(" + "|".join(WORDS) + r")\b"
        return re.sub(pattern, lambda m: self.schemas[m.group(1)], text)

    def line(self, line: str) -> tuple[list[str], Server | None]:
        """The argv of a README line, and the server its URL names (if any)."""
        named = [self.servers[HOSTS[m.group(1)]] for m in URL.finditer(line)]
        line = URL.sub(lambda m: url(self.servers[HOSTS[m.group(1)]]), line)
        return shlex.split(self.text(line)), (named[0] if named else None)

    def recipe(self) -> str:
        """The README's example recipe, on this test's servers and schemas."""
        (text,) = blocks("yaml")
        recipe = yaml.safe_load(self.text(text))
        recipe["source"] = connection(self.servers["source"], SOURCE_PASSWORD)
        for output in recipe["outputs"].values():
            if output["type"] == "instance":
                for key in CONNECTION_KEYS:
                    output.pop(key, None)
                output.update(connection(self.servers["staging"], STAGING_PASSWORD))
        return yaml.safe_dump(recipe, sort_keys=False)


def _run(bindir: Path, argv: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    assert argv[0] == "subset"
    return subprocess.run(
        [str(bindir / "subset"), *argv[1:]],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=clean_env(**env),
        timeout=300,
    )


def _check(done: subprocess.CompletedProcess[str], line: str, expected: int) -> None:
    said = f"{line}\nexit {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    assert done.returncode == expected, said
    assert "Traceback" not in done.stderr, said
    if expected:
        assert done.stderr.startswith("Error: "), said


def test_the_readme_has_the_lines_this_test_runs() -> None:
    lines = [line for block in blocks("sh") for line, _ in subset_lines(block)]
    commands = {line.split()[1] for line in lines if not line.split()[1].startswith("-")}
    assert {"validate", "preview", "run", "diagram", "verify", "load", "clean", "demo"} <= commands
    for option in ("--json", "--output", "-o", "--jobs", "--format", "--out", "--to", "--adopt"):
        assert any(f" {option} " in f"{line} " for line in lines), option
    for option in ("--schema-map", "--if-exists", "--drop", "--yes", "--keep-running", "--stop"):
        assert any(f" {option} " in f"{line} " for line in lines), option
    for option in ("--dir", "--debug", "--verbose"):
        assert any(f" {option} " in f"{line} " for line in lines), option
    (text,) = blocks("yaml")
    recipe = parse_recipe(text, file="README.md", env={"PGPASSWORD": "x", "STAGING_PASSWORD": "y"})
    assert {o.type.value for o in recipe.outputs} == {"parquet", "duckdb", "instance"}


@pytest.fixture
def servers(server: Server) -> tuple[Server, Server]:
    """The source (the backend under test) and the staging server (the other backend)."""
    other = server_for("postgresql" if server.backend == "mysql" else "mysql")
    return server, other


@pytest.fixture
def names(servers: tuple[Server, Server]) -> Iterator[Replacements]:
    replacements = Replacements(*servers)
    yield replacements
    for server in servers:
        inst = server.instance()
        try:
            for name in reversed(replacements.schemas.values()):  # dependants first
                inst.connection.execute(inst.connection.adapter.drop_schema_sql(name))
        finally:
            inst.close()


def test_the_readme_commands_on_a_recipe(
    wheel_bin: Path, tmp_path: Path, servers: tuple[Server, Server], names: Replacements
) -> None:
    source, staging = servers
    inst = source.instance()
    try:
        schemas = (names.schemas["lab"], names.schemas["ephys"], names.schemas["analysis"])
        populate(declare(inst.connection, schemas), subjects=6)
    finally:
        inst.close()
    target: dj.Instance = staging.instance()
    try:
        for word in ("scratch_lab", "scratch_ephys"):
            target.connection.execute(
                target.connection.adapter.create_schema_sql(names.schemas[word])
            )
    finally:
        target.close()
    (tmp_path / "recipe.yaml").write_text(names.recipe())
    env = {SOURCE_PASSWORD: source.password, STAGING_PASSWORD: staging.password}
    ran = 0
    for block in blocks("sh"):
        lines = subset_lines(block)
        if is_demo(lines):
            continue  # test_the_readme_demo_lines
        for line, expected in lines:
            argv, named = names.line(line)
            password = named.password if named else ""
            done = _run(wheel_bin, argv, tmp_path, SUBSET_PASSWORD=password, **env)
            _check(done, line, expected)
            ran += 1
    assert ran >= 15


def test_the_readme_demo_lines(wheel_bin: Path, demo_tmp: Path) -> None:
    (lines,) = [lines for lines in map(subset_lines, blocks("sh")) if is_demo(lines)]
    for line, expected in lines:
        _check(_run(wheel_bin, shlex.split(line), demo_tmp), line, expected)
    assert len(lines) >= 5
    assert (demo_tmp / "demo.svg").read_text().lstrip().startswith(("<?xml", "<svg"))
    assert not postgres_on(demo_tmp / "subset-demo" / "pg")
