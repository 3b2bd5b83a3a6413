"""Compare datajoint_core's outcomes with the reference's and classify every difference.

Only tests that pass on the reference count. A reference-passing test is then passed, failed,
errored or skipped on ours; a test missing on ours because its module failed to import takes the
import error; one missing for another reason is an error "not collected".
"""

from __future__ import annotations

import importlib.util
import re
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from conformance.classify import CLASSES, Failure, classify
from conformance.plugins.dj_alias import PUBLIC_MODULES

OUTCOMES = ("passed", "failed", "error", "skipped")
# Classes left out of the target metric's denominator (b is also reported apart).
EXCLUDED = ("a", "b", "e")


@dataclass
class Comparison:
    nodeid: str
    file: str
    outcome: str  # on ours: passed, failed, error, skipped
    cls: str = ""  # classification of a failure or error (see conformance.classify)
    group: str = ""
    reason: str = ""
    phase: str = ""  # setup, call, teardown, collect


@dataclass
class Summary:
    reference: dict[str, int]  # outcome -> count on the reference
    ours: dict[str, int]  # outcome -> count on ours, over the reference-passing tests
    classes: dict[str, int]
    public_total: int  # reference-passing tests less classes a, b and e
    public_passed: int
    files: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def metric(self) -> float:
        return self.public_passed / self.public_total if self.public_total else 0.0


def _file_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def compare(
    reference: dict[str, dict[str, Any]],
    ours: dict[str, dict[str, Any]],
    collect_errors: dict[str, dict[str, Any]],
    universe: set[str] | None = None,
) -> list[Comparison]:
    """One Comparison per reference-passing test (within ``universe`` when given)."""
    rows: list[Comparison] = []
    for nodeid, ref in sorted(reference.items()):
        if ref["outcome"] != "passed" or (universe is not None and nodeid not in universe):
            continue
        file = _file_of(nodeid)
        record = ours.get(nodeid)
        if record is None:
            broken = collect_errors.get(file) or collect_errors.get("tests/conftest.py")
            if broken is not None:
                record = {**broken, "outcome": "error", "phase": "collect"}
            else:
                record = {
                    "outcome": "error",
                    "phase": "collect",
                    "message": "not collected on datajoint_core",
                }
        row = Comparison(nodeid, file, record["outcome"], phase=record.get("phase", ""))
        if row.outcome in ("failed", "error"):
            populate = bool(ref.get("populate_in_test") or record.get("populate_in_test"))
            mocks = bool(ref.get("mocks_internals") or record.get("mocks_internals"))
            failure = Failure(
                record.get("message", ""),
                record.get("longrepr", ""),
                populate,
                row.phase,
                mocks_internals=mocks,
            )
            verdict = classify(failure)
            row.cls, row.group, row.reason = verdict.cls, verdict.group, verdict.reason
        elif row.outcome == "skipped":
            row.reason = record.get("message", "")
        rows.append(row)
    return rows


def summarize(reference: dict[str, dict[str, Any]], rows: list[Comparison]) -> Summary:
    ref_counts = Counter(r["outcome"] for r in reference.values())
    storage = sum(1 for r in reference.values() if "object storage" in (r.get("message") or ""))
    ours_counts = Counter(row.outcome for row in rows)
    classes = Counter(row.cls for row in rows if row.cls)
    files: dict[str, dict[str, int]] = defaultdict(Counter)
    for row in rows:
        files[row.file]["reference"] += 1
        files[row.file][row.outcome] += 1
        if row.cls:
            files[row.file][row.cls] += 1
    excluded = sum(classes[c] for c in EXCLUDED)
    return Summary(
        reference={
            **{k: ref_counts.get(k, 0) for k in OUTCOMES},
            "total": len(reference),
            "skipped_storage": storage,
        },
        ours={**{k: ours_counts.get(k, 0) for k in OUTCOMES}, "total": len(rows)},
        classes={c: classes.get(c, 0) for c in CLASSES},
        public_total=len(rows) - excluded,
        public_passed=ours_counts.get("passed", 0),
        files={f: dict(c) for f, c in sorted(files.items())},
    )


_MODULE_USE = (
    re.compile(r"^\s*(?:from|import)\s+datajoint\.(?P<name>[\w.]+)", re.MULTILINE),
    re.compile(r"^\s*from\s+datajoint\s+import\s+(?P<names>[\w ,]+|\([^)]*\))", re.MULTILINE),
    re.compile(r"\bdj\.(?P<attr>[a-z_]+)\b(?!\s*\()"),
)


def scan_module_paths(suite: Path) -> dict[str, dict[str, Any]]:
    """Every public module path of the reference the suite uses, and whether datajoint_core has it.

    Reads the suite's files: ``import datajoint.x``, ``from datajoint.x import ...``,
    ``from datajoint import x`` and ``dj.x`` where ``x`` is a public module path.
    """
    uses: dict[str, set[str]] = defaultdict(set)
    for path in sorted((suite / "tests").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        rel = str(path.relative_to(suite))
        for match in _MODULE_USE[0].finditer(text):
            uses[match["name"]].add(rel)
        for match in _MODULE_USE[1].finditer(text):
            for name in re.split(r"[\s,()]+", match["names"]):
                if name in PUBLIC_MODULES:
                    uses[name].add(rel)
        for match in _MODULE_USE[2].finditer(text):
            if match["attr"] in PUBLIC_MODULES:
                uses[match["attr"]].add(rel)
    found: dict[str, dict[str, Any]] = {}
    for name, files in sorted(uses.items()):
        public = name in PUBLIC_MODULES
        try:
            ours = importlib.util.find_spec(f"datajoint_core.{name}") is not None
        except ModuleNotFoundError:
            ours = False
        found[f"datajoint.{name}"] = {
            "public": public,
            "in_datajoint_core": ours,
            "files": sorted(files),
        }
    return found


def as_json(
    summary: Summary,
    rows: list[Comparison],
    modules: dict[str, dict[str, Any]],
    meta: dict[str, Any],
) -> dict[str, Any]:
    return {
        **meta,
        "summary": {**asdict(summary), "metric": summary.metric},
        "classes": CLASSES,
        "module_paths": modules,
        "tests": [asdict(row) for row in rows],
    }
