"""Job tables: the per-table queue that ``populate(reserve_jobs=True)`` works from.

Each Computed or Imported table ``__name`` (or ``_name``) has a hidden table ``~~name`` in its
schema, declared on first use, with the same columns, types and statuses as the reference
DataJoint 2.3 keeps, so that the reference and this package can work the same queue:

    pending -> reserved -> (deleted, or 'success' with ``jobs.keep_completed``) | 'error'
    'ignore' (set by hand) is never reserved.

>>> Proc.jobs.refresh()                 # doctest: +SKIP
{'added': 4, 'removed': 0, 'orphaned': 0, 're_pended': 0}
>>> Proc.jobs.errors.to_dicts()         # doctest: +SKIP
"""

from __future__ import annotations

import datetime
import logging
import os
import platform
import subprocess
import threading
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from .condition import AndList, Fragment, Not, Raw
from .errors import DataJointError
from .heading import Heading, attribute_from_column
from .table import FreeTable

if TYPE_CHECKING:
    from .connection import Connection
    from .expression import QueryExpression
    from .table import Table

    AutoPopulate = Table  # a table with ``key_source`` (autopopulate.py sits above this module)

logger = logging.getLogger("datajoint_core")

ERROR_MESSAGE_LENGTH = 2047
TRUNCATION_APPENDIX = "...truncated"
STATUSES = ("pending", "reserved", "success", "error", "ignore")

_SECONDARY = f"""
status          : enum({", ".join(repr(s) for s in STATUSES)})
priority        : int8
created_time=CURRENT_TIMESTAMP(3) : datetime(3)
scheduled_time=CURRENT_TIMESTAMP(3) : datetime(3)
reserved_time=null  : datetime(3)
completed_time=null : datetime(3)
duration=null   : float64
error_message="" : varchar({ERROR_MESSAGE_LENGTH})
error_stack=null : <blob>
user=""         : varchar(255)
host=""         : varchar(255)
pid=0           : int32
connection_id=0 : int64
version=""      : varchar(64)
INDEX (status, priority, scheduled_time)
"""

# headings of job tables read from the catalog, per connection (the catalog cache skips them)
_HEADINGS: weakref.WeakKeyDictionary[Connection, dict[str, Heading]] = weakref.WeakKeyDictionary()
_HEADINGS_LOCK = threading.Lock()  # workers in threads, one connection each


def job_table_name(table_name: str) -> str:
    """``'__proc'`` -> ``'~~proc'``: the hidden job table of an auto-populated table."""
    return "~~" + table_name.lstrip("_")


def job_version(config: Any) -> str:
    """The code version recorded with a job: the git commit (``jobs.version_method='git'``)."""
    if config["jobs.version_method"] != "git":
        return ""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def server_now(connection: Connection) -> Any:
    """The server's clock at millisecond precision, as the job columns store it."""
    return connection.fetchall("SELECT CURRENT_TIMESTAMP(3)")[0][0]


def _exists(connection: Connection, schema: str, table: str) -> bool:
    return (schema, table) in connection.adapter.table_names(connection.fetchall, [schema])


def _read_heading(connection: Connection, schema: str, table: str) -> Heading:
    """The heading of a hidden table, read from the catalog (cached per connection)."""
    with _HEADINGS_LOCK:
        cache = _HEADINGS.setdefault(connection, {})
    full = connection.adapter.full_name(schema, table)
    if full in cache:
        return cache[full]
    catalog = connection.adapter.read_catalog(connection.fetchall, [schema])
    pk = catalog.primary_keys.get((schema, table), ())
    columns = [c for c in catalog.columns if (c.schema, c.table) == (schema, table)]
    if not columns:
        raise DataJointError(f"job table {full} does not exist")
    attrs = [attribute_from_column(c, c.name in pk, connection.adapter) for c in columns]
    attrs.sort(key=lambda a: (not a.in_key, pk.index(a.name) if a.in_key else 0))
    comment = next(
        (t.comment for t in catalog.tables if (t.schema, t.table) == (schema, table)), ""
    )
    cache[full] = Heading(tuple(attrs), comment=comment)
    return cache[full]


def _forget(connection: Connection, full_name: str) -> None:
    with _HEADINGS_LOCK:
        _HEADINGS.get(connection, {}).pop(full_name, None)


class Job(FreeTable):
    """The job queue of one auto-populated table (``Proc.jobs``), a table you can query.

    ``pending``, ``reserved``, ``errors``, ``ignored`` and ``completed`` restrict it by status.
    """

    def __init__(self, target: AutoPopulate) -> None:
        connection = target.connection
        schema = target.database
        assert schema is not None
        self._target = target
        self._connection = connection
        self._free_schema = schema
        self._free_table = job_table_name(target.table_name)
        self._label = self._free_table
        self._definition = self._generate_definition()
        self._from = Fragment(connection.adapter.full_name(schema, self._free_table))
        self._heading = self._load_heading() if self.is_declared else Heading(())

    # -- declaration ---------------------------------------------------------------------
    @property
    def target(self) -> AutoPopulate:
        """The auto-populated table this queue serves."""
        return self._target

    @property
    def definition(self) -> str:  # type: ignore[override]
        return self._definition

    def _key_attributes(self) -> list[tuple[str, str]]:
        """The target's primary-key attributes that come from its primary foreign keys."""
        heading = self._target.heading
        from_parents = set()
        for _, info in self._target.parents(primary=True, foreign_key_info=True):
            from_parents.update(info["attr_map"])
        attrs = []
        for name in heading.primary_key:
            if name in from_parents:
                attrs.append((name, heading[name].type))
            else:
                logger.warning(
                    "Ignoring non-FK primary key attribute %r in the job table of %s: "
                    "job granularity is coarser than the table's",
                    name,
                    self._target.full_table_name,
                )
        return attrs

    def _generate_definition(self) -> str:
        attrs = self._key_attributes()
        if not attrs:
            raise DataJointError(
                f"Cannot create jobs table for {self._target.full_table_name}: "
                "no FK-derived primary key attributes found."
            )
        key = "\n".join(f"{name} : {type_}" for name, type_ in attrs)
        return f"# Job queue for {self._target.full_table_name}\n{key}\n---{_SECONDARY}"

    @property
    def is_declared(self) -> bool:
        return _exists(self._connection, self._free_schema, self._free_table)

    def declare(self) -> None:
        """Create the job table (and write its ``~lineage`` rows, as the reference does)."""
        from .declare.ddl import declare
        from .declare.lineage import write_lineage
        from .declare.parser import parse_definition

        conn = self._connection
        if conn.in_transaction:
            raise DataJointError(
                "Cannot declare new tables inside a transaction, e.g. from inside a "
                "populate/make call"
            )
        spec = parse_definition(self._definition, "Job")
        declaration = declare(spec, [], self._free_schema, self._free_table, conn.adapter, "Job")
        try:
            # one transaction: where DDL is transactional, workers declaring at once see the
            # whole table or none of it (elsewhere CREATE TABLE alone carries it all)
            with conn.transaction:
                for statement in declaration.statements:
                    conn.execute(statement)
                write_lineage(conn, self._free_schema, self._free_table, declaration.heading)
            logger.info("declared %s", self.full_table_name)
        except DataJointError:
            if not self.is_declared:
                raise
            logger.debug("%s was declared by another worker", self.full_table_name)
        _forget(conn, self.full_table_name)
        self._heading = self._load_heading()

    def _load_heading(self) -> Heading:
        return _read_heading(self._connection, self._free_schema, self._free_table)

    def _ensure_declared(self) -> None:
        if not self._heading.attributes:  # the empty heading of a table not declared yet
            self.declare()

    def delete(self) -> None:  # type: ignore[override]
        """Delete the (restricted) jobs, without prompts or cascades."""
        self.delete_quick()

    def drop(self) -> None:  # type: ignore[override]
        """Drop the job table, without prompts."""
        self.drop_quick()
        _forget(self._connection, self.full_table_name)

    # -- by status -----------------------------------------------------------------------
    def _restricted(self, restriction: Any) -> Job:
        return cast(Job, self & restriction)

    def _status(self, status: str) -> Job:
        return self._restricted({"status": status})

    @property
    def pending(self) -> Job:
        return self._status("pending")

    @property
    def reserved(self) -> Job:
        return self._status("reserved")

    @property
    def errors(self) -> Job:
        return self._status("error")

    @property
    def ignored(self) -> Job:
        return self._status("ignore")

    @property
    def completed(self) -> Job:
        return self._status("success")

    # -- the queue -----------------------------------------------------------------------
    def _key_source(self) -> QueryExpression:
        """The target's key source (an AutoPopulate attribute: typed loosely, from below)."""
        target: Any = self._target
        return _as_query(target.key_source)

    def _pk(self, key: dict[str, Any]) -> dict[str, Any]:
        return {k: key[k] for k in self.primary_key if k in key}

    def _before(self, column: str, seconds: float) -> Raw:
        """``column`` older than ``seconds`` by the server's clock."""
        threshold = server_now(self._connection) - datetime.timedelta(seconds=seconds)
        return Raw(
            Fragment(f"{self.adapter.quote(column)} < %s", (threshold,)), frozenset({column})
        )

    def _config(self, name: str) -> Any:
        return self._connection.config[f"jobs.{name}"]

    def refresh(
        self,
        *restrictions: Any,
        delay: float = 0,
        priority: int | None = None,
        stale_timeout: float | None = None,
        orphan_timeout: float | None = None,
    ) -> dict[str, int]:
        """Add pending jobs for keys to do, and clear out jobs whose keys have gone.

        1. ``(key_source & restrictions) - target - jobs`` become pending, schedulable
           ``delay`` seconds from now (server time), at ``priority`` (lower runs first).
        2. With ``jobs.keep_completed``: success jobs whose row is gone from the target are
           pending again.
        3. Jobs whose key left the (unrestricted) key_source: success and error records whose
           row is not in the target either go at any age; others (not 'ignore') once older than
           ``stale_timeout`` seconds (0: never).
        4. Reserved jobs older than ``orphan_timeout`` seconds are pending again.

        Returns the counts ``{'added', 'removed', 'orphaned', 're_pended'}``.
        """
        self._ensure_declared()
        if priority is None:
            priority = self._config("default_priority")
        if stale_timeout is None:
            stale_timeout = self._config("stale_timeout")
        result = {"added": 0, "removed": 0, "orphaned": 0, "re_pended": 0}
        target = self._target
        key_source = self._key_source()
        if restrictions:
            key_source = key_source & AndList(restrictions)
        todo = (key_source.proj() - target.proj()) - self.proj()
        keys = todo.keys(order_by="KEY")  # one order for all workers: no lock cycles
        if keys:
            scheduled = server_now(self._connection) + datetime.timedelta(seconds=delay)
            rows = [{**k, "status": "pending", "priority": priority} for k in keys]
            result["added"] = self._insert_new(rows, scheduled)
        if self._config("keep_completed"):
            repend = self.completed._restricted(key_source.proj())._restricted(Not(target.proj()))
            for key in repend.keys():  # noqa: SIM118 -- a query's keys, not a dict's
                self._restricted(key).delete_quick()
                self._insert_new([{**key, "status": "pending", "priority": priority}])
                result["re_pended"] += 1
        vanished = self._restricted(Not(self._key_source().proj()))
        records = vanished._restricted(
            AndList(["status in ('success', 'error')", Not(target.proj())])
        )
        result["removed"] += records.delete_quick(get_count=True) or 0
        if stale_timeout > 0:
            old = self._before("created_time", stale_timeout)
            stale = vanished._restricted(AndList([old, "status != 'ignore'"]))
            result["removed"] += stale.delete_quick(get_count=True) or 0
        if orphan_timeout is not None and orphan_timeout > 0:
            orphans = self.reserved._restricted(self._before("reserved_time", orphan_timeout))
            for key in orphans.keys():  # noqa: SIM118
                self._restricted(key).delete_quick()
                self._insert_new([{**key, "status": "pending", "priority": priority}])
                result["orphaned"] += 1
        return result

    def _insert_new(self, rows: list[dict[str, Any]], scheduled: Any = None) -> int:
        """Insert job rows, skipping keys that have a job already; the number inserted."""
        added = 0
        if scheduled is not None:
            rows = [{**r, "scheduled_time": scheduled} for r in rows]
        for fields, chunk in self._chunks(rows, True, None):
            sql = self.adapter.insert_sql(
                self.full_table_name,
                fields,
                len(chunk),
                skip_duplicates=True,
                primary_key=self.primary_key,
            )
            added += self._connection.execute(sql, [v for row in chunk for v in row])
        return added

    def update1(self, row: Mapping[str, Any]) -> None:
        """Change attributes of one existing job: ``row`` has its whole primary key and the
        new values (None resets an attribute to its default), as the reference's ``update1``."""
        if not isinstance(row, Mapping):
            raise DataJointError("The argument of update1 must be dict-like.")
        if not set(row).issuperset(self.primary_key):
            raise DataJointError("The argument of update1 must supply all primary key values.")
        unknown = [k for k in row if k not in self.heading]
        if unknown:
            raise DataJointError(f"Attribute `{unknown[0]}` not found.")
        if self.is_restricted:
            raise DataJointError("Update cannot be applied to a restricted table.")
        pk = {k: row[k] for k in self.primary_key}
        if len(self & pk) != 1:
            raise DataJointError("Update can only be applied to one existing entry.")
        values = {k: v for k, v in row.items() if k not in pk}
        if values:
            self._update_where(pk, values)

    def _update_where(
        self, pk: dict[str, Any], values: dict[str, Any], sql_values: str = "", where: str = ""
    ) -> int:
        """UPDATE the job of ``pk``: ``values`` as parameters (None: the default), plus
        assignments and conditions written in SQL; the number of rows changed."""
        q = self.adapter.quote
        sets = [f"{q(n)} = DEFAULT" if v is None else f"{q(n)} = %s" for n, v in values.items()]
        params = [self._encode(self.heading[n], v) for n, v in values.items() if v is not None]
        conditions = [f"{q(name)} = %s" for name in pk]
        params += [self._encode(self.heading[n], v) for n, v in pk.items()]
        sql = (
            f"UPDATE {self.full_table_name} SET {', '.join([*sets, *filter(None, [sql_values])])}"
            f" WHERE {' AND '.join([*conditions, *filter(None, [where])])}"
        )
        return self._connection.execute(sql, params)

    def reserve(self, key: dict[str, Any]) -> bool:
        """Mark a pending, due job reserved by this process; False if it is not available.

        One UPDATE whose WHERE requires ``status='pending'``: of two workers reserving the same
        key at once, exactly one gets it.
        """
        self._ensure_declared()
        conn = self._connection
        values = {
            "status": "reserved",
            "host": platform.node(),
            "pid": os.getpid(),
            "connection_id": conn.session_id(),
            "user": str(conn.fetchall("SELECT CURRENT_USER")[0][0]),
            "version": job_version(conn.config),
        }
        q = self.adapter.quote
        count = self._update_where(
            self._pk(key),
            values,
            f"{q('reserved_time')} = CURRENT_TIMESTAMP(3)",
            f"{q('status')} = 'pending' AND {q('scheduled_time')} <= CURRENT_TIMESTAMP(3)",
        )
        return count == 1

    def complete(self, key: dict[str, Any], duration: float | None = None) -> None:
        """The job succeeded: keep it as 'success' (``jobs.keep_completed``) or delete it."""
        if self._config("keep_completed"):
            values: dict[str, Any] = {
                "status": "success",
                "completed_time": server_now(self._connection),
            }
            if duration is not None:
                values["duration"] = duration
            self.update1({**self._pk(key), **values})
        else:
            self._restricted(self._pk(key)).delete_quick()

    def error(
        self, key: dict[str, Any], error_message: str, error_stack: str | None = None
    ) -> None:
        """The job failed: status 'error', the message (at most 2047 characters), the stack."""
        if len(error_message) > ERROR_MESSAGE_LENGTH:
            cut = ERROR_MESSAGE_LENGTH - len(TRUNCATION_APPENDIX)
            error_message = error_message[:cut] + TRUNCATION_APPENDIX
        values: dict[str, Any] = {
            "status": "error",
            "completed_time": server_now(self._connection),
            "error_message": error_message,
        }
        if error_stack is not None:
            values["error_stack"] = error_stack  # a <blob>: stored as the reference stores it
        self.update1({**self._pk(key), **values})

    def ignore(self, key: dict[str, Any]) -> None:
        """Mark a job 'ignore' (populate skips it), adding it if it is not in the queue."""
        self._ensure_declared()
        pk = self._pk(key)
        if pk in self:
            self.update1({**pk, "status": "ignore"})
        else:
            self.insert1({**pk, "status": "ignore", "priority": self._config("default_priority")})

    def progress(self) -> dict[str, int]:
        """The number of jobs per status, and their ``total``."""
        counts = dict.fromkeys(STATUSES, 0)
        if self.is_declared:
            q = self.adapter.quote
            sql = (
                f"SELECT {q('status')}, COUNT(*) FROM {self.full_table_name} GROUP BY {q('status')}"
            )
            for status, n in self._connection.fetchall(sql):
                counts[str(status)] = int(n)
        counts["total"] = sum(counts.values())
        return counts

    def __repr__(self) -> str:
        return f"Job({self.full_table_name})\n" + super(FreeTable, self).__repr__()


def _as_query(source: Any) -> QueryExpression:
    from .expression import as_expression

    query = as_expression(source)
    if query is None:
        raise DataJointError("Invalid key_source value")
    return query
