"""The MySQL drivers: mysqlclient (C, the ``mysql-fast`` extra) when installed, else pymysql.

Both speak DB-API with ``%s`` parameters and the same error codes; what differs is gathered here.
mysqlclient reads the protocol in C: 1.3x (wide rows) to 2x (narrow rows) the speed of pymysql on
the packed export of ``mysql_arrow``, and every query of the session is on the same connection
(the export must run inside the session's snapshot). ``DJ_MYSQL_DRIVER=pymysql`` (or
``mysqlclient``) chooses one explicitly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from .base import ConnectParams

DRIVERS = ("mysqlclient", "pymysql")


@dataclass(frozen=True)
class Driver:
    name: str
    error: type[BaseException]  # the base class of the driver's errors
    interface_error: type[BaseException]  # a closed or broken connection object
    integrity_error: type[BaseException]
    unbuffered_cursor: type  # streams a result instead of holding it

    def connect(self, params: ConnectParams) -> Any:
        tls: dict[str, Any] = {}
        # a host that is a path names the server's Unix socket
        where: dict[str, Any] = {"host": params.host}
        if params.host.startswith("/"):
            where = {"host": "localhost", "unix_socket": params.host}
        if self.name == "mysqlclient":
            if isinstance(params.use_tls, dict):
                tls = {"ssl": params.use_tls}
            elif params.use_tls:
                tls = {"ssl_mode": "REQUIRED"}
            import MySQLdb

            return MySQLdb.connect(
                **where,
                port=params.port,
                user=params.user or "",
                password=params.password or "",
                autocommit=True,
                charset="utf8mb4",
                connect_timeout=params.connect_timeout,
                local_infile=True,
                binary_prefix=True,  # bytes as _binary'...', as pymysql sends them
                **tls,
            )
        import pymysql

        if isinstance(params.use_tls, dict):
            tls = {"ssl": params.use_tls}
        elif params.use_tls:
            tls = {"ssl": {"ssl": {}}}
        return pymysql.connect(
            **where,
            port=params.port,
            user=params.user or "",
            password=params.password or "",
            autocommit=True,
            charset="utf8mb4",
            connect_timeout=params.connect_timeout,
            local_infile=True,
            **tls,
        )

    def forget(self, cursor: Any) -> None:
        """After a failed close (the connection is gone): stop the cursor and its result from
        trying again when they are garbage-collected (pymysql does, and raises there)."""
        result = getattr(cursor, "_result", None)
        if result is not None and hasattr(result, "unbuffered_active"):
            result.unbuffered_active = False
        cursor.connection = None

    def ping(self, raw: Any) -> None:
        if self.name == "mysqlclient":
            raw.ping()
        else:
            raw.ping(reconnect=False)


def _mysqlclient() -> Driver:
    import MySQLdb
    import MySQLdb.cursors

    return Driver(
        "mysqlclient",
        MySQLdb.MySQLError,
        MySQLdb.InterfaceError,
        MySQLdb.IntegrityError,
        MySQLdb.cursors.SSCursor,
    )


def _pymysql() -> Driver:
    import pymysql
    import pymysql.cursors

    return Driver(
        "pymysql",
        pymysql.MySQLError,
        pymysql.err.InterfaceError,
        pymysql.err.IntegrityError,
        pymysql.cursors.SSCursor,
    )


def load_driver(name: str | None = None) -> Driver:
    """The named driver, or ``DJ_MYSQL_DRIVER``'s, or the fastest one installed."""
    name = name or os.environ.get("DJ_MYSQL_DRIVER") or None
    if name not in (None, *DRIVERS):
        raise ConfigError(f"unknown MySQL driver {name!r}; choose one of {list(DRIVERS)}")
    if name == "pymysql":
        return _pymysql()
    try:
        return _mysqlclient()
    except ImportError:
        if name == "mysqlclient":
            raise ConfigError(
                "mysqlclient is not installed: pip install 'datajoint-subsetter[mysql-fast]'"
            ) from None
        return _pymysql()
