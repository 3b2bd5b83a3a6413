"""The library surface of the subsetter: validate, preview, run, diagram, clean, load, verify.

>>> from subsetter import api
>>> result = api.run("subset-demo/demo.yaml")        # doctest: +SKIP
>>> result.outputs["parquet"].location               # doctest: +SKIP

``datajoint_core`` and the modules that need it are imported by the functions that use them, so
that ``validate`` (and ``subset validate``) start fast.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import Hints, SubsetError
from .recipe import (
    ConnectionSpec,
    Output,
    OutputType,
    Recipe,
    RecipeError,
    load_recipe,
    resolve_path,
)

if TYPE_CHECKING:
    import pyarrow

    import datajoint_core as dj

    from .guard import Permit, Source
    from .plan import Plan, PlanTable
    from .writers.base import TableMeta, TableResult, Writer

logger = logging.getLogger("subsetter")
BATCH_ROWS = 50_000
Progress = Callable[[str, int, int], None]  # (table, rows so far, rows expected)


@dataclass
class OutputResult:
    name: str
    location: str
    rows: int
    tables: dict[str, int] = field(default_factory=dict)


@dataclass
class RunResult:
    plan: Plan
    outputs: dict[str, OutputResult]


def connect(
    spec: ConnectionSpec, recipe: Recipe | None = None, *, role: str = "source", **overrides: Any
) -> dj.Instance:
    """An Instance for a recipe connection: :func:`subsetter.connect.connect`."""
    from . import connect as connections

    return connections.connect(spec, recipe, role=role, **overrides)


# -- validate, preview -------------------------------------------------------------------------


def recipe_of(source: str | os.PathLike[str] | Recipe) -> Recipe:
    """A Recipe, read from a path if need be."""
    return source if isinstance(source, Recipe) else load_recipe(source)


def validate(path: str | os.PathLike[str]) -> Recipe:
    """Read and check a recipe without touching any database."""
    return load_recipe(path)


def _plan(recipe: Recipe, connection: dj.Connection) -> Plan:
    import datajoint_core as dj

    from .plan import build_plan

    try:
        return build_plan(recipe, connection)
    except RecipeError:
        raise
    except dj.DataJointError as err:
        raise SubsetError(str(err)) from None


def preview(path: str | os.PathLike[str] | Recipe) -> Plan:
    """The tables of the subset with their row counts (read inside one snapshot)."""
    recipe = recipe_of(path)
    inst = connect(recipe.source, recipe)
    try:
        with inst.connection.snapshot():
            return _plan(recipe, inst.connection)
    finally:
        inst.close()


def diagram(path: str | os.PathLike[str] | Recipe, fmt: str = "mermaid") -> str:
    """The restricted pipeline with counts, as Mermaid, DOT or SVG text."""
    import datajoint_core as dj

    recipe = recipe_of(path)
    inst = connect(recipe.source, recipe)
    try:
        with inst.connection.snapshot():
            plan = _plan(recipe, inst.connection)
            shown = plan.diagram.showing(t.node for t in plan.tables)
            render = {"mermaid": shown.make_mermaid, "dot": shown.make_dot, "svg": shown.make_svg}
            return render[fmt]()
    except dj.DataJointError as err:
        raise SubsetError(str(err)) from None
    finally:
        inst.close()


# -- run ---------------------------------------------------------------------------------------


def table_meta(connection: dj.Connection, table: PlanTable) -> tuple[TableMeta, dj.FreeTable]:
    import datajoint_core as dj
    from datajoint_core.fetch import arrow_schema

    from .writers.base import ForeignKeyMeta, TableMeta

    free = dj.FreeTable(connection, table.node)
    fks = tuple(
        ForeignKeyMeta(*connection.adapter.split_full_name(fk.parent), fk.attr_map)
        for fk in free.heading.foreign_keys
    )
    meta = TableMeta(
        schema=table.schema,
        table=table.table,
        heading=free.heading,
        arrow_schema=arrow_schema(free),
        definition=free.describe(),
        foreign_keys=fks,
        expected_rows=table.count,
    )
    return meta, free


def _batches(
    connection: dj.Connection,
    table: PlanTable,
    meta: TableMeta,
    free: dj.FreeTable,
    progress: Progress | None,
) -> Generator[pyarrow.RecordBatch, None, None]:
    from datajoint_core.fetch import rows_to_batch

    done = 0
    fast = connection.stream_arrow(
        table.select.sql, table.select.params, meta.arrow_schema, BATCH_ROWS
    )
    if fast is None:
        rows = connection.stream(table.select.sql, table.select.params, BATCH_ROWS)
        fast = (rows_to_batch(chunk, free, meta.arrow_schema) for chunk in rows)
    with contextlib.closing(fast):  # type: ignore[type-var]
        for batch in fast:
            done += batch.num_rows
            if progress is not None:
                progress(table.display, done, table.count)
            yield batch


def file_writer(recipe: Recipe, output: Output) -> Writer:
    """The writer of a Parquet or DuckDB output (imported lazily: pyarrow and duckdb are heavy)."""
    path = resolve_path(recipe, output.path or "")
    hints = Hints(output.name)
    if output.type is OutputType.PARQUET:
        from .writers.parquet import ParquetWriter

        return ParquetWriter(path, output.if_exists.value, hints)
    from .writers.duckdb import DuckDBWriter

    return DuckDBWriter(path, output.if_exists.value, hints=hints)


def staging_permit(recipe: Recipe, output: Output, source: Source) -> tuple[dj.Instance, Permit]:
    """Connect to a staging output and ask the guard for its schemas (checked, locked)."""
    from .guard import Action, permit

    assert output.connection is not None
    target = connect(output.connection, recipe, role="target")
    try:
        granted = permit(
            target.connection,
            [output.target_schema(s) for s in recipe.schemas],
            Action(output.if_exists.value),
            source=source,
            adopt=output.adopt,
            hints=Hints(output.name),
            target=output.connection.describe(),
        )
    except BaseException:
        target.close()
        raise
    return target, granted


def run(
    path: str | os.PathLike[str] | Recipe,
    *,
    outputs: Sequence[str] | None = None,
    progress: Progress | None = None,
    on_plan: Callable[[Plan], None] | None = None,
    jobs: int = 1,
) -> RunResult:
    """Preview, then write the subset to every (or the named) output of the recipe.

    All reads happen inside one read-only snapshot transaction. Every output is staged first
    and all are published at the end: a run publishes all its outputs or none (if publishing
    itself fails part-way, the error says which outputs were published). Refusals that need no
    database (an existing or foreign output path) come before any connection; the guard's
    refusals of a staging target come before the preview.
    """
    import datajoint_core as dj

    from .guard import Source
    from .writers.instance import InstanceWriter

    recipe = recipe_of(path)
    chosen = [recipe.output(name) for name in outputs] if outputs else list(recipe.outputs)
    writers: dict[str, Writer] = {}
    for output in chosen:
        if output.type is not OutputType.INSTANCE:
            writers[output.name] = writer = file_writer(recipe, output)
            writer.check()  # type: ignore[attr-defined]
    source = connect(recipe.source, recipe)
    targets: list[tuple[dj.Instance, Permit]] = []
    try:
        where = Source.of(source.connection, recipe.schemas)
        for output in chosen:
            if output.type is OutputType.INSTANCE:
                target, granted = staging_permit(recipe, output, where)
                targets.append((target, granted))
                writers[output.name] = InstanceWriter(
                    granted,
                    dict(output.schema_map),
                    output.if_exists.value,
                    source.connection.backend,
                    Hints(output.name),
                )
        staged = _stage_all(recipe, source, where, chosen, writers, progress, on_plan, jobs)
        results = _publish_all(staged)
        return RunResult(staged.plan, results)
    except dj.DataJointError as err:
        raise SubsetError(str(err)) from None
    finally:
        for target, granted in targets:
            granted.release()
            target.close()
        source.close()


@dataclass
class _Staged:
    plan: Plan
    outputs: list[tuple[Output, Writer, dict[str, TableResult]]]


def _stage_all(
    recipe: Recipe,
    source: dj.Instance,
    where: Source,
    chosen: list[Output],
    writers: dict[str, Writer],
    progress: Progress | None,
    on_plan: Callable[[Plan], None] | None,
    jobs: int = 1,
) -> _Staged:
    """Read the snapshot once per output and stage every output; abort them all on a failure.

    With ``jobs`` > 1, that many connections read tables ahead, all in one snapshot; where the
    account may not synchronise snapshots (MySQL without RELOAD) the run says so and reads on
    one connection."""
    from .manifest import build_manifest

    conn = source.connection
    staged: list[tuple[Output, Writer, dict[str, TableResult]]] = []
    try:
        with _snapshot(conn, jobs) as readers:
            plan = _plan(recipe, conn)
            if on_plan is not None:
                on_plan(plan)
            metas = [table_meta(conn, t) for t in plan.tables]
            for output in chosen:
                writer = writers[output.name]
                written = _write(readers, plan, metas, writer, progress)
                manifest = build_manifest(
                    recipe, plan, output, recipe.source.describe(), written, where.to_dict()
                )
                writer.stage(manifest)
                staged.append((output, writer, written))
    except BaseException:
        for writer in writers.values():
            writer.abort()
        raise
    return _Staged(plan, staged)


def _publish_all(staged: _Staged) -> dict[str, OutputResult]:
    """Publish the staged outputs in order; a failure part-way says which ones were published."""
    results: dict[str, OutputResult] = {}
    for i, (output, writer, written) in enumerate(staged.outputs):
        try:
            writer.publish()
        except BaseException as err:
            rest = staged.outputs[i:]
            for _, other, _ in rest:
                other.abort()
            done = ", ".join(results) or "none"
            left = ", ".join(o.name for o, _, _ in rest)
            reason = "interrupted" if isinstance(err, KeyboardInterrupt) else str(err)
            raise SubsetError(
                f"publishing output '{output.name}' failed ({reason}); published: {done}; "
                f"not published: {left}"
            ) from None
        results[output.name] = OutputResult(
            output.name,
            writer.describe(),
            sum(r.rows for r in written.values()),
            {k: r.rows for k, r in written.items()},
        )
    return results


@contextlib.contextmanager
def _snapshot(conn: dj.Connection, jobs: int) -> Iterator[list[dj.Connection]]:
    """``jobs`` connections in one read-only snapshot (``conn`` first), or ``conn`` alone."""
    import datajoint_core as dj

    with contextlib.ExitStack() as stack:
        group: list[dj.Connection] | None = None
        if jobs > 1:
            try:
                group = stack.enter_context(conn.shared_snapshot(jobs))
            except dj.errors.AccessError as err:
                logger.warning("reading with one connection: %s", err)
        if group is None:
            stack.enter_context(conn.snapshot())
            group = [conn]
        yield group


def _write(
    readers: list[dj.Connection],
    plan: Plan,
    metas: list[tuple[TableMeta, dj.FreeTable]],
    writer: Writer,
    progress: Progress | None,
) -> dict[str, TableResult]:
    from .readers import read_in_order

    written: dict[str, TableResult] = {}
    writer.open([m for m, _ in metas])
    items = list(zip(plan.tables, metas))

    def read(conn: dj.Connection, item: tuple[PlanTable, tuple[TableMeta, dj.FreeTable]]) -> Any:
        table, (meta, free) = item
        return _batches(conn, table, meta, free, progress)

    # closed however the writer ends, so that a half-read result never holds the source
    with contextlib.closing(read_in_order(readers, items, read)) as tables:
        for (table, (meta, _)), batches in tables:
            written[table.key] = writer.write_table(meta, batches)
    return written


__all__ = [
    "OutputResult",
    "RunResult",
    "SubsetError",
    "connect",
    "diagram",
    "preview",
    "run",
    "validate",
]


# -- load, verify, clean -----------------------------------------------------------------------


def load(
    snapshot: str | os.PathLike[str],
    target: str | dj.Instance,
    *,
    schema_map: dict[str, str] | None = None,
    if_exists: str = "fail",
    adopt: bool = False,
) -> OutputResult:
    """Load a Parquet directory or DuckDB file into a database (``subset load``), through the
    guard: never over the snapshot's own source schemas, only into schemas the tool created
    (or adopts with ``adopt=True``)."""
    import datajoint_core as dj

    from .connect import target_instance
    from .load import load_snapshot

    inst = target if isinstance(target, dj.Instance) else target_instance(target)
    try:
        tables = load_snapshot(
            snapshot, inst, schema_map=schema_map or {}, if_exists=if_exists, adopt=adopt
        )
    except dj.DataJointError as err:
        raise SubsetError(str(err)) from None
    finally:
        if not isinstance(target, dj.Instance):
            inst.close()
    return OutputResult("load", repr(inst), sum(tables.values()), dict(tables))


def verify(output: str | os.PathLike[str] | dj.Instance, schemas: Sequence[str] = ()) -> list[Any]:
    """Check an output: foreign keys resolve inside it; counts match its manifest."""
    import datajoint_core as dj

    from . import verify as checks
    from .connect import target_instance

    if isinstance(output, dj.Instance):
        return checks.verify_instance(output, schemas)
    text = os.fspath(output)
    if "://" in text or text.startswith("embedded:"):
        inst = target_instance(text, role="source")
        try:
            return checks.verify_instance(inst, schemas)
        finally:
            inst.close()
    from pathlib import Path

    from .writers.duckdb import is_subset_file

    if os.path.isdir(text) and os.path.isfile(os.path.join(text, "manifest.json")):
        return checks.verify_parquet(text)
    if os.path.isfile(text) and is_subset_file(Path(text)):
        return checks.verify_duckdb(text)
    what = "does not exist" if not os.path.exists(text) else "is not a subset snapshot"
    raise SubsetError(
        f"{text} {what}: expected a Parquet snapshot directory (with manifest.json), a DuckDB "
        "file written by subset, or a database URL"
    )


def clean(
    path: str | os.PathLike[str] | Recipe,
    *,
    output: str | None = None,
    drop: bool = False,
    confirm: Callable[[str], bool] = lambda summary: False,
) -> str:
    """Remove the recipe's rows (cascading) from its staging output, or drop its schemas."""
    import datajoint_core as dj

    from .clean import clean_staging

    recipe = recipe_of(path)
    staging = [o for o in recipe.outputs if o.type is OutputType.INSTANCE]
    if output is not None:
        chosen = recipe.output(output)
        if chosen.type is not OutputType.INSTANCE:
            raise chosen.location.error(
                f"output '{output}' is a {chosen.type.value} file; clean works on staging databases"
            )
    elif len(staging) == 1:
        chosen = staging[0]
    else:
        names = [o.name for o in staging]
        raise recipe.location("outputs").error(
            "name the staging output to clean with --output"
            if staging
            else "the recipe has no staging output (type: instance) to clean",
            names,
        )
    try:
        return clean_staging(recipe, chosen, drop=drop, confirm=confirm)
    except dj.DataJointError as err:
        raise SubsetError(str(err)) from None
