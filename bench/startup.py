"""How fast ``subset`` starts (issue 12): ``subset --help`` and ``subset validate`` next to
``python -c pass`` in the same run.

Each command is a fresh process (``python -m subsetter ...`` with this interpreter, as the console
script runs it), the commands interleaved so that the drift of a busy machine falls on all alike.
Target: under 0.3 s each, absolute (what a person waits for); the ratio to the bare interpreter
shows how much is ours. ``python -X importtime -m subsetter validate RECIPE`` shows where the time
goes when it grows.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .common import Result, interleaved, median

TARGET = 0.3  # seconds
RECIPE = Path(__file__).resolve().parents[1] / "subsetter" / "recipes" / "demo.yaml"
BASELINE = "python -c pass"


def _process(*args: str) -> None:
    subprocess.run([sys.executable, *args], check=True, stdout=subprocess.DEVNULL)


def run(backend: str, scale: float, repeats: int) -> list[Result]:
    """``backend`` and ``scale`` are unused: nothing here touches a database."""
    methods = {
        BASELINE: lambda: _process("-c", "pass"),
        "subset --help": lambda: _process("-m", "subsetter", "--help"),
        "subset validate demo.yaml": lambda: _process("-m", "subsetter", "validate", str(RECIPE)),
        "import datajoint_core": lambda: _process("-c", "import datajoint_core"),
    }
    _process("-m", "subsetter", "--help")  # warm the file cache and the bytecode
    samples = interleaved(methods, repeats)
    base = median(samples[BASELINE])
    results = []
    for name, values in samples.items():
        result = Result("startup", backend, name, median(values), "s", list(values))
        if name != BASELINE:
            result.baseline = BASELINE
            result.ratio = result.median / base if base else float("nan")
        if name.startswith("subset"):
            result.target = f"< {TARGET:g} s"
            result.met = result.median < TARGET
        if name == "import datajoint_core":
            result.note = "--help never imports it; validate does (backend facts, where: checks)"
        results.append(result)
    return results
