"""The global context: ``dj.config``, ``dj.conn()``, the thread-safe-mode check and the yes/no
prompt. Everything else reads configuration through its connection (``connection.config``).

>>> config["database.host"] = "db.example.org"     # doctest: +SKIP
>>> conn()                                          # doctest: +SKIP
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from .connection import Connection
from .errors import DataJointError
from .settings import Config, check_global_access, global_config, thread_safe_mode
from .utils import user_choice

__all__ = ["ask", "check_global_access", "config", "conn", "global_config", "thread_safe_mode"]


def ask(question: str) -> bool:
    """Ask a yes/no question on the terminal (through ``utils.user_choice``)."""
    return user_choice(question) == "yes"


_global_connection: Connection | None = None
_global_lock = threading.Lock()


def conn(
    host: str | None = None,
    user: str | None = None,
    password: str | None = None,
    *,
    reset: bool = False,
    use_tls: bool | dict[str, Any] | None = None,
) -> Connection:
    """The process-wide default connection. It is made on first use from the arguments given
    and ``dj.config`` for the rest, and again with ``reset=True`` (the previous one stays open
    for whoever holds it, as in the reference); later calls return it and ignore arguments.
    It shares ``dj.config``: ``dj.config.override(...)`` reaches every table on it."""
    global _global_connection
    check_global_access("dj.conn()")
    config = global_config()
    with _global_lock:
        if _global_connection is None or reset:
            if (user if user is not None else config["database.user"]) is None:
                raise DataJointError(
                    "Database user not configured. Set datajoint.config['database.user'] "
                    "or pass user= argument."
                )
            if (password if password is not None else config["database.password"]) is None:
                raise DataJointError(
                    "Database password not configured. Set datajoint.config['database.password'] "
                    "or pass password= argument."
                )
            _global_connection = Connection(
                host, user, password, use_tls=use_tls, config_override=config
            )
        return _global_connection


class _GlobalConfigProxy:
    """``dj.config``: every access goes through the thread-safe-mode check, except
    ``save_template`` (it touches no settings), as in the reference."""

    def __getattr__(self, name: str) -> Any:
        return getattr(global_config(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(global_config(), name, value)

    def __getitem__(self, key: str) -> Any:
        return global_config()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        global_config()[key] = value

    def __delitem__(self, key: str) -> None:
        del global_config()[key]

    def __contains__(self, key: object) -> bool:
        return key in global_config()

    def __iter__(self) -> Iterator[str]:
        return iter(global_config())

    def __dir__(self) -> list[str]:
        return dir(global_config())

    save_template = staticmethod(Config.save_template)

    def __repr__(self) -> str:
        if thread_safe_mode():
            return "ConfigProxy (thread-safe mode - use dj.Instance())"
        return repr(global_config())


config: Any = _GlobalConfigProxy()
