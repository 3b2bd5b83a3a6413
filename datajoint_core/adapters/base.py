"""What every backend adapter provides, and the catalog records they return.

Differences between backends are data where they can be (quote character, type maps, capability
flags) and a method only where data cannot say it. Nothing outside ``adapters/`` asks which backend
it talks to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from ..errors import DataJointError

if TYPE_CHECKING:
    from .facts import Backend

Row = tuple[Any, ...]
Run = Callable[[str, Sequence[Any]], list[Row]]


@dataclass(frozen=True)
class ColumnInfo:
    schema: str
    table: str
    name: str
    position: int
    native_type: str  # normalised lower-case SQL type, e.g. "int", "varchar(32)", "enum('a','b')"
    nullable: bool
    default: str | None  # SQL text of the default, None when there is none
    comment: str
    autoincrement: bool = False


@dataclass(frozen=True)
class ForeignKeyInfo:
    name: str
    schema: str
    table: str
    columns: tuple[str, ...]  # child columns, in constraint order
    ref_schema: str
    ref_table: str
    ref_columns: tuple[str, ...]  # parent columns, matched by position


@dataclass(frozen=True)
class IndexInfo:
    schema: str
    table: str
    name: str
    unique: bool
    columns: tuple[str, ...]


@dataclass(frozen=True)
class TableInfo:
    schema: str
    table: str
    comment: str


@dataclass(frozen=True)
class Catalog:
    """Everything the catalog says about the tables of some schemas (a few queries in all)."""

    tables: tuple[TableInfo, ...]
    columns: tuple[ColumnInfo, ...]
    primary_keys: dict[tuple[str, str], tuple[str, ...]]
    foreign_keys: tuple[ForeignKeyInfo, ...]
    indexes: tuple[IndexInfo, ...]


class Reader(Protocol):
    """What :meth:`Adapter.start_shared_snapshot` needs of a connection."""

    def start_transaction(self, *, snapshot: bool = False) -> None: ...

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int: ...

    def close(self) -> None: ...


def parsed_from_text(arrow_type: Any) -> bool:
    """Whether a CSV/text export's value of this Arrow type is parsed by Arrow as it is
    (numbers, booleans, decimals, dates, timestamps); other types need a conversion."""
    import pyarrow as pa

    return bool(
        pa.types.is_integer(arrow_type)
        or pa.types.is_floating(arrow_type)
        or pa.types.is_boolean(arrow_type)
        or pa.types.is_decimal(arrow_type)
        or pa.types.is_date(arrow_type)
        or pa.types.is_timestamp(arrow_type)
    )


@dataclass(frozen=True)
class ServerIdentity:
    """What a server says about itself, so that two connections are known to reach the same server
    however its address is spelled (a host name, ``0.0.0.0``, a socket, a forwarded port, another
    user). Every field is readable by an unprivileged account.

    ``stable`` survives restarts (PostgreSQL: system identifier and port; MySQL/MariaDB: host
    name, port, data directory, server id and, on MySQL, server uuid). ``started`` (the server's
    start time, epoch seconds) tells apart clones that share ``stable`` (a staging server restored
    from a production backup) while both run; it is not recorded, since a restart changes it.
    ``database`` is the database a PostgreSQL connection works in (None on MySQL).
    """

    backend: str
    stable: tuple[str, ...]
    started: float | None = None
    database: str | None = None

    def same_server(self, other: ServerIdentity) -> bool:
        """The same server, as far as both identities tell (unknown start times match)."""
        if self.backend != other.backend or self.stable != other.stable:
            return False
        if self.started is None or other.started is None:
            return True
        return abs(self.started - other.started) <= _START_TOLERANCE

    def same_database(self, other: ServerIdentity) -> bool:
        """The same server and the same database, so a schema name means the same schema."""
        return self.same_server(other) and self.database == other.database

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able record (manifests), without the start time."""
        return {"backend": self.backend, "stable": list(self.stable), "database": self.database}

    @classmethod
    def from_dict(cls, data: Any) -> ServerIdentity | None:
        """The identity recorded by :meth:`to_dict`; None for anything else."""
        try:
            return cls(
                str(data["backend"]), tuple(map(str, data["stable"])), None, data["database"]
            )
        except (KeyError, TypeError):
            return None


_START_TOLERANCE = 5.0  # seconds: MySQL reports uptime in whole seconds


@dataclass(frozen=True)
class ConnectParams:
    host: str
    port: int
    user: str | None
    password: str | None
    database: str | None
    use_tls: bool | dict[str, Any] | None
    connect_timeout: int = 10

    def __repr__(self) -> str:  # never show the password
        return f"ConnectParams(host={self.host!r}, port={self.port}, user={self.user!r})"


class Adapter:
    """Base class of the backend adapters; subclasses fill in the data and override methods."""

    facts: ClassVar[Backend]  # what adapters/__init__.py knows of the backend
    name: ClassVar[str]
    quote_char: ClassVar[str]
    sqlglot_dialect: ClassVar[str]
    default_port: ClassVar[int]
    placeholder: ClassVar[str] = "%s"
    # capability flags
    enum_is_named_type: ClassVar[bool] = False
    multi_table_delete: ClassVar[bool] = False
    indexes_foreign_keys: ClassVar[bool] = True  # the server indexes FK columns by itself
    # ALTER TABLE places columns (AFTER) and has MODIFY / CHANGE (MySQL's dialect)
    supports_column_position: ClassVar[bool] = False
    max_table_name_length: ClassVar[int] = 64

    @property
    def backend(self) -> str:
        """The backend's name, as the reference's adapters call it ("mysql", "postgresql")."""
        return self.name

    def quote_identifier(self, name: str) -> str:
        """The reference's name for :meth:`quote`."""
        return self.quote(name)

    # -- connections ---------------------------------------------------------------------
    def connect(self, params: ConnectParams) -> Any:
        raise NotImplementedError

    def ping(self, raw: Any) -> None:
        raise NotImplementedError

    def translate_error(self, err: BaseException) -> DataJointError | None:
        """The datajoint_core error for a driver exception, or None if it is not a driver error."""
        raise NotImplementedError

    def session_id_sql(self) -> str:
        raise NotImplementedError

    def server_identity(self, run: Run) -> ServerIdentity:
        """What the server reports about itself (see :class:`ServerIdentity`)."""
        raise NotImplementedError

    def start_shared_snapshot(
        self, readers: Sequence[Reader], open_extra: Callable[[], Reader]
    ) -> None:
        """Start a read-only transaction on each of ``readers`` (none in one yet), all on the
        same snapshot; ``open_extra()`` opens another connection to the same server. Raises
        AccessError, saying what is missing, when the account may not synchronise readers."""
        raise NotImplementedError

    # Makes every later transaction of the session read-only, DDL included.
    read_only_session_sql: ClassVar[str]
    # A session-level lock named by the only parameter: try (returns true when taken), release.
    try_lock_sql: ClassVar[str]
    release_lock_sql: ClassVar[str]

    def kill_session_sql(self) -> str:
        """SQL that ends another session, given its id as the only parameter."""
        raise NotImplementedError

    def cursor(self, raw: Any) -> Any:
        return raw.cursor()

    def stream_arrow(
        self, raw: Any, sql: str, params: Sequence[Any], schema: Any, batch_rows: int
    ) -> Iterator[Any] | None:
        """Record batches of ``schema`` through the backend's bulk export path, inside the
        caller's transaction; None where there is none (rows are converted instead)."""
        return None

    def stream(
        self, raw: Any, sql: str, params: Sequence[Any], batch_rows: int
    ) -> Iterator[list[Row]]:
        """Yield lists of at most ``batch_rows`` rows without holding the whole result."""
        raise NotImplementedError

    # -- SQL text ------------------------------------------------------------------------
    def quote(self, name: str) -> str:
        """Quote an identifier, doubling the quote character inside it."""
        q = self.quote_char
        return q + str(name).replace(q, q + q) + q

    def full_name(self, schema: str, table: str) -> str:
        return f"{self.quote(schema)}.{self.quote(table)}"

    def split_full_name(self, full_name: str) -> tuple[str, str]:
        """Inverse of :meth:`full_name`; also accepts an unquoted ``schema.table``."""
        q = self.quote_char
        parts: list[str] = []
        text = full_name.strip()
        while text:
            if text.startswith(q):
                end = 1
                buf = []
                while True:
                    nxt = text.find(q, end)
                    if nxt < 0:
                        raise DataJointError(f"malformed table name {full_name!r}")
                    buf.append(text[end:nxt])
                    if text[nxt + 1 : nxt + 2] == q:
                        buf.append(q)
                        end = nxt + 2
                        continue
                    text = text[nxt + 1 :]
                    break
                parts.append("".join(buf))
            else:
                dot = text.find(".")
                parts.append(text if dot < 0 else text[:dot])
                text = "" if dot < 0 else text[dot:]
            if text.startswith("."):
                text = text[1:]
            elif text:
                raise DataJointError(f"malformed table name {full_name!r}")
        if len(parts) != 2:
            raise DataJointError(f"table name {full_name!r} must be schema.table")
        return parts[0], parts[1]

    unbounded_limit: ClassVar[str | None] = None  # LIMIT text for "no limit" with an OFFSET

    def limit_sql(self, limit: int | None, offset: int) -> str:
        parts = []
        if limit is not None:
            parts.append(f"LIMIT {int(limit)}")
        elif offset and self.unbounded_limit:
            parts.append(f"LIMIT {self.unbounded_limit}")
        if offset:
            parts.append(f"OFFSET {int(offset)}")
        return " ".join(parts)

    def escape_percent(self, sql: str) -> str:
        """Literal SQL text must double '%' because queries are always formatted with parameters."""
        return sql.replace("%", "%%")

    def bool_literal(self, value: bool) -> str:
        return "1" if value else "0"

    def encode_uuid(self, value: Any) -> Any:
        """A ``uuid.UUID`` as the driver parameter for a uuid column."""
        return value

    def string_literal(self, value: str) -> str:
        """A quoted string literal for DDL, where parameters cannot travel (comments, defaults)."""
        return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"

    # -- transactions --------------------------------------------------------------------
    start_transaction_sql: ClassVar[str] = "START TRANSACTION"
    snapshot_transaction_sql: ClassVar[str]
    commit_sql: ClassVar[str] = "COMMIT"
    rollback_sql: ClassVar[str] = "ROLLBACK"

    # -- types ---------------------------------------------------------------------------
    def core_to_native(self, core: str, args: tuple[str, ...], *, enum_name: str = "") -> str:
        """The column type for a core type (``enum_name`` names an enum type where needed)."""
        raise NotImplementedError

    def native_to_core(self, native: str) -> str | None:
        """The core type a native column type corresponds to, or None."""
        raise NotImplementedError

    # -- catalog -------------------------------------------------------------------------
    def list_schemas(self, run: Run) -> list[str]:
        raise NotImplementedError

    def read_catalog(self, run: Run, schemas: Sequence[str]) -> Catalog:
        raise NotImplementedError

    def referencing_schemas(self, run: Run, schemas: Sequence[str]) -> list[str]:
        """Schemas holding tables with foreign keys into ``schemas`` (for downstream discovery)."""
        raise NotImplementedError

    # -- DDL -----------------------------------------------------------------------------
    def create_schema_sql(self, schema: str) -> str:
        raise NotImplementedError

    def drop_schema_sql(self, schema: str) -> str:
        raise NotImplementedError

    def schema_exists_sql(self) -> str:
        raise NotImplementedError

    def table_names(self, run: Run, schemas: Sequence[str]) -> list[tuple[str, str]]:
        """(schema, table) of every base table in ``schemas``, hidden ones included."""
        if not schemas:
            return []
        marks = ", ".join(["%s"] * len(schemas))
        rows = run(
            "SELECT table_schema, table_name FROM information_schema.tables "
            f"WHERE table_schema IN ({marks}) AND table_type = 'BASE TABLE'",
            tuple(schemas),
        )
        return [(str(s), str(t)) for s, t in rows]

    def table_options_sql(self, comment: str) -> str:
        """Text after the closing parenthesis of CREATE TABLE."""
        return ""

    def column_comment_sql(self, comment: str) -> str:
        """Inline column comment clause ('' where comments are separate statements)."""
        return ""

    def comment_statements(
        self, full_name: str, table_comment: str, column_comments: dict[str, str]
    ) -> list[str]:
        """Statements that set comments after CREATE TABLE (where they cannot be inline)."""
        return []

    def pre_table_statements(
        self, schema: str, table: str, enums: dict[str, tuple[str, ...]]
    ) -> list[str]:
        """Statements to run before CREATE TABLE (e.g. named enum types)."""
        return []

    def index_statements(
        self, schema: str, table: str, indexes: Sequence[tuple[bool, tuple[str, ...]]]
    ) -> tuple[list[str], list[str]]:
        """(clauses inside CREATE TABLE, statements after it) for secondary indexes."""
        raise NotImplementedError

    def drop_table_statements(self, schema: str, table: str) -> list[str]:
        return [f"DROP TABLE {self.full_name(schema, table)}"]

    def enum_type_name(self, schema: str, values: Sequence[str]) -> str:
        """The full name of the named type of an enum (where enums are named types)."""
        return ""

    # -- loading and deleting ------------------------------------------------------------
    def insert_sql(
        self,
        full_name: str,
        columns: Sequence[str],
        rows: int,
        *,
        skip_duplicates: bool = False,
        replace: bool = False,
        primary_key: Sequence[str] = (),
    ) -> str:
        """A multi-row INSERT of ``rows`` rows of parameters, with the duplicate-key clause."""
        cols = ", ".join(self.quote(c) for c in columns)
        row = "(" + ", ".join(["%s"] * len(columns)) + ")"
        sql = f"INSERT INTO {full_name} ({cols}) VALUES " + ", ".join([row] * rows)
        if not (skip_duplicates or replace):
            return sql
        return sql + self.on_duplicate_sql(full_name, columns, primary_key, replace=replace)

    def on_duplicate_sql(
        self, full_name: str, columns: Sequence[str], primary_key: Sequence[str], *, replace: bool
    ) -> str:
        """The clause that skips (or, with ``replace``, updates) rows whose key exists."""
        raise NotImplementedError

    def delete_sql(self, full_name: str, where: str) -> str:
        return f"DELETE FROM {full_name} WHERE {where}"

    def delete_by_keys_sql(self, full_name: str, columns: Sequence[str], key_query: str) -> str:
        """Delete the rows whose ``columns`` appear in the result of ``key_query``."""
        cols = ", ".join(self.quote(c) for c in columns)
        return f"DELETE FROM {full_name} WHERE ({cols}) IN (SELECT * FROM ({key_query}) AS _keys)"

    def delete_restricted_sql(
        self, full_name: str, key: Sequence[str], with_sql: str, condition: str
    ) -> str:
        """Delete the rows of a table that meet ``condition``, which may read the CTEs of
        ``with_sql`` (``"WITH ... "`` or empty)."""
        return f"{with_sql}DELETE FROM {full_name} WHERE {condition}"

    def delete_joined_sql(self, full_name: str, columns: Sequence[str], keys_sql: str) -> str:
        """Delete the rows whose ``columns`` equal a row of ``keys_sql`` (multi-table DELETE,
        where ``multi_table_delete`` says the server has it)."""
        raise NotImplementedError

    def random_hash_sql(self, expression: str) -> str:
        """SQL giving an integer 0..2**32-1 from a text expression (deterministic sampling)."""
        raise NotImplementedError

    def cast_text_sql(self, expression: str) -> str:
        raise NotImplementedError

    # -- bulk loading (staging copies) ----------------------------------------------------
    # Declare foreign keys after loading: one validating join instead of a check per row
    # (PostgreSQL: 3x faster on 1.2M rows; InnoDB would rebuild the table instead).
    foreign_keys_after_load: ClassVar[bool] = False
    # Where the server can switch its row-by-row key checks off for a session (InnoDB checks
    # every loaded row against its parents): the statement that does so, per state; the loader
    # then checks each foreign key with one anti-join (:meth:`orphans_sql`) before committing.
    key_checks_sql: ClassVar[dict[bool, str] | None] = None

    def orphans_sql(
        self,
        child: str,
        parent: str,
        attr_map: Sequence[tuple[str, str]],
        distinct: bool = False,
        count: bool = False,
    ) -> str:
        """A query giving one row of ``child`` whose non-NULL foreign key (``attr_map``: child
        column, parent column) matches no row of ``parent``, if there is one; with ``count``,
        the number of such rows.

        An outer join, not ``NOT EXISTS``: MariaDB materialises the whole parent for the latter
        (7x slower on 1.2M rows). ``distinct`` checks each key value once, for a child with
        many rows per parent row (its key columns lead an index, so the server skips along it).
        """
        q = self.quote
        columns = ", ".join(q(c) for c, _ in attr_map)
        rows = f"(SELECT DISTINCT {columns} FROM {child})" if distinct else child
        present = " AND ".join(f"c.{q(c)} IS NOT NULL" for c, _ in attr_map)
        match = " AND ".join(f"p.{q(p)} = c.{q(c)}" for c, p in attr_map)
        missing = f"p.{q(attr_map[0][1])} IS NULL"
        what, limit = ("count(*)", "") if count else ("1", " LIMIT 1")
        return (
            f"SELECT {what} FROM {rows} c LEFT JOIN {parent} p ON {match} "
            f"WHERE {present} AND {missing}{limit}"
        )

    def bulk_insert(self, raw: Any, full_name: str, columns: Sequence[str], batch: Any) -> int:
        """Load a ``pyarrow.RecordBatch`` (columns in ``columns`` order) into a table with the
        backend's bulk path, inside the caller's transaction; return the number of rows."""
        raise NotImplementedError

    def rename_table_statements(self, renames: Sequence[tuple[str, str, str]]) -> list[str]:
        """Statements that rename tables ``(schema, old, new)`` in the given order; run in one
        transaction, all of them take effect or none."""
        return [
            f"ALTER TABLE {self.full_name(schema, old)} RENAME TO {self.quote(new)}"
            for schema, old, new in renames
        ]

    def replica_identity_sql(self, full_name: str, mode: str) -> str | None:
        """``ALTER TABLE ... REPLICA IDENTITY`` (PostgreSQL replication); None elsewhere."""
        return None
