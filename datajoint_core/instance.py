"""``dj.Instance`` (its own config and connection), the global default instance, thread-safe mode.

>>> inst = Instance(host="127.0.0.1", user="root", password="", safemode=False)  # doctest: +SKIP
>>> schema = inst.Schema("my_db")                                                 # doctest: +SKIP
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from .settings import create_config

if TYPE_CHECKING:
    from .connection import Connection
    from .schema import Schema
    from .settings import Config
    from .table import FreeTable


class Instance:
    """A configuration and a connection of its own, independent of ``dj.config``.

    Keyword arguments override settings; ``database__reconnect=False`` names a nested key.
    An override that names no setting raises :class:`~datajoint_core.errors.ConfigError`.
    """

    def __init__(
        self,
        host: str,
        user: str | None,
        password: str | None,
        port: int | None = None,
        use_tls: bool | dict[str, Any] | None = None,
        backend: str | None = None,
        *,
        connect: bool = True,
        **overrides: Any,
    ) -> None:
        config = create_config()
        config.update(overrides)
        if host.count(":") == 1 and not host.startswith("/"):  # "host:port": the port wins
            host, _, given = host.partition(":")
            port = int(given)
        config["database.host"] = host
        config["database.user"] = user
        config["database.password"] = password
        if backend is not None:
            config["database.backend"] = backend
            if port is None and "database__port" not in overrides:
                config["database.port"] = None  # the new backend's default
        if port is not None:
            config["database.port"] = port
        if use_tls is not None:
            config["database.use_tls"] = use_tls
        self.config: Config = config
        self._connection: Connection | None = None
        self._lock = threading.Lock()
        if connect:
            _ = self.connection

    @property
    def connection(self) -> Connection:
        with self._lock:
            if self._connection is None:
                from .connection import Connection

                self._connection = Connection.from_config(self.config)
            return self._connection

    def Schema(
        self, schema_name: str, context: dict[str, Any] | None = None, **kwargs: Any
    ) -> Schema:
        """A Schema bound to this Instance's connection."""
        from .schema import Schema

        return Schema(schema_name, context=context, connection=self.connection, **kwargs)

    def FreeTable(self, full_table_name: str) -> FreeTable:
        """A table of this Instance's connection named ``schema.table``."""
        from .table import FreeTable

        return FreeTable(self.connection, full_table_name)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()

    def __enter__(self) -> Instance:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        if self._connection is not None:
            return f"Instance({self._connection!r})"
        c = self.config
        return f"Instance({c['database.backend']}://{c['database.user']}@{c['database.host']})"
