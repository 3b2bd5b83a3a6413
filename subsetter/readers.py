"""Reading a subset's tables in order, on one connection or on several that share one snapshot.

With several connections (``Connection.shared_snapshot``) the tables after the one being written
are read ahead, round robin, each into a queue of a few batches: the writer still receives the
tables one at a time, in order (parents first), and memory stays bounded by connections x queue.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
Batches = Iterator[Any]
_DEPTH = 2  # batches read ahead per table
_POLL = 0.1  # seconds between checks that the reading was called off


def read_in_order(
    connections: Sequence[Any],
    tables: Sequence[T],
    read: Callable[[Any, T], Iterator[Any]],
) -> Generator[tuple[T, Batches], None, None]:
    """``(table, batches)`` for each of ``tables`` in order; ``read(connection, table)`` gives a
    table's batches. The batches of one table must be consumed before the next is asked for;
    closing this generator stops every reader (and closes their streams)."""
    if len(connections) <= 1:
        for table in tables:
            with contextlib.closing(read(connections[0], table)) as batches:  # type: ignore[type-var]
                yield table, batches
        return
    ahead = _ReadAhead(connections, tables, read)
    try:
        for i, table in enumerate(tables):
            yield table, ahead.batches(i)
    finally:
        ahead.stop()


class _ReadAhead:
    """One thread per connection; connection ``k`` reads tables ``k``, ``k + n``, ..."""

    def __init__(
        self,
        connections: Sequence[Any],
        tables: Sequence[T],
        read: Callable[[Any, T], Iterator[Any]],
    ) -> None:
        self._queues: list[queue.Queue[tuple[str, Any]]] = [
            queue.Queue(maxsize=_DEPTH) for _ in tables
        ]
        self._stopped = threading.Event()
        n = len(connections)
        self._threads = [
            threading.Thread(
                target=self._work,
                args=(connections[k], [(i, tables[i]) for i in range(k, len(tables), n)], read),
                name=f"subset-reader-{k}",
                daemon=True,
            )
            for k in range(n)
        ]
        for thread in self._threads:
            thread.start()

    def _put(self, i: int, item: tuple[str, Any]) -> bool:
        while not self._stopped.is_set():
            try:
                self._queues[i].put(item, timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False

    def _work(
        self, conn: Any, mine: list[tuple[int, Any]], read: Callable[[Any, Any], Iterator[Any]]
    ) -> None:
        for i, table in mine:
            try:
                with contextlib.closing(read(conn, table)) as batches:  # type: ignore[type-var]
                    for batch in batches:
                        if not self._put(i, ("batch", batch)):
                            return
            except BaseException as err:  # handed to the consumer, which raises it
                self._put(i, ("error", err))
                return
            if not self._put(i, ("end", None)):
                return

    def batches(self, i: int) -> Batches:
        while True:
            kind, value = self._queues[i].get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value

    def stop(self) -> None:
        self._stopped.set()
        for thread in self._threads:
            thread.join(timeout=60)
