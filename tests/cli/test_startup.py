"""``subset --help`` and ``subset validate`` import nothing heavy (bench/startup.py times them:
under 0.3 s)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

RECIPE = Path(__file__).resolve().parents[2] / "subsetter" / "recipes" / "demo.yaml"
HEAVY = ("datajoint_core", "pyarrow", "duckdb", "networkx", "numpy", "pandas", "rich")

PROBE = """\
import atexit, sys
heavy = {heavy!r}
def report():
    loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set(heavy))
    sys.stderr.write("loaded: " + ",".join(loaded) + "\\n")
atexit.register(report)
sys.argv = ["subset", *{args!r}]
from subsetter.__main__ import entry
entry()
"""


@pytest.mark.parametrize(
    ("args", "allowed"),
    [
        (["--help"], ""),
        # the backend facts and the restriction-string checker live in the core, whose own
        # import is light (no networkx, numpy, pyarrow: they load on first use)
        (["validate", str(RECIPE)], "datajoint_core"),
        (["demo", "--help"], ""),
    ],
)
def test_start_up_imports_nothing_heavy(args: list[str], allowed: str) -> None:
    probe = PROBE.format(heavy=HEAVY, args=args)
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[-1] == f"loaded: {allowed}", done.stderr
