"""Compiling query expressions to SQL, one statement at a time, with or without a server.

An expression keeps its FROM source and its conditions as :class:`Sql` pieces that render
through a :class:`Compiler`: the adapter that writes the SQL and the alias counter of the one
statement being written, so derived tables are numbered ``_s0``, ``_j1``, ... afresh in every
statement (the same expression always compiles to the same text).

A :class:`CompileContext` stands in for a connection where only SQL is wanted (golden SQL
tests, plans, the subsetter's checks): it has an adapter and a config, and refuses to run
anything::

    ctx = CompileContext(get_adapter("postgresql"))
    subject = QueryExpression.over(ctx, '"lab"."subject"', heading)
    (subject & {"species": "mouse"}).make_sql().sql
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .adapters.base import Adapter


@dataclass(frozen=True)
class Fragment:
    """A piece of SQL with its parameters, in textual order (it renders as itself)."""

    sql: str
    params: tuple[Any, ...] = ()

    def render(self, compiler: Compiler) -> Fragment:
        return self


class Compiler:
    """Writes one statement: the adapter and the statement's alias counter."""

    def __init__(self, adapter: Adapter) -> None:
        self.adapter = adapter
        self._aliases = itertools.count()

    def alias(self, prefix: str) -> str:
        """A fresh alias for a derived table of this statement (``_s0``, ``_j1``, ...)."""
        return f"_{prefix}{next(self._aliases)}"


class Sql(Protocol):
    """A piece of SQL that renders, with its parameters, inside one statement."""

    def render(self, compiler: Compiler) -> Fragment: ...


@dataclass(frozen=True)
class Lazy:
    """SQL written when the statement is: ``build(compiler)`` gives the fragment."""

    build: Callable[[Compiler], Fragment]

    def render(self, compiler: Compiler) -> Fragment:
        return self.build(compiler)


@dataclass(frozen=True)
class CompileContext:
    """A connection-free stand-in for compiling expressions: an adapter and a config.

    An expression built over one compiles to SQL; asking it for rows raises a clear error.
    """

    adapter: Adapter
    config: Mapping[str, Any] = field(
        default_factory=lambda: {"display.limit": 12, "display.width": 14}
    )
