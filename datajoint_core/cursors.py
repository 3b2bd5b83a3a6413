"""Cursor views that ``Connection.query`` returns besides the driver's own: rows as dicts
(``as_dict=True``) and rows read from the query cache."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any


class RowsCursor:
    """A cursor over rows already read (from the query cache), as the driver's cursors are
    used: ``fetchone()``, ``fetchall()``, ``rowcount``, iteration."""

    def __init__(self, rows: Sequence[tuple[Any, ...]], columns: Sequence[str]) -> None:
        self._rows = list(rows)
        self._next = 0
        self.description = tuple((name, None, None, None, None, None, None) for name in columns)

    @property
    def rowcount(self) -> int:
        return len(self._rows)

    def fetchone(self) -> tuple[Any, ...] | None:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    def fetchall(self) -> list[tuple[Any, ...]]:
        rest, self._next = self._rows[self._next :], len(self._rows)
        return rest

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        while (row := self.fetchone()) is not None:
            yield row

    def close(self) -> None:
        self._next = len(self._rows)


def column_names(cursor: Any) -> list[str]:
    return [d[0] for d in cursor.description or ()]


class DictCursor:
    """Rows of a cursor as ``{column: value}`` dicts."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor
        self._columns = column_names(cursor)

    @property
    def rowcount(self) -> int:
        return int(self._cursor.rowcount)

    @property
    def description(self) -> Any:
        return self._cursor.description

    def fetchone(self) -> dict[str, Any] | None:
        row = self._cursor.fetchone()
        return None if row is None else dict(zip(self._columns, row))

    def fetchall(self) -> list[dict[str, Any]]:
        return [dict(zip(self._columns, row)) for row in self._cursor.fetchall()]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        while (row := self.fetchone()) is not None:
            yield row

    def close(self) -> None:
        self._cursor.close()
