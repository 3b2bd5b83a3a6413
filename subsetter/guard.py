"""The one place that decides whether a target database may be written: created in, replaced,
appended to, deleted from or dropped. ``run`` to staging, ``load``, ``clean`` and ``clean --drop``
all ask :func:`permit` first, before any work.

Three rules, none of which looks at how a host is spelled:

1. **Never the source.** Two connections reach the same server when the servers say so
   (:meth:`datajoint_core.Connection.server_identity`). A target schema that is one of the
   source's schemas, in the source's database on the source server, is never written.
2. **Only what the tool made.** A schema the tool creates carries the marker table
   ``~subset_manifest`` from its first moment (it also holds the manifests of the runs that wrote
   it). An existing schema is written, cleaned or dropped only when it carries the marker.
   Adopting an unmarked schema takes an explicit flag (``adopt: true`` / ``--adopt``), never for
   ``clean``, and is refused on the source server.
3. **One writer at a time.** A permit holds a server-side lock per target schema (``GET_LOCK`` /
   an advisory lock) until it is released; a second run fails at once, and only the lock holder
   drops the hidden tables that killed runs left behind.

>>> granted = permit(conn, ["lab_staging"], Action.REPLACE, source=src)  # doctest: +SKIP
>>> writer = InstanceWriter(granted, {"lab": "lab_staging"}, "replace")  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

from datajoint_core.adapters.base import ServerIdentity
from datajoint_core.declare.ddl import compile_table
from datajoint_core.heading import Attribute, Heading

from .errors import Hints, TargetBusyError, UnsafeTargetError

if TYPE_CHECKING:
    import datajoint_core as dj

MARKER_TABLE = "~subset_manifest"
MARKER_HEADING = Heading(
    (
        Attribute("run", "char(8)", in_key=True, comment="the run that wrote the subset"),
        Attribute("written", "varchar(40)", comment="UTC time of the commit"),
        Attribute("manifest", "json", comment="the subset's manifest"),
    ),
    comment="made by datajoint-subsetter: manifests of the subsets written here",
)


class Action(Enum):
    """What a permit allows on the target's schemas."""

    CREATE = "fail"  # new tables only (if_exists: fail)
    REPLACE = "replace"
    APPEND = "append"
    DELETE = "delete"  # subset clean
    DROP = "drop"  # subset clean --drop

    @property
    def cleans(self) -> bool:
        return self in (Action.DELETE, Action.DROP)


@dataclass(frozen=True)
class Source:
    """Where a subset comes from: the server's identity and the schemas read there."""

    identity: ServerIdentity
    schemas: tuple[str, ...]

    @classmethod
    def of(cls, connection: dj.Connection, schemas: Iterable[str]) -> Source:
        return cls(connection.server_identity(), tuple(schemas))

    def to_dict(self) -> dict[str, Any]:
        """For manifests: ``load`` compares its target with the source recorded here."""
        return {**self.identity.to_dict(), "schemas": list(self.schemas)}

    @classmethod
    def from_dict(cls, data: Any) -> Source | None:
        identity = ServerIdentity.from_dict(data)
        if identity is None or not isinstance(data.get("schemas"), list):
            return None
        return cls(identity, tuple(map(str, data["schemas"])))


@dataclass
class Permit:
    """The right to write ``schemas`` on ``connection``, holding their locks until
    :meth:`release` (or the end of a ``with`` block)."""

    connection: dj.Connection
    schemas: tuple[str, ...]
    action: Action
    existing: frozenset[str]
    marked: frozenset[str]
    locks: list[str] = field(default_factory=list)

    def covers(self, schemas: Iterable[str]) -> None:
        """Raise unless every schema in ``schemas`` is one this permit was granted for."""
        outside = sorted(set(schemas) - set(self.schemas))
        if outside or (not self.locks and self.schemas):
            raise UnsafeTargetError(f"no permit to write {', '.join(outside) or 'the target'}")

    def create_schema(self, schema: str) -> bool:
        """Create ``schema`` with the marker if it does not exist; True if it was created."""
        self.covers([schema])
        if schema in self.existing:
            self.mark(schema)
            return False
        conn = self.connection
        conn.execute(conn.adapter.create_schema_sql(schema))
        self._declare_marker(schema)
        self.existing |= {schema}
        return True

    def mark(self, schema: str) -> None:
        """Put the marker into an existing (adopted) schema, if it lacks one."""
        self.covers([schema])
        if schema not in self.marked:
            self._declare_marker(schema)

    def _declare_marker(self, schema: str) -> None:
        for statement in compile_table(
            MARKER_HEADING, schema, MARKER_TABLE, self.connection.adapter
        ):
            self.connection.execute(statement)
        self.marked |= {schema}

    def release(self) -> None:
        for name in reversed(self.locks):
            try:
                self.connection.release_lock(name)
            except Exception:  # a dead session has released its locks already
                pass
        self.locks.clear()

    def __enter__(self) -> Permit:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def lock_name(schema: str) -> str:
    """The server-side lock of a target schema (at most 64 characters, as MySQL needs)."""
    return "subset:" + hashlib.sha256(schema.encode()).hexdigest()[:40]


def marked_schemas(connection: dj.Connection, schemas: Sequence[str]) -> set[str]:
    """The schemas among ``schemas`` that carry the tool's marker."""
    names = connection.adapter.table_names(connection.fetchall, list(schemas))
    return {schema for schema, table in names if table == MARKER_TABLE}


def permit(
    connection: dj.Connection,
    schemas: Iterable[str],
    action: Action,
    *,
    source: Source | None,
    adopt: bool = False,
    hints: Hints | None = None,
    target: str = "the target",
) -> Permit:
    """Check that ``schemas`` may be written on ``connection`` for ``action`` and lock them.

    ``source`` is where the data comes from (None when unknown, e.g. an old snapshot); ``target``
    names the connection in messages. Raises :class:`UnsafeTargetError` or
    :class:`TargetBusyError` with the reason and the way forward; nothing is written.
    """
    wanted = tuple(dict.fromkeys(schemas))
    hints = hints or Hints()
    subject = hints.subject(target)
    identity = connection.server_identity()
    on_source = source is not None and identity.same_server(source.identity)
    if on_source and source is not None and identity.same_database(source.identity):
        clash = [s for s in wanted if s in source.schemas]
        if clash:
            verb = "cleaned" if action.cleans else "written"
            raise UnsafeTargetError(
                f"{subject} is the source itself: schema '{clash[0]}' on {target} is the source "
                f"schema (the servers report the same identity), and the source is never {verb}; "
                "write to other schema names (schema_map) or another server"
            )
    granted = Permit(connection, wanted, action, frozenset(), frozenset())
    try:
        for schema in wanted:
            name = lock_name(schema)
            if not connection.try_lock(name):
                raise TargetBusyError(
                    f"another subset run is writing into schema '{schema}' on {target}; "
                    "try again when it has finished"
                )
            granted.locks.append(name)
        present = set(connection.list_schemas())
        granted.existing = frozenset(s for s in wanted if s in present)
        granted.marked = frozenset(marked_schemas(connection, sorted(granted.existing)))
        _check_markers(granted, adopt=adopt, on_source=on_source, hints=hints, target=target)
    except BaseException:
        granted.release()
        raise
    return granted


def _check_markers(
    granted: Permit, *, adopt: bool, on_source: bool, hints: Hints, target: str
) -> None:
    foreign = sorted(granted.existing - granted.marked)
    if not foreign:
        return
    schema = foreign[0]
    why = (
        f"schema '{schema}' on {target} was not created by subset (it has no {MARKER_TABLE} table)"
    )
    if granted.action.cleans:
        raise UnsafeTargetError(f"{why}; clean acts only on the schemas subset created")
    if not adopt:
        raise UnsafeTargetError(
            f"{why}; choose another schema name (schema_map), or {hints.option('adopt', 'true')} "
            "to write into it anyway"
        )
    if on_source:
        raise UnsafeTargetError(
            f"{why}, and {target} is the source server: an existing schema there is never adopted"
        )
