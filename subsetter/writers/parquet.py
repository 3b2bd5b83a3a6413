"""Parquet output: ``<dir>/<schema>.<Class>.parquet`` per table (``lab.Session.parquet``, a Part
``lab.Trial.Event.parquet``) and ``manifest.json``, which maps each class name to its stored
table name and file (format 1 named files ``<schema>/<table>.parquet``; ``subset load`` and
``subset verify`` read both).

>>> writer = ParquetWriter("out/snapshot", if_exists="replace")      # doctest: +SKIP
>>> writer.open(metas)                                                # doctest: +SKIP
>>> writer.write_table(metas[0], batches)                             # doctest: +SKIP
>>> writer.stage(manifest); writer.publish()                         # doctest: +SKIP

Everything is written into ``<dir>.tmp-<pid>-<random>`` and renamed into place by ``publish``;
a failed or killed run leaves only that temporary sibling, which the next run deletes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import Hints, SubsetError
from ..recipe import IfExists
from .base import TableMeta, TableResult
from .files import (
    check_target,
    clean_stale,
    fsync_path,
    publish_path,
    remove,
    sha256_file,
    temp_sibling,
)
from .meta import conform, file_metadata

MANIFEST = "manifest.json"
ROW_GROUP_BYTES = 32 << 20  # batches are gathered into row groups of about this size


def file_name(meta: TableMeta) -> str:
    """``lab.Trial.Event.parquet``: the table's class name, as everything else names it."""
    name = meta.display
    if not meta.schema or "/" in name or "\\" in name or "\0" in name or name.startswith("."):
        raise SubsetError(f"{meta.key}: {name!r} cannot be a file name")
    return f"{name}.parquet"


def _check_names(tables: Sequence[TableMeta]) -> None:
    """Two tables whose class names differ only in case would share a file on a filesystem
    that ignores case (macOS, Windows): refuse before writing anything."""
    seen: dict[str, TableMeta] = {}
    for meta in tables:
        other = seen.setdefault(file_name(meta).casefold(), meta)
        if other is not meta:
            raise SubsetError(
                f"tables {other.key} and {meta.key} would both be written to "
                f"{file_name(meta)}; exclude one of them from the Parquet output"
            )


class ParquetWriter:
    """A directory of Parquet files (zstd), published atomically by :meth:`publish`."""

    name = "parquet"

    def __init__(
        self,
        path: str | os.PathLike[str],
        if_exists: str | IfExists = "fail",
        hints: Hints | None = None,
    ) -> None:
        self.target = Path(path).absolute()
        self.if_exists = IfExists(if_exists)
        if self.if_exists is IfExists.APPEND:
            raise ValueError("a Parquet output can only fail or replace when it exists")
        self.hints = hints or Hints()
        self._tmp: Path | None = None
        self._staged = False
        self._files: dict[str, list[dict[str, Any]]] = {}

    def describe(self) -> str:
        return f"Parquet directory {self.target}"

    def check(self) -> None:
        """Refuse, before any work, a target that exists (``fail``) or is not a snapshot."""
        looks_ours = (self.target / MANIFEST).is_file() or (
            self.target.is_dir() and not any(self.target.iterdir())
        )
        replace = self.if_exists is IfExists.REPLACE
        check_target(self.target, replace, looks_ours, self.hints, f"a {MANIFEST}")

    def open(self, tables: Sequence[TableMeta]) -> None:
        _check_names(tables)
        self.check()
        self.target.parent.mkdir(parents=True, exist_ok=True)
        clean_stale(self.target)
        self._tmp = temp_sibling(self.target)
        self._tmp.mkdir()
        self._files = {}

    def write_table(self, meta: TableMeta, batches: Iterator[pa.RecordBatch]) -> TableResult:
        if self._tmp is None:
            raise RuntimeError("ParquetWriter.write_table before open()")
        relative = file_name(meta)
        path = self._tmp / relative
        schema = meta.arrow_schema.with_metadata(
            {**(meta.arrow_schema.metadata or {}), **file_metadata(meta)}
        )
        rows = 0
        with pq.ParquetWriter(path, schema, compression="zstd") as writer:
            pending: list[pa.RecordBatch] = []
            size = 0
            for batch in batches:
                batch = conform(batch, schema)
                rows += batch.num_rows
                pending.append(batch)
                size += batch.nbytes
                if size >= ROW_GROUP_BYTES:
                    writer.write_table(pa.Table.from_batches(pending, schema))
                    pending, size = [], 0
            if pending:
                writer.write_table(pa.Table.from_batches(pending, schema))
        fsync_path(path)
        entry = {
            "path": relative,
            "rows": rows,
            "bytes": path.stat().st_size,
            "sha256": sha256_file(path),
        }
        self._files[meta.display] = [entry]
        return TableResult(rows, [entry])

    def stage(self, manifest: dict[str, Any]) -> None:
        """Write ``manifest.json`` (``manifest`` plus ``files``) and flush everything to disk."""
        if self._tmp is None:
            raise RuntimeError("ParquetWriter.stage before open()")
        document = {**manifest, "files": self._files}
        manifest_path = self._tmp / MANIFEST
        manifest_path.write_text(json.dumps(document, indent=2, default=str) + "\n", "utf-8")
        for path in (manifest_path, *self._tmp.iterdir(), self._tmp):
            fsync_path(path)
        self._staged = True

    def publish(self) -> None:
        """Rename the staged directory into place (an earlier snapshot is replaced)."""
        if self._tmp is None or not self._staged:
            raise RuntimeError("ParquetWriter.publish before stage()")
        publish_path(self._tmp, self.target, self.if_exists is IfExists.REPLACE, self.hints)
        self._tmp = None

    def commit(self, manifest: dict[str, Any]) -> None:
        """:meth:`stage`, then :meth:`publish`."""
        self.stage(manifest)
        self.publish()

    def abort(self) -> None:
        if self._tmp is not None:
            remove(self._tmp)
            self._tmp = None
