"""Tables: a base table is a query expression that can also be declared, inserted into,
deleted from and dropped.

Table classes work at the class level too: ``Session & key``, ``Session.to_dicts()``.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from . import naming
from .condition import Fragment
from .context import check_global_access, conn
from .describe import describe
from .errors import DataJointError, QueryError
from .expression import QueryExpression, as_expression
from .graph.dependencies import build_graph
from .naming import Tier

if TYPE_CHECKING:
    import networkx as nx
    import pandas

    from .connection import Connection
    from .heading import Heading
    from .insert import ValidationResult

logger = logging.getLogger("datajoint_core")


_EXPLAINED = frozenset({"heading", "primary_key"})  # unbound classes raise for these


class _TableMeta(type):
    """Lets a declared table class be used as its own instance: ``Session & key``."""

    def __getattribute__(cls, name: str) -> Any:
        if name.startswith("_"):
            return super().__getattribute__(name)
        raw = None
        for klass in type.__getattribute__(cls, "__mro__"):
            if name in klass.__dict__:
                raw = klass.__dict__[name]
                break
        bindable = inspect.isfunction(raw) or isinstance(raw, property)
        if bindable and type.__getattribute__(cls, "_bound")():
            return getattr(cls(), name)
        if name in _EXPLAINED and type.__getattribute__(cls, "definition") is not None:
            return getattr(cls(), name)  # a table class not bound (yet): say why
        return super().__getattribute__(name)

    def __and__(cls, other: Any) -> QueryExpression:
        return cls() & other

    def __sub__(cls, other: Any) -> QueryExpression:
        return cls() - other

    def __mul__(cls, other: Any) -> QueryExpression:
        return cls() * other

    def __add__(cls, other: Any) -> QueryExpression:
        return cls() + other

    def __len__(cls) -> int:
        return len(cls())

    def __iter__(cls) -> Iterator[dict[str, Any]]:
        return iter(cls())

    def __contains__(cls, item: Any) -> bool:
        return item in cls()


class Table(QueryExpression, metaclass=_TableMeta):
    """A base table. Subclass a tier (Manual, Lookup, ...) and decorate with ``@schema``.

    Instances need not have a table behind them: ``is_declared`` tells, and the heading is
    read from the catalog when first used.
    """

    definition: ClassVar[str | None] = None  # the DataJoint definition of a declared class
    database: ClassVar[str | None] = None
    tier: ClassVar[Tier] = Tier.MANUAL
    declaration_context: ClassVar[Mapping[str, Any] | None] = None
    _class_connection: ClassVar[Connection | None] = None
    _stored_name: ClassVar[str | None] = None

    @classmethod
    def _bound(cls) -> bool:
        return cls._class_connection is not None and cls.database is not None

    def __init__(self) -> None:
        cls = type(self)
        self._label = cls.__name__
        if cls._bound():
            self._connection = cls._class_connection  # type: ignore[assignment]
            self._from = Fragment(self.full_table_name)

    # -- names ---------------------------------------------------------------------------
    @classmethod
    def _base_name(cls) -> str:
        return naming.table_name(cls.__name__, cls.tier)

    @classmethod
    def _table_name(cls) -> str:
        return cls._stored_name or cls._base_name()

    @property
    def table_name(self) -> str:
        return type(self)._table_name()

    @property
    def full_table_name(self) -> str:
        cls = type(self)
        if not cls._bound():
            raise DataJointError(
                f"Class {cls.__name__} is not associated with a schema. "
                "Apply a schema decorator or use schema() to bind it."
            )
        return cls._class_connection.adapter.full_name(cls.database, cls._table_name())  # type: ignore[union-attr, arg-type]

    @property
    def class_name(self) -> str:
        return type(self).__name__

    @property
    def connection(self) -> Connection:
        found = self.__dict__.get("_connection")
        if found is None:
            raise _not_configured(type(self).__name__)
        return found

    @property
    def adapter(self) -> Any:
        return self.connection.adapter

    @property
    def heading(self) -> Heading:
        """The table's heading, read from the catalog the first time it is needed."""
        found = self.__dict__.get("_heading")
        if found is None:
            cls = type(self)
            if not cls._bound():
                raise _not_configured(cls.__name__)
            found = self.connection.catalog.heading(cls.database, cls._table_name())  # type: ignore[arg-type]
            if found is None:
                raise DataJointError(
                    f"table {self.full_table_name} is not declared: declare it with @schema"
                )
            self._heading = found
        return found

    @property
    def is_declared(self) -> bool:
        """Whether the table exists in the database now (asked of the server, not a cache)."""
        cls = type(self)
        if not cls._bound():
            return False
        conn = self.connection
        names = conn.adapter.table_names(conn.fetchall, [cls.database])  # type: ignore[list-item]
        return (cls.database, cls._table_name()) in names

    @property
    def is_restricted(self) -> bool:
        return bool(self._where) or self._top is not None

    # -- declaration ---------------------------------------------------------------------
    @classmethod
    def _namespace(cls, context: Mapping[str, Any]) -> dict[str, Any]:
        """What a definition's ``-> ...`` references are evaluated in: the declaration
        context, ``self`` and the class's own name (a Part's name means the outer table)."""
        return {**context, "self": cls, cls.__name__: cls}

    @classmethod
    def _document(cls) -> None:
        """Add the definition to the class's docstring (``help(Session)`` shows it)."""
        if isinstance(cls.definition, str):
            cls.__doc__ = f"{cls.__doc__ or ''}\nTable definition:\n\n{cls.definition}"

    @classmethod
    def _declare(cls, context: Mapping[str, Any]) -> None:
        from .declare.resolve import declare_table

        conn = cls._class_connection
        assert conn is not None and cls.database is not None
        if conn.in_transaction:
            raise DataJointError(f"cannot declare {cls.__name__} inside a transaction")
        namespace = cls._namespace(context)
        cls.declaration_context = namespace
        declare_table(cls, namespace)

    def alter(self, prompt: bool = True, context: Mapping[str, Any] | None = None) -> None:
        """Change the table to match its (edited) ``definition``: add, drop and change
        secondary attributes and the table comment, keeping the rows.

        A comment that starts with ``{old_name}`` renames that attribute (MySQL). The
        primary key, foreign keys and indexes cannot be altered. ``context`` resolves the
        definition's references (default: the declaration context, else the caller's).
        """
        from .declare.resolve import alter_table

        if context is None:
            context = type(self).declaration_context
        if context is None:
            frame = inspect.currentframe().f_back  # type: ignore[union-attr]
            context = {**frame.f_globals, **frame.f_locals}  # type: ignore[union-attr]
            del frame
        alter_table(self, type(self)._namespace(context), prompt)

    # -- insert --------------------------------------------------------------------------
    def insert1(self, row: Any, **kwargs: Any) -> None:
        """Insert one row (a dict, a numpy record, or a sequence in heading order)."""
        self.insert((row,), **kwargs)

    def insert(
        self,
        rows: Any,
        replace: bool = False,
        skip_duplicates: bool = False,
        ignore_extra_fields: bool = False,
        allow_direct_insert: bool | None = None,
        chunk_size: int | None = None,
        *,
        batch_size: int | None = None,
    ) -> None:
        """Insert rows: dicts, numpy records, sequences, a pandas or polars DataFrame, a pyarrow
        Table or RecordBatch, a CSV file (``pathlib.Path``), or a query.

        ``skip_duplicates`` skips rows whose primary key exists (a duplicate in another unique
        index still raises on PostgreSQL); ``replace`` updates them. Imported and Computed
        tables take rows only from their ``make()`` during ``populate()``, unless
        ``allow_direct_insert=True``. Rows go in multi-row INSERT statements of at most
        ``chunk_size`` rows, inside one transaction (joined if one is open): all or none land.

        >>> Session.insert([{"subject_id": 1, "session_id": 3}])  # doctest: +SKIP
        """
        from .insert import insert_query, insert_rows

        if self.is_restricted:
            raise DataJointError(f"{self._label}: cannot insert into a restricted table")
        if not allow_direct_insert and not getattr(self, "_allow_insert", True):
            raise DataJointError(
                f"{self._label}: Inserts into an auto-populated table can only be done inside "
                "its make method during a populate call. To override, set keyword argument "
                "allow_direct_insert=True."
            )
        source = as_expression(rows)
        if source is not None and chunk_size is not None:
            raise DataJointError("chunk_size is not supported for QueryExpression inserts")
        conn = self.connection
        own = not conn.in_transaction
        if own:
            conn.start_transaction()
        try:
            if source is not None:
                insert_query(self, source, skip_duplicates, ignore_extra_fields, replace)
            else:
                insert_rows(
                    self,
                    rows,
                    skip=skip_duplicates,
                    ignore_extra=ignore_extra_fields,
                    replace=replace,
                    batch_size=chunk_size or batch_size,
                )
        except BaseException as err:
            if own:
                conn.cancel_transaction()
            if isinstance(err, QueryError) and not str(err).startswith(self._label):
                raise type(err)(f"{self._label}: {err}") from err
            raise
        if own:
            conn.commit_transaction()

    def insert_dataframe(
        self, df: pandas.DataFrame, index_as_pk: bool | None = None, **insert_kwargs: Any
    ) -> None:
        """Insert a DataFrame; its index is the primary key when its names are the primary
        key's (``index_as_pk=None``), when ``True``, and dropped when ``False``. The inverse of
        :meth:`to_pandas`."""
        from .insert import frame_rows

        self.insert(frame_rows(self, df, index_as_pk), **insert_kwargs)

    def validate(self, rows: Any, *, ignore_extra_fields: bool = False) -> ValidationResult:
        """Check rows as :meth:`insert` would, without inserting them.

        >>> result = Session.validate(rows)          # doctest: +SKIP
        >>> result or print(result.summary())        # doctest: +SKIP
        """
        from .insert import validate

        return validate(self, rows, ignore_extra_fields)

    def update1(self, row: Mapping[str, Any]) -> None:
        """Update the attributes of one existing row, given with its whole primary key
        (None resets an attribute to its default)."""
        from .insert import update_row

        update_row(self, row)

    def _encode(self, attr: Any, value: Any) -> Any:
        """The driver parameter for a value of ``attr``, checked against its type."""
        from .insert import encode_value

        return encode_value(self, attr, value)

    def _chunks(
        self, rows: Any, ignore_extra: bool, batch_size: int | None
    ) -> Iterator[tuple[list[str], list[list[Any]]]]:
        """(fields, encoded rows) in chunks that share the same fields."""
        from .insert import chunks

        return chunks(self, rows, ignore_extra, batch_size)

    # -- quick delete and drop -----------------------------------------------------------
    def delete_quick(self, get_count: bool = False) -> int | None:
        """Delete the restricted rows without cascading (the database refuses if children exist)."""
        adapter = self.adapter
        if self._top is None:
            where = self.where_fragment()
            sql = adapter.delete_sql(self.full_table_name, where.sql if where else "1 = 1")
            count = self.connection.execute(sql, where.params if where else ())
        else:
            keys = self.make_sql(self.primary_key)
            sql = adapter.delete_by_keys_sql(self.full_table_name, self.primary_key, keys.sql)
            count = self.connection.execute(sql, keys.params)
        return count if get_count else None

    def drop_quick(self) -> None:
        """Drop this table without looking at dependent tables."""
        if self.is_restricted:
            raise DataJointError(f"{self._label}: a restricted table cannot be dropped")
        cls = type(self)
        for statement in self.adapter.drop_table_statements(cls.database, cls._table_name()):
            self.connection.execute(statement)
        self.connection.catalog.invalidate(cls.database)  # type: ignore[arg-type]
        logger.info("dropped %s", self.full_table_name)

    # -- delete and drop through the dependency graph ------------------------------------
    def delete(
        self, transaction: bool = True, prompt: bool | None = None, part_integrity: str = "enforce"
    ) -> int:
        """Delete the restricted rows and every row that depends on them, leaves first."""
        # upward: the one call from a table up to the graph-driven mutation that plans with it
        from .cascade import delete

        return delete(self, transaction=transaction, prompt=prompt, part_integrity=part_integrity)

    def drop(self, prompt: bool | None = None, part_integrity: str = "enforce") -> None:
        """Drop this table and every table that depends on it, in every schema."""
        # upward: as in delete()
        from .cascade import drop

        if self.is_restricted:
            raise DataJointError(f"{self._label}: a restricted table cannot be dropped")
        drop(self, prompt=prompt, part_integrity=part_integrity)

    # -- the dependency graph ------------------------------------------------------------
    def _graph(self) -> nx.MultiDiGraph:
        return build_graph(self.connection, [type(self).database])  # type: ignore[list-item]

    def parents(
        self, primary: bool | None = None, as_objects: bool = False, foreign_key_info: bool = False
    ) -> list[Any]:
        """The tables this table's foreign keys reference.

        ``primary=True`` keeps foreign keys made of primary-key attributes only, ``False`` the
        others; ``foreign_key_info=True`` gives one ``(parent, {attr_map, aliased, primary})``
        per foreign key.
        """
        edges = self._graph().in_edges(self.full_table_name, data=True)
        return self._related([(p, d) for p, _, d in edges], primary, as_objects, foreign_key_info)

    def children(
        self, primary: bool | None = None, as_objects: bool = False, foreign_key_info: bool = False
    ) -> list[Any]:
        """The tables whose foreign keys reference this table (options as in :meth:`parents`)."""
        edges = self._graph().out_edges(self.full_table_name, data=True)
        return self._related([(c, d) for _, c, d in edges], primary, as_objects, foreign_key_info)

    def _related(
        self,
        edges: list[tuple[str, dict[str, Any]]],
        primary: bool | None,
        as_objects: bool,
        foreign_key_info: bool,
    ) -> list[Any]:
        edges = [(n, d) for n, d in edges if primary is None or d["primary"] == primary]
        if foreign_key_info:
            return [(FreeTable(self.connection, n) if as_objects else n, dict(d)) for n, d in edges]
        return self._names(list(dict.fromkeys(n for n, _ in edges)), as_objects)

    def ancestors(self, as_objects: bool = False) -> list[Any]:
        """This table and every table it depends on, nearest first (as the reference orders)."""
        import networkx as nx

        from .graph.propagate import topological_order

        graph = self._graph()
        names = topological_order(graph, nx.ancestors(graph, self.full_table_name))
        return self._names([self.full_table_name, *reversed(names)], as_objects)

    def descendants(self, as_objects: bool = False) -> list[Any]:
        """This table and every table that depends on it, in topological order."""
        import networkx as nx

        from .graph.propagate import topological_order

        graph = self._graph()
        names = topological_order(graph, nx.descendants(graph, self.full_table_name))
        return self._names([self.full_table_name, *names], as_objects)

    def parts(self, as_objects: bool = False) -> list[Any]:
        graph = self._graph()
        names = [n for n, m in graph.nodes(data="master") if m == self.full_table_name]
        return self._names(sorted(names), as_objects)

    def _names(self, names: list[str], as_objects: bool) -> list[Any]:
        if not as_objects:
            return names
        return [FreeTable(self.connection, n) for n in names]

    def describe(self, context: Mapping[str, Any] | None = None, printout: bool = False) -> str:
        """The definition of this table, reconstructed from the database."""
        master = getattr(type(self), "master", None)
        master_name = master().full_table_name if master is not None else None
        text = describe(self.heading, self.adapter, str(self.database), master_name)
        if printout:
            logger.info("\n%s", text)
        return text


def _not_configured(name: str) -> DataJointError:
    return DataJointError(
        f"Table `{name}` is not properly configured. Ensure the schema is activated before "
        "using the table. Example: schema.activate('database_name') or "
        "schema = dj.Schema('database_name')"
    )


class FreeTable(Table):
    """A table named by ``schema.table``, without a class of its own."""

    def __init__(self, connection: Any, full_table_name: str | None = None) -> None:
        if full_table_name is None:  # dj.FreeTable("schema.table") on the global connection
            check_global_access("dj.FreeTable() without a connection")
            connection, full_table_name = conn(), connection
        schema, table = connection.adapter.split_full_name(full_table_name)
        heading = connection.catalog.heading(schema, table)
        if heading is None:
            raise DataJointError(f"table {full_table_name} does not exist")
        self._connection = connection
        self._free_schema = schema
        self._free_table = table
        self._heading = heading
        self._from = Fragment(connection.adapter.full_name(schema, table))
        self._label = table

    @property
    def table_name(self) -> str:
        return self._free_table

    @property
    def full_table_name(self) -> str:
        return self.adapter.full_name(self._free_schema, self._free_table)

    @property
    def database(self) -> str:  # type: ignore[override]
        return self._free_schema

    def _graph(self) -> nx.MultiDiGraph:
        return build_graph(self.connection, [self._free_schema])

    def drop_quick(self) -> None:
        if self.is_restricted:
            raise DataJointError(f"{self._label}: a restricted table cannot be dropped")
        for statement in self.adapter.drop_table_statements(self._free_schema, self._free_table):
            self.connection.execute(statement)
        self.connection.catalog.invalidate(self._free_schema)

    def __repr__(self) -> str:
        return f"FreeTable({self.full_table_name})\n" + super().__repr__()
