"""``dj.Instance`` (its own config and connection), the global default instance, thread-safe mode.

>>> inst = Instance(host="127.0.0.1", user="root", password="", safemode=False)  # doctest: +SKIP
>>> schema = inst.Schema("my_db")                                                 # doctest: +SKIP
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

from .errors import ThreadSafetyError
from .settings import Config

if TYPE_CHECKING:
    from .connection import Connection
    from .schema import Schema
    from .table import FreeTable

THREAD_SAFE_VARIABLE = "DJ_THREAD_SAFE"


def thread_safe_mode() -> bool:
    """True when ``DJ_THREAD_SAFE`` is true/1/yes; read at every call."""
    return os.environ.get(THREAD_SAFE_VARIABLE, "").strip().lower() in ("true", "1", "yes")


def check_global_access(what: str) -> None:
    if thread_safe_mode():
        raise ThreadSafetyError(
            f"{what} uses global state, which thread-safe mode ({THREAD_SAFE_VARIABLE}=true) "
            "forbids; create a dj.Instance(...) and use its Schema / FreeTable / connection"
        )


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
        config = Config.load()
        config.update(overrides)
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
        self.config = config
        self._connection: Connection | None = None
        self._lock = threading.Lock()
        if connect:
            _ = self.connection

    @classmethod
    def from_config(cls, config: Config, *, connect: bool = True) -> Instance:
        """An Instance over an existing Config (used for the global default instance)."""
        inst = cls.__new__(cls)
        inst.config = config
        inst._connection = None
        inst._lock = threading.Lock()
        if connect:
            _ = inst.connection
        return inst

    @property
    def connection(self) -> Connection:
        with self._lock:
            if self._connection is None:
                from .connection import Connection

                self._connection = Connection(self.config)
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
        c = self.config
        return f"Instance({c['database.backend']}://{c['database.user']}@{c['database.host']})"


# -- the global default instance ---------------------------------------------------------------

_global_config: Config | None = None
_global_instance: Instance | None = None
_global_lock = threading.Lock()


def global_config() -> Config:
    """The process-wide Config behind ``dj.config`` (raises in thread-safe mode)."""
    global _global_config
    check_global_access("dj.config")
    with _global_lock:
        if _global_config is None:
            _global_config = Config.load()
        return _global_config


def conn(reset: bool = False) -> Connection:
    """The process-wide default connection, built from ``dj.config``."""
    global _global_instance
    check_global_access("dj.conn()")
    config = global_config()
    with _global_lock:
        if reset and _global_instance is not None:
            _global_instance.close()
            _global_instance = None
        if _global_instance is None:
            _global_instance = Instance.from_config(config, connect=False)
    return _global_instance.connection


class _GlobalConfigProxy:
    """``dj.config``: every access goes through the thread-safe-mode check."""

    def __getattr__(self, name: str) -> Any:
        return getattr(global_config(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(global_config(), name, value)

    def __getitem__(self, key: str) -> Any:
        return global_config()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        global_config()[key] = value

    def __contains__(self, key: object) -> bool:
        return key in global_config()

    def __repr__(self) -> str:
        return repr(global_config())


config: Any = _GlobalConfigProxy()
