"""The delete and drop plans: which tables, in which order, and the part-integrity rules.
Pure over the dependency graph; ``datajoint_core/cascade.py`` executes them.

>>> delete_order(graph, ["`lab`.`session`", "`lab`.`trial`"])   # leaves first  # doctest: +SKIP
['`lab`.`trial`', '`lab`.`session`']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import networkx as nx

from ..errors import PartIntegrityError
from .propagate import topological_order


def delete_order(graph: nx.MultiDiGraph, restricted: Iterable[str]) -> list[str]:
    """The restricted tables, leaves first (children before the parents they reference)."""
    return list(reversed(topological_order(graph, restricted)))


def check_deleted_parts(graph: nx.MultiDiGraph, deleted: Mapping[str, int]) -> None:
    """Under part_integrity "enforce", as the reference checks it after deleting: a part table
    may lose rows only in a delete that also removes rows of its master table."""
    for node, count in deleted.items():
        master = graph.nodes[node].get("master")
        if count and master is not None and not deleted.get(master):
            raise PartIntegrityError(
                f"Attempt to delete part table {node} before its master {master}. Delete from "
                "the master first, or use part_integrity='ignore' or 'cascade'."
            )


def drop_order(graph: nx.MultiDiGraph, node: str) -> list[str]:
    """``node`` and every table downstream of it, in topological order (drop reversed)."""
    return topological_order(graph, {node} | nx.descendants(graph, node))


def check_drop_parts(graph: nx.MultiDiGraph, targets: Iterable[str]) -> None:
    """A Part may only be dropped together with its master."""
    dropped = set(targets)
    for node in sorted(dropped):
        master = graph.nodes[node].get("master")
        if master is not None and master not in dropped:
            raise PartIntegrityError(
                f"cannot drop Part {node} before its master {master}: drop the master, "
                "or pass part_integrity='ignore'"
            )
