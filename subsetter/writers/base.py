"""What every output writer implements: tables arrive one at a time, parents first, as streams of
``pyarrow.RecordBatch``; nothing is visible at the destination until :meth:`Writer.commit`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import OutputExistsError

if TYPE_CHECKING:
    import pyarrow

    from datajoint_core.heading import Heading


@dataclass(frozen=True)
class ForeignKeyMeta:
    """A foreign key between exported tables, by source schema and table name."""

    parent_schema: str
    parent_table: str
    attr_map: tuple[tuple[str, str], ...]  # (child column, parent column)


@dataclass(frozen=True)
class TableMeta:
    """One exported table, described without reference to the source connection."""

    schema: str  # source schema name
    table: str  # stored table name, e.g. "#stimulus", "trial__event"
    heading: Heading
    arrow_schema: pyarrow.Schema
    definition: str  # DataJoint definition text (Table.describe())
    foreign_keys: tuple[ForeignKeyMeta, ...]
    expected_rows: int | None = None  # from the preview, for progress bars
    name: str = ""  # schema.Class or schema.Class.Part, as the source's graph names it

    @property
    def key(self) -> str:
        """``schema.table``: the stored name, as foreign keys in the metadata name tables."""
        return f"{self.schema}.{self.table}"

    @property
    def display(self) -> str:
        """``schema.Class`` / ``schema.Class.Part``: how messages, manifests and file names
        name the table (from the stored name when the source's graph did not say)."""
        from datajoint_core.naming import class_name

        return self.name or f"{self.schema}.{class_name(self.table)}"

    @property
    def primary_key(self) -> list[str]:
        return self.heading.primary_key


@dataclass
class TableResult:
    rows: int
    files: list[dict[str, Any]] = field(default_factory=list)  # Parquet: path, bytes, sha256


class Writer(Protocol):
    """An output. ``open`` before the first table; ``stage`` does everything short of making the
    output visible, ``publish`` makes it visible at once (quick, and unlikely to fail, so that a
    run can publish all its outputs or none); ``abort`` (after any failure or interruption, before
    ``publish``) leaves the destination as it was."""

    name: str

    def open(self, tables: Sequence[TableMeta]) -> None: ...

    def write_table(
        self, meta: TableMeta, batches: Iterator[pyarrow.RecordBatch]
    ) -> TableResult: ...

    def stage(self, manifest: dict[str, Any]) -> None: ...

    def publish(self) -> None: ...

    def abort(self) -> None: ...

    def describe(self) -> str:
        """Where the output goes, for messages (never a password)."""
        ...


__all__ = ["ForeignKeyMeta", "OutputExistsError", "TableMeta", "TableResult", "Writer"]
