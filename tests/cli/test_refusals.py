"""Bad input and interruptions: each refused with one line and the right exit code, no
traceback, quickly, and nothing left behind (issue 8, items 7 and 8)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import datajoint_core as dj

from ..conftest import Server
from ..integration.pipeline import declare_lab
from .conftest import run_cli, write_recipe

UNREACHABLE = "source: {backend: mysql, host: 127.0.0.1, port: 1, user: nobody}\n"
OUTPUT = "outputs:\n  snap: {type: parquet, path: ./snap}\n"


def one_line(result: Any, code: int, *words: str, seconds: float | None = None) -> None:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


def timed(*args: str, cwd: Path | None = None) -> tuple[Any, float]:
    started = time.perf_counter()
    result = run_cli(*args, cwd=cwd)
    return result, time.perf_counter() - started


def recipe_file(tmp_path: Path, text: str, name: str = "recipe.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_billion_laughs_is_refused_quickly(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    text = "version: 1\n" + UNREACHABLE + "schemas: [lab]\n" + "\n".join(lines) + "\n" + OUTPUT
    result, seconds = timed("validate", str(recipe_file(tmp_path, text)))
    one_line(result, 2, "expands to more than", "recipe.yaml:")
    assert seconds < 5


def test_a_huge_recipe_is_refused(tmp_path: Path) -> None:
    padding = "# " + "x" * 1000 + "\n"
    text = "version: 1\n" + UNREACHABLE + "schemas: [lab]\n" + OUTPUT + padding * 50_000
    result, seconds = timed("validate", str(recipe_file(tmp_path, text)))
    one_line(result, 2, "larger than 1 MB")
    assert seconds < 5


@pytest.mark.parametrize("style", ["flow", "block"])
def test_deep_nesting_names_the_line(tmp_path: Path, style: str) -> None:
    deep = "[" * 100_000 + "]" * 100_000 if style == "flow" else "- " * 100_000 + "x"
    text = "version: 1\n" + UNREACHABLE + "schemas: [lab]\nrestrictions: " + deep + "\n" + OUTPUT
    if style == "block":
        text = text.replace("restrictions: - ", "restrictions:\n  - ")
    result, seconds = timed("validate", str(recipe_file(tmp_path, text)))
    one_line(result, 2, "recipe.yaml:")
    assert "nesting" in result.stderr or "depth" in result.stderr or "YAML" in result.stderr
    assert seconds < 5


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ('"a\\0b"', ("NUL",)),
        ("1234", ("expected a string",)),
    ],
)
def test_bad_output_paths_are_recipe_errors(tmp_path: Path, path: str, words: tuple[str]) -> None:
    text = (
        "version: 1\n"
        + UNREACHABLE
        + f"schemas: [lab]\noutputs:\n  snap: {{type: parquet, path: {path}}}\n"
    )
    result, _ = timed("run", str(recipe_file(tmp_path, text)))
    one_line(result, 2, "outputs.snap.path", *words)


@pytest.mark.parametrize("kind", ["parquet", "duckdb"])
def test_output_refusals_come_before_any_connection(tmp_path: Path, kind: str) -> None:
    """The source is unreachable: the error is about the output, so no connection was tried."""
    (tmp_path / "foreign").write_text("someone's file")
    if kind == "parquet":
        (tmp_path / "out").mkdir()
        (tmp_path / "out" / "manifest.json").write_text("{}")  # an earlier snapshot
        cases = [("./out", "fail", ("output 'o'", "if_exists: replace"))]
    else:
        import duckdb

        duckdb.connect(str(tmp_path / "out.duckdb")).close()  # a DuckDB file, not ours
        cases = [("./out.duckdb", mode, ("not a subset output",)) for mode in ("fail", "replace")]
    cases.append(("./foreign", "replace", ("output 'o'", "not a subset output")))
    for path, mode, words in cases:
        text = (
            "version: 1\n" + UNREACHABLE + "schemas: [lab]\n"
            f"outputs:\n  o: {{type: {kind}, path: {path}, if_exists: {mode}}}\n"
        )
        result, seconds = timed("run", str(recipe_file(tmp_path, text, f"r-{mode}.yaml")))
        one_line(result, 1, *words)
        assert "connect" not in result.stderr
        assert seconds < 5
    assert (tmp_path / "foreign").read_text() == "someone's file"


def test_verify_refuses_what_is_no_snapshot(tmp_path: Path) -> None:
    (tmp_path / "file.bin").write_bytes(b"\x00" * 100)
    (tmp_path / "empty").mkdir()
    for target in ("file.bin", "empty", "missing"):
        result, seconds = timed("verify", str(tmp_path / target))
        one_line(result, 1, "snapshot")
        assert seconds < 5


# -- interruptions -------------------------------------------------------------------------------


@pytest.fixture
def big(inst: dj.Instance, schema_name: str) -> dict[str, Any]:
    """The lab pipeline plus a table of 1M rows, made on the server."""
    lab = declare_lab(inst.connection, schema_name)

    @lab["schema"]
    class Big(dj.Manual):
        definition = """
        big_id : int64
        ---
        note : varchar(100)
        """

    Big.insert([{"big_id": i, "note": f"note {i} " + "x" * 80} for i in range(1000)])
    conn = inst.connection
    table = conn.adapter.full_name(schema_name, "big")
    q = conn.adapter.quote
    conn.execute(
        f"INSERT INTO {table} ({q('big_id')}, {q('note')}) "
        f"SELECT a.{q('big_id')} * 1000 + b.{q('big_id')} + 1000, a.{q('note')} "
        f"FROM {table} a CROSS JOIN {table} b WHERE a.{q('big_id')} > 0"
    )
    return lab


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_duckdb_write_leaves_nothing(
    tmp_path: Path,
    server: Server,
    schema_name: str,
    big: dict[str, Any],
    cli_env: dict[str, str],
    sig: int,
    code: int,
) -> None:
    recipe = write_recipe(
        tmp_path,
        server,
        f"""\
        schemas: [{schema_name}]
        outputs:
          db: {{type: duckdb, path: ./out.duckdb}}
        """,
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "subsetter", "run", str(recipe)],
        env={**os.environ, **cli_env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    deadline = time.monotonic() + 120
    while not any(p.name.startswith("out.duckdb.tmp-") for p in tmp_path.iterdir()):
        assert process.poll() is None, process.stderr.read().decode()  # type: ignore[union-attr]
        assert time.monotonic() < deadline
        time.sleep(0.02)
    process.send_signal(sig)  # the file is open: the write has begun (and takes a while)
    _, stderr = process.communicate(timeout=60)
    text = stderr.decode()
    assert process.returncode == code, text
    assert "Traceback" not in text and "Exception ignored" not in text, text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["recipe.yaml"]


def _interpreter_start() -> float:
    """How long this machine takes, now, to start the interpreter (site, the venv): a Ctrl-C in
    that time is Python's own, before subsetter's first line runs."""
    times = []
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - started)
    return max(times)


@pytest.mark.parametrize("extra", [0.02, 0.05, 0.1, 0.2, 0.4, 0.8])
def test_ctrl_c_during_start_up_is_quiet(tmp_path: Path, extra: float) -> None:
    """From the first line of ``subsetter`` on (the interpreter's own start-up is Python's)."""
    text = "version: 1\n" + UNREACHABLE + "schemas: [lab]\n" + OUTPUT
    path = recipe_file(tmp_path, text)
    delay = 1.5 * _interpreter_start() + extra
    process = subprocess.Popen(
        [sys.executable, "-m", "subsetter", "validate", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    text = stderr.decode()
    assert "Traceback" not in text and "Exception ignored" not in text, text
    # 0: done first; 130: interrupted; -SIGINT: interrupted while the interpreter shut down
    assert process.returncode in (0, 130, -signal.SIGINT), (process.returncode, text)
