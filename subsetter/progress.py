"""The progress of ``subset run``: typed events from :func:`subsetter.api.run`, rendered as bars on
a terminal (:class:`Bars`) or as JSON lines for programs (:class:`JsonLines`).

A :class:`ProgressEvent` has these fields (``to_dict()`` adds ``"event": "progress"``):

- ``output``: the output's name in the recipe;
- ``table``: the table being read, ``schema.Class`` or ``schema.Class.Part``; None in an event
  of the output as a whole;
- ``phase``: ``reading`` (an output's first event, without a table, then each table's rows),
  ``committing`` (the writer flushes its files or checks keys and commits the load), ``staged``
  (written, waiting for the run's other outputs), ``publishing``, then ``published`` (visible:
  the last event of every output that is written);
- ``rows``: rows so far, of the table or of the output; never decreasing;
- ``total``: the rows the preview counted, of the table or of the output;
- ``elapsed``: seconds since the run started; never decreasing.

>>> from subsetter import api
>>> api.run("subset-demo/demo.yaml", progress=print)     # doctest: +SKIP
ProgressEvent(output='parquet', table=None, phase=<Phase.READING: 'reading'>, rows=0, ...)
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import IO, Any


class Phase(Enum):
    """What an output is doing, in the order it happens."""

    READING = "reading"
    COMMITTING = "committing"
    STAGED = "staged"
    PUBLISHING = "publishing"
    PUBLISHED = "published"


@dataclass(frozen=True)
class ProgressEvent:
    output: str
    table: str | None
    phase: Phase
    rows: int
    total: int
    elapsed: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "event": "progress",
            "output": self.output,
            "table": self.table,
            "phase": self.phase.value,
            "rows": self.rows,
            "total": self.total,
            "elapsed": self.elapsed,
        }


Callback = Callable[[ProgressEvent], None]


class Emitter:
    """Stamps events with the time since it was made and hands them to ``callback`` one at a
    time (readers of ``--jobs`` report from their own threads)."""

    def __init__(self, callback: Callback | None) -> None:
        self._callback = callback
        self._start = time.monotonic()
        self._lock = threading.Lock()

    def __call__(
        self, output: str, phase: Phase, rows: int, total: int, table: str | None = None
    ) -> None:
        if self._callback is None:
            return
        with self._lock:
            elapsed = round(time.monotonic() - self._start, 3)
            self._callback(ProgressEvent(output, table, phase, rows, total, elapsed))


class JsonLines:
    """Writes each event as one line of JSON to ``stream``."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def __call__(self, event: ProgressEvent) -> None:
        self.stream.write(json.dumps(event.to_dict()) + "\n")
        self.stream.flush()


def quantity(n: int, noun: str) -> str:
    """``quantity(1, "row")`` -> ``'1 row'``; ``quantity(12000, "row")`` -> ``'12,000 rows'``."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


_STATUS = {
    Phase.COMMITTING: "committing",
    Phase.STAGED: "staged",
    Phase.PUBLISHING: "publishing",
    Phase.PUBLISHED: "published",
}


@dataclass
class _Output:
    task: Any
    total: int
    tables: dict[str, int] = field(default_factory=dict)
    done: int = 0


class Bars:
    """One line per output: its name, a bar of its rows, rows and rows/s, its own elapsed time
    (reading to staged) and what it is doing (reading a table, committing, publishing). Bars
    never go back: an output's rows are the sum of its tables' rows, each the most seen.

    Use as a context manager around the run; rich is imported on the first event, on
    ``console`` (default: stderr); ``clock`` gives the seconds the times are read from.
    """

    def __init__(self, console: Any = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.console = console
        self.clock = clock
        self._progress: Any = None
        self._outputs: dict[str, _Output] = {}

    def __enter__(self) -> Bars:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def renderable(self) -> Any:
        """What the display shows now (a rich renderable), e.g. to print it elsewhere."""
        self._start()
        return self._progress.get_renderable()

    def _start(self) -> None:
        if self._progress is not None:
            return
        from rich.console import Console
        from rich.progress import BarColumn, Progress, ProgressColumn, TextColumn
        from rich.table import Column
        from rich.text import Text

        def fixed() -> Column:
            return Column(no_wrap=True)

        class Rows(ProgressColumn):
            def render(self, task: Any) -> Text:
                done, total = task.fields["rows"], task.fields["rows_total"]
                return Text(f"{done:,}/{quantity(total, 'row')}")

        class Rate(ProgressColumn):
            def render(self, task: Any) -> Text:
                elapsed = task.elapsed
                if not elapsed:
                    return Text("")
                return Text(f"{task.fields['rows'] / elapsed:,.0f} rows/s")

        class Elapsed(ProgressColumn):
            def render(self, task: Any) -> Text:
                seconds = task.elapsed or 0.0
                minutes, rest = divmod(seconds, 60)
                return Text(f"{int(minutes)}:{rest:04.1f}")

        self._progress = Progress(
            TextColumn("[bold]{task.description}", table_column=fixed()),
            BarColumn(bar_width=20),
            Rows(table_column=fixed()),
            Rate(table_column=fixed()),
            Elapsed(table_column=fixed()),
            # what it does last, cut to the width left: the numbers never wrap
            TextColumn(
                "{task.fields[status]}", table_column=Column(no_wrap=True, overflow="ellipsis")
            ),
            console=self.console or Console(stderr=True),
            get_time=self.clock,
        )
        self._progress.start()

    def __call__(self, event: ProgressEvent) -> None:
        self._start()
        bar = self._progress
        state = self._outputs.get(event.output)
        if state is None:
            total = event.total if event.table is None else 0
            task = bar.add_task(event.output, total=1, status="", rows=0, rows_total=total)
            state = self._outputs[event.output] = _Output(task, total)
        if event.phase is Phase.READING and event.table is not None:
            state.tables[event.table] = max(state.tables.get(event.table, 0), event.rows)
            state.done = max(state.done, sum(state.tables.values()))
            status = f"reading {event.table} ({event.rows:,}/{event.total:,})"
        elif event.phase is Phase.READING:
            status = "reading"
        else:
            state.done = max(state.done, event.rows)
            status = _STATUS[event.phase]
        if event.phase is Phase.PUBLISHED:
            state.total = state.done  # full, however the preview counted
        state.total = max(state.total, state.done)
        # the bar's own units: an empty output is a full bar once it is published
        full = event.phase is Phase.PUBLISHED
        bar.update(
            state.task,
            completed=state.done if state.total else int(full),
            total=state.total or 1,
            status=status,
            rows=state.done,
            rows_total=state.total,
            refresh=event.table is None,  # a new phase is drawn at once, however short
        )
        if event.phase is Phase.STAGED:
            bar.stop_task(state.task)  # its own time: the others' reading is not its work
