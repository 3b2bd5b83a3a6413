"""PostgreSQL through psycopg2. A DataJoint schema is a PostgreSQL schema in one database."""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import psycopg2
import psycopg2.extensions
import psycopg2.extras

from .. import errors
from .base import (
    Adapter,
    Catalog,
    ColumnInfo,
    ConnectParams,
    ForeignKeyInfo,
    IndexInfo,
    Reader,
    Row,
    Run,
    ServerIdentity,
    TableInfo,
)
from .facts import backend

CORE_TO_NATIVE = {
    "int8": "smallint",
    "int16": "smallint",
    "int32": "integer",
    "int64": "bigint",
    "uint8": "smallint",
    "uint16": "integer",
    "uint32": "bigint",
    "uint64": "numeric(20,0)",
    "float32": "real",
    "float64": "double precision",
    "bool": "boolean",
    "date": "date",
    "uuid": "uuid",
    "json": "jsonb",
    "bytes": "bytea",
}
NATIVE_TO_CORE = {
    "smallint": "int16",
    "integer": "int32",
    "bigint": "int64",
    "real": "float32",
    "double precision": "float64",
    "boolean": "bool",
    "date": "date",
    "uuid": "uuid",
    "json": "json",
    "jsonb": "json",
    "bytea": "bytes",
    "timestamp": "datetime",
}
_LOST_CODES = {"57P01", "57P02", "57P03", "08000", "08003", "08006"}
_ACCESS_CODES = {"42501", "28000", "28P01"}
_MISSING_CODES = {"42P01", "3F000", "3D000"}
# libpq reports refused logins without an SQLSTATE
_ACCESS_TEXT = ("password authentication failed", "does not exist", "no pg_hba.conf entry")
_CAST = re.compile(r"::[\w\s\".\[\]()]+$")
_cursor_ids = itertools.count()


def _bytes(value: Any, cursor: Any) -> bytes | None:
    raw = psycopg2.BINARY(value, cursor)
    return None if raw is None else bytes(raw)


def _identity(value: Any) -> Any:
    return value


_BYTES = psycopg2.extensions.new_type(psycopg2.BINARY.values, "DJ_BYTES", _bytes)


_QUOTED = re.compile(r"('(?:[^']|'')*')")
_NUMERIC = re.compile(r"^(smallint|integer|bigint|real|double precision|numeric)\b")
_QUOTED_NUMBER = re.compile(r"'(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)'", re.IGNORECASE)


def _lower_outside_quotes(text: str) -> str:
    """Lower-case a type but not its enum labels: ``ENUM('Happy')`` -> ``enum('Happy')``."""
    return "".join(p if i % 2 else p.lower() for i, p in enumerate(_QUOTED.split(text)))


def _normalise_type(formatted: str) -> str:
    text = _lower_outside_quotes(formatted.strip())
    text = re.sub(r"^character varying", "varchar", text)
    text = re.sub(r"^character\b", "char", text)
    text = re.sub(r"^timestamp(\(\d\))? without time zone", r"timestamp\1", text)
    text = re.sub(r"^time(\(\d\))? without time zone", r"time\1", text)
    return text


class PostgreSQLAdapter(Adapter):
    facts = backend("postgresql")
    name = facts.name
    max_table_name_length = 63
    quote_char = '"'
    sqlglot_dialect = facts.sqlglot_dialect
    default_port = facts.default_port
    enum_is_named_type = True
    indexes_foreign_keys = False
    start_transaction_sql = "BEGIN"
    snapshot_transaction_sql = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
    read_only_session_sql = "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"
    _LOCK_KEY = "('x' || substr(md5(%s), 1, 16))::bit(64)::bigint"
    try_lock_sql = f"SELECT pg_try_advisory_lock({_LOCK_KEY})"
    release_lock_sql = f"SELECT pg_advisory_unlock({_LOCK_KEY})"

    # -- connections ---------------------------------------------------------------------
    def connect(self, params: ConnectParams) -> Any:
        kwargs: dict[str, Any] = {
            "host": params.host,
            "port": params.port,
            "user": params.user or "postgres",
            "password": params.password or "",
            "dbname": params.database or "postgres",
            "connect_timeout": params.connect_timeout,
            "application_name": "datajoint_core",
        }
        if isinstance(params.use_tls, dict):
            kwargs.update(params.use_tls)
        elif params.use_tls:
            kwargs["sslmode"] = "require"
        try:
            raw = psycopg2.connect(**kwargs)
        except psycopg2.Error as err:
            raise self.translate_error(err) or errors.QueryError(str(err)) from err
        raw.autocommit = True
        psycopg2.extras.register_uuid(conn_or_curs=raw)
        # json arrives as text on both backends; the fetch layer parses it
        psycopg2.extras.register_default_json(raw, loads=_identity)
        psycopg2.extras.register_default_jsonb(raw, loads=_identity)
        psycopg2.extensions.register_type(_BYTES, raw)
        return raw

    def ping(self, raw: Any) -> None:
        with raw.cursor() as cursor:
            cursor.execute("SELECT 1")

    def translate_error(self, err: BaseException) -> errors.DataJointError | None:
        if not isinstance(err, psycopg2.Error):
            return None
        code = getattr(err, "pgcode", None)
        message = str(err).strip()
        if isinstance(err, psycopg2.IntegrityError) and code == "23505":
            return errors.DuplicateError(message)
        if code == "23503":
            return errors.IntegrityError(message)
        if code in _MISSING_CODES:
            return errors.MissingTableError(message)
        if code in _ACCESS_CODES or (code is None and any(t in message for t in _ACCESS_TEXT)):
            return errors.AccessError(message)
        if (
            code in _LOST_CODES
            or isinstance(err, psycopg2.InterfaceError)
            or (isinstance(err, psycopg2.OperationalError) and code is None)
        ):
            return errors.LostConnectionError(f"lost connection to the server: {message}")
        return errors.QueryError(f"({code}) {message}" if code else message)

    def session_id_sql(self) -> str:
        return "SELECT pg_backend_pid()"

    def kill_session_sql(self) -> str:
        return "SELECT pg_terminate_backend(%s)"

    def start_shared_snapshot(
        self, readers: Sequence[Reader], open_extra: Callable[[], Reader]
    ) -> None:
        # the first reader exports its snapshot, the others import it: any account may
        leader, followers = readers[0], readers[1:]
        leader.start_transaction(snapshot=True)
        if followers:
            token = leader.fetchall("SELECT pg_export_snapshot()")[0][0]
            for conn in followers:
                conn.start_transaction(snapshot=True)
                conn.execute("SET TRANSACTION SNAPSHOT %s", (token,))

    def server_identity(self, run: Run) -> ServerIdentity:
        # pg_control_system() and pg_postmaster_start_time() are open to every role (the data
        # directory is not); the system identifier is kept by restarts, shared only by clones.
        now = "extract(epoch FROM pg_postmaster_start_time()), current_setting('port'), "
        try:
            row = run(
                f"SELECT system_identifier::text, {now}current_database() FROM pg_control_system()",
                (),
            )[0]
        except errors.AccessError:  # a server that hides its control data: port and start time
            row = ("", *run(f"SELECT {now}current_database()", ())[0])
        system_id, started, port, database = row
        return ServerIdentity(self.name, (str(system_id), str(port)), float(started), database)

    def stream_arrow(
        self, raw: Any, sql: str, params: Sequence[Any], schema: Any, batch_rows: int
    ) -> Iterator[Any] | None:
        from .pg_copy import stream_copy

        return stream_copy(raw, sql, params, schema, batch_rows)

    def stream(
        self, raw: Any, sql: str, params: Sequence[Any], batch_rows: int
    ) -> Iterator[list[Row]]:
        # An explicit cursor inside the caller's transaction: works with autocommit connections.
        name = f"_dj_stream_{next(_cursor_ids)}"
        with raw.cursor() as cursor:
            cursor.execute(f"DECLARE {name} NO SCROLL CURSOR FOR {sql}", tuple(params))
            try:
                while True:
                    cursor.execute(f"FETCH FORWARD {int(batch_rows)} FROM {name}")
                    rows = cursor.fetchall()
                    if not rows:
                        break
                    yield rows
            finally:
                if not raw.closed and raw.get_transaction_status() in (1, 2):
                    cursor.execute(f"CLOSE {name}")

    # -- types ---------------------------------------------------------------------------
    def core_to_native(self, core: str, args: tuple[str, ...], *, enum_name: str = "") -> str:
        if core in CORE_TO_NATIVE:
            return CORE_TO_NATIVE[core]
        if core == "datetime":
            return f"timestamp({args[0]})" if args else "timestamp"
        if core == "decimal":
            return f"numeric({','.join(args)})"
        if core in ("char", "varchar"):
            return f"{core}({args[0]})"
        if core == "enum":
            return enum_name
        if core.startswith("<"):
            return "bytea"
        raise errors.DeclarationError(f"no PostgreSQL type for {core!r}")

    def native_to_core(self, native: str) -> str | None:
        text = _normalise_type(native)
        if text in NATIVE_TO_CORE:
            return NATIVE_TO_CORE[text]
        head, _, rest = text.partition("(")
        if head == "numeric" and rest:
            return "decimal(" + rest.replace(" ", "")
        if head == "timestamp" and rest:
            return "datetime(" + rest
        if head in ("char", "varchar", "enum"):
            return text
        return None

    # -- catalog -------------------------------------------------------------------------
    def list_schemas(self, run: Run) -> list[str]:
        rows = run(
            "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%%' "
            "AND nspname NOT IN ('information_schema', 'public') ORDER BY nspname",
            (),
        )
        return [r[0] for r in rows]

    def read_catalog(self, run: Run, schemas: Sequence[str]) -> Catalog:
        if not schemas:
            return Catalog((), (), {}, (), ())
        names = (list(schemas),)
        tables = run(
            "SELECT n.nspname, c.relname, coalesce(obj_description(c.oid, 'pg_class'), '') "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY(%s) ORDER BY 1, 2",
            names,
        )
        columns = run(
            "SELECT n.nspname, c.relname, a.attname, a.attnum, "
            "format_type(a.atttypid, a.atttypmod), NOT a.attnotnull, "
            "pg_get_expr(d.adbin, d.adrelid), coalesce(col_description(c.oid, a.attnum), ''), "
            "a.attidentity <> '' "
            "OR coalesce(pg_get_expr(d.adbin, d.adrelid), '') LIKE 'nextval(%%', "
            "(SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder) FROM pg_enum e "
            " WHERE e.enumtypid = a.atttypid) "
            "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
            "WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p') "
            "AND n.nspname = ANY(%s) ORDER BY 1, 2, 4",
            names,
        )
        constraints = run(
            "SELECT n.nspname, c.relname, con.conname, con.contype, "
            "array(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(num, ord) "
            "  JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num "
            "  ORDER BY k.ord), "
            "fn.nspname, fc.relname, "
            "array(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(num, ord) "
            "  JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num "
            "  ORDER BY k.ord) "
            "FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "LEFT JOIN pg_class fc ON fc.oid = con.confrelid "
            "LEFT JOIN pg_namespace fn ON fn.oid = fc.relnamespace "
            "WHERE con.contype IN ('p', 'f') AND n.nspname = ANY(%s) ORDER BY 1, 2, 3",
            names,
        )
        indexes = run(
            "SELECT n.nspname, c.relname, ic.relname, i.indisunique, "
            "array(SELECT a.attname::text "
            "  FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(num, ord) "
            "  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.num "
            "  ORDER BY k.ord) "
            "FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_class ic ON ic.oid = i.indexrelid "
            "WHERE NOT i.indisprimary AND n.nspname = ANY(%s) ORDER BY 1, 2, 3",
            names,
        )
        return Catalog(
            tables=tuple(TableInfo(s, t, c) for s, t, c in tables),
            columns=tuple(self._column(row) for row in columns),
            primary_keys={(r[0], r[1]): tuple(r[4]) for r in constraints if r[3] == "p"},
            foreign_keys=tuple(
                ForeignKeyInfo(r[2], r[0], r[1], tuple(r[4]), r[5], r[6], tuple(r[7]))
                for r in constraints
                if r[3] == "f"
            ),
            indexes=tuple(IndexInfo(r[0], r[1], r[2], bool(r[3]), tuple(r[4])) for r in indexes),
        )

    def _column(self, row: Row) -> ColumnInfo:
        schema, table, name, pos, formatted, nullable, default, comment, auto, labels = row
        if labels is not None:
            native = "enum(" + ",".join(self.string_literal(v) for v in labels) + ")"
        else:
            native = _normalise_type(formatted)
        if default is not None:
            default = _CAST.sub("", default)
            if default.upper() == "NULL":
                default = None
            elif _NUMERIC.match(native):  # '1.5'::double precision, '0'::bigint -> as MySQL
                number = _QUOTED_NUMBER.fullmatch(default)
                default = number.group(1) if number else default
        return ColumnInfo(
            schema=schema,
            table=table,
            name=name,
            position=int(pos),
            native_type=native,
            nullable=bool(nullable),
            default=default,
            comment=comment,
            autoincrement=bool(auto),
        )

    def referencing_schemas(self, run: Run, schemas: Sequence[str]) -> list[str]:
        rows = run(
            "SELECT DISTINCT n.nspname FROM pg_constraint con "
            "JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_class fc ON fc.oid = con.confrelid "
            "JOIN pg_namespace fn ON fn.oid = fc.relnamespace "
            "WHERE con.contype = 'f' AND fn.nspname = ANY(%s) AND NOT n.nspname = ANY(%s)",
            (list(schemas), list(schemas)),
        )
        return sorted(r[0] for r in rows)

    # -- DDL -----------------------------------------------------------------------------
    def create_schema_sql(self, schema: str) -> str:
        return f"CREATE SCHEMA IF NOT EXISTS {self.quote(schema)}"

    def drop_schema_sql(self, schema: str) -> str:
        return f"DROP SCHEMA IF EXISTS {self.quote(schema)} CASCADE"

    def schema_exists_sql(self) -> str:
        return "SELECT 1 FROM pg_namespace WHERE nspname = %s"

    def comment_statements(
        self, full_name: str, table_comment: str, column_comments: dict[str, str]
    ) -> list[str]:
        statements = [f"COMMENT ON TABLE {full_name} IS {self.string_literal(table_comment)}"]
        statements += [
            f"COMMENT ON COLUMN {full_name}.{self.quote(col)} IS {self.string_literal(text)}"
            for col, text in column_comments.items()
        ]
        return statements

    def bool_literal(self, value: bool) -> str:
        return "true" if value else "false"

    def replica_identity_sql(self, full_name: str, mode: str) -> str | None:
        return f"ALTER TABLE {full_name} REPLICA IDENTITY {mode.upper()}"

    def string_literal(self, value: str) -> str:
        return "'" + value.replace("'", "''") + "'"

    def pre_table_statements(
        self, schema: str, table: str, enums: dict[str, tuple[str, ...]]
    ) -> list[str]:
        # One type per set of values and schema, shared by its columns (as the reference does).
        statements = []
        for type_name, values in enums.items():
            labels = ", ".join(self.string_literal(v) for v in values)
            statements.append(
                "DO $$ BEGIN CREATE TYPE "
                f"{self.full_name(schema, type_name)} AS ENUM ({labels}); "
                "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
            )
        return statements

    def index_statements(
        self, schema: str, table: str, indexes: Sequence[tuple[bool, tuple[str, ...]]]
    ) -> tuple[list[str], list[str]]:
        statements = []
        for unique, cols in indexes:
            name = f"idx_{table}_{'_'.join(cols)[:30]}"[:63]
            statements.append(
                f"CREATE {'UNIQUE ' if unique else ''}INDEX {self.quote(name)} ON "
                f"{self.full_name(schema, table)} ({', '.join(map(self.quote, cols))})"
            )
        return [], statements

    def drop_table_statements(self, schema: str, table: str) -> list[str]:
        """DROP TABLE, then the table's enum types (of its schema) no other column uses.

        Enum types are shared by every column with the same values, so a type still in use
        stays; one another object depends on (a domain) stays too, as on the reference.
        """
        full = self.full_name(schema, table)
        return [
            "DO $dj_drop$ DECLARE enum_type regtype; enum_types regtype[]; BEGIN "
            "enum_types := ARRAY(SELECT DISTINCT a.atttypid::regtype "
            "FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
            f"WHERE a.attrelid = {self.string_literal(full)}::regclass "
            "AND a.attnum > 0 AND NOT a.attisdropped AND t.typtype = 'e' "
            f"AND t.typnamespace = {self.string_literal(self.quote(schema))}::regnamespace); "
            f"DROP TABLE {full}; "
            "FOREACH enum_type IN ARRAY enum_types LOOP "
            "IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE atttypid = enum_type "
            "AND attnum > 0 AND NOT attisdropped) THEN "
            "BEGIN EXECUTE 'DROP TYPE IF EXISTS ' || enum_type::text; "
            "EXCEPTION WHEN dependent_objects_still_exist THEN NULL; END; "
            "END IF; END LOOP; END $dj_drop$"
        ]

    def enum_type_name(self, schema: str, values: Sequence[str]) -> str:
        digest = hashlib.md5("_".join(sorted(values)).encode()).hexdigest()[:8]
        return self.full_name(schema, f"enum_{digest}")

    # -- loading and deleting ------------------------------------------------------------
    def on_duplicate_sql(
        self, full_name: str, columns: Sequence[str], primary_key: Sequence[str], *, replace: bool
    ) -> str:
        updates = [c for c in columns if c not in primary_key]
        target = ", ".join(self.quote(c) for c in primary_key)
        if replace and primary_key and updates:
            sets = ", ".join(f"{self.quote(c)} = EXCLUDED.{self.quote(c)}" for c in updates)
            return f" ON CONFLICT ({target}) DO UPDATE SET {sets}"
        # only a duplicate primary key is skipped: another unique index still raises, as on
        # the reference
        return f" ON CONFLICT ({target}) DO NOTHING" if primary_key else " ON CONFLICT DO NOTHING"

    def random_hash_sql(self, expression: str) -> str:
        return f"('x' || substr(md5({expression}), 1, 8))::bit(32)::bigint"

    def cast_text_sql(self, expression: str) -> str:
        return f"CAST({expression} AS TEXT)"

    # -- bulk loading --------------------------------------------------------------------
    foreign_keys_after_load = True

    def bulk_insert(self, raw: Any, full_name: str, columns: Sequence[str], batch: Any) -> int:
        """``COPY ... FROM STDIN (FORMAT csv)`` of the batch's CSV text (see bulk_load)."""
        import pyarrow as pa

        from .bulk_load import copy_csv

        if batch.num_rows == 0:
            return 0
        cols = ", ".join(self.quote(c) for c in columns)
        sql = f"COPY {full_name} ({cols}) FROM STDIN WITH (FORMAT csv, ENCODING 'UTF8')"
        with raw.cursor() as cursor:
            cursor.copy_expert(sql, pa.BufferReader(copy_csv(batch)), size=1 << 20)
            return int(cursor.rowcount) if cursor.rowcount >= 0 else int(batch.num_rows)
