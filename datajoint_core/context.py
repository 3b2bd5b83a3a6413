"""The global context: ``dj.config``, ``dj.conn()``, the thread-safe-mode check and the yes/no
prompt. Everything else reads configuration through its connection (``connection.config``).

>>> config["database.host"] = "db.example.org"     # doctest: +SKIP
>>> conn()                                          # doctest: +SKIP
"""

from __future__ import annotations

import threading
from typing import Any

from .connection import Connection
from .errors import DataJointError
from .settings import check_global_access, global_config, thread_safe_mode

__all__ = ["ask", "check_global_access", "config", "conn", "global_config", "thread_safe_mode"]


def ask(question: str) -> bool:
    """Ask a yes/no question on the terminal."""
    answer = ""
    while answer not in ("yes", "no"):
        answer = input(f"{question} [yes, no]: ").strip().lower()
    return answer == "yes"


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
    """The process-wide default connection, made on first use (or with ``reset=True``) from the
    arguments given and ``dj.config`` for the rest; it shares ``dj.config``."""
    global _global_connection
    check_global_access("dj.conn()")
    config = global_config()
    with _global_lock:
        if reset and _global_connection is not None:
            _global_connection.close()
            _global_connection = None
        if _global_connection is None:
            if (user if user is not None else config["database.user"]) is None:
                raise DataJointError(
                    "Database user not configured. Set datajoint.config['database.user'] "
                    "or pass user= argument."
                )
            _global_connection = Connection(
                host, user, password, use_tls=use_tls, config_override=config
            )
        return _global_connection


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
