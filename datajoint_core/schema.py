"""Schemas: the ``@schema`` decorator, schema loading without Python code, and FreeTable access.

>>> schema = inst.Schema("lab")               # doctest: +SKIP
>>> @schema
... class Subject(dj.Manual):
...     definition = '''
...     subject_id : int32
...     ---
...     species : varchar(32)
...     '''
"""

from __future__ import annotations

import inspect
import logging
import types
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .context import ask, check_global_access, conn
from .errors import DataJointError
from .naming import split_part, to_camel
from .table import Table
from .user_tables import Lookup, Part, tier_class

if TYPE_CHECKING:
    from .connection import Connection

logger = logging.getLogger("datajoint_core")


def _caller_context(depth: int = 2) -> dict[str, Any]:
    frame = inspect.currentframe()
    for _ in range(depth):
        assert frame is not None
        frame = frame.f_back
    assert frame is not None
    try:
        return {**frame.f_globals, **frame.f_locals}
    finally:
        del frame


class Schema:
    """A database schema whose tables are declared by decorating classes."""

    def __init__(
        self,
        schema_name: str | None = None,
        context: Mapping[str, Any] | None = None,
        *,
        connection: Connection | None = None,
        create_schema: bool = True,
        create_tables: bool = True,
    ) -> None:
        if connection is None:
            check_global_access("dj.Schema() without a connection")
            connection = conn()
        self.connection = connection
        self.context = context
        self.create_tables = create_tables
        self.database: str | None = None
        if schema_name is not None:
            self.activate(schema_name, create_schema=create_schema)

    def activate(self, schema_name: str, *, create_schema: bool = True) -> None:
        """Bind to a schema in the database, creating it if allowed."""
        adapter = self.connection.adapter
        if not self.connection.fetchall(adapter.schema_exists_sql(), (schema_name,)):
            if not create_schema:
                raise DataJointError(f"schema {schema_name!r} does not exist")
            self.connection.execute(adapter.create_schema_sql(schema_name))
            logger.info("created schema %s", schema_name)
        self.database = schema_name
        self.connection.activated_schemas.add(schema_name)

    @property
    def exists(self) -> bool:
        adapter = self.connection.adapter
        return bool(self.connection.fetchall(adapter.schema_exists_sql(), (self.database,)))

    def __call__(
        self, cls: type[Table], *, context: Mapping[str, Any] | None = None
    ) -> type[Table]:
        """Bind a table class to this schema and declare its table if it does not exist."""
        if self.database is None:
            raise DataJointError("the schema is not activated")
        if issubclass(cls, Part) and cls.master is None:
            raise DataJointError(f"Part table {cls.__name__} must be nested in its master class")
        ctx = dict(context or self.context or _caller_context())
        self._process(cls, ctx)
        return cls

    def _process(self, cls: type[Table], context: dict[str, Any]) -> None:
        cls._class_connection = self.connection
        cls.database = self.database
        catalog = self.connection.catalog
        if catalog.heading(self.database, cls._table_name()) is None:  # type: ignore[arg-type]
            if not self.create_tables:
                raise DataJointError(f"table {cls.__name__} does not exist in {self.database}")
            # a Part's own name stays the outer one: `-> Website` inside Profile.Website
            # names the module's Website, not the part itself (as the reference resolves it)
            own = {} if issubclass(cls, Part) else {cls.__name__: cls}
            cls._declare({**context, **own})
            if issubclass(cls, Lookup) and cls.contents:
                cls().insert(cls.contents, skip_duplicates=True)
        elif issubclass(cls, Lookup) and cls.contents:
            cls().insert(cls.contents, skip_duplicates=True)
        for name, member in list(vars(cls).items()):
            if isinstance(member, type) and issubclass(member, Part) and name != "master":
                member.master = cls
                self._process(member, {**context, cls.__name__: cls})

    # -- inspection ----------------------------------------------------------------------
    def list_tables(self) -> list[str]:
        """The names of the tables in the schema (hidden tables left out)."""
        catalog = self.connection.catalog
        catalog.load([self.database])  # type: ignore[list-item]
        return sorted(t for s, t in catalog.tables.values() if s == self.database)

    @property
    def jobs(self) -> list[Any]:
        """The job tables (:class:`~datajoint_core.jobs.Job`) of this schema's auto-populated
        tables, those declared so far."""
        from .autopopulate import AutoPopulate
        from .jobs import Job, job_table_name

        if self.database is None or not self.exists:
            raise DataJointError("the schema is not activated")
        conn = self.connection
        hidden = {t for _, t in conn.adapter.table_names(conn.fetchall, [self.database])}
        return [
            Job(cls())
            for cls in self._classes().values()
            if issubclass(cls, AutoPopulate) and job_table_name(cls._table_name()) in hidden
        ]

    def spawn_missing_classes(self, context: dict[str, Any] | None = None) -> None:
        """Create a class for every table of the schema that ``context`` lacks."""
        target = context if context is not None else inspect.currentframe().f_back.f_globals  # type: ignore[union-attr]
        for name, cls in self._classes().items():
            target.setdefault(name, cls)

    def _classes(self) -> dict[str, type[Table]]:
        """Table classes for every table of the schema, Parts nested in their masters."""
        tables = self.list_tables()
        masters: dict[str, type[Table]] = {}
        for table in tables:
            if split_part(table) is None:
                tier, bare = tier_class(table)
                masters[table] = self._make_class(to_camel(bare), tier, table)
        for table in tables:
            split = split_part(table)
            if split is None:
                continue
            master = masters.get(split[0])
            if master is None:
                tier, bare = tier_class(table)
                masters[table] = self._make_class(to_camel(bare), tier, table)
                continue
            part: Any = self._make_class(to_camel(split[1]), Part, table)
            part.master = master
            setattr(master, part.__name__, part)
        return {cls.__name__: cls for cls in masters.values()}

    def _make_class(self, name: str, tier: type[Table], table: str) -> Any:
        cls: Any = types.new_class(name, (tier,))
        cls._stored_name = table
        cls._class_connection = self.connection
        cls.database = self.database
        return cls

    def drop(self, prompt: bool | None = None) -> None:
        """Drop the schema and all its tables."""
        if self.database is None:
            raise DataJointError("the schema is not activated")
        if prompt is None:
            prompt = bool(self.connection.config["safemode"])
        if prompt and not ask(f"Drop schema {self.database} with all its tables?"):
            logger.info("schema %s left as it was", self.database)
            return
        self.connection.execute(self.connection.adapter.drop_schema_sql(self.database))
        self.connection.catalog.invalidate(self.database)
        self.connection.activated_schemas.discard(self.database)
        logger.info("dropped schema %s", self.database)

    def __repr__(self) -> str:
        return f"Schema({self.database!r})"


class VirtualModule(types.ModuleType):
    """A module with a class for every table of an existing schema, made from the catalog.

    >>> lab = dj.VirtualModule("lab", "lab", connection=inst.connection)   # doctest: +SKIP
    >>> lab.Session & {"subject_id": 1}                                   # doctest: +SKIP
    """

    def __init__(
        self,
        module_name: str,
        schema_name: str,
        *,
        create_schema: bool = False,
        create_tables: bool = False,
        connection: Connection | None = None,
    ) -> None:
        super().__init__(module_name)
        schema = Schema(
            schema_name,
            connection=connection,
            create_schema=create_schema,
            create_tables=create_tables,
        )
        self.schema = schema
        for name, cls in schema._classes().items():
            setattr(self, name, cls)


def virtual_schema(schema_name: str, *, connection: Connection | None = None) -> VirtualModule:
    return VirtualModule(schema_name, schema_name, connection=connection)


def list_schemas(connection: Connection | None = None) -> list[str]:
    """The schemas on the server."""
    if connection is None:
        check_global_access("dj.list_schemas() without a connection")
        connection = conn()
    return connection.list_schemas()
