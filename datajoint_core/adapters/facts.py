"""The facts about each backend, written once: names, default port, dialect, capabilities.

Pure data (no driver is imported); settings, recipes and the CLI read them through
:func:`backend` instead of naming backends themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError


@dataclass(frozen=True)
class Backend:
    """What is known about a backend without importing its driver."""

    name: str  # the canonical name, as the reference spells it
    aliases: tuple[str, ...]  # other spellings accepted in settings, recipes and URLs
    default_port: int
    sqlglot_dialect: str
    database_level: bool  # a database above schemas (PostgreSQL's `database:`)
    embeddable: bool  # can run from a local directory (subset's embedded default)
    password_variables: tuple[str, ...]  # environment variables its tools read a password from
    adapter: tuple[str, str]  # module, class


_BACKENDS = (
    Backend(
        "mysql",
        ("mariadb",),
        3306,
        "mysql",
        database_level=False,
        embeddable=False,
        password_variables=("MYSQL_PWD", "DJ_PASS"),
        adapter=("datajoint_core.adapters.mysql", "MySQLAdapter"),
    ),
    Backend(
        "postgresql",
        ("postgres",),
        5432,
        "postgres",
        database_level=True,
        embeddable=True,
        password_variables=("PGPASSWORD",),
        adapter=("datajoint_core.adapters.postgres", "PostgreSQLAdapter"),
    ),
)
BACKEND_NAMES = tuple(b.name for b in _BACKENDS)
EMBEDDABLE = tuple(b.name for b in _BACKENDS if b.embeddable)
DATABASE_LEVEL = tuple(b.name for b in _BACKENDS if b.database_level)
DEFAULT_BACKEND = "mysql"  # dj.config's, as the reference's
ALIASES = {alias: b.name for b in _BACKENDS for alias in (b.name, *b.aliases)}


def backend(name: str) -> Backend:
    """The facts of a backend by any of its names ("mysql", "mariadb", "postgresql", "postgres")."""
    canonical = ALIASES.get(str(name).lower())
    if canonical is None:
        raise ConfigError(f"unknown backend {name!r}; choose one of {sorted(BACKEND_NAMES)}")
    return next(b for b in _BACKENDS if b.name == canonical)
