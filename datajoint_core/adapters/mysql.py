"""MySQL 8 and MariaDB 10.11+ through mysqlclient, or pymysql where it is not installed."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

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
from .mysql_driver import Driver, load_driver

CORE_TO_NATIVE = {
    "int8": "tinyint",
    "int16": "smallint",
    "int32": "int",
    "int64": "bigint",
    "uint8": "tinyint unsigned",
    "uint16": "smallint unsigned",
    "uint32": "int unsigned",
    "uint64": "bigint unsigned",
    "float32": "float",
    "float64": "double",
    "bool": "tinyint",
    "date": "date",
    "uuid": "binary(16)",
    "json": "json",
    "bytes": "longblob",
}
NATIVE_TO_CORE = {
    "tinyint": "int8",
    "smallint": "int16",
    "int": "int32",
    "bigint": "int64",
    "tinyint unsigned": "uint8",
    "smallint unsigned": "uint16",
    "int unsigned": "uint32",
    "bigint unsigned": "uint64",
    "float": "float32",
    "double": "float64",
    "date": "date",
    "binary(16)": "uuid",
    "json": "json",
    "longblob": "bytes",
    "blob": "bytes",
    "mediumblob": "bytes",
    # MariaDB stores JSON as LONGTEXT with a CHECK (json_valid(...)): read_catalog finds those
}

_DUPLICATE = {1062, 1586}
_FOREIGN_KEY = {1216, 1217, 1451, 1452}
_MISSING = {1049, 1051, 1146}
_ACCESS = {1044, 1045, 1142, 1143, 1227, 1370}
_LOST = {0, 2003, 2006, 2013, 2014, 2055, 1927, 4031}
_DISPLAY_WIDTH = re.compile(r"^(tinyint|smallint|mediumint|int|bigint)\(\d+\)")
_QUOTED = re.compile(r"('(?:[^']|'')*')")
_JSON_CHECK = re.compile(r"json_valid\(`((?:[^`]|``)+)`\)", re.IGNORECASE)


def _lower_outside_quotes(text: str) -> str:
    """Lower-case a type but not its enum labels: ``ENUM('Happy')`` -> ``enum('Happy')``."""
    return "".join(p if i % 2 else p.lower() for i, p in enumerate(_QUOTED.split(text)))


def _normalise_type(column_type: str) -> str:
    text = _DISPLAY_WIDTH.sub(r"\1", _lower_outside_quotes(column_type.strip()))
    return text.replace(" zerofill", "")


class MySQLAdapter(Adapter):
    facts = backend("mysql")
    name = facts.name
    supports_column_position = True
    quote_char = "`"
    sqlglot_dialect = facts.sqlglot_dialect
    default_port = facts.default_port
    multi_table_delete = True
    unbounded_limit = "18446744073709551615"
    snapshot_transaction_sql = "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"
    read_only_session_sql = "SET SESSION TRANSACTION READ ONLY"
    # lock names are at most 64 characters: callers pass a digest
    try_lock_sql = "SELECT GET_LOCK(%s, 0)"
    release_lock_sql = "SELECT RELEASE_LOCK(%s)"

    # -- connections ---------------------------------------------------------------------
    def __init__(self, driver: str | None = None) -> None:
        self._driver_name = driver
        self._driver: Driver | None = None

    @property
    def driver(self) -> Driver:
        """The driver, loaded on first use (``driver`` or ``DJ_MYSQL_DRIVER`` names one)."""
        if self._driver is None:
            self._driver = load_driver(self._driver_name)
        return self._driver

    def connect(self, params: ConnectParams) -> Any:
        try:
            return self.driver.connect(params)
        except self.driver.error as err:
            raise self.translate_error(err) or errors.QueryError(str(err)) from err

    def ping(self, raw: Any) -> None:
        self.driver.ping(raw)

    def translate_error(self, err: BaseException) -> errors.DataJointError | None:
        if not isinstance(err, self.driver.error):
            return None
        code = err.args[0] if err.args and isinstance(err.args[0], int) else -1
        message = str(err.args[1]) if len(err.args) > 1 else str(err)
        if isinstance(err, self.driver.interface_error) or code in _LOST:
            return errors.LostConnectionError(f"lost connection to the server: {message}")
        if code in _DUPLICATE:
            return errors.DuplicateError(message)
        if code in _FOREIGN_KEY:
            return errors.IntegrityError(message)
        if code in _MISSING:
            return errors.MissingTableError(message)
        if code in _ACCESS:
            return errors.AccessError(message)
        return errors.QueryError(f"({code}) {message}")

    def encode_uuid(self, value: Any) -> Any:
        return value.bytes  # uuid is binary(16)

    def session_id_sql(self) -> str:
        return "SELECT CONNECTION_ID()"

    def kill_session_sql(self) -> str:
        return "KILL %s"

    def start_shared_snapshot(
        self, readers: Sequence[Reader], open_extra: Callable[[], Reader]
    ) -> None:
        """As mydumper does: a short-lived extra connection blocks commits server-wide (MariaDB
        ``BACKUP STAGE BLOCK_COMMIT``, MySQL ``FLUSH TABLES WITH READ LOCK``; both need the
        RELOAD privilege) while every reader starts ``START TRANSACTION WITH CONSISTENT
        SNAPSHOT``, then releases it at once: held for milliseconds, never while reading."""
        if len(readers) == 1:
            readers[0].start_transaction(snapshot=True)
            return
        lock = open_extra()
        try:
            mariadb = "mariadb" in str(lock.fetchall("SELECT VERSION()")[0][0]).lower()
            if mariadb:
                statements = ["BACKUP STAGE START", "BACKUP STAGE BLOCK_COMMIT"]
                release = "BACKUP STAGE END"
            else:
                statements = ["FLUSH TABLES WITH READ LOCK"]
                release = "UNLOCK TABLES"
            try:
                for sql in statements:
                    lock.execute(sql)
            except errors.AccessError as err:
                raise errors.AccessError(
                    f"{len(readers)} readers of one snapshot need the RELOAD privilege on this "
                    f"server (to hold {statements[-1]} while their transactions start): {err}; "
                    "read with one connection instead"
                ) from err
            try:
                for conn in readers:
                    conn.start_transaction(snapshot=True)
            finally:
                lock.execute(release)
        finally:
            lock.close()

    def server_identity(self, run: Run) -> ServerIdentity:
        # @@hostname/port/datadir/server_id and SHOW STATUS need no privilege; MariaDB has no
        # server_uuid (the row is just missing). The start time comes from the uptime.
        names = ("hostname", "port", "datadir", "server_id", "server_uuid")
        marks = ", ".join(["%s"] * len(names))
        found: dict[str, Any] = dict(run(f"SHOW VARIABLES WHERE Variable_name IN ({marks})", names))
        status: dict[str, Any] = dict(run("SHOW GLOBAL STATUS LIKE %s", ("Uptime",)))
        uptime = status.get("Uptime")
        now = run("SELECT UNIX_TIMESTAMP()", ())[0][0]
        started = float(now) - float(uptime) if uptime is not None else None
        stable = tuple(str(found.get(n, "")) for n in names)
        return ServerIdentity(self.name, stable, started, None)

    def cursor(self, raw: Any) -> Any:
        self._finish_stream(raw)
        return raw.cursor()

    def _finish_stream(self, raw: Any) -> None:
        """End a streamed result the caller left unread: the server sends nothing else on the
        session until it is (pymysql drained it by itself; mysqlclient refuses, error 2014)."""
        pending = getattr(raw, "_dj_stream", None)
        if pending is not None:
            raw._dj_stream = None
            pending.close()

    def _unbuffered(self, raw: Any, sql: str, params: Sequence[Any]) -> Any:
        cursor = raw.cursor(self.driver.unbuffered_cursor)
        cursor.execute(sql, tuple(params))
        return cursor

    def _close_quietly(self, cursor: Any) -> None:
        """Close a cursor after an error or an early stop: a close that fails then (the
        connection is gone; pymysql raises AttributeError) must not hide the first error."""
        try:
            cursor.close()
        except Exception:
            self.driver.forget(cursor)

    def stream(
        self, raw: Any, sql: str, params: Sequence[Any], batch_rows: int
    ) -> Iterator[list[Row]]:
        self._finish_stream(raw)
        rows = self._rows(raw, sql, params, batch_rows)
        raw._dj_stream = rows
        return rows

    def _rows(
        self, raw: Any, sql: str, params: Sequence[Any], batch_rows: int
    ) -> Iterator[list[Row]]:
        cursor = self._unbuffered(raw, sql, params)
        try:
            while rows := cursor.fetchmany(batch_rows):
                yield list(rows)
        except BaseException:
            self._close_quietly(cursor)
            raise
        cursor.close()

    def stream_arrow(
        self, raw: Any, sql: str, params: Sequence[Any], schema: Any, batch_rows: int
    ) -> Iterator[Any] | None:
        """Each row packed into one CSV line by the server, parsed by pyarrow (mysql_arrow);
        None for a query whose order the wrapping could not keep."""
        from .mysql_arrow import packed_sql

        packed = packed_sql(sql, schema, self.quote)
        if packed is None:
            return None
        self._finish_stream(raw)
        batches = self._packed(raw, packed, params, schema, batch_rows)
        raw._dj_stream = batches
        return batches

    def _packed(
        self, raw: Any, sql: str, params: Sequence[Any], schema: Any, batch_rows: int
    ) -> Iterator[Any]:
        from .mysql_arrow import stream_packed

        cursor = self._unbuffered(raw, sql, params)
        try:
            yield from stream_packed(cursor.fetchmany, schema, batch_rows)
        except BaseException:
            self._close_quietly(cursor)
            raise
        cursor.close()

    # -- types ---------------------------------------------------------------------------
    def core_to_native(self, core: str, args: tuple[str, ...], *, enum_name: str = "") -> str:
        if core in CORE_TO_NATIVE:
            return CORE_TO_NATIVE[core]
        if core == "datetime":
            return f"datetime({args[0]})" if args else "datetime"
        if core in ("decimal", "char", "varchar", "enum"):
            return f"{core}({','.join(args)})"
        if core.startswith("<"):
            return "longblob"
        raise errors.DeclarationError(f"no MySQL type for {core!r}")

    def native_to_core(self, native: str) -> str | None:
        text = _normalise_type(native)
        if text in NATIVE_TO_CORE:
            return NATIVE_TO_CORE[text]
        head = text.split("(")[0]
        if head == "enum":
            return text  # the labels as declared (spaces and case inside quotes kept)
        if head in ("decimal", "char", "varchar", "datetime"):
            return text.replace(", ", ",")
        return None

    # -- catalog -------------------------------------------------------------------------
    def list_schemas(self, run: Run) -> list[str]:
        rows = run(
            "SELECT schema_name FROM information_schema.schemata "
            "WHERE schema_name NOT IN ('information_schema','mysql','performance_schema','sys') "
            "ORDER BY schema_name",
            (),
        )
        return [r[0] for r in rows]

    def read_catalog(self, run: Run, schemas: Sequence[str]) -> Catalog:
        if not schemas:
            return Catalog((), (), {}, (), ())
        marks = ", ".join(["%s"] * len(schemas))
        args = tuple(schemas)
        tables = run(
            "SELECT table_schema, table_name, table_comment FROM information_schema.tables "
            f"WHERE table_schema IN ({marks}) AND table_type = 'BASE TABLE' "
            "ORDER BY table_schema, table_name",
            args,
        )
        columns = run(
            "SELECT table_schema, table_name, column_name, ordinal_position, column_type, "
            "is_nullable, column_default, column_comment, extra, data_type "
            f"FROM information_schema.columns WHERE table_schema IN ({marks}) "
            "ORDER BY table_schema, table_name, ordinal_position",
            args,
        )
        keys = run(
            "SELECT table_schema, table_name, column_name, constraint_name, "
            "referenced_table_schema, referenced_table_name, referenced_column_name "
            f"FROM information_schema.key_column_usage WHERE table_schema IN ({marks}) "
            "ORDER BY table_schema, table_name, constraint_name, ordinal_position",
            args,
        )
        stats = run(
            "SELECT table_schema, table_name, index_name, non_unique, column_name "
            f"FROM information_schema.statistics WHERE table_schema IN ({marks}) "
            "ORDER BY table_schema, table_name, index_name, seq_in_index",
            args,
        )
        cols = [self._column(row) for row in columns]
        if any(c.native_type == "longtext" for c in cols):
            cols = self._mariadb_json(run, schemas, cols)
        return Catalog(
            tables=tuple(TableInfo(s, t, c or "") for s, t, c in tables),
            columns=tuple(cols),
            primary_keys=_primary_keys(keys),
            foreign_keys=_foreign_keys(keys),
            indexes=_indexes(stats, keys),
        )

    def _column(self, row: Row) -> ColumnInfo:
        schema, table, name, pos, ctype, nullable, default, comment, extra, data_type = row
        native = _normalise_type(ctype)
        if data_type == "longtext" and native == "longtext" and comment.startswith(":json:"):
            native = "json"
        if default is not None and isinstance(default, bytes):
            default = default.decode()
        return ColumnInfo(
            schema=schema,
            table=table,
            name=name,
            position=int(pos),
            native_type=native,
            nullable=nullable == "YES",
            default=_mysql_default(default, native),
            comment=comment or "",
            autoincrement="auto_increment" in (extra or "").lower(),
        )

    def _mariadb_json(
        self, run: Run, schemas: Sequence[str], columns: list[ColumnInfo]
    ) -> list[ColumnInfo]:
        """MariaDB's JSON is LONGTEXT with ``CHECK (json_valid(col))``: type those columns json
        (the reference's ``:json:`` comment also says so; a native longtext stays longtext)."""
        if "mariadb" not in str(run("SELECT VERSION()", ())[0][0]).lower():
            return columns
        marks = ", ".join(["%s"] * len(schemas))
        checks = run(
            "SELECT constraint_schema, table_name, check_clause "
            f"FROM information_schema.check_constraints WHERE constraint_schema IN ({marks})",
            tuple(schemas),
        )
        found = set()
        for schema, table, clause in checks:
            match = _JSON_CHECK.fullmatch(str(clause).strip())
            if match:
                found.add((schema, table, match.group(1).replace("``", "`")))
        return [
            dataclasses.replace(c, native_type="json")
            if c.native_type == "longtext" and (c.schema, c.table, c.name) in found
            else c
            for c in columns
        ]

    def referencing_schemas(self, run: Run, schemas: Sequence[str]) -> list[str]:
        if not schemas:
            return []
        marks = ", ".join(["%s"] * len(schemas))
        rows = run(
            "SELECT DISTINCT table_schema FROM information_schema.key_column_usage "
            f"WHERE referenced_table_schema IN ({marks}) AND table_schema NOT IN ({marks})",
            tuple(schemas) * 2,
        )
        return sorted(r[0] for r in rows)

    # -- DDL -----------------------------------------------------------------------------
    def create_schema_sql(self, schema: str) -> str:
        return f"CREATE DATABASE IF NOT EXISTS {self.quote(schema)}"

    def drop_schema_sql(self, schema: str) -> str:
        return f"DROP DATABASE IF EXISTS {self.quote(schema)}"

    def schema_exists_sql(self) -> str:
        return "SELECT 1 FROM information_schema.schemata WHERE schema_name = %s"

    def table_options_sql(self, comment: str) -> str:
        return f" ENGINE=InnoDB COMMENT={self.string_literal(comment)}"

    def column_comment_sql(self, comment: str) -> str:
        return f" COMMENT {self.string_literal(comment)}"

    def index_statements(
        self, schema: str, table: str, indexes: Sequence[tuple[bool, tuple[str, ...]]]
    ) -> tuple[list[str], list[str]]:
        clauses = [
            ("UNIQUE INDEX" if unique else "INDEX") + f" ({', '.join(map(self.quote, cols))})"
            for unique, cols in indexes
        ]
        return clauses, []

    # -- loading and deleting ------------------------------------------------------------
    def on_duplicate_sql(
        self, full_name: str, columns: Sequence[str], primary_key: Sequence[str], *, replace: bool
    ) -> str:
        # Not INSERT IGNORE (it also hides foreign-key and data errors), not REPLACE (it deletes
        # the row first, which its children refuse): update in place on a duplicate key.
        if replace:
            updates = [c for c in columns if c not in primary_key] or list(primary_key)[:1]
            sets = ", ".join(f"{self.quote(c)} = VALUES({self.quote(c)})" for c in updates)
        else:
            # a no-op update, qualified: unambiguous when the rows come from INSERT ... SELECT
            target = [f"{full_name}.{self.quote(c)}" for c in (list(primary_key) or columns)[:1]]
            sets = ", ".join(f"{t} = {t}" for t in target)
        return f" ON DUPLICATE KEY UPDATE {sets}"

    def delete_by_keys_sql(self, full_name: str, columns: Sequence[str], key_query: str) -> str:
        # MariaDB runs DELETE ... WHERE k IN (SELECT ...) as a scan with a per-row subquery;
        # a multi-table DELETE with a join uses the key (performance.md).
        using = ", ".join(self.quote(c) for c in columns)
        return (
            f"DELETE {full_name} FROM {full_name} "
            f"JOIN (SELECT DISTINCT * FROM ({key_query}) AS _k0) AS _keys USING ({using})"
        )

    def delete_joined_sql(self, full_name: str, columns: Sequence[str], keys_sql: str) -> str:
        using = ", ".join(self.quote(c) for c in columns)
        return f"DELETE {full_name} FROM {full_name} JOIN ({keys_sql}) AS _keys USING ({using})"

    def delete_restricted_sql(
        self, full_name: str, key: Sequence[str], with_sql: str, condition: str
    ) -> str:
        # MariaDB has no WITH ... DELETE: select the keys (CTEs inside) and join them.
        cols = ", ".join(self.quote(c) for c in key)
        keys = f"{with_sql}SELECT {cols} FROM {full_name} WHERE {condition}"
        return self.delete_by_keys_sql(full_name, key, keys)

    def random_hash_sql(self, expression: str) -> str:
        return f"CAST(CONV(SUBSTRING(MD5({expression}), 1, 8), 16, 10) AS UNSIGNED)"

    def cast_text_sql(self, expression: str) -> str:
        return f"CAST({expression} AS CHAR)"

    # -- bulk loading --------------------------------------------------------------------
    # LOAD DATA LOCAL measured 2.8x pymysql's multi-row INSERT here; the INSERT is the fallback
    # for servers that refuse local files (MySQL 8 does by default).
    # InnoDB checks each loaded row's parents, several times slower than one anti-join per key
    key_checks_sql = {
        False: "SET SESSION foreign_key_checks = 0",
        True: "SET SESSION foreign_key_checks = 1",
    }
    _LOCAL_INFILE_REFUSED = frozenset({1148, 2068, 3948, 4166})

    def bulk_insert(self, raw: Any, full_name: str, columns: Sequence[str], batch: Any) -> int:
        """``LOAD DATA LOCAL INFILE`` of a temporary CSV file, or multi-row INSERTs."""
        if batch.num_rows == 0:
            return 0
        if getattr(raw, "_dj_local_infile", True):
            try:
                return self._load_data(raw, full_name, columns, batch)
            except self.driver.error as err:
                if not (err.args and err.args[0] in self._LOCAL_INFILE_REFUSED):
                    raise
                raw._dj_local_infile = False
        return self._insert_rows(raw, full_name, columns, batch)

    def _load_data(self, raw: Any, full_name: str, columns: Sequence[str], batch: Any) -> int:
        import os
        import tempfile

        from .bulk_load import load_data_csv

        text, binary = load_data_csv(batch)
        targets = [f"@v{i}" if i in binary else self.quote(c) for i, c in enumerate(columns)]
        sets = [f"{self.quote(columns[i])} = UNHEX(@v{i})" for i in binary]
        # CHARACTER SET binary: the bytes go in unconverted (the text is UTF-8 already)
        sql = "LOAD DATA LOCAL INFILE %s " + self.escape_percent(
            f"INTO TABLE {full_name} CHARACTER SET binary "
            "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '' "
            f"LINES TERMINATED BY X'0a' ({', '.join(targets)})"
            + (f" SET {', '.join(sets)}" if sets else "")
        )
        handle, path = tempfile.mkstemp(prefix="dj-load-", suffix=".csv")
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(memoryview(text))
            with self.cursor(raw) as cursor:
                count = int(cursor.execute(sql, (path,)))
                # LOCAL makes the server skip bad rows with a warning (it cannot stop the
                # upload): a duplicate or a missing parent must fail the load instead
                cursor.execute("SHOW WARNINGS LIMIT 5")
                problems = [w for w in cursor.fetchall() if str(w[0]).lower() != "note"]
        finally:
            os.unlink(path)
        if problems:
            _, code, message = problems[0][:3]
            err = self.driver.integrity_error(int(code), f"{full_name}: {message}")
            raise self.translate_error(err) or errors.QueryError(str(message))
        if count != batch.num_rows:
            raise errors.QueryError(f"{full_name}: loaded {count} of {batch.num_rows} rows")
        return count

    def _insert_rows(self, raw: Any, full_name: str, columns: Sequence[str], batch: Any) -> int:
        from .bulk_load import python_columns

        cols = ", ".join(self.quote(c) for c in columns)
        marks = ", ".join(["%s"] * len(columns))
        sql = self.escape_percent(f"INSERT INTO {full_name} ({cols}) VALUES ") + f"({marks})"
        rows = list(zip(*python_columns(batch)))
        with self.cursor(raw) as cursor:
            # both drivers join the rows into multi-row statements of up to ~1 MB each
            cursor.executemany(sql, rows)
        return len(rows)

    def rename_table_statements(self, renames: Sequence[tuple[str, str, str]]) -> list[str]:
        # one RENAME TABLE is atomic, whatever the number of tables
        if not renames:
            return []
        pairs = ", ".join(
            f"{self.full_name(schema, old)} TO {self.full_name(schema, new)}"
            for schema, old, new in renames
        )
        return [f"RENAME TABLE {pairs}"]


def _mysql_default(default: Any, native: str) -> str | None:
    """information_schema gives MariaDB defaults as SQL text and MySQL's as bare values."""
    if default is None:
        return None
    text = str(default)
    if text.upper() == "NULL":
        return None
    if text.startswith("'") or re.fullmatch(r"-?\d+(\.\d+)?", text):
        return text
    if re.fullmatch(r"(current_timestamp|now)(\(\d*\))?", text, re.IGNORECASE):
        return text.upper().replace("()", "")  # MariaDB: current_timestamp() -> as declared
    return "'" + text.replace("'", "''") + "'"


def _primary_keys(keys: list[Row]) -> dict[tuple[str, str], tuple[str, ...]]:
    result: dict[tuple[str, str], list[str]] = {}
    for schema, table, column, constraint, *_ in keys:
        if constraint == "PRIMARY":
            result.setdefault((schema, table), []).append(column)
    return {k: tuple(v) for k, v in result.items()}


def _foreign_keys(keys: list[Row]) -> tuple[ForeignKeyInfo, ...]:
    grouped: dict[tuple[str, str, str], list[Row]] = {}
    for row in keys:
        if row[5] is not None:
            grouped.setdefault((row[0], row[1], row[3]), []).append(row)
    return tuple(
        ForeignKeyInfo(
            name=name,
            schema=schema,
            table=table,
            columns=tuple(r[2] for r in rows),
            ref_schema=rows[0][4],
            ref_table=rows[0][5],
            ref_columns=tuple(r[6] for r in rows),
        )
        for (schema, table, name), rows in grouped.items()
    )


def _indexes(stats: list[Row], keys: list[Row]) -> tuple[IndexInfo, ...]:
    # InnoDB creates an index for each foreign key under the constraint's name: not declared.
    fk_names = {(r[0], r[1], r[3]) for r in keys if r[5] is not None}
    grouped: dict[tuple[str, str, str], tuple[bool, list[str]]] = {}
    for schema, table, index, non_unique, column in stats:
        if index == "PRIMARY" or (schema, table, index) in fk_names:
            continue
        grouped.setdefault((schema, table, index), (not int(non_unique), []))[1].append(column)
    return tuple(
        IndexInfo(schema, table, name, unique, tuple(cols))
        for (schema, table, name), (unique, cols) in grouped.items()
    )
