"""The catalog cache of one connection: the headings of the schemas read so far.

A load reads the catalog of all requested schemas at once (a fixed number of queries, however
many tables); :meth:`Catalog.closure` follows foreign keys to the schemas upstream and downstream.
Every :class:`~datajoint_core.Connection` has one, as ``connection.catalog``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from .errors import DataJointError
from .heading import Heading, headings_from_catalog, inherit_types, read_lineages

if TYPE_CHECKING:
    from .adapters.base import Adapter, Run

_MAX_HOPS = 64


class Catalog:
    """Headings of the schemas read so far on one connection."""

    def __init__(self, adapter: Adapter, run: Run) -> None:
        self.adapter = adapter
        self.run = run  # executes catalog queries: the connection's fetchall
        self.headings: dict[str, Heading] = {}  # full table name -> heading
        self.tables: dict[str, tuple[str, str]] = {}  # full table name -> (schema, table)
        self.schemas: set[str] = set()
        self._upstream_loaded: set[str] = set()  # schemas whose upstream schemas are loaded too

    def load(self, schemas: Iterable[str]) -> None:
        """Read the catalog of the schemas not read yet (one round of queries for all)."""
        missing = sorted(set(schemas) - self.schemas)
        if not missing:
            return
        adapter = self.adapter
        catalog = adapter.read_catalog(self.run, missing)
        lineages = read_lineages(catalog, adapter, self.run)
        for key, heading in headings_from_catalog(
            catalog, adapter, self.headings, lineages
        ).items():
            name = adapter.full_name(*key)
            self.headings[name] = heading
            self.tables[name] = key
        if self.schemas:  # children read earlier may reference the new parents
            keyed = {self.tables[name]: heading for name, heading in self.headings.items()}
            inherit_types(keyed, adapter)
            for key, heading in keyed.items():
                self.headings[adapter.full_name(*key)] = heading
        self.schemas.update(missing)

    def invalidate(self, schema: str) -> None:
        """Forget a schema after its tables changed (declare, drop)."""
        self.schemas.discard(schema)
        self._upstream_loaded.clear()
        for name in [n for n, (s, _) in self.tables.items() if s == schema]:
            del self.headings[name]
            del self.tables[name]

    def heading(self, schema: str, table: str) -> Heading | None:
        if schema not in self._upstream_loaded:
            # with the schemas upstream: foreign-key columns take their parents' core types
            self._upstream_loaded |= self.closure([schema], downstream=False)
        return self.headings.get(self.adapter.full_name(schema, table))

    def closure(self, schemas: Iterable[str], *, downstream: bool = True) -> set[str]:
        """The schemas and those their foreign keys reach (upstream; downstream if asked)."""
        adapter = self.adapter
        found = set(schemas)
        for _ in range(_MAX_HOPS):
            self.load(found)
            upstream = {
                adapter.split_full_name(fk.parent)[0]
                for name, heading in self.headings.items()
                if self.tables[name][0] in found
                for fk in heading.foreign_keys
            }
            more = upstream - found
            if downstream:
                more |= set(adapter.referencing_schemas(self.run, sorted(found)))
            more -= found
            if not more:
                return found
            found |= more
        raise DataJointError("foreign keys reach too many schemas")
