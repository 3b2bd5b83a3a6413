"""``populate()``: call ``make(key)`` for every key of ``key_source`` not yet in the table.

Imported and Computed tables get this mixin. It runs as the reference DataJoint 2.3 does:

- ``key_source`` is the join of the primary-key parents (override it as a property);
  ``populate(*restrictions)`` works on ``(key_source & restrictions) - self``.
- each ``make(key)`` runs inside its own transaction; inserts into the table are refused
  outside ``make()`` unless ``allow_direct_insert=True``.
- the three-part form ``make_fetch`` / ``make_compute`` / ``make_insert`` computes outside
  the transaction, then fetches again inside it and refuses to insert if the data changed.
- ``reserve_jobs=True`` works from the job table (:mod:`datajoint_core.jobs`), so that
  several workers (processes, or threads with one ``dj.Instance`` each) never compute a key
  twice; ``processes=N`` forks N workers as the reference does.

>>> @schema                                         # doctest: +SKIP
... class Total(dj.Computed):
...     definition = '''
...     -> Session
...     ---
...     n_trials : int32
...     '''
...     def make(self, key):
...         self.insert1({**key, "n_trials": len(Trial & key)})
>>> Total.populate(display_progress=True)           # doctest: +SKIP
{'success_count': 3, 'error_list': []}
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import inspect
import logging
import multiprocessing as mp
import signal
import threading
import time
import traceback
from collections.abc import Callable, Generator, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from .condition import AndList, Fragment, Raw, dict_condition
from .errors import DataJointError, LostConnectionError
from .expression import QueryExpression, as_expression
from .table import Table

if TYPE_CHECKING:
    from .jobs import Job

logger = logging.getLogger("datajoint_core")

# Workers inherit the table and its (closed, then reopened) connection by fork, as in the
# reference; other start methods would have to pickle a live connection.
_MP_START_METHOD = "fork" if "fork" in mp.get_all_start_methods() else None

Status = bool | tuple[dict[str, Any], Any]


# -- the worker side of populate(processes=N) ---------------------------------------------------


def _initialize_worker(table: AutoPopulate, jobs: Job | None, kwargs: dict[str, Any]) -> None:
    # An idle worker ends at once on SIGTERM, as Pool.terminate() expects (the parent's handler,
    # inherited by fork, raised inside the pool's queue lock and could leave the pool hanging);
    # a key in progress still marks its job as an error (_call_populate1).
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    process: Any = mp.current_process()
    process.table, process.jobs, process.populate_kwargs = table, jobs, kwargs
    table.connection.connect()  # the parent closed it before forking


def _call_populate1(key: dict[str, Any]) -> Status:
    process: Any = mp.current_process()
    with _sigterm_as_exit():
        return process.table._populate1(key, process.jobs, **process.populate_kwargs)


@contextlib.contextmanager
def _progress_bar(total: int, description: str, enabled: bool) -> Iterator[Callable[[], None]]:
    """A terminal progress bar (rich) if ``enabled``; yields the function that advances it."""
    if not enabled:
        yield lambda: None
        return
    from rich.progress import Progress

    with Progress() as bar:
        task = bar.add_task(description, total=total)
        yield lambda: bar.advance(task)


def fingerprint(value: Any) -> str:
    """A hash of nested data that changes with any value, type or order (dict keys aside).

    The three-part make compares what ``make_fetch`` returned before and inside the
    transaction by this hash (the reference uses ``deepdiff.DeepHash`` the same way).
    """
    digest = hashlib.sha256()
    _feed(digest, value)
    return digest.hexdigest()


def _feed(digest: Any, value: Any) -> None:
    kind = type(value)
    digest.update(f"{kind.__module__}.{kind.__qualname__}:".encode())
    if isinstance(value, Mapping):
        items = sorted(value.items(), key=lambda kv: repr(kv[0]))
        digest.update(f"{len(items)}{{".encode())
        for k, v in items:
            _feed(digest, k)
            _feed(digest, v)
    elif isinstance(value, (list, tuple)):
        digest.update(f"{len(value)}[".encode())
        for item in value:
            _feed(digest, item)
    elif isinstance(value, (set, frozenset)):
        digest.update(f"{len(value)}(".encode())
        for part in sorted(fingerprint(item) for item in value):
            digest.update(part.encode())
    elif hasattr(value, "dtype") and hasattr(value, "tobytes"):  # numpy arrays and scalars
        shape = getattr(value, "shape", ())
        digest.update(f"{value.dtype.str}{shape}".encode())
        if value.dtype.hasobject:
            for item in value.ravel().tolist() if shape else [value.item()]:
                _feed(digest, item)
        else:
            digest.update(value.tobytes())
    elif isinstance(value, (bytes, bytearray, memoryview)):
        digest.update(bytes(value))
    elif hasattr(value, "to_dict") and hasattr(value, "columns"):  # a DataFrame
        _feed(digest, value.to_dict("list"))
    else:
        digest.update(repr(value).encode())
    digest.update(b";")


class _JobsDescriptor:
    """``Proc.jobs`` and ``Proc().jobs``: the job table, declared on first use."""

    def __get__(self, obj: AutoPopulate | None, objtype: type | None = None) -> Job:
        if obj is None:
            assert objtype is not None
            obj = objtype()
        assert obj is not None
        if obj._jobs is None:
            from .jobs import Job

            jobs = Job(obj)
            jobs._ensure_declared()
            obj._jobs = jobs
        return obj._jobs


class AutoPopulate(Table):
    """What Imported and Computed tables share: ``key_source``, ``populate()``, ``jobs``."""

    _allow_insert: ClassVar[bool] = False  # True while make() runs
    _upstream: Any = None  # the trace of the current make(), built on first use
    _upstream_key: dict[str, Any] | None = None  # the current make()'s key; None outside
    _key_source: QueryExpression | None = None
    _jobs: Job | None = None
    jobs = _JobsDescriptor()

    @property
    def key_source(self) -> QueryExpression:
        """The keys ``make()`` is called with: the join of the parents referenced from the
        primary key (renamed references projected to their new names)."""
        if self._key_source is None:
            parents = self.parents(primary=True, as_objects=True, foreign_key_info=True)
            if not parents:
                raise DataJointError(
                    "A table must have dependencies from its primary key for auto-populate to work"
                )
            source: QueryExpression | None = None
            for parent, info in parents:
                renamed = {new: old for new, old in info["attr_map"].items() if new != old}
                term = parent.proj(**renamed) if info["aliased"] else parent.proj()
                source = term if source is None else source * term
            self._key_source = source
        assert self._key_source is not None
        return self._key_source

    @property
    def upstream(self) -> Any:
        """Inside ``make(key)``: ``Diagram.trace(self & key)``, so ``self.upstream[Session]`` is
        Session restricted to the rows this key descends from. Built on first use and kept for
        the call (all three parts of a three-part make see the same one)."""
        if self._upstream_key is None:
            raise DataJointError(
                "self.upstream is only available inside make(). "
                "Outside make(), construct a trace explicitly: dj.Diagram.trace(self & key)."
            )
        if self._upstream is None:
            from .graph.diagram import Diagram

            self._upstream = Diagram.trace(self & self._upstream_key)
        return self._upstream

    def make(self, key: dict[str, Any], **kwargs: Any) -> Generator[Any, Any, None]:
        """Compute and insert the rows of one key; override it, or define ``make_fetch(key)``,
        ``make_compute(key, *fetched)`` and ``make_insert(key, *computed)``.

        This default drives the three-part form as a generator: ``populate()`` runs fetch and
        compute outside a transaction, then runs fetch again inside one, compares, inserts.
        """
        parts = [
            getattr(self, name, None) for name in ("make_fetch", "make_compute", "make_insert")
        ]
        fetch, compute, insert = parts
        if fetch is None or compute is None or insert is None:
            raise NotImplementedError(
                "Subclasses of AutoPopulate must implement the method `make` "
                "or (`make_fetch` + `make_compute` + `make_insert`)"
            )
        fetched = fetch(key, **kwargs)
        computed = yield fetched
        if computed is None:  # the first pass; the second is sent the computed result
            computed = compute(key, *fetched)
            yield computed
        insert(key, *computed)
        yield

    # -- what is left to do --------------------------------------------------------------
    def _jobs_to_do(self, restrictions: tuple[Any, ...]) -> QueryExpression:
        """``(key_source & restrictions).proj()``, checked against this table."""
        if self.is_restricted:
            raise DataJointError(
                "Cannot call populate on a restricted table. Instead, pass conditions to "
                "populate() as arguments."
            )
        source = self.key_source
        todo = as_expression(source)
        if todo is None:
            raise DataJointError("Invalid key_source value")
        missing = [name for name in todo.primary_key if name not in self.heading]
        if missing:
            raise DataJointError(
                f"The populate target lacks attribute {missing[0]} from the primary key of "
                "key_source"
            )
        return (todo & AndList(restrictions)).proj()

    def progress(self, *restrictions: Any, display: bool = False) -> tuple[int, int]:
        """``(remaining, total)``: keys of ``key_source & restrictions`` not yet populated, and
        all of them; ``display=True`` also logs a line of progress."""
        todo = self._jobs_to_do(restrictions)
        total = len(todo)
        remaining = len(todo - self.proj())
        if display:
            done = total - remaining
            logger.info(
                "%-20s Completed %d of %d (%2.1f%%)   %s",
                type(self).__name__,
                done,
                total,
                100 - 100 * remaining / (total + 1e-12),
                datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
            )
        return remaining, total

    # -- populate ------------------------------------------------------------------------
    def populate(
        self,
        *restrictions: Any,
        suppress_errors: bool = False,
        return_exception_objects: bool = False,
        reserve_jobs: bool = False,
        max_calls: int | None = None,
        display_progress: bool = False,
        processes: int | None = 1,
        make_kwargs: dict[str, Any] | None = None,
        priority: int | None = None,
        refresh: bool | None = None,
    ) -> dict[str, Any]:
        """Call ``make(key)`` for each key of ``key_source & restrictions`` not in this table.

        ``suppress_errors``: collect errors instead of raising (``return_exception_objects``:
        the exceptions, not their messages). ``reserve_jobs``: take keys from the job table,
        reserving each, so that concurrent workers share the work (``priority``: only jobs at
        this priority or more urgent; ``refresh``: add new jobs first, default
        ``jobs.auto_refresh``). ``max_calls``: at most this many ``make()`` calls.
        ``processes``: worker processes (None: one per CPU). ``make_kwargs``: passed to
        ``make()`` (to ``make_fetch`` in the three-part form).

        Returns ``{"success_count": n, "error_list": [(key, error), ...]}``.
        """
        if self.connection.in_transaction:
            raise DataJointError("Populate cannot be called during a transaction.")
        kwargs = {
            "suppress_errors": suppress_errors,
            "return_exception_objects": return_exception_objects,
            "make_kwargs": make_kwargs,
        }
        if not reserve_jobs:
            keys = (self._jobs_to_do(restrictions) - self.proj()).keys()
            logger.debug("Found %d keys to populate", len(keys))
            return self._run(keys[:max_calls], None, kwargs, processes, display_progress)
        with _sigterm_as_exit():
            jobs = self.jobs
            if refresh is None:
                refresh = bool(self.connection.config["jobs.auto_refresh"])
            if refresh:  # delay -1: due at once by the server clock's millisecond precision
                jobs.refresh(*restrictions, priority=priority, delay=-1)
            q = self.adapter.quote
            due = Raw(Fragment(f"{q('scheduled_time')} <= CURRENT_TIMESTAMP(3)"))
            pending = jobs.pending & due
            if restrictions:
                pending = pending & self._jobs_to_do(restrictions)
            if priority is not None:
                pending = pending & Raw(Fragment(f"{q('priority')} <= %s", (priority,)))
            rows = pending.proj("priority", "scheduled_time").to_dicts(
                order_by="priority ASC, scheduled_time ASC", limit=max_calls
            )
            keys = [{k: row[k] for k in jobs.primary_key} for row in rows]
            logger.debug("Found %d pending jobs to populate", len(keys))
            return self._run(keys, jobs, kwargs, processes, display_progress)

    def _run(
        self,
        keys: list[dict[str, Any]],
        jobs: Job | None,
        kwargs: dict[str, Any],
        processes: int | None,
        display_progress: bool,
    ) -> dict[str, Any]:
        errors: list[tuple[dict[str, Any], Any]] = []
        successes = 0
        if not keys:
            return {"success_count": 0, "error_list": errors}
        workers = min(n for n in (processes, len(keys), mp.cpu_count()) if n)
        label = type(self).__name__ if workers == 1 else "Processes: "
        with _progress_bar(len(keys), label, display_progress) as advance:
            if workers == 1:
                statuses: Iterator[Status] = (self._populate1(k, jobs, **kwargs) for k in keys)
                for status in statuses:
                    successes += _tally(status, errors)
                    advance()
            else:
                self.connection.close()
                try:
                    context = mp.get_context(_MP_START_METHOD)
                    with context.Pool(workers, _initialize_worker, (self, jobs, kwargs)) as pool:
                        for status in pool.imap(_call_populate1, keys, chunksize=1):
                            successes += _tally(status, errors)
                            advance()
                finally:
                    self.connection.connect()
        return {"success_count": successes, "error_list": errors}

    def _populate1(
        self,
        key: dict[str, Any],
        jobs: Job | None,
        suppress_errors: bool,
        return_exception_objects: bool,
        make_kwargs: dict[str, Any] | None = None,
    ) -> Status:
        """Make one key in a transaction: True if made, False if skipped (reserved elsewhere or
        already populated), ``(key, error)`` for an error that ``suppress_errors`` keeps."""
        make = getattr(self, "_make_tuples", None) or self.make  # the legacy name first
        if jobs is not None and not jobs.reserve(key):
            return False
        started = time.time()
        conn = self.connection
        staged = inspect.isgeneratorfunction(make)  # three-part: the transaction comes last
        if not staged:
            conn.start_transaction()
        if key in self:
            if not staged:
                conn.cancel_transaction()
            if jobs is not None:
                jobs.complete(key)
            return False
        logger.debug("Making %s -> %s", key, self.full_table_name)
        cls = type(self)
        cls._allow_insert = True
        self._upstream_key, self._upstream = dict(key), None
        try:
            if not staged:
                make(dict(key), **(make_kwargs or {}))
            else:
                gen = make(dict(key), **(make_kwargs or {}))
                fetched = next(gen)
                expected = fingerprint(fetched)
                computed = next(gen)
                conn.start_transaction()
                gen = make(dict(key), **(make_kwargs or {}))  # fetch again, inside
                if fingerprint(next(gen)) != expected:
                    raise DataJointError(
                        "Referential integrity failed! The `make_fetch` data has changed"
                    )
                gen.send(computed)
        except (KeyboardInterrupt, SystemExit, Exception) as error:
            try:
                conn.cancel_transaction()
            except LostConnectionError:
                pass
            message = type(error).__name__ + (f": {error}" if str(error) else "")
            logger.debug("Error making %s -> %s - %s", key, self.full_table_name, message)
            if jobs is not None:
                jobs.error(key, error_message=message, error_stack=traceback.format_exc())
            if not suppress_errors or isinstance(error, SystemExit):
                raise
            logger.error(error)
            return key, error if return_exception_objects else message
        else:
            conn.commit_transaction()
            duration = time.time() - started
            logger.debug("Success making %s -> %s", key, self.full_table_name)
            if "_job_start_time" in self.heading._attributes:  # a hidden attribute
                self._update_job_metadata(key, started, duration)
            if jobs is not None:
                jobs.complete(key, duration=duration)
            return True
        finally:
            cls._allow_insert = False
            self._upstream_key = self._upstream = None

    def _update_job_metadata(self, key: dict[str, Any], started: float, duration: float) -> None:
        """Fill the hidden ``_job_*`` columns of a table declared with them (by the reference,
        with ``jobs.add_job_metadata``)."""
        from .jobs import job_version

        q = self.adapter.quote
        where = dict_condition(self.heading, key, self.adapter, self._label)
        version = job_version(self.connection.config)[:64]
        self.connection.execute(
            f"UPDATE {self.full_table_name} SET {q('_job_start_time')} = %s, "
            f"{q('_job_duration')} = %s, {q('_job_version')} = %s WHERE {where.sql}",
            (datetime.datetime.fromtimestamp(started), duration, version, *where.params),
        )


def _tally(status: Status, errors: list[tuple[dict[str, Any], Any]]) -> int:
    """1 for a key made; an error kept goes to ``errors``; a skipped key counts 0."""
    if isinstance(status, tuple):
        errors.append(status)
    return 1 if status is True else 0


@contextlib.contextmanager
def _sigterm_as_exit() -> Iterator[None]:
    """Turn SIGTERM into SystemExit while jobs are reserved, so the job is marked 'error'.

    Signal handlers can only be set in the main thread; worker threads go without.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        logger.info("Populate terminated by SIGTERM")
        raise SystemExit("SIGTERM received")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
