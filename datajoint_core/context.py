"""The global context: ``dj.config``, ``dj.conn()``, the thread-safe-mode check and the yes/no
prompt. Everything else reads configuration through its connection (``connection.config``).

>>> config["database.host"] = "db.example.org"     # doctest: +SKIP
>>> conn()                                          # doctest: +SKIP
"""

from __future__ import annotations

import os
import threading
from typing import Any

from .connection import Connection
from .errors import ThreadSafetyError
from .settings import Config

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


def ask(question: str) -> bool:
    """Ask a yes/no question on the terminal."""
    answer = ""
    while answer not in ("yes", "no"):
        answer = input(f"{question} [yes, no]: ").strip().lower()
    return answer == "yes"


_global_config: Config | None = None
_global_connection: Connection | None = None
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
    global _global_connection
    check_global_access("dj.conn()")
    config = global_config()
    with _global_lock:
        if reset and _global_connection is not None:
            _global_connection.close()
            _global_connection = None
        if _global_connection is None:
            _global_connection = Connection(config)
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
