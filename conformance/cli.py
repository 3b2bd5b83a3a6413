"""``python -m conformance``: options, the two runs, the reports."""

from __future__ import annotations

import argparse
import fnmatch
import json
import shlex
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from conformance import suite as suite_mod
from conformance.compare import as_json, compare, scan_module_paths, summarize
from conformance.report import markdown_report, text_report
from conformance.run import collect_ids, ours_side, reference_side, run_suite
from conformance.suite import VERSION, Cache


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m conformance",
        description=f"Run datajoint {VERSION}'s own test suite against datajoint_core.",
    )
    parser.add_argument(
        "--file",
        action="append",
        default=[],
        metavar="PATTERN",
        help="only the suite's files whose path contains PATTERN or matches it as a glob "
        "(repeatable), e.g. --file test_fetch --file 'tests/unit/*'",
    )
    parser.add_argument("-k", dest="keyword", help="passed to pytest -k")
    parser.add_argument(
        "--ours-only",
        action="store_true",
        help="reuse the cached reference baseline instead of running the reference",
    )
    parser.add_argument(
        "--stand-ins",
        action="store_true",
        help="look-ahead: run datajoint_core with stand-ins for dj.Connection(host=, user=, "
        "password=) to see what fails next (kept apart from the real results; no metric)",
    )
    parser.add_argument("--markdown", type=Path, help="also write the markdown report here")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per run (1800)")
    parser.add_argument("--fresh", action="store_true", help="extract the suite again")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every failing test")
    return parser.parse_args(argv)


def select_files(suite: Path, patterns: list[str]) -> list[str]:
    """The suite's test files matching any pattern, relative to the suite directory."""
    if not patterns:
        return []
    files = sorted(str(p.relative_to(suite)) for p in (suite / "tests").rglob("test_*.py"))
    return [f for f in files if any(p in f or fnmatch.fnmatch(f, p) for p in patterns)]


def _load_baseline(cache: Cache) -> dict[str, dict[str, Any]]:
    if not cache.baseline.exists():
        return {}
    data: dict[str, dict[str, Any]] = json.loads(cache.baseline.read_text())["tests"]
    return data


def _save_baseline(cache: Cache, tests: dict[str, dict[str, Any]]) -> None:
    slim = {k: {f: v for f, v in r.items() if f != "longrepr"} for k, r in tests.items()}
    cache.baseline.write_text(json.dumps({"version": VERSION, "tests": slim}, indent=1))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cache = Cache.default()
    cache.root.mkdir(parents=True, exist_ok=True)
    suite = suite_mod.extract_suite(cache, fresh=args.fresh)
    selection = select_files(suite, args.file)
    if args.file and not selection:
        print(f"conformance: no test file of the suite matches {args.file}", file=sys.stderr)
        return 2
    meta: dict[str, Any] = {
        "version": VERSION,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": shlex.join(["python", "-m", "conformance", *(argv or sys.argv[1:])]),
        "selection": selection,
        "keyword": args.keyword,
    }

    suite_mod.drop_suite_schemas()
    baseline = _load_baseline(cache)
    if args.ours_only:
        if not baseline:
            print(
                "conformance: no reference baseline yet; run without --ours-only once",
                file=sys.stderr,
            )
            return 2
        ref_side = reference_side(cache)
        universe = (
            collect_ids(ref_side, cache, selection, args.keyword)
            if selection or args.keyword
            else set(baseline)
        )
    else:
        suite_mod.ensure_reference_venv(cache)
        ref = run_suite(reference_side(cache), cache, selection, args.keyword, args.timeout)
        meta["reference_seconds"] = ref.seconds
        if not ref.tests:
            # a conftest that fails to import runs nothing: no baseline, not a 0 % score
            print(
                f"conformance: the reference ran no test (see {ref.log}); baseline kept",
                file=sys.stderr,
            )
            return 1
        baseline.update(ref.tests)
        _save_baseline(cache, baseline)
        universe = set(ref.tests)
        suite_mod.drop_suite_schemas()

    suite_mod.ensure_ours_deps(cache)
    side = ours_side(cache, stand_ins=args.stand_ins)
    meta["look_ahead_stand_ins"] = args.stand_ins
    ours = run_suite(side, cache, selection, args.keyword, args.timeout)
    meta["ours_seconds"] = ours.seconds
    meta["ours_killed_at_timeout"] = ours.returncode is None
    suite_mod.drop_suite_schemas()

    reference = {k: v for k, v in baseline.items() if k in universe}
    rows = compare(reference, ours.tests, ours.collect_errors)
    summary = summarize(reference, rows)
    modules = scan_module_paths(suite)
    results, report = cache.results(side.name), cache.report(side.name)
    results.write_text(json.dumps(as_json(summary, rows, modules, meta), indent=1))
    report.write_text(markdown_report(summary, rows, modules, meta))
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(report, args.markdown)
    if args.stand_ins:
        print("LOOK-AHEAD: datajoint_core ran with stand-ins (conformance/plugins/dj_standins.py)")
    print(text_report(summary, rows, VERSION, args.verbose))
    print(f"\nresults: {results}\nreport:  {report}\nlog:     {ours.log}")
    return 0
