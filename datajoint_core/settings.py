"""Configuration, as the reference lays it out: groups of typed settings.

Sources, highest first: assignment at run time > environment (``DJ_*``) > ``datajoint.json``
(searched from the working directory upward, up to a ``.git`` / ``.hg`` boundary) > the secrets
directory (``.secrets/`` beside ``datajoint.json``, or ``/run/secrets/datajoint``) > defaults.
Both spellings work, and ``override()`` changes settings for a block::

    config["database.host"] = "db.example.org"
    config.database.host            # 'db.example.org'
    with config.override(safemode=False, display__limit=5):
        ...

An invalid value raises :class:`~datajoint_core.errors.ConfigError` (a ``ValueError``); a name
that is no setting :class:`~datajoint_core.errors.UnknownSettingError` (also a ``KeyError`` and an
``AttributeError``). The global ``dj.config`` and thread-safe mode are at the end of this module.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import threading
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Any

from .adapters import ALIASES, BACKEND_NAMES, DEFAULT_BACKEND, backend
from .errors import ConfigError, ThreadSafetyError, UnknownSettingError
from .settings_types import (
    Convert,
    Field,
    SecretStr,
    Settings,
    as_bool,
    as_dict,
    as_int,
    as_path,
    as_secret,
    as_text,
    as_tls,
    bounded,
    choice,
    invalid,
    nullable,
)
from .stores import store_spec

CONFIG_FILENAME = "datajoint.json"
CONFIG_FILE = CONFIG_FILENAME
SECRETS_DIRNAME = ".secrets"
SYSTEM_SECRETS_DIR = Path("/run/secrets/datajoint")
BACKENDS = BACKEND_NAMES
DEFAULT_PORTS = {name: backend(name).default_port for name in BACKEND_NAMES}
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

# What a table's stored name starts with, by role (the reference keeps these here).
Role = Enum("Role", "manual lookup imported computed job")
role_to_prefix = {Role.manual: "", Role.lookup: "#", Role.imported: "_", Role.computed: "__"}
role_to_prefix[Role.job] = "~"
prefix_to_role = {prefix: role for role, prefix in role_to_prefix.items()}

logger = logging.getLogger("datajoint_core")


class DatabaseSettings(Settings):
    """``database.*``: where and how to connect. The port defaults to the backend's."""

    key = "database"
    fields = {
        "host": Field("localhost", as_text, "DJ_HOST"),
        "user": Field(None, nullable(as_text), "DJ_USER"),
        "password": Field(None, as_secret, "DJ_PASS"),
        "backend": Field(
            DEFAULT_BACKEND,
            choice(*BACKENDS, aliases=ALIASES),
            "DJ_BACKEND",
        ),
        "port": Field(None, nullable(bounded(0, 65535)), "DJ_PORT"),
        "name": Field(None, nullable(as_text), "DJ_DATABASE_NAME"),
        "reconnect": Field(True, as_bool, "DJ_RECONNECT"),
        "use_tls": Field(None, as_tls, "DJ_USE_TLS"),
        "database_prefix": Field("", as_text, "DJ_DATABASE_PREFIX"),
        "create_tables": Field(True, as_bool, "DJ_CREATE_TABLES"),
    }

    def _settled(self) -> None:
        # As the reference: an unset port takes the backend's default when the group is made
        # (or the port is set to None); changing the backend later keeps the port.
        if self._values["port"] is None:
            self._values["port"] = DEFAULT_PORTS[self._values["backend"]]


class ConnectionSettings(Settings):
    key = "connection"
    fields = {"charset": Field("", as_text)}


class DisplaySettings(Settings):
    key = "display"
    fields = {
        "limit": Field(12, as_int),
        "width": Field(14, as_int),
        "show_tuple_count": Field(True, as_bool),
        "diagram_direction": Field("LR", choice("TB", "LR"), "DJ_DIAGRAM_DIRECTION"),
        "diagram_theme": Field("auto", choice("light", "dark", "auto"), "DJ_DIAGRAM_THEME"),
    }


class JobsSettings(Settings):
    """``jobs.*``: populate() and its job tables."""

    key = "jobs"
    fields = {
        "auto_refresh": Field(True, as_bool, "DJ_JOBS_AUTO_REFRESH"),
        "keep_completed": Field(False, as_bool, "DJ_JOBS_KEEP_COMPLETED"),
        "stale_timeout": Field(3600, bounded(0), "DJ_JOBS_STALE_TIMEOUT"),
        "default_priority": Field(5, bounded(0, 255), "DJ_JOBS_DEFAULT_PRIORITY"),
        "version_method": Field(None, nullable(choice("git", "none")), "DJ_JOBS_VERSION_METHOD"),
        "allow_new_pk_fields_in_computed_tables": Field(
            False, as_bool, "DJ_JOBS_ALLOW_NEW_PK_FIELDS_IN_COMPUTED_TABLES"
        ),
        "add_job_metadata": Field(False, as_bool, "DJ_JOBS_ADD_JOB_METADATA"),
    }


class ProvenanceSettings(Settings):
    key = "provenance"
    fields = {
        "capture": Field(False, as_bool, "DJ_PROVENANCE_CAPTURE"),
        "source": Field({}, as_dict, "DJ_PROVENANCE_SOURCE"),
    }


def _group(cls: type[Settings]) -> Convert:
    def convert(value: Any, key: str) -> Settings:
        if isinstance(value, cls):
            return value
        if isinstance(value, Mapping):
            return cls(value)
        raise invalid(key, f"a {cls.__name__} or a dict", value)

    return convert


GROUPS: dict[str, type[Settings]] = {
    "database": DatabaseSettings,
    "connection": ConnectionSettings,
    "display": DisplaySettings,
    "jobs": JobsSettings,
    "provenance": ProvenanceSettings,
}
DICT_SETTINGS = frozenset({"stores", "provenance.source"})  # leaves whose values are dicts


class Config(Settings):
    """One set of settings. ``dj.config`` is the global one; each
    :class:`~datajoint_core.Instance` owns its own. ``Config()`` is the defaults and the
    environment; :func:`create_config` adds ``datajoint.json`` and the secrets directory."""

    fields = {
        **{name: Field(None, _group(cls), factory=cls) for name, cls in GROUPS.items()},
        "stores": Field({}, as_dict),
        "loglevel": Field("INFO", choice(*LOG_LEVELS, fold=True), "DJ_LOG_LEVEL"),
        "safemode": Field(True, as_bool, "DJ_SAFEMODE"),
        "ignore_config_file": Field(False, as_bool, "DJ_IGNORE_CONFIG_FILE"),
        "query_cache": Field(None, as_path, "DJ_QUERY_CACHE"),
        "download_path": Field(".", as_text, "DJ_DOWNLOAD_PATH"),
    }

    def __init__(
        self, values: Mapping[str, Any] | None = None, *, environ: Mapping[str, str] | None = None
    ) -> None:
        env = os.environ if environ is None else environ
        object.__setattr__(self, "_environ", env)
        object.__setattr__(self, "_sets_log_level", False)
        object.__setattr__(self, "_config_path", None)
        object.__setattr__(self, "_secrets_dir", None)
        super().__init__(environ=env)
        for name, cls in GROUPS.items():
            self._values[name] = cls(environ=env)
        for key, value in (values or {}).items():
            self[key] = value

    # -- dotted keys ---------------------------------------------------------------------
    def _parent(self, key: str) -> tuple[Any, str]:
        """The object holding the last part of a dotted key, and that part."""
        *path, last = key.split(".")
        node: Any = self
        for part in path:
            if isinstance(node, Settings) and part in node.fields:
                node = node._values[part]
            elif isinstance(node, dict) and part in node:
                node = node[part]
            else:
                raise self._unknown_key(key)
        return node, last

    def _unknown_key(self, key: str) -> UnknownSettingError:
        return UnknownSettingError(f"unknown config key {key!r}; known keys: " + ", ".join(self))

    def __getitem__(self, key: str) -> Any:
        node, last = self._parent(key)
        if isinstance(node, Settings) and last in node.fields:
            value = node._values[last]
        elif isinstance(node, dict) and last in node:
            value = node[last]
        else:
            raise self._unknown_key(key)
        if isinstance(value, Settings):
            return value
        return value.get_secret_value() if isinstance(value, SecretStr) else value

    def __setitem__(self, key: str, value: Any) -> None:
        node, last = self._parent(key)
        if isinstance(node, dict):
            node[last] = value
        elif last in node.fields:
            setattr(node, last, value)
        else:
            raise self._unknown_key(key)

    def __delitem__(self, key: str) -> None:
        """Reset a setting to its default."""
        node, last = self._parent(key)
        if isinstance(node, dict):
            del node[last]
        elif last in node.fields:
            setattr(node, last, node.fields[last].fresh())
        else:
            raise self._unknown_key(key)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        try:
            self[key]
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        """The dotted keys of every setting."""
        for name, value in self._values.items():
            if isinstance(value, Settings):
                yield from (f"{name}.{n}" for n in value.fields)
            else:
                yield name

    def keys(self) -> list[str]:
        return list(self)

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def _set(self, name: str, value: Any) -> None:
        super()._set(name, value)
        if name == "loglevel" and self._sets_log_level:
            logger.setLevel(self._values["loglevel"])

    @property
    def port(self) -> int:
        """The configured port, or the backend's default."""
        return int(self.database.port or DEFAULT_PORTS[self.database.backend])

    # -- changes -------------------------------------------------------------------------
    def update(self, overrides: Mapping[str, Any]) -> None:
        """Apply keyword-style overrides: ``database__reconnect`` names ``database.reconnect``,
        and a group takes a dict, ``jobs={"keep_completed": True}``."""
        for name, value in overrides.items():
            key = name.replace("__", ".")
            if isinstance(value, Mapping) and key in GROUPS:
                self.update({f"{key}.{k}": v for k, v in value.items()})
            else:
                self[key] = value

    def _snapshot(self) -> dict[str, Any]:
        return {
            name: copy.deepcopy(v._values if isinstance(v, Settings) else v)
            for name, v in self._values.items()
        }

    def _restore(self, saved: Mapping[str, Any]) -> None:
        for name, value in saved.items():
            current = self._values[name]
            if isinstance(current, Settings):  # in place: whoever holds the group sees it
                current._values.clear()
                current._values.update(value)
            else:
                self._set(name, value)

    @contextmanager
    def override(self, **overrides: Any) -> Iterator[Config]:
        """Temporarily change settings: ``with config.override(safemode=False): ...``. The config
        object is the same one: a connection sharing it sees the change."""
        saved = self._snapshot()
        try:
            self.update(overrides)
            yield self
        finally:
            self._restore(saved)

    def copy(self) -> Config:
        return copy.deepcopy(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> Config:
        clone = object.__new__(type(self))
        for name, value in self.__dict__.items():
            kept = name == "_environ"  # os.environ itself, not a copy of it
            object.__setattr__(clone, name, value if kept else copy.deepcopy(value, memo))
        object.__setattr__(clone, "_sets_log_level", False)
        return clone

    # -- files ---------------------------------------------------------------------------
    def load(self, filename: str | Path) -> None:
        """Apply the settings of a JSON file; a setting whose environment variable is set keeps
        the environment's value, and keys that name no setting are ignored (other tools keep
        their own keys in the same file)."""
        path = Path(filename)
        if not path.exists():
            raise FileNotFoundError(f"Config file not found: {path}")
        data = json.loads(path.read_text())
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: the configuration must be a JSON object")
        for key, value in _flatten(data).items():
            env = ENV_VAR_MAPPING.get(key)
            if env and self._environ.get(env):
                continue
            if key == "stores":
                self.stores.update(value)
            elif key.startswith("stores."):
                self.stores.setdefault(key.split(".")[1], {})[key.split(".", 2)[2]] = value
            elif key in self:
                self[key] = value
        object.__setattr__(self, "_config_path", path)

    def _load_secrets(self, secrets_dir: Path) -> None:
        """Fill unset credentials and store attributes from one file per setting
        (``database.password``, ``stores.<name>.<attr>``)."""
        object.__setattr__(self, "_secrets_dir", secrets_dir)
        for name in ("user", "password"):
            value = read_secret_file(secrets_dir, f"database.{name}")
            if value is not None and self.database._values[name] is None:
                setattr(self.database, name, value)
        if not secrets_dir.is_dir():
            return
        for item in sorted(secrets_dir.iterdir()):
            parts = item.name.split(".")
            if item.is_file() and len(parts) == 3 and parts[0] == "stores":
                store = self.stores.setdefault(parts[1], {})
                store.setdefault(parts[2], item.read_text().strip())

    def _apply_stores_env(self) -> None:
        """``DJ_STORES`` (a JSON object) replaces the stores of the config file."""
        raw = self._environ.get("DJ_STORES")
        if not raw:
            return
        try:
            data = json.loads(raw)
        except ValueError as err:
            raise ConfigError(f"DJ_STORES contains invalid JSON: {err}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"DJ_STORES must be a JSON object, got {type(data).__name__}")
        self.stores = data

    def get_store_spec(
        self, store: str | None = None, *, use_filepath_default: bool = False
    ) -> dict[str, Any]:
        """The checked spec of a store of ``stores`` (see :mod:`datajoint_core.stores`)."""
        return store_spec(self.stores, store, use_filepath_default=use_filepath_default)

    @staticmethod
    def save_template(
        path: str | Path = CONFIG_FILENAME, minimal: bool = True, create_secrets_dir: bool = True
    ) -> Path:
        """Write a template ``datajoint.json`` (never over an existing file) and, if asked, a
        ``.secrets/`` directory for the credentials; return the file's absolute path."""
        return _write_template(Path(path), minimal, create_secrets_dir)


# Every variable read from the environment, by the setting it sets (``stores``: ``DJ_STORES``,
# a JSON object, read after the config file).
ENV_VAR_MAPPING: dict[str, str] = {
    **{f"{cls.key}.{n}": f.env for cls in GROUPS.values() for n, f in cls.fields.items() if f.env},
    **{n: f.env for n, f in Config.fields.items() if f.env},
}


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested groups as dotted keys; dict-valued settings stay whole."""
    flat: dict[str, Any] = {}
    for name, value in data.items():
        key = f"{prefix}{name}"
        if isinstance(value, Mapping) and key not in DICT_SETTINGS and key != "stores":
            flat.update(_flatten(value, key + "."))
        else:
            flat[key] = value
    return flat


_MINIMAL_TEMPLATE: dict[str, Any] = {"database": {"host": "localhost", "port": 3306}}
_FULL_TEMPLATE: dict[str, Any] = {
    "database": {"host": "localhost", "port": 3306, "reconnect": True, "use_tls": None},
    "connection": {"charset": ""},
    "display": {"limit": 12, "width": 14, "show_tuple_count": True},
    "stores": {
        "default": "main",
        "filepath_default": "raw_data",
        "main": {
            "protocol": "file",
            "location": "/data/my-project/main",
            "partition_pattern": None,
            "token_length": 8,
            "subfolding": None,
        },
        "raw_data": {"protocol": "file", "location": "/data/my-project/raw"},
    },
    "loglevel": "INFO",
    "safemode": True,
    "query_cache": None,
    "download_path": ".",
}


def _write_template(path: Path, minimal: bool, create_secrets_dir: bool) -> Path:
    """The reference's templates: credentials go to the environment or ``.secrets/``."""
    if path.exists():
        raise FileExistsError(
            f"File already exists: {path}. Remove it first or choose a different path."
        )
    template = _MINIMAL_TEMPLATE if minimal else _FULL_TEMPLATE
    path.write_text(json.dumps(template, indent=2) + "\n")
    logger.info("Created template configuration at %s", path.absolute())
    if create_secrets_dir:
        secrets = path.parent / SECRETS_DIRNAME
        secrets.mkdir(exist_ok=True)
        for name, placeholder in (
            ("database.user", "your_username"),
            ("database.password", "your_password"),
        ):
            if not (secrets / name).exists():
                (secrets / name).write_text(placeholder)
        if not (secrets / ".gitignore").exists():
            (secrets / ".gitignore").write_text("# Never commit secrets\n*\n!.gitignore\n")
    return path.absolute()


DEFAULTS: dict[str, Any] = {
    **{f"{g}.{n}": f.default for g, cls in GROUPS.items() for n, f in cls.fields.items()},
    **{n: f.default for n, f in Config.fields.items() if n not in GROUPS},
}


# -- where the files are -------------------------------------------------------------------


def find_config_file(start: Path | None = None) -> Path | None:
    """The nearest ``datajoint.json`` in ``start`` (the working directory) or a parent, not
    looking above a project root (a directory with ``.git`` or ``.hg``)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_FILENAME
        if candidate.is_file():
            return candidate
        if (folder / ".git").exists() or (folder / ".hg").exists():
            return None
    return None


def find_secrets_dir(config_path: Path | None = None) -> Path | None:
    """``.secrets/`` beside ``datajoint.json``, else the system secrets directory, else None."""
    if config_path is not None and (config_path.parent / SECRETS_DIRNAME).is_dir():
        return config_path.parent / SECRETS_DIRNAME
    return SYSTEM_SECRETS_DIR if SYSTEM_SECRETS_DIR.is_dir() else None


def read_secret_file(secrets_dir: Path | None, name: str) -> str | None:
    """The stripped contents of ``secrets_dir/name``, or None."""
    if secrets_dir is None or not (secrets_dir / name).is_file():
        return None
    return (secrets_dir / name).read_text().strip()


def create_config(environ: Mapping[str, str] | None = None, start: Path | None = None) -> Config:
    """Defaults < secrets < ``datajoint.json`` < environment: the config a process starts with.
    ``DJ_IGNORE_CONFIG_FILE=true`` skips the file and the secrets directory."""
    config = Config(environ=environ)
    path: Path | None = None
    if not config.ignore_config_file:
        path = find_config_file(start)
        if path is None:
            logger.debug("no %s found: defaults and environment variables", CONFIG_FILENAME)
        else:
            try:
                config.load(path)
            except Exception as err:  # as the reference: a broken file is a warning
                warnings.warn(f"Failed to load config from {path}: {err}", stacklevel=2)
    config._apply_stores_env()
    if not config.ignore_config_file:
        secrets = find_secrets_dir(path)
        if secrets is not None:
            config._load_secrets(secrets)
    return config


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
    """The process-wide Config behind ``dj.config`` (raises in thread-safe mode); its
    ``loglevel`` sets the level of the ``datajoint_core`` logger."""
    global _global_config
    check_global_access("dj.config")
    with _global_lock:
        if _global_config is None:
            config = create_config()
            object.__setattr__(config, "_sets_log_level", True)
            logger.setLevel(config.loglevel)
            _global_config = config
        return _global_config
