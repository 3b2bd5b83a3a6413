"""The subsetter's runtime errors, and how a refusal spells its fix for the command being run."""

from __future__ import annotations

from dataclasses import dataclass


class SubsetError(Exception):
    """An expected failure at run time (exit code 1): a connection, a refusal, a failed write."""


class OutputExistsError(SubsetError):
    """The destination exists and may not be replaced (``if_exists``), or is not ours."""


class UnsafeTargetError(SubsetError):
    """Writing the target could harm what the tool did not create: the source, or a schema
    without the tool's marker."""


class TargetBusyError(SubsetError):
    """Another subset run holds the target's lock."""


@dataclass(frozen=True)
class Hints:
    """How the command being run spells an option, so that a refusal names the fix in its own
    syntax: ``if_exists: replace`` in a recipe output, ``--if-exists replace`` for ``load``.

    >>> Hints("db").option("if_exists", "replace")
    "set `if_exists: replace` on output 'db'"
    >>> Hints().option("if_exists", "replace")
    'pass --if-exists replace'
    """

    output: str | None = None  # a recipe output's name; None for command-line options

    def option(self, key: str, value: str) -> str:
        if self.output is None:
            flag = "--" + key.replace("_", "-")
            return f"pass {flag}" if value == "true" else f"pass {flag} {value}"
        return f"set `{key}: {value}` on output '{self.output}'"

    def subject(self, fallback: str) -> str:
        """What a message names: the output, or ``fallback`` (the target) for a command."""
        return f"output '{self.output}'" if self.output is not None else fallback
