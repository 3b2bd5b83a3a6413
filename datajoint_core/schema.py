"""Schemas: the ``@schema`` decorator, deferred activation, classes made from the catalog, and
access to a schema's tables by name.

>>> schema = inst.Schema("lab")               # doctest: +SKIP
>>> @schema
... class Subject(dj.Manual):
...     definition = '''
...     subject_id : int32
...     ---
...     species : varchar(32)
...     '''

A schema may be made before it knows its database: ``schema = dj.Schema()`` collects the
decorated classes, and ``schema.activate("lab", connection=...)`` declares them.
"""

from __future__ import annotations

import inspect
import logging
import types
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from .context import ask, check_global_access, conn
from .errors import AccessError, DataJointError
from .naming import master_of, split_part, to_camel, to_snake
from .table import FreeTable, Table
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


def _caller_locals(depth: int = 2) -> dict[str, Any]:
    """The caller's namespace itself (a module's globals; a function's ``f_locals``, which
    ``locals()`` in that function then shows), for classes made into it."""
    frame = inspect.currentframe()
    for _ in range(depth):
        assert frame is not None
        frame = frame.f_back
    assert frame is not None
    try:
        return frame.f_locals
    finally:
        del frame


def _class_members(cls: type) -> list[str]:
    """The attribute names of a class and its bases, in declaration order."""
    names: list[str] = []
    for klass in reversed(cls.__mro__):
        names.extend(n for n in vars(klass) if n not in names)
    return names


class Schema:
    """A database schema whose tables are declared by decorating classes.

    ``create_tables=None`` follows the connection's ``database.create_tables``; with False a
    missing table is not declared (using its class then raises). ``add_objects`` extends the
    namespace in which definitions are resolved.
    """

    def __init__(
        self,
        schema_name: str | None = None,
        context: Mapping[str, Any] | None = None,
        *,
        connection: Connection | None = None,
        create_schema: bool = True,
        create_tables: bool | None = None,
        add_objects: Mapping[str, Any] | None = None,
    ) -> None:
        if connection is None:
            check_global_access("dj.Schema() without a connection")
        self.connection: Connection | None = connection
        self.context = context
        self.create_schema = create_schema
        self.create_tables = create_tables
        self.add_objects = add_objects
        self.database: str | None = None
        self.declare_list: list[tuple[type[Table], dict[str, Any]]] = []
        if schema_name:
            self.activate(schema_name)

    # -- activation ----------------------------------------------------------------------
    def is_activated(self) -> bool:
        return self.database is not None

    def activate(
        self,
        schema_name: str | None = None,
        *,
        connection: Connection | None = None,
        create_schema: bool | None = None,
        create_tables: bool | None = None,
        add_objects: Mapping[str, Any] | None = None,
    ) -> None:
        """Bind to a schema in the database (creating it if allowed) and declare the classes
        decorated so far. Activating again under the same name does nothing."""
        if schema_name is None:
            if self.database is not None and self.exists:
                return
            raise DataJointError("Please provide a schema_name to activate the schema.")
        if self.database is not None and self.exists:
            if self.database == schema_name:
                return
            raise DataJointError(f"The schema is already activated for schema {self.database}.")
        if connection is not None:
            self.connection = connection
        if self.connection is None:
            check_global_access("dj.Schema() without a connection")
            self.connection = conn()
        if create_schema is not None:
            self.create_schema = create_schema
        if create_tables is not None:
            self.create_tables = create_tables
        if add_objects:
            self.add_objects = add_objects
        self.database = schema_name
        if not self.exists:
            if not self.create_schema:
                raise DataJointError(
                    f"Database `{schema_name}` has not yet been declared. "
                    "Set argument create_schema=True to create it."
                )
            try:
                self.connection.execute(self.connection.adapter.create_schema_sql(schema_name))
            except AccessError as err:
                raise DataJointError(
                    f"Schema `{schema_name}` does not exist and could not be created. "
                    "Check permissions."
                ) from err
            logger.debug("created schema %s", schema_name)
        self.connection.register(self)
        for cls, context in self.declare_list:
            self._decorate_master(cls, {**context, **(self.add_objects or {})})

    @property
    def _conn(self) -> Connection:
        if self.connection is None or self.database is None:
            raise DataJointError("Schema must be activated first.")
        return self.connection

    @property
    def _name(self) -> str:
        if self.database is None:
            raise DataJointError("Schema must be activated first.")
        return self.database

    def _assert_exists(self) -> None:
        if not self.exists:
            raise DataJointError(f"Schema `{self.database}` has not been created.")

    @property
    def exists(self) -> bool:
        """Whether the schema exists on the server (it must be activated)."""
        connection = self._conn
        sql = connection.adapter.schema_exists_sql()
        return bool(connection.fetchall(sql, (self._name,)))

    # -- declaring tables ----------------------------------------------------------------
    def __call__(
        self, cls: type[Table], *, context: Mapping[str, Any] | None = None
    ) -> type[Table]:
        """Bind a table class (and its Parts) to this schema and declare its table if it does
        not exist; before activation, remember it for :meth:`activate`."""
        ctx = dict(context or self.context or _caller_context())
        if issubclass(cls, Part):
            raise DataJointError(
                f"The schema decorator should not be applied to Part tables ({cls.__name__}): "
                "decorate its master, in which it is nested"
            )
        if self.is_activated():
            self._decorate_master(cls, {**ctx, **(self.add_objects or {})})
        else:
            self.declare_list.append((cls, ctx))
        return cls

    def _decorate_master(self, cls: type[Table], context: dict[str, Any]) -> None:
        self._decorate_table(cls, {**context, "self": cls, cls.__name__: cls})
        self._decorate_parts(cls, context)

    def _decorate_parts(self, master: type[Table], context: dict[str, Any]) -> None:
        """The Part classes nested in ``master`` (inherited ones too), and theirs in turn."""
        for part in _parts(master):
            part.master = master
            named = {**context, master.__name__: master}
            self._decorate_table(part, {**named, "master": master, "self": part})
            self._decorate_parts(part, named)

    def _decorate_table(self, cls: type[Table], context: dict[str, Any]) -> None:
        connection, database = self._conn, self._name
        cls._class_connection = connection
        cls.database = database
        cls._document()
        declared = connection.catalog.heading(database, cls._table_name()) is not None
        create = self.create_tables
        if create is None:
            create = bool(connection.config["database.create_tables"])
        if not declared and create:
            cls._declare(context)
            declared = True
            if connection._dependencies is not None:
                connection._dependencies.clear()
        if declared and issubclass(cls, Lookup):
            contents = list(cls.contents or ())
            table = cls()
            if len(contents) > len(table):
                table.insert(contents, skip_duplicates=True)

    # -- inspection ----------------------------------------------------------------------
    def list_tables(self) -> list[str]:
        """The tables of the schema in topological order (hidden tables left out)."""
        from .graph.dependencies import build_graph
        from .graph.propagate import topological_order

        connection = self._conn
        connection.catalog.invalidate(self._name)
        graph = build_graph(connection, [self._name], downstream=False)
        mine = [n for n, s in graph.nodes(data="schema") if s == self._name]
        return [graph.nodes[n]["table"] for n in topological_order(graph, mine)]

    def _find_table_name(self, name: str) -> str | None:
        tables = self.list_tables()
        for prefix in ("", "#", "_", "__"):
            if prefix + name in tables:
                return prefix + name
        return None

    def get_table(self, name: str) -> FreeTable:
        """A table of the schema by its name: stored (``'#stimulus'``), bare (``'stimulus'``)
        or a class name (``'Stimulus'``)."""
        self._assert_exists()
        snake = to_snake(name) if name[:1].isupper() else name
        table = self._find_table_name(snake)
        if table is None:
            raise DataJointError(f"Table `{snake}` does not exist in schema `{self._name}`.")
        return FreeTable(self._conn, self._conn.adapter.full_name(self._name, table))

    def __getitem__(self, name: str) -> FreeTable:
        return self.get_table(name)

    def __iter__(self) -> Iterator[FreeTable]:
        """The tables of the schema in topological order."""
        self._assert_exists()
        for table in self.list_tables():
            yield FreeTable(self._conn, self._conn.adapter.full_name(self._name, table))

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str) or not name:
            return False
        return self._find_table_name(to_snake(name) if name[:1].isupper() else name) is not None

    @property
    def jobs(self) -> list[Any]:
        """The job tables (:class:`~datajoint_core.jobs.Job`) of this schema's auto-populated
        tables that have one."""
        from .autopopulate import AutoPopulate
        from .jobs import Job, job_table_name

        self._assert_exists()
        connection = self._conn
        hidden = {t for _, t in connection.adapter.table_names(connection.fetchall, [self._name])}
        classes: dict[str, Any] = {}
        self.make_classes(into=classes)
        found = [c for v in classes.values() for c in (v, *_parts(v))]
        return [
            Job(cls())
            for cls in found
            if issubclass(cls, AutoPopulate) and job_table_name(cls._table_name()) in hidden
        ]

    # -- lineage -------------------------------------------------------------------------
    @property
    def lineage_table_exists(self) -> bool:
        from .declare.lineage import TABLE

        self._assert_exists()
        connection = self._conn
        return (self._name, TABLE) in connection.adapter.table_names(
            connection.fetchall,
            [self._name],
        )

    @property
    def lineage(self) -> dict[str, str]:
        """``{'schema.table.attribute': origin}`` from the schema's ``~lineage`` table."""
        from .declare.lineage import TABLE

        if not self.lineage_table_exists:
            return {}
        connection = self._conn
        q = connection.adapter.quote
        rows = connection.fetchall(
            f"SELECT {q('table_name')}, {q('attribute_name')}, {q('lineage')} "
            f"FROM {connection.adapter.full_name(self._name, TABLE)}"
        )
        return {f"{self._name}.{t}.{a}": str(origin) for t, a, origin in rows}

    def rebuild_lineage(self) -> None:
        """Write the ``~lineage`` rows of every table again, parents first (schemas upstream
        must have theirs already)."""
        from .declare.lineage import TABLE, write_lineage

        self._assert_exists()
        connection = self._conn
        if self.lineage_table_exists:
            connection.execute(f"DELETE FROM {connection.adapter.full_name(self._name, TABLE)}")
        for table in self.list_tables():
            heading = connection.catalog.heading(self._name, table)
            assert heading is not None
            write_lineage(connection, self._name, table, heading)

    # -- classes from the catalog ----------------------------------------------------------
    def make_classes(self, into: dict[str, Any] | None = None) -> None:
        """Create a class for every table of the schema that ``into`` (default: the schema's
        context, else the caller's namespace) has no class for; Parts nested in their masters.
        """
        self._assert_exists()
        if into is None:
            into = self.context if self.context is not None else _caller_locals()  # type: ignore[assignment]
        assert into is not None
        connection = self._conn
        known = _known_tables(into)
        tables = self.list_tables()
        existing = set(tables)
        parts: list[str] = []
        for table in tables:
            if connection.adapter.full_name(self._name, table) in known:
                continue
            if split_part(table) is not None and master_of(table, existing) is not None:
                parts.append(table)
                continue
            tier, bare = tier_class(table)
            if to_camel(bare) not in into:
                into[to_camel(bare)] = self._make_class(to_camel(bare), tier, table)
        for table in parts:
            master_table = master_of(table, existing)
            assert master_table is not None
            master = _find_master(into, connection.adapter.full_name(self._name, master_table))
            if master is None:
                raise DataJointError(
                    f"The table {table} does not follow DataJoint naming conventions"
                )
            part: Any = self._make_class(to_camel(table[len(master_table) + 2 :]), Part, table)
            part.master = master
            setattr(master, part.__name__, part)

    def spawn_missing_classes(self, context: dict[str, Any] | None = None) -> None:
        """:meth:`make_classes` under its older name."""
        self.make_classes(into=context if context is not None else _caller_locals())

    def _make_class(self, name: str, tier: type[Table], table: str) -> Any:
        cls: Any = types.new_class(name, (tier,))
        cls._stored_name = table
        cls._class_connection = self.connection
        cls.database = self._name
        return cls

    # -- dropping ------------------------------------------------------------------------
    def drop(self, prompt: bool | None = None) -> None:
        """Drop the schema with all its tables; ``prompt=None`` asks when ``safemode`` is on.
        A schema that does not exist is left alone."""
        connection = self._conn
        if prompt is None:
            prompt = bool(connection.config["safemode"])
        if not self.exists:
            logger.info("Schema named `%s` does not exist. Doing nothing.", self._name)
            return
        if prompt and not ask(f"Proceed to delete entire schema `{self._name}`?"):
            logger.info("schema %s left as it was", self._name)
            return
        try:
            connection.execute(connection.adapter.drop_schema_sql(self._name))
        except AccessError as err:
            raise AccessError(
                f"An attempt to drop schema `{self._name}` has failed. Check permissions."
            ) from err
        finally:
            connection.catalog.invalidate(self._name)
        connection.activated_schemas.discard(self._name)
        connection.schemas.pop(self._name, None)
        if connection._dependencies is not None:
            connection._dependencies.clear()
        logger.debug("dropped schema %s", self._name)

    def __repr__(self) -> str:
        return f"Schema `{self.database}`\n"


def _parts(cls: type) -> list[type[Part]]:
    return [
        m
        for n in _class_members(cls)
        if n[:1].isupper() and isinstance(m := getattr(cls, n, None), type) and issubclass(m, Part)
    ]


def _bound_name(cls: type[Table]) -> str | None:
    if not cls._bound():
        return None
    return cls._class_connection.adapter.full_name(cls.database, cls._table_name())  # type: ignore[union-attr, arg-type]


def _known_tables(namespace: Mapping[str, Any]) -> set[str]:
    """The full names of the tables that classes in ``namespace`` (and their Parts) stand for."""
    found: set[str] = set()
    for name, member in namespace.items():
        if name.startswith("_") or not (isinstance(member, type) and issubclass(member, Table)):
            continue
        for cls in (member, *_parts(member)):
            try:
                full = _bound_name(cls)
            except DataJointError:
                continue
            if full is not None:
                found.add(full)
    return found


def _find_master(namespace: Mapping[str, Any], full_name: str) -> type[Table] | None:
    for member in namespace.values():
        if isinstance(member, type) and issubclass(member, Table):
            try:
                if _bound_name(member) == full_name:
                    return member
            except DataJointError:
                continue
    return None


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
        add_objects: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(module_name)
        schema = Schema(
            schema_name,
            connection=connection,
            create_schema=create_schema,
            create_tables=create_tables,
        )
        if add_objects:
            self.__dict__.update(add_objects)
        self.__dict__["schema"] = schema
        schema.make_classes(into=self.__dict__)


def virtual_schema(
    schema_name: str,
    *,
    connection: Connection | None = None,
    create_schema: bool = False,
    create_tables: bool = False,
    add_objects: Mapping[str, Any] | None = None,
) -> VirtualModule:
    """A :class:`VirtualModule` named after its schema: ``lab = dj.virtual_schema("lab")``."""
    return VirtualModule(
        schema_name,
        schema_name,
        connection=connection,
        create_schema=create_schema,
        create_tables=create_tables,
        add_objects=add_objects,
    )


def list_schemas(connection: Connection | None = None) -> list[str]:
    """The schemas on the server that the account can see."""
    if connection is None:
        check_global_access("dj.list_schemas() without a connection")
        connection = conn()
    return connection.list_schemas()


__all__ = ["Schema", "VirtualModule", "list_schemas", "virtual_schema"]
