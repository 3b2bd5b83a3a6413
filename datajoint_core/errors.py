"""Exceptions raised by datajoint_core.

Driver exceptions never leave the adapters: they are translated once, at the adapter boundary,
into the classes below (``raise ... from err``).
"""

from __future__ import annotations


class DataJointError(Exception):
    """Base class of every error raised by datajoint_core."""


class ThreadSafetyError(DataJointError):
    """Global state (``dj.config``, ``dj.conn()``, ...) was used while thread-safe mode is on."""


class ConfigError(DataJointError, KeyError):
    """An unknown configuration key or an invalid value."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class DeclarationError(DataJointError):
    """A table definition could not be parsed or declared."""


class QueryError(DataJointError):
    """The database refused a query."""


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


class UnknownAttributeError(DataJointError, KeyError):
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
    "ThreadSafetyError",
    "UnknownAttributeError",
]
