"""Configuration: defaults < ``datajoint.json`` < environment < assignment at run time.

Both spellings work::

    config["database.host"] = "db.example.org"
    config.database.host            # 'db.example.org'
    with config.override(safemode=False, display__limit=5):
        ...
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import ConfigError, ThreadSafetyError

DEFAULTS: dict[str, Any] = {
    "database.host": "localhost",
    "database.user": None,
    "database.password": None,
    "database.port": None,
    "database.backend": "mysql",
    "database.name": None,
    "database.reconnect": True,
    "database.use_tls": None,
    "safemode": True,
    "display.limit": 12,
    "display.width": 14,
    "display.diagram_direction": "LR",
    "loglevel": "INFO",
    # populate() and its job tables, as the reference names them (jobs.py, autopopulate.py)
    "jobs.auto_refresh": True,
    "jobs.keep_completed": False,
    "jobs.stale_timeout": 3600,
    "jobs.default_priority": 5,
    "jobs.version_method": None,
    "jobs.allow_new_pk_fields_in_computed_tables": False,
    "jobs.add_job_metadata": False,
}

ENVIRONMENT: dict[str, str] = {
    "DJ_HOST": "database.host",
    "DJ_USER": "database.user",
    "DJ_PASS": "database.password",
    "DJ_PORT": "database.port",
    "DJ_BACKEND": "database.backend",
    "DJ_USE_TLS": "database.use_tls",
    "DJ_DATABASE_NAME": "database.name",
    "DJ_LOG_LEVEL": "loglevel",
    "DJ_JOBS_AUTO_REFRESH": "jobs.auto_refresh",
    "DJ_JOBS_KEEP_COMPLETED": "jobs.keep_completed",
    "DJ_JOBS_STALE_TIMEOUT": "jobs.stale_timeout",
    "DJ_JOBS_DEFAULT_PRIORITY": "jobs.default_priority",
    "DJ_JOBS_VERSION_METHOD": "jobs.version_method",
}

BACKENDS = ("mysql", "postgresql")
DEFAULT_PORTS = {"mysql": 3306, "postgresql": 5432}
CONFIG_FILE = "datajoint.json"
_SECRET_KEYS = frozenset({"database.password"})
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


def _coerce(key: str, value: Any) -> Any:
    """Validate and convert a value for ``key`` (strings from the environment included)."""
    if value is None:
        return None
    default = DEFAULTS[key]
    if key == "database.port" or (isinstance(default, int) and not isinstance(default, bool)):
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"config {key!r} must be an integer, got {value!r}") from None
    if isinstance(default, bool) or key == "database.use_tls":
        if isinstance(value, (bool, dict)):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ConfigError(f"config {key!r} must be true or false, got {value!r}")
    if key == "database.backend":
        text = str(value).strip().lower()
        text = {"postgres": "postgresql", "mariadb": "mysql"}.get(text, text)
        if text not in BACKENDS:
            raise ConfigError(f"config 'database.backend' must be one of {BACKENDS}, got {value!r}")
        return text
    return value


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in data.items():
        key = f"{prefix}{name}"
        if isinstance(value, Mapping) and key not in DEFAULTS:
            flat.update(_flatten(value, key + "."))
        else:
            flat[key] = value
    return flat


def find_config_file(start: Path | None = None) -> Path | None:
    """The nearest ``datajoint.json`` in the working directory or one of its parents."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_FILE
        if candidate.is_file():
            return candidate
    return None


class Config:
    """One set of settings. Each :class:`~datajoint_core.Instance` owns its own."""

    def __init__(self, values: Mapping[str, Any] | None = None) -> None:
        object.__setattr__(self, "_values", dict(DEFAULTS))
        for key, value in (values or {}).items():
            self[key] = value

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, start: Path | None = None) -> Config:
        """Defaults, then ``datajoint.json`` (searched upward), then ``DJ_*`` variables."""
        config = cls()
        path = find_config_file(start)
        if path is not None:
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError) as err:
                raise ConfigError(f"cannot read {path}: {err}") from None
            for key, value in _flatten(data).items():
                if key in DEFAULTS:  # other tools keep their own keys in the same file
                    config[key] = value
        env = os.environ if environ is None else environ
        for var, key in ENVIRONMENT.items():
            if env.get(var) not in (None, ""):
                config[key] = env[var]
        return config

    def _check(self, key: str) -> str:
        if key not in DEFAULTS:
            known = ", ".join(sorted(DEFAULTS))
            raise ConfigError(f"unknown config key {key!r}; known keys: {known}")
        return key

    def __getitem__(self, key: str) -> Any:
        return self._values[self._check(key)]

    def __setitem__(self, key: str, value: Any) -> None:
        self._check(key)
        self._values[key] = _coerce(key, value)

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def get(self, key: str, default: Any = None) -> Any:
        return self._values.get(key, default)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return _Section(self, name)._resolve()

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def copy(self) -> Config:
        clone = Config()
        clone._values.update(self._values)
        return clone

    @property
    def port(self) -> int:
        """The configured port, or the backend's default."""
        return self["database.port"] or DEFAULT_PORTS[self["database.backend"]]

    def update(self, overrides: Mapping[str, Any]) -> None:
        """Apply keyword-style overrides: ``database__reconnect`` names ``database.reconnect``,
        and a group takes a dict, ``jobs={"keep_completed": True}``, as in the reference."""
        for name, value in overrides.items():
            key = name.replace("__", ".")
            if isinstance(value, Mapping) and key not in DEFAULTS:
                self.update({f"{key}.{k}": v for k, v in value.items()})
            else:
                self[key] = value

    @contextmanager
    def override(self, **overrides: Any) -> Iterator[Config]:
        """Temporarily change settings: ``with config.override(safemode=False): ...``."""
        saved = dict(self._values)
        try:
            self.update(overrides)
            yield self
        finally:
            self._values.clear()
            self._values.update(saved)

    def __repr__(self) -> str:
        shown = {k: ("********" if k in _SECRET_KEYS and v else v) for k, v in self._values.items()}
        return f"Config({shown})"


class _Section:
    """Attribute access to a dotted group of keys: ``config.database.host``."""

    def __init__(self, config: Config, prefix: str) -> None:
        object.__setattr__(self, "_config", config)
        object.__setattr__(self, "_prefix", prefix)

    def _resolve(self) -> Any:
        if self._prefix in DEFAULTS:
            return self._config[self._prefix]
        if not any(key.startswith(self._prefix + ".") for key in DEFAULTS):
            self._config._check(self._prefix)  # raises with the list of known keys
        return self

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return _Section(self._config, f"{self._prefix}.{name}")._resolve()

    def __setattr__(self, name: str, value: Any) -> None:
        self._config[f"{self._prefix}.{name}"] = value

    def __repr__(self) -> str:
        keys = [k for k in DEFAULTS if k.startswith(self._prefix + ".")]
        return repr({k[len(self._prefix) + 1 :]: self._config[k] for k in keys})


# -- the global Config (``dj.config``) and thread-safe mode --------------------------------------

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


_global_config: Config | None = None
_global_lock = threading.Lock()


def global_config() -> Config:
    """The process-wide Config behind ``dj.config`` (raises in thread-safe mode)."""
    global _global_config
    check_global_access("dj.config")
    with _global_lock:
        if _global_config is None:
            _global_config = Config.load()
        return _global_config
