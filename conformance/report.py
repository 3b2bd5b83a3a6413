"""Render a comparison as a terminal report and as markdown."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from conformance.classify import CLASSES
from conformance.compare import Comparison, Summary

COLUMNS = ("reference", "passed", "failed", "error", "skipped", *CLASSES)


def _groups(rows: list[Comparison], cls: str) -> list[tuple[str, list[Comparison]]]:
    grouped: dict[str, list[Comparison]] = defaultdict(list)
    for row in rows:
        if row.cls == cls:
            grouped[row.group].append(row)
    return sorted(grouped.items(), key=lambda item: (-len(item[1]), item[0]))


def headline(summary: Summary, version: str) -> list[str]:
    ref, ours, classes = summary.reference, summary.ours, summary.classes
    excluded = " - ".join(f"{classes[c]} ({c})" for c in ("a", "b", "e"))
    return [
        f"Conformance of datajoint_core with the test suite of datajoint {version}",
        f"reference: {ref['total']} tests: {ref['passed']} passed, {ref['failed']} failed, "
        f"{ref['error']} errors, {ref['skipped']} skipped "
        f"({ref['skipped_storage']} of them need object storage)",
        f"datajoint_core, over the {ours['total']} reference-passing tests: "
        f"{ours['passed']} passed, {ours['failed']} failed, {ours['error']} errors, "
        f"{ours['skipped']} skipped",
        "failures by class: " + ", ".join(f"({c}) {CLASSES[c]}: {n}" for c, n in classes.items()),
        f"target metric (reference-passing tests that use only public API, passing on "
        f"datajoint_core): {summary.public_passed} / ({ours['total']} - {excluded}) = "
        f"{summary.public_passed} / {summary.public_total} = {100 * summary.metric:.1f}%",
    ]


def file_table(summary: Summary, markdown: bool) -> list[str]:
    names = ["file", "ref pass", "pass", "fail", "err", "skip", *CLASSES]
    rows = [
        [file, *(str(counts.get(col, 0)) for col in COLUMNS)]
        for file, counts in summary.files.items()
    ]
    total = ["total", *(str(sum(c.get(col, 0) for c in summary.files.values())) for col in COLUMNS)]
    if markdown:
        lines = ["| " + " | ".join(names) + " |", "|" + " --- |" * len(names)]
        lines += ["| " + " | ".join(r) + " |" for r in [*rows, total]]
        return lines
    width = max([len(n) for n in summary.files] + [4])
    fmt = f"{{:<{width}}}" + " {:>8}" + " {:>5}" * (len(names) - 2)
    return [fmt.format(*r) for r in [names, *rows, total]]


def text_report(summary: Summary, rows: list[Comparison], version: str, verbose: bool) -> str:
    lines = [*headline(summary, version), "", "Per file (outcomes on datajoint_core):"]
    lines += file_table(summary, markdown=False)
    lines += ["", "Failures on datajoint_core by class and cause (count, cause, example):"]
    for cls, title in CLASSES.items():
        groups = _groups(rows, cls)
        if not groups:
            continue
        lines.append(f"({cls}) {title}: {summary.classes[cls]}")
        for group, members in groups:
            lines.append(f"  {len(members):5}  {group}")
            if verbose or cls in ("c", "d"):
                example = members[0].reason
                if example and example != group:
                    lines.append(f"         e.g. {example[:160]}")
            if verbose:
                lines += [f"         - {m.nodeid}" for m in members]
    skipped = [row for row in rows if row.outcome == "skipped"]
    if skipped:
        lines += ["", f"Reference-passing tests skipped on datajoint_core: {len(skipped)}"]
        lines += [f"  - {row.nodeid}: {row.reason[:120]}" for row in skipped]
    return "\n".join(lines)


def markdown_report(
    summary: Summary,
    rows: list[Comparison],
    modules: dict[str, dict[str, Any]],
    meta: dict[str, Any],
) -> str:
    version = meta["version"]
    lines = [f"# Conformance of datajoint_core with datajoint {version}", ""]
    if meta.get("look_ahead_stand_ins"):
        lines += [
            "**Look-ahead run**: datajoint_core ran with the stand-ins of "
            "`conformance/plugins/dj_standins.py` (the reference's `dj.Connection(host=, user=, "
            "password=)`), to show what fails once that is supported. Not the metric.",
            "",
        ]
    lines += [f"- {line}" for line in headline(summary, version)[1:]]
    lines += [
        f"- command: `{meta['command']}`; reference run {meta.get('reference_seconds', 0):.0f} s, "
        f"datajoint_core run {meta.get('ours_seconds', 0):.0f} s",
        "",
        "Classes (first rule that matches; see `conformance/classify.py`): "
        + "; ".join(f"**{c}** {t}" for c, t in CLASSES.items())
        + ". The target metric leaves out a, b and e.",
        "",
        "## Per file",
        "",
        *file_table(summary, markdown=True),
        "",
        "## Public module paths the suite uses that datajoint_core lacks",
        "",
    ]
    lacking = [(n, m) for n, m in modules.items() if m["public"] and not m["in_datajoint_core"]]
    lines += [f"- `{name}` ({', '.join(m['files'])})" for name, m in lacking] or ["- none"]
    private = [name for name, m in modules.items() if not m["public"]]
    lines += [
        "",
        "Private module paths the suite imports (class a): " + ", ".join(f"`{n}`" for n in private)
        if private
        else "",
    ]
    for cls, title in CLASSES.items():
        groups = _groups(rows, cls)
        lines += ["", f"## ({cls}) {title}: {summary.classes[cls]}", ""]
        if not groups:
            lines.append("none")
        for group, members in groups:
            if cls in ("c", "d"):
                lines += ["", f"### {group}: {len(members)} tests", ""]
                lines += [f"- `{m.nodeid}` — {m.reason}" for m in members]
            else:
                lines.append(f"- {group}: {len(members)} (e.g. `{members[0].nodeid}`)")
    skipped = [row for row in rows if row.outcome == "skipped"]
    if skipped:
        lines += ["", f"## Reference-passing tests skipped on datajoint_core: {len(skipped)}", ""]
        lines += [f"- `{row.nodeid}` — {row.reason}" for row in skipped]
    return "\n".join(lines) + "\n"
