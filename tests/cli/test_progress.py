"""``subset run`` progress: JSON events from real runs into Parquet, DuckDB and a staging schema on
both backends, the bars drawn from them, and silence where no terminal watches."""

from __future__ import annotations

import io
import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from subsetter import api
from subsetter.progress import Bars, Phase, ProgressEvent

from ..conftest import Server
from .conftest import PASSWORD_VAR, run_cli, staging_output, write_recipe

ORDER = [p.value for p in Phase]


def _recipe(tmp_path: Path, server: Server, schema: str, staging: str) -> Path:
    return write_recipe(
        tmp_path,
        server,
        f"""\
        schemas: [{schema}]
        restrictions:
          - table: {schema}.Subject
            where: {{species: mouse}}
        outputs:
          snap: {{type: parquet, path: ./snap, if_exists: replace}}
          db: {{type: duckdb, path: ./snap.duckdb, if_exists: replace}}
          staging: {staging_output(server, {schema: staging})}
        """,
    )


def _events(stdout: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    lines = [json.loads(line) for line in stdout.splitlines()]
    assert [line["event"] for line in lines] == ["progress"] * (len(lines) - 1) + ["summary"]
    return lines[:-1], lines[-1]


def test_json_events_of_a_real_run(
    tmp_path: Path,
    server: Server,
    schema_name: str,
    staging_name: str,
    lab: dict[str, Any],
    cli_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recipe = _recipe(tmp_path, server, schema_name, staging_name)
    started = time.monotonic()
    result = run_cli("run", str(recipe), "--json", env=cli_env)
    wall = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    events, summary = _events(result.stdout)
    monkeypatch.setenv(PASSWORD_VAR, server.password)
    counts = api.preview(recipe).counts()  # schema.Class -> rows

    elapsed = [e["elapsed"] for e in events]
    assert elapsed == sorted(elapsed) and 0 < elapsed[-1] <= summary["elapsed"] < wall
    assert set(summary["outputs"]) == {"snap", "db", "staging"}
    for name in ("snap", "db", "staging"):
        mine = [e for e in events if e["output"] == name]
        assert {e["table"] for e in mine} == {None, *counts}
        whole = [e for e in mine if e["table"] is None]
        assert [e["phase"] for e in whole] == ORDER  # each phase once, in order
        assert mine[-1]["phase"] == "published"
        assert whole[0]["rows"] == 0 and {e["total"] for e in whole} == {sum(counts.values())}
        assert [e["rows"] for e in whole[1:]] == [sum(counts.values())] * 4
        for table, rows in counts.items():
            seen = [e for e in mine if e["table"] == table]
            assert {e["phase"] for e in seen} == {"reading"} and {e["total"] for e in seen} == {
                rows
            }
            assert [e["rows"] for e in seen] == sorted(e["rows"] for e in seen), table
            assert seen[0]["rows"] == 0 and seen[-1]["rows"] == rows, table
        reading = [i for i, e in enumerate(mine) if e["phase"] == "reading"]
        assert max(reading) < mine.index(whole[1])  # committing comes after the last table
        assert summary["outputs"][name]["tables"] == counts
    # the outputs are read one after another and published together at the end
    firsts = [next(i for i, e in enumerate(events) if e["output"] == n) for n in ("snap", "db")]
    published = [i for i, e in enumerate(events) if e["phase"] == "publishing"]
    assert firsts == sorted(firsts) and min(published) > max(
        i for i, e in enumerate(events) if e["phase"] == "staged"
    )

    # replayed into the bars, on the events' own clock
    now = [0.0]
    bars = Bars(console=_console(io.StringIO()), clock=lambda: now[0])
    shown: dict[str, list[int]] = {}
    with bars:
        for e in events:
            now[0] = e["elapsed"]
            bars(ProgressEvent(**{**_fields(e), "phase": Phase(e["phase"])}))
            for output, (done, _) in _lines(bars).items():
                shown.setdefault(output, []).append(done)
        final = _lines(bars)
    for output, values in shown.items():
        assert values == sorted(values), output  # never backwards, whatever comes next
    total = sum(counts.values())
    assert {o: f[0] for o, f in final.items()} == {"snap": total, "db": total, "staging": total}
    for name in ("snap", "db", "staging"):
        first = next(e["elapsed"] for e in events if e["output"] == name)
        staged = next(
            e["elapsed"] for e in events if e["output"] == name and e["phase"] == "staged"
        )
        text = final[name][1]
        assert f"0:{staged - first:04.1f}" in text, text  # its own time, reading to staged
        assert f"{total / (staged - first):,.0f} rows/s" in text, text
        assert text.rstrip().endswith("published"), text


def _fields(e: dict[str, Any]) -> dict[str, Any]:
    return {k: e[k] for k in ("output", "table", "phase", "rows", "total", "elapsed")}


def _console(stream: Any) -> Any:
    from rich.console import Console

    return Console(file=stream, width=160, color_system=None, record=True)


def _lines(bars: Bars) -> dict[str, tuple[int, str]]:
    """Each output's line as drawn now: (rows shown, the line)."""
    console = _console(io.StringIO())
    console.print(bars.renderable())
    found = {}
    for line in console.export_text().splitlines():
        match = re.match(r"^(\w+)\s.*?\s([\d,]+)/[\d,]+ rows?\b", line)
        if match:
            found[match.group(1)] = (int(match.group(2).replace(",", "")), line)
    return found


def test_bars_name_each_output_and_show_its_phase() -> None:
    """Labels and phases as they are drawn, from a hand-made sequence of events."""
    now = [0.0]
    bars = Bars(console=_console(io.StringIO()), clock=lambda: now[0])

    def emit(output: str, phase: Phase, rows: int, total: int, table: str | None = None) -> None:
        bars(ProgressEvent(output, table, phase, rows, total, now[0]))

    with bars:
        emit("snap", Phase.READING, 0, 80_000)
        emit("snap", Phase.READING, 50_000, 80_000, "lab.Trial")
        now[0] = 2.0
        emit("snap", Phase.READING, 80_000, 80_000, "lab.Trial")
        emit("snap", Phase.COMMITTING, 80_000, 80_000)
        emit("snap", Phase.STAGED, 80_000, 80_000)
        emit("db", Phase.READING, 0, 80_000)
        now[0] = 3.0
        emit("db", Phase.READING, 50_000, 80_000, "lab.Trial.Event")
        lines = _lines(bars)
        assert lines["snap"][0] == 80_000 and "staged" in lines["snap"][1]
        assert "0:02.0" in lines["snap"][1] and "40,000 rows/s" in lines["snap"][1]
        assert lines["db"][0] == 50_000
        assert "reading lab.Trial.Event (50,000/80,000)" in lines["db"][1]
        emit("db", Phase.READING, 80_000, 80_000, "lab.Trial.Event")
        emit("db", Phase.COMMITTING, 80_000, 80_000)
        assert _lines(bars)["db"][1].rstrip().endswith("committing")
        emit("db", Phase.STAGED, 80_000, 80_000)
        emit("snap", Phase.PUBLISHING, 80_000, 80_000)
        assert _lines(bars)["snap"][1].rstrip().endswith("publishing")
        emit("empty", Phase.READING, 0, 0)
        emit("empty", Phase.PUBLISHED, 0, 0)
        assert "0/0 rows" in _lines(bars)["empty"][1]


def test_bars_on_a_terminal_and_quiet_without_one(
    tmp_path: Path,
    server: Server,
    schema_name: str,
    staging_name: str,
    lab: dict[str, Any],
    cli_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recipe = _recipe(tmp_path, server, schema_name, staging_name)
    monkeypatch.setenv(PASSWORD_VAR, server.password)
    counts = api.preview(recipe).counts()
    quiet = run_cli("run", str(recipe), env=cli_env)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""
    assert "rows/s" not in quiet.stdout and "published" not in quiet.stdout  # no bars
    rows, tables = sum(counts.values()), len(counts)
    summary = quiet.stdout.splitlines()[-4:]
    assert summary[:2] == [
        f"snap: {rows} rows in {tables} tables -> Parquet directory {tmp_path / 'snap'}",
        f"db: {rows} rows in {tables} tables -> DuckDB file {tmp_path / 'snap.duckdb'}",
    ]
    assert summary[2].startswith(f"staging: {rows} rows in {tables} tables -> {server.backend}://")
    assert re.fullmatch(r"done in \d+\.\d s", summary[3])

    code, screen = _in_a_terminal(
        [sys.executable, "-m", "subsetter", "run", str(recipe)],
        {**os.environ, **cli_env, "COLUMNS": "150"},
    )
    assert code == 0, screen
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen)
    for name in ("snap", "db", "staging"):  # each output's last line: full, published
        last = [line for line in text.splitlines() if line.startswith(f"{name} ")][-1]
        assert re.search(rf"━ {rows}/{rows} rows .* published\s*$", last), last
    assert "committing" in text  # the phase is drawn while it lasts


def _in_a_terminal(command: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run ``command`` with stdout and stderr on a pseudo-terminal; its code and the screen."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # the other end is closed
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(master)
    return proc.wait(timeout=60), b"".join(chunks).decode(errors="replace")
