"""A database connection: one adapter, one driver connection, transactions and reconnection.

Values always travel as driver parameters; SQL text is always formatted by the driver, so literal
``%`` in SQL text is written ``%%``.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .adapters import get_adapter
from .adapters.base import ConnectParams, Row, ServerIdentity
from .catalog import Catalog
from .cursors import DictCursor, RowsCursor, column_names
from .errors import DataJointError, LostConnectionError
from .settings import global_config

if TYPE_CHECKING:
    from .adapters.base import Adapter
    from .settings import Config

logger = logging.getLogger("datajoint_core")
sql_logger = logging.getLogger("datajoint_core.sql")
_READ_ONLY_SQL = re.compile(r"\s*(SELECT|SHOW)\b", re.IGNORECASE)


class Connection:
    """A connection to one server.

    As the reference spells it: ``Connection(host, user, password, port=None, use_tls=None)``;
    ``host`` may carry the port (``"db:3306"``); what is not given comes from ``dj.config``,
    which the connection then shares (``config_override`` gives it a Config of its own).
    :meth:`from_config` makes one from a Config alone (as ``dj.Instance`` does).

    >>> conn = Connection("127.0.0.1:3306", "root", "")          # doctest: +SKIP
    >>> conn.query("SELECT %s + 1", (1,)).fetchall()              # doctest: +SKIP
    ((2,),)
    """

    def __init__(
        self,
        host: str | None = None,
        user: str | None = None,
        password: str | None = None,
        port: int | None = None,
        use_tls: bool | dict[str, Any] | None = None,
        *,
        database_name: str | None = None,
        backend: str | None = None,
        config_override: Config | None = None,
        connect: bool = True,
    ) -> None:
        config = config_override if config_override is not None else global_config()
        host = host if host is not None else config["database.host"]
        if host.count(":") == 1 and not host.startswith("/"):  # "host:port": the port wins
            host, _, given = host.partition(":")
            port = int(given)
        self._setup(
            config,
            backend or config["database.backend"],
            ConnectParams(
                host=host,
                port=port if port is not None else config.port,
                user=user if user is not None else config["database.user"],
                password=password if password is not None else config["database.password"],
                database=database_name if database_name is not None else config["database.name"],
                use_tls=use_tls if use_tls is not None else config["database.use_tls"],
            ),
            connect,
        )

    @classmethod
    def from_config(cls, config: Config, *, connect: bool = True) -> Connection:
        """A connection configured by ``config`` alone (its ``database.*`` settings)."""
        conn = cls.__new__(cls)
        host, port = config["database.host"], config.port
        if host.count(":") == 1 and not host.startswith("/"):  # "host:port": the port wins
            host, _, given = host.partition(":")
            port = int(given)
        params = ConnectParams(
            host=host,
            port=port,
            user=config["database.user"],
            password=config["database.password"],
            database=config["database.name"],
            use_tls=config["database.use_tls"],
        )
        conn._setup(config, config["database.backend"], params, connect)
        return conn

    def _setup(self, config: Config, backend: str, params: ConnectParams, connect: bool) -> None:
        self.config = config
        self.adapter: Adapter = get_adapter(backend)
        self.params = params
        self.activated_schemas: set[str] = set()
        self.schemas: dict[str, Any] = {}  # schema name -> the Schema objects activated on it
        self.catalog = Catalog(self.adapter, self.fetchall)  # headings of the schemas read
        self._dependencies: Any = None
        self._raw: Any = None
        self._closed = False  # close() was called: a query reconnects only if allowed
        self._in_transaction = False
        self._read_only = False
        self._locks: set[str] = set()
        self._identity: ServerIdentity | None = None
        self._query_cache: str | None = None
        self._lock = threading.RLock()
        if connect:
            self.connect()

    # -- life cycle ----------------------------------------------------------------------
    def connect(self) -> None:
        """Open (or reopen) the driver connection."""
        self.close()
        self._raw = self.adapter.connect(self.params)
        self._closed = False
        self._in_transaction = False
        self._identity = None
        if self._read_only:  # a new session: read-only again before anything else runs
            self._execute(self.adapter.read_only_session_sql, ()).close()

    def close(self) -> None:
        """Close the driver connection. A transaction open on it is lost (the server rolls it
        back); a later query reconnects when ``database.reconnect`` allows it."""
        self._locks.clear()  # the server releases a session's locks with it
        self._closed = True
        if self._raw is not None:
            try:
                self._raw.close()
            except Exception:  # closing a dead connection is not an error worth reporting
                pass
            self._raw = None

    def ping(self) -> None:
        """Raise :class:`~datajoint_core.errors.LostConnectionError` unless the server answers."""
        if self._raw is None:
            raise LostConnectionError("the connection is closed")
        try:
            self.adapter.ping(self._raw)
        except Exception as err:
            raise LostConnectionError(f"the server does not answer: {err}") from err

    @property
    def is_connected(self) -> bool:
        try:
            self.ping()
        except LostConnectionError:
            return False
        return True

    @property
    def backend(self) -> str:
        return self.adapter.name

    @property
    def conn_info(self) -> dict[str, Any]:
        """What the connection was made with, keyed as the reference keys it (``ssl`` only when
        TLS was not turned off; ``ssl_input`` is the ``use_tls`` given)."""
        p = self.params
        info: dict[str, Any] = {
            "host": p.host,
            "port": p.port,
            "user": p.user,
            "passwd": p.password,
            "database_name": p.database,
        }
        if p.use_tls is not False:
            info["ssl"] = p.use_tls if isinstance(p.use_tls, dict) else True
        info["ssl_input"] = p.use_tls
        return info

    @property
    def connection_id(self) -> int:
        """The server's id of this session."""
        return self.session_id()

    def get_user(self) -> str:
        """The account the server says this session runs as (``user@host`` on MySQL)."""
        return str(self.fetchall("SELECT CURRENT_USER")[0][0])  # standard SQL: both backends

    def register(self, schema: Any) -> None:
        """Note a Schema activated on this connection (``connection.schemas``)."""
        self.schemas[schema.database] = schema
        self.activated_schemas.add(schema.database)
        if self._dependencies is not None:
            self._dependencies.clear()

    @property
    def dependencies(self) -> Any:
        """The foreign-key graph of the schemas activated on this connection, as the reference
        offers it (:class:`~datajoint_core.dependencies.Dependencies`, loaded on demand)."""
        if self._dependencies is None:
            from .dependencies import Dependencies

            self._dependencies = Dependencies(self)
        return self._dependencies

    def __repr__(self) -> str:
        p = self.params
        state = "connected" if self.is_connected else "disconnected"
        database = f"/{p.database}" if p.database else ""
        return f"DataJoint connection ({state}) {p.user}@{p.host}:{p.port}{database}"

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- queries -------------------------------------------------------------------------
    def query(
        self,
        sql: str,
        args: Sequence[Any] = (),
        *,
        as_dict: bool = False,
        suppress_warnings: bool = True,
        reconnect: bool | None = None,
    ) -> Any:
        """Execute ``sql`` and return the driver cursor (``fetchone()``, ``fetchall()``,
        ``rowcount``); ``as_dict=True`` gives rows as dicts. A lost connection is reopened when
        ``reconnect`` (default: ``database.reconnect``) allows, but never inside a transaction.
        """
        with self._lock:
            cached = self._cached(sql, args)
            if cached is None:
                with warnings.catch_warnings():
                    if suppress_warnings:
                        warnings.simplefilter("ignore")
                    cursor = self._execute(sql, args, reconnect)
                if self._query_cache is not None:
                    cached = column_names(cursor), [tuple(r) for r in cursor.fetchall()]
                    cursor.close()
                    self._store(sql, args, *cached)
            if cached is not None:
                cursor = RowsCursor(cached[1], cached[0])
            return DictCursor(cursor) if as_dict else cursor

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Execute ``sql`` (through :meth:`query`) and return all its rows."""
        with self._lock:
            cursor = self.query(sql, params)
            try:
                with self.translating():
                    return list(cursor.fetchall())
            finally:
                cursor.close()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Execute a statement (through :meth:`query`); return the number of rows it affected."""
        with self._lock:
            cursor = self.query(sql, params)
            count = int(cursor.rowcount)
            cursor.close()
            return count

    # -- the query cache -------------------------------------------------------------------
    def set_query_cache(self, query_cache: str | None = None) -> None:
        """Serve reads from files under ``config["query_cache"]``, keyed by ``query_cache`` and
        the query; refuse every statement but SELECT / SHOW meanwhile. None turns it off."""
        self._query_cache = query_cache

    def purge_query_cache(self) -> None:
        """Delete the cached results (the files of ``config["query_cache"]``)."""
        folder = self.config["query_cache"]
        if folder is not None and Path(folder).is_dir():
            for path in Path(folder).iterdir():
                if path.is_file():
                    path.unlink()

    def _cache_path(self, sql: str, params: Sequence[Any]) -> Path:
        from .blob import pack

        folder = self.config["query_cache"]
        if not folder:
            raise DataJointError(
                "Provide filepath dj.config['query_cache'] when using query caching."
            )
        key = str(self._query_cache).encode() + pack(list(params)) + sql.encode()
        return Path(folder) / hashlib.md5(key).hexdigest()

    def _cached(self, sql: str, params: Sequence[Any]) -> tuple[list[str], list[Row]] | None:
        """The columns and rows cached for a read; None when not cached (or caching is off)."""
        if self._query_cache is None:
            return None
        if not _READ_ONLY_SQL.match(sql):
            raise DataJointError("Only SELECT queries are allowed when query caching is on.")
        from .blob import unpack

        try:
            data = self._cache_path(sql, params).read_bytes()
        except FileNotFoundError:
            return None
        columns, rows = unpack(data)
        return list(columns), [tuple(row) for row in rows]

    def _store(self, sql: str, params: Sequence[Any], columns: list[str], rows: list[Row]) -> None:
        from .blob import pack

        self._cache_path(sql, params).write_bytes(pack([columns, [list(r) for r in rows]]))

    def stream(
        self, sql: str, params: Sequence[Any] = (), batch_rows: int = 10_000
    ) -> Iterator[list[Row]]:
        """Yield the rows of a query in lists of ``batch_rows`` without holding them all.

        Outside a transaction, the read runs in its own transaction (PostgreSQL cursors need one).
        """
        own = not self._in_transaction
        if own:
            self.start_transaction()
        finished = False
        try:
            started = time.perf_counter()
            rows = 0
            with self.translating():
                for batch in self.adapter.stream(self._raw, sql, tuple(params), batch_rows):
                    rows += len(batch)
                    yield batch
            self._log(sql, started, rows)
            finished = True
        finally:
            if own and self._in_transaction:
                if finished:
                    self.commit_transaction()
                else:  # an error, or the consumer stopped early
                    self._safe_rollback()

    def stream_arrow(
        self, sql: str, params: Sequence[Any], schema: Any, batch_rows: int = 50_000
    ) -> Iterator[Any] | None:
        """Record batches of ``schema`` through the backend's bulk export (PostgreSQL COPY),
        inside the open transaction; None where the backend has no such path."""
        if not self._in_transaction:
            raise DataJointError("stream_arrow() reads inside a transaction (a snapshot)")
        batches = self.adapter.stream_arrow(self._raw, sql, tuple(params), schema, batch_rows)
        if batches is None:
            return None
        return self._translated(batches)

    def _translated(self, batches: Iterator[Any]) -> Iterator[Any]:
        with self.translating():
            yield from batches

    def _execute(self, sql: str, params: Sequence[Any], reconnect: bool | None = None) -> Any:
        if reconnect is None:
            reconnect = bool(self.config["database.reconnect"])
        if self._raw is None:
            if self._in_transaction:
                self._in_transaction = False
                raise LostConnectionError(
                    "the connection was closed inside a transaction; the server rolled it back"
                )
            if self._closed and not reconnect:
                raise LostConnectionError("the connection is closed (and reconnect is off)")
            self.connect()
        started = time.perf_counter()
        try:
            cursor = self.adapter.cursor(self._raw)
            cursor.execute(sql, tuple(params))
        except Exception as err:
            error = self._translate(err)
            if error is err:
                raise
            if not isinstance(error, LostConnectionError):
                raise error from err
            if self._in_transaction:
                self._in_transaction = False
                self.close()
                raise LostConnectionError(
                    "lost the connection inside a transaction; the server rolled it back"
                ) from err
            if self._locks:  # a new session would not hold them: never carry on unlocked
                held = ", ".join(sorted(self._locks))
                self._locks.clear()
                self.close()
                raise LostConnectionError(
                    f"lost the connection while holding the lock(s) {held}; they are released"
                ) from err
            if not reconnect:
                raise error from err
            logger.warning("lost the connection to %s; reconnecting", self.params.host)
            self.connect()
            cursor = self.adapter.cursor(self._raw)
            with self.translating():
                cursor.execute(sql, tuple(params))
        self._log(sql, started, getattr(cursor, "rowcount", -1))
        return cursor

    @contextmanager
    def translating(self) -> Iterator[None]:
        """The one place driver errors become DataJoint errors: what the adapter recognises
        (duplicates, missing tables, lost connections, ...) is raised as DataJoint's error from
        the driver's; anything else passes through unchanged."""
        try:
            yield
        except Exception as err:
            translated = self._translate(err)
            if translated is err:
                raise
            raise translated from err

    def _translate(self, err: BaseException) -> BaseException:
        if isinstance(err, DataJointError):
            return err
        return self.adapter.translate_error(err) or err

    def _log(self, sql: str, started: float, rows: int) -> None:
        if sql_logger.isEnabledFor(logging.DEBUG):
            elapsed = time.perf_counter() - started
            text = " ".join(sql.split())
            if len(text) > 500:  # multi-row INSERTs run to megabytes
                text = f"{text[:400]} ... ({len(text):,} characters)"
            sql_logger.debug("%.3fs %s rows  %s", elapsed, rows, text)

    # -- transactions --------------------------------------------------------------------
    @property
    def in_transaction(self) -> bool:
        return self._in_transaction and self._raw is not None

    def start_transaction(self, *, snapshot: bool = False) -> None:
        """Begin a transaction; ``snapshot=True`` makes it a read-only consistent snapshot."""
        if self.in_transaction:
            raise DataJointError("Nested transactions are not supported.")
        sql = self.adapter.snapshot_transaction_sql if snapshot else None
        self.query(sql or self.adapter.start_transaction_sql).close()
        self._in_transaction = True

    def commit_transaction(self) -> None:
        self.query(self.adapter.commit_sql).close()
        self._in_transaction = False

    def cancel_transaction(self) -> None:
        """Roll back the open transaction (nothing to do when its connection is gone)."""
        if self._raw is None:
            self._in_transaction = False
            return
        try:
            self.query(self.adapter.rollback_sql).close()
        finally:
            self._in_transaction = False

    def _safe_rollback(self) -> None:
        try:
            self.cancel_transaction()
        except DataJointError:
            pass

    @property
    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """``with conn.transaction: ...`` commits on success and rolls back on any error."""
        self.start_transaction()
        try:
            yield self
        except BaseException:
            self._safe_rollback()
            raise
        self.commit_transaction()

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """A read-only transaction that sees one point in time for all its reads."""
        self.start_transaction(snapshot=True)
        try:
            yield self
        finally:
            self._safe_rollback()

    @contextmanager
    def shared_snapshot(self, readers: int) -> Iterator[list[Connection]]:
        """``readers`` connections -- this one first, the others opened here -- each in a
        read-only transaction, all seeing the same point in time (for parallel readers).

        PostgreSQL shares an exported snapshot; MySQL / MariaDB briefly block commits while
        the readers' transactions start, which needs the RELOAD privilege (AccessError says so
        otherwise). The other connections are closed on exit.

        >>> with conn.shared_snapshot(4) as group:          # doctest: +SKIP
        ...     counts = [c.fetchall("SELECT count(*) FROM t") for c in group]
        """
        if readers < 1:
            raise DataJointError(f"shared_snapshot needs at least one reader, not {readers}")
        group = [self, *(self._sibling() for _ in range(readers - 1))]
        try:
            self.adapter.start_shared_snapshot(group, self._sibling)
            yield group
        finally:
            for conn in group:
                if conn.in_transaction:
                    conn._safe_rollback()
            for conn in group[1:]:
                conn.close()

    def _sibling(self) -> Connection:
        """Another connection like this one (same settings, same adapter and driver)."""
        other = Connection.__new__(Connection)
        other._setup(self.config, self.adapter.name, self.params, connect=False)
        other.adapter = self.adapter
        other.connect()
        return other

    # -- the session ---------------------------------------------------------------------
    def session_id(self) -> int:
        return int(self.fetchall(self.adapter.session_id_sql())[0][0])

    def server_identity(self) -> ServerIdentity:
        """What the server reports about itself: two connections reach the same server when
        their identities say so (:meth:`ServerIdentity.same_server`), however they are spelled."""
        if self._identity is None:
            self._identity = self.adapter.server_identity(self.fetchall)
        return self._identity

    def set_read_only(self) -> None:
        """Make the session read-only (kept across reconnections): every later statement that
        writes, DDL included, is refused by the server."""
        with self._lock:
            if self._in_transaction:
                raise DataJointError("set_read_only() cannot run inside a transaction")
            self._read_only = True
            self.query(self.adapter.read_only_session_sql).close()

    @property
    def read_only(self) -> bool:
        return self._read_only

    def try_lock(self, name: str) -> bool:
        """Take the session-level lock ``name`` without waiting; False if another session holds
        it. The server releases it when this session ends; a connection holding locks never
        reconnects silently."""
        with self._lock:
            if name in self._locks:  # taken once: the servers would count a second take
                return True
            taken = bool(self.fetchall(self.adapter.try_lock_sql, (name,))[0][0])
            if taken:
                self._locks.add(name)
            return taken

    def release_lock(self, name: str) -> None:
        with self._lock:
            if name in self._locks:
                self._locks.discard(name)
                if self._raw is not None:
                    self.fetchall(self.adapter.release_lock_sql, (name,))

    # -- helpers -------------------------------------------------------------------------

    def list_schemas(self) -> list[str]:
        return self.adapter.list_schemas(self.fetchall)

    def bulk_insert(self, full_name: str, columns: Sequence[str], batch: Any) -> int:
        """Load a ``pyarrow.RecordBatch`` into a table with the backend's bulk path (COPY,
        LOAD DATA), inside the current transaction if one is open; return the rows loaded."""
        with self._lock:
            if self._raw is None:
                self.connect()
            started = time.perf_counter()
            try:
                with self.translating():
                    count = self.adapter.bulk_insert(self._raw, full_name, columns, batch)
            except LostConnectionError:
                if self._in_transaction:  # the server rolled it back
                    self._in_transaction = False
                    self.close()
                raise
            self._log(f"bulk insert into {full_name}", started, count)
            return count
