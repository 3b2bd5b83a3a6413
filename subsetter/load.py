"""``subset load``: a Parquet or DuckDB snapshot into a database, the round trip that makes
snapshots shareable.

>>> load_snapshot("out/snapshot", staging, schema_map={"lab": "lab_copy"})   # doctest: +SKIP
{'lab.Subject': 2, 'lab.Session': 3, ...}

Tables are declared from the metadata stored with the snapshot (see ``writers/meta.py``) and
loaded parents first, with bounded memory, through ``writers.instance.InstanceWriter``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datajoint_core.errors import DataJointError

from .errors import Hints

if TYPE_CHECKING:
    import pyarrow

    import datajoint_core as dj

    from .writers.base import TableMeta

BATCH_ROWS = 65_536
_BACKEND = re.compile(r"^(?:embedded\s+)?([a-z]+)\b")


class Snapshot:
    """A snapshot opened for reading: its manifest, its tables (parents first), their rows."""

    kind = ""

    def __init__(self, path: Path, manifest: dict[str, Any], tables: list[TableMeta]) -> None:
        from dataclasses import replace

        self.path = path
        self.manifest = manifest
        named = {(e["schema"], e["table"]): e.get("name") for e in self.entries()}
        tables = [
            m if m.name else replace(m, name=named.get((m.schema, m.table)) or "") for m in tables
        ]
        self.tables = order_parents_first(tables)

    def entries(self) -> list[dict[str, Any]]:
        """The manifest's tables (``schema``, ``table``, ``name``, ``rows``), of any format."""
        from .manifest import table_entries

        return [entry for _, entry in table_entries(self.manifest)]

    @property
    def source_backend(self) -> str | None:
        """The source's backend, read from the manifest's source description."""
        from datajoint_core.adapters import get_adapter

        source = self.manifest.get("source")
        text = source.get("backend", "") if isinstance(source, dict) else str(source or "")
        match = _BACKEND.match(text)
        if match is None:
            return None
        try:
            get_adapter(match.group(1))
        except DataJointError:
            return None
        return match.group(1)

    def batches(
        self, meta: TableMeta, batch_rows: int = BATCH_ROWS
    ) -> Iterator[pyarrow.RecordBatch]:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self) -> Snapshot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ParquetSnapshot(Snapshot):
    kind = "parquet"

    def __init__(self, path: Path, parent_name: Callable[[str, str], str] | None = None) -> None:
        import pyarrow.parquet as pq

        from .writers.meta import meta_from_metadata

        manifest_path = path / "manifest.json"
        if not manifest_path.is_file():
            raise DataJointError(f"{path}: no manifest.json, not a complete snapshot")
        manifest = json.loads(manifest_path.read_text("utf-8"))
        relative = [
            entry["path"] for entries in manifest.get("files", {}).values() for entry in entries
        ] or sorted(  # no list of files: this format's names, or format 1's
            p.relative_to(path).as_posix()
            for p in [*path.glob("*.parquet"), *path.glob("*/*.parquet")]
        )
        self._files: dict[str, list[Path]] = {}
        tables = []
        for name in dict.fromkeys(relative):
            location = path / name  # a file, or a folder of files for a large table
            files = sorted(location.glob("*.parquet")) if location.is_dir() else [location]
            schema = pq.read_schema(files[0])
            meta = meta_from_metadata(schema.metadata or {}, schema, parent_name)
            if meta.key not in self._files:
                tables.append(meta)
            self._files.setdefault(meta.key, []).extend(files)
        super().__init__(path, manifest, tables)

    def batches(
        self, meta: TableMeta, batch_rows: int = BATCH_ROWS
    ) -> Iterator[pyarrow.RecordBatch]:
        import pyarrow.parquet as pq

        from .writers.meta import conform

        for file in self._files[meta.key]:
            with pq.ParquetFile(file) as reader:
                for batch in reader.iter_batches(batch_size=batch_rows):
                    yield conform(batch, meta.arrow_schema)


class DuckDBSnapshot(Snapshot):
    kind = "duckdb"

    def __init__(self, path: Path, parent_name: Callable[[str, str], str] | None = None) -> None:
        import duckdb
        import pyarrow as pa

        from .writers.meta import meta_from_metadata

        self._db = duckdb.connect(str(path), read_only=True)
        try:
            self._db.execute("SET arrow_lossless_conversion = true")
            row = self._db.execute("SELECT manifest FROM _subset.manifest").fetchone()
            manifest = json.loads(row[0]) if row else {}
            rows = self._db.execute(
                "SELECT schema_name, table_name, definition, primary_key, foreign_keys, heading, "
                "arrow_schema FROM _subset.tables ORDER BY position"
            ).fetchall()
        except duckdb.Error as err:
            self._db.close()
            raise DataJointError(f"{path}: not a subset DuckDB file ({err})") from err
        tables = []
        for schema, table, definition, key, fks, heading, blob in rows:
            arrow = pa.ipc.read_schema(pa.py_buffer(blob))
            metadata = {
                "datajoint.schema": schema,
                "datajoint.table": table,
                "datajoint.definition": definition,
                "datajoint.primary_key": key,
                "datajoint.foreign_keys": fks,
                "datajoint.heading": heading,
            }
            tables.append(meta_from_metadata(metadata, arrow, parent_name))
        super().__init__(path, manifest, tables)

    def batches(
        self, meta: TableMeta, batch_rows: int = BATCH_ROWS
    ) -> Iterator[pyarrow.RecordBatch]:
        from .writers.duckdb import quote
        from .writers.meta import conform

        cols = ", ".join(quote(n) for n in meta.arrow_schema.names)
        relation = self._db.sql(f"SELECT {cols} FROM {quote(meta.schema)}.{quote(meta.table)}")
        for batch in relation.to_arrow_reader(batch_rows):
            yield conform(batch, meta.arrow_schema)

    def close(self) -> None:
        self._db.close()


def open_snapshot(
    path: str | os.PathLike[str], parent_name: Callable[[str, str], str] | None = None
) -> Snapshot:
    """A Parquet snapshot directory or a DuckDB file, for reading.

    ``parent_name(schema, table)`` spells foreign-key parents in the rebuilt headings.
    """
    from .writers.duckdb import is_duckdb_file

    where = Path(path)
    if where.is_dir():
        return ParquetSnapshot(where, parent_name)
    if is_duckdb_file(where):
        return DuckDBSnapshot(where, parent_name)
    raise DataJointError(f"{where}: neither a Parquet snapshot directory nor a DuckDB file")


def order_parents_first(tables: Sequence[TableMeta]) -> list[TableMeta]:
    """Tables in an order where every parent comes before its children; an order that is one
    already is kept."""
    pending = {m.key: m for m in tables}
    done: list[TableMeta] = []
    while pending:
        ready = next(
            (
                m
                for m in pending.values()
                if not any(
                    f"{fk.parent_schema}.{fk.parent_table}" in pending.keys() - {m.key}
                    for fk in m.foreign_keys
                )
            ),
            next(iter(pending.values())),  # a cycle: keep going in the given order
        )
        done.append(ready)
        del pending[ready.key]
    return done


def load_snapshot(
    path: str | os.PathLike[str],
    instance: dj.Instance,
    schema_map: Mapping[str, str] | None = None,
    if_exists: str = "fail",
    *,
    adopt: bool = False,
    hints: Hints | None = None,
    batch_rows: int = BATCH_ROWS,
) -> dict[str, int]:
    """Declare and load a snapshot's tables into ``instance``; return rows per class name
    (``lab.Trial.Event``).

    The guard decides first (:func:`subsetter.guard.permit`): the source recorded in the
    manifest is never written over, and only schemas the tool created (or ``adopt`` allows) are.
    All or nothing, as any staging output (see :class:`InstanceWriter`); the counts are checked
    against the snapshot's manifest before anything is published.
    """
    from .guard import Action, Source, permit
    from .writers.instance import InstanceWriter

    hints = hints or Hints()
    mapping = dict(schema_map or {})
    conn = instance.connection
    with open_snapshot(path, conn.adapter.full_name) as snapshot:
        schemas = [mapping.get(m.schema, m.schema) for m in snapshot.tables]
        recorded = Source.from_dict(snapshot.manifest.get("source_identity"))
        where = f"{conn.backend}://{conn.params.host}:{conn.params.port}"
        with permit(
            conn,
            schemas,
            Action(if_exists),
            source=recorded,
            adopt=adopt,
            hints=hints,
            target=where,
        ) as granted:
            writer = InstanceWriter(
                granted,
                mapping,
                if_exists,
                source_adapter_name=snapshot.source_backend,
                hints=hints,
            )
            counts: dict[str, int] = {}
            writer.open(snapshot.tables)
            try:
                for meta in snapshot.tables:
                    batches = snapshot.batches(meta, batch_rows)
                    counts[meta.display] = writer.write_table(meta, batches).rows
                expected = {(e["schema"], e["table"]): e.get("rows") for e in snapshot.entries()}
                wrong = [
                    f"{m.display}: {counts[m.display]} rows, manifest says {rows}"
                    for m in snapshot.tables
                    if (rows := expected.get((m.schema, m.table), counts[m.display]))
                    != counts[m.display]
                ]
                if wrong:
                    raise DataJointError(f"{snapshot.path} does not match its manifest: {wrong}")
                # schema_map: how this copy names the snapshot's schemas (for verify)
                stored = {"loaded_from": str(snapshot.path), "schema_map": mapping}
                writer.commit({**snapshot.manifest, **stored})
            except BaseException:
                writer.abort()
                raise
    return counts
