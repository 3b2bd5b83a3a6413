"""A table class's definition in its declaration context -> the SQL that declares or alters it.

``-> ...`` references are Python expressions evaluated in the context, as the reference does
(``-> Subject``, ``-> master``, ``-> self.source``, ``-> Parent.proj(a='b')``); the parser
(pure) and the DDL compiler (``ddl.py``) know nothing of classes.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import AccessError, DataJointError, DeclarationError, QueryError
from ..naming import Tier
from .ddl import Declaration, Parent, declare
from .parser import JOB_METADATA, PROVENANCE, AttributeSpec, ForeignKeySpec, parse_definition

if TYPE_CHECKING:
    from ..connection import Connection

Table = Any  # a table class or instance (table.py calls in here; this module never imports it)

logger = logging.getLogger("datajoint_core")


def _setting(conn: Connection, name: str) -> Any:
    try:
        return conn.config[name]
    except Exception:  # a setting this config does not have
        return None


def platform_lines(cls: type[Table], conn: Connection) -> tuple[str, ...]:
    """The hidden attributes the tier adds, as the reference does: job metadata on
    Computed and Imported tables (``jobs.add_job_metadata``), provenance on Manual ones
    (``provenance.capture``); never on a Part."""
    if getattr(cls, "master", None) is not None:
        return ()
    if cls.tier in (Tier.COMPUTED, Tier.IMPORTED) and _setting(conn, "jobs.add_job_metadata"):
        return JOB_METADATA
    if cls.tier is Tier.MANUAL and _setting(conn, "provenance.capture"):
        return (PROVENANCE,)
    return ()


def _evaluate(item: ForeignKeySpec, namespace: Mapping[str, Any], label: str) -> Any:
    where = f"{label}: line {item.line}: '-> {item.expression or item.ref}'"
    try:
        # the definition is code, evaluated in the declaration context (as the reference does)
        return eval(item.expression or item.ref, dict(namespace))
    except Exception as err:
        raise DeclarationError(
            f"{where}: Foreign key reference {item.expression or item.ref} could not be "
            f"resolved: {err}"
        ) from None


def resolve_parent(item: ForeignKeySpec, namespace: Mapping[str, Any], label: str) -> Parent:
    """The table (and the renames of its key) that a ``-> ...`` line references."""
    from ..expression import QueryExpression, as_expression

    target = _evaluate(item, namespace, label)
    where = f"{label}: line {item.line}: '-> {item.expression or item.ref}'"
    expr: Any = as_expression(target)
    if not isinstance(expr, QueryExpression):
        raise DeclarationError(f"{where} does not name a table")
    if not hasattr(expr, "full_table_name") or getattr(
        expr, "is_restricted", True
    ):  # a table, or its proj()
        raise DeclarationError(
            f'{where}: Dependency "{item.expression or item.ref}" is not supported (yet). '
            "Use a base table or its projection."
        )
    conn = expr.connection
    schema, table = conn.adapter.split_full_name(expr.full_table_name)
    heading = conn.catalog.heading(schema, table)
    if heading is None:
        raise DeclarationError(f"{where}: the table {expr.full_table_name} is not declared")
    rename = _key_renames(expr, heading.primary_key, where)
    return Parent(item, expr.full_table_name, schema, heading, rename)


def _key_renames(expr: Any, key: list[str], where: str) -> tuple[tuple[str, str], ...]:
    """(new, old) names of the parent's key in a projection of it."""
    sources = {}
    for name in expr.primary_key:
        attr = expr.heading[name]
        if attr.expression is not None:
            raise DeclarationError(f"{where}: a foreign key cannot reference a computed key")
        sources[attr.source or name] = name
    missing = [k for k in key if k not in sources]
    if missing:
        raise DeclarationError(f"{where}: the projection leaves out key attributes {missing}")
    return tuple((sources[k], k) for k in key if sources[k] != k)


def compile_declaration(
    cls: type[Table], namespace: Mapping[str, Any], platform: tuple[str, ...] = ()
) -> Declaration:
    """Parse the class's definition, resolve its references and compile its DDL."""
    conn = cls._class_connection
    assert conn is not None and cls.database is not None
    label = cls.__name__
    if not isinstance(cls.definition, str):
        raise NotImplementedError(
            f"{label}: subclasses of Table must implement the property 'definition'"
        )
    spec = parse_definition(cls.definition, label, platform)
    parents = []
    for item in spec.items:
        if isinstance(item, ForeignKeySpec):
            parents.append(resolve_parent(item, namespace, label))
    return declare(spec, parents, cls.database, cls._table_name(), conn.adapter, label)


def _warn_native(cls: type[Table]) -> None:
    spec = parse_definition(str(cls.definition), cls.__name__)
    for item in spec.items:
        if isinstance(item, AttributeSpec) and not item.core:
            warnings.warn(
                f"{cls.__name__}: line {item.line}: {item.name} has the native type "
                f"{item.type!r}, not a core type: it may read back differently elsewhere",
                stacklevel=5,
            )


_CAMEL = re.compile(r"[A-Z][A-Za-z0-9]*")


def _check_class_name(name: str) -> None:
    """CamelCase, as the reference requires; underscores are tolerated with a warning."""
    if "_" in name:
        warnings.warn(
            f"Table class name `{name}` contains underscores. CamelCase names without "
            "underscores are recommended.",
            UserWarning,
            stacklevel=5,
        )
    if not _CAMEL.fullmatch(name.replace("_", "")):
        raise DataJointError(
            f"Table class name `{name}` is invalid. Class names must be in CamelCase, starting "
            "with a capital letter."
        )


def declare_table(cls: type[Table], namespace: Mapping[str, Any]) -> None:
    """Create the table of a class in its schema (with its ``~lineage`` rows)."""
    from .lineage import write_lineage

    conn = cls._class_connection
    assert conn is not None and cls.database is not None
    _check_class_name(cls.__name__)
    name = cls._table_name()
    if len(name) > conn.adapter.max_table_name_length:
        raise DeclarationError(
            f"Table name `{name}` exceeds the max length of {conn.adapter.max_table_name_length}"
        )
    declaration = compile_declaration(cls, namespace, platform_lines(cls, conn))
    _warn_native(cls)
    try:
        for statement in declaration.statements:
            conn.execute(statement)
    except AccessError as err:
        raise AccessError(
            f"Cannot declare table {conn.adapter.full_name(cls.database, name)}. Check that you "
            f"have CREATE privilege on schema `{cls.database}` and REFERENCES privilege on any "
            f"referenced parent tables: {err}"
        ) from err
    except QueryError as err:
        raise DeclarationError(
            f"{cls.__name__}: the database refused to declare "
            f"{conn.adapter.full_name(cls.database, name)}: {err}"
        ) from err
    finally:
        conn.catalog.invalidate(cls.database)
    write_lineage(conn, cls.database, name, declaration.heading)
    logger.info("declared %s", conn.adapter.full_name(cls.database, name))


def alter_table(table: Table, namespace: Mapping[str, Any], prompt: bool) -> None:
    """Bring the table in line with its class's definition (see ``Table.alter``)."""
    from ..context import ask
    from .alter import alter_statements

    cls = type(table)
    conn = table.connection
    if conn.in_transaction:
        raise DataJointError(
            "Cannot update table declaration inside a transaction, e.g. from inside a "
            "populate/make call"
        )
    new = compile_declaration(cls, namespace, _platform_of(table)).heading
    statements = alter_statements(
        table.heading, new, str(table.database), table.table_name, conn.adapter
    )
    if not statements:
        if prompt:
            logger.warning("Nothing to alter.")
        return
    if prompt and not ask("\n".join(statements) + "\n\nExecute?"):
        return
    try:
        for statement in statements:
            conn.execute(statement)
    finally:
        conn.catalog.invalidate(str(table.database))
        table.__dict__.pop("_heading", None)
    if prompt:
        logger.info("Table altered")


def _platform_of(table: Table) -> tuple[str, ...]:
    """The hidden attributes the table has now: an alter keeps them as they are."""
    present = {a.name for a in table.heading.hidden}
    return tuple(line for line in (*JOB_METADATA, PROVENANCE) if line.split()[0] in present)
