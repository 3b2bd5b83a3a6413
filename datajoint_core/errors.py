"""Exceptions raised by datajoint_core, named as the reference names them.

Driver exceptions never leave the adapters: they are translated once, at the adapter boundary,
into the classes below (``raise ... from err``).
"""

from __future__ import annotations


class DataJointError(Exception):
    """Base class of every error raised by datajoint_core."""

    def suggest(self, *args: object) -> DataJointError:
        """The same error with more arguments appended (as the reference offers it)."""
        return self.__class__(*(self.args + args))


class ThreadSafetyError(DataJointError):
    """Global state (``dj.config``, ``dj.conn()``, ...) was used while thread-safe mode is on."""


class ConfigError(DataJointError, ValueError):
    """An invalid configuration value. A ``ValueError``, as the reference's validation errors
    (pydantic's ``ValidationError``) are."""

    def __str__(self) -> str:  # KeyError (in the subclass) would repr() the message
        return str(self.args[0]) if self.args else ""


class UnknownSettingError(ConfigError, KeyError, AttributeError):
    """A name that is no setting: a ``KeyError`` for ``config["x"]``, an ``AttributeError`` for
    ``config.x`` (so ``hasattr(config, "x")`` is False) and a ``ValueError`` for an assignment,
    as the reference raises in each place."""


class DeclarationError(DataJointError):
    """A table definition could not be parsed or declared."""


class QueryError(DataJointError):
    """The database refused a query."""


class QuerySyntaxError(QueryError):
    """The database could not parse a query."""


class DuplicateError(QueryError):
    """A row with the same primary key (or unique index value) exists already."""


class IntegrityError(QueryError):
    """A foreign-key constraint was violated."""


class MissingTableError(QueryError):
    """The table or schema does not exist."""


class AccessError(QueryError):
    """The account lacks the privilege, or the credentials were refused."""


class LostConnectionError(QueryError):
    """The connection to the server was lost."""


class UnknownAttributeError(QueryError, KeyError):
    """A query or a row names an attribute that the table does not have.

    Also a ``KeyError``, as the reference raises one for an unknown field in an insert.
    """

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class MissingAttributeError(QueryError):
    """A row to insert lacks a value for an attribute that has no default."""


class PartIntegrityError(DataJointError):
    """A delete or drop would remove rows of a Part table without rows of its master."""


__all__ = [
    "AccessError",
    "ConfigError",
    "DataJointError",
    "DeclarationError",
    "DuplicateError",
    "IntegrityError",
    "LostConnectionError",
    "MissingAttributeError",
    "MissingTableError",
    "PartIntegrityError",
    "QueryError",
    "QuerySyntaxError",
    "ThreadSafetyError",
    "UnknownAttributeError",
    "UnknownSettingError",
]
