"""The manifest written with every snapshot: what was asked, from where, what came out.

``tables`` (and a Parquet snapshot's ``files``) are keyed by class name, ``lab.Trial.Event``;
each entry maps it to the stored ``schema`` and ``table`` (``trial__event``). Format 1 keyed
them by ``schema.table``; readers find tables through the entries, so both read alike.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .plan import Plan
    from .recipe import Output, Recipe
    from .writers.base import TableResult

FORMAT = 2


def tool_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("datajoint-subsetter")
    except PackageNotFoundError:
        return "unknown"


def table_entries(manifest: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``(key, entry)`` of each table of a manifest of any format, every entry with ``schema``,
    ``table`` (stored name) and ``name`` (class name; from the stored name if absent)."""
    from datajoint_core.naming import class_name

    found = []
    for key, entry in (manifest.get("tables") or {}).items():
        if not isinstance(entry, dict):
            continue
        if "schema" not in entry:  # keyed schema.table, nothing else said
            schema, _, table = key.partition(".")
            entry = {"schema": schema, "table": table, **entry}
        name = entry.get("name") or f"{entry['schema']}.{class_name(entry['table'])}"
        found.append((key, {**entry, "name": name}))
    return found


def build_manifest(
    recipe: Recipe,
    plan: Plan,
    output: Output,
    source: str,
    results: dict[str, TableResult],
    source_identity: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The manifest of one output. ``source`` is a description without secrets;
    ``source_identity`` what the source server reported about itself (see
    :class:`subsetter.guard.Source`), so that ``load`` never writes back over it."""
    tables = {}
    for table in plan.tables:
        result = results.get(table.display)
        tables[table.display] = {
            "schema": table.schema,
            "table": table.table,
            "name": table.display,
            "rows": result.rows if result else table.count,
            "status": table.status.value,
            "reason": table.reason,
        }
    return {
        "format": FORMAT,
        "tool": "datajoint-subsetter",
        "version": tool_version(),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "source": source,
        "source_identity": source_identity,
        "output": {"name": output.name, "type": output.type.value},
        "recipe": {"path": recipe.path, "text": recipe.text},
        "upstream": recipe.upstream.value,
        "schema_map": dict(output.schema_map),
        "tables": tables,
        "left_out": dict(plan.left_out),
    }
