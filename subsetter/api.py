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
from enum import Enum
from typing import TYPE_CHECKING, Any

from .errors import Hints, SubsetError
from .progress import Emitter, Phase, ProgressEvent
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
Progress = Callable[[ProgressEvent], None]  # see subsetter.progress for the events


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
    return source if isinstance(source, Recipe) else load_recipe(source, source_checks_schemas=True)


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
    from dataclasses import replace

    import datajoint_core as dj
    from datajoint_core.graph import render
    from datajoint_core.graph.subset import Status

    recipe = recipe_of(path)
    inst = connect(recipe.source, recipe)
    try:
        with inst.connection.snapshot():
            plan = _plan(recipe, inst.connection)
            picture = plan.diagram.showing(t.node for t in plan.tables).picture()
            # counts on every table the subset trims (restricted, or an ancestor cut to the rows
            # referenced), none on those kept whole; nodes are named by class (schema.Class
            # where two schemas shown have the class name)
            by_id: dict[str, PlanTable] = {}
            for t in plan.tables:
                by_id.setdefault(t.display.split(".", 1)[-1], t)
                by_id[t.display] = t

            def count(node: render.Node) -> int | None:
                table = by_id.get(node.name)
                return None if table is None or table.status is Status.WHOLE else table.count

            picture = replace(
                picture, nodes=tuple(replace(n, count=count(n)) for n in picture.nodes)
            )
            if fmt == "mermaid":
                return render.mermaid(picture) + "\n"
            return render.svg(picture) if fmt == "svg" else render.dot(picture)
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
        name=table.display,
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
    report: Callable[[str, int, int], None],
) -> Generator[pyarrow.RecordBatch, None, None]:
    from datajoint_core.fetch import rows_to_batch

    done = 0
    report(table.display, done, table.count)
    fast = connection.stream_arrow(
        table.select.sql, table.select.params, meta.arrow_schema, BATCH_ROWS
    )
    if fast is None:
        rows = connection.stream(table.select.sql, table.select.params, BATCH_ROWS)
        fast = (rows_to_batch(chunk, free, meta.arrow_schema) for chunk in rows)
    with contextlib.closing(fast):  # type: ignore[type-var]
        for batch in fast:
            done += batch.num_rows
            report(table.display, done, table.count)
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

    ``progress`` receives a :class:`~subsetter.progress.ProgressEvent` as each output is read,
    committed and published (from reader threads too, one at a time).
    """
    import datajoint_core as dj

    from .guard import Source
    from .writers.instance import InstanceWriter

    emit = Emitter(progress)
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
        staged = _stage_all(recipe, source, where, chosen, writers, emit, on_plan, jobs)
        results = _publish_all(staged, emit)
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
    emit: Emitter,
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
            total = sum(t.count for t in plan.tables)
            for output in chosen:
                writer = writers[output.name]
                emit(output.name, Phase.READING, 0, total)
                written = _write(readers, plan, metas, writer, output.name, emit)
                rows = sum(r.rows for r in written.values())
                manifest = build_manifest(
                    recipe, plan, output, recipe.source.describe(), written, where.to_dict()
                )
                emit(output.name, Phase.COMMITTING, rows, total)
                writer.stage(manifest)
                emit(output.name, Phase.STAGED, rows, total)
                staged.append((output, writer, written))
    except BaseException:
        for writer in writers.values():
            writer.abort()
        raise
    return _Staged(plan, staged)


def _publish_all(staged: _Staged, emit: Emitter) -> dict[str, OutputResult]:
    """Publish the staged outputs in order; a failure part-way says which ones were published."""
    results: dict[str, OutputResult] = {}
    total = sum(t.count for t in staged.plan.tables)
    for i, (output, writer, written) in enumerate(staged.outputs):
        rows = sum(r.rows for r in written.values())
        try:  # a failing progress callback (a closed pipe) too leaves no staged output behind
            emit(output.name, Phase.PUBLISHING, rows, total)
            writer.publish()
            results[output.name] = OutputResult(
                output.name, writer.describe(), rows, {k: r.rows for k, r in written.items()}
            )
            emit(output.name, Phase.PUBLISHED, rows, total)
        except BaseException as err:
            rest = staged.outputs[i + 1 if output.name in results else i :]
            for _, other, _ in rest:
                other.abort()
            done = ", ".join(results) or "none"
            left = ", ".join(o.name for o, _, _ in rest) or "none"
            reason = "interrupted" if isinstance(err, KeyboardInterrupt) else str(err)
            raise SubsetError(
                f"publishing output '{output.name}' failed ({reason}); published: {done}; "
                f"not published: {left}"
            ) from None
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
    output: str,
    emit: Emitter,
) -> dict[str, TableResult]:
    from .readers import read_in_order

    written: dict[str, TableResult] = {}
    writer.open([m for m, _ in metas])
    items = list(zip(plan.tables, metas))

    def report(table: str, rows: int, total: int) -> None:
        emit(output, Phase.READING, rows, total, table)

    def read(conn: dj.Connection, item: tuple[PlanTable, tuple[TableMeta, dj.FreeTable]]) -> Any:
        table, (meta, free) = item
        return _batches(conn, table, meta, free, report)

    # closed however the writer ends, so that a half-read result never holds the source
    with contextlib.closing(read_in_order(readers, items, read)) as tables:
        for (table, (meta, _)), batches in tables:
            written[table.display] = writer.write_table(meta, batches)
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


class Target(Enum):
    """What ``subset verify`` was given."""

    DATABASE = "database"  # mysql://..., postgresql://... or embedded:DIR, as load --to takes
    RECIPE = "recipe"  # a .yaml / .yml file
    SNAPSHOT = "snapshot"  # a Parquet directory or a DuckDB file (or nothing there)

    @classmethod
    def of(cls, text: str) -> Target:
        if "://" in text or text.startswith("embedded:"):
            return cls.DATABASE
        if text.lower().endswith((".yaml", ".yml")):
            return cls.RECIPE
        return cls.SNAPSHOT


def verify(
    target: str | os.PathLike[str] | dj.Instance | Recipe,
    schemas: Sequence[str] = (),
    *,
    output: str | None = None,
) -> list[Any]:
    """Check an output: foreign keys resolve inside it; counts match its manifest.

    ``target`` is a Parquet directory, a DuckDB file, a database (URL or Instance; only
    ``schemas`` are read there) or a recipe, whose every (or ``output``) output is checked
    where the recipe writes it, a staging output in its own schemas.

    >>> [c for c in verify("subset-demo/demo.yaml") if not c.ok]      # doctest: +SKIP
    []
    """
    import datajoint_core as dj

    from . import verify as checks
    from .connect import target_instance

    if isinstance(target, dj.Instance):
        return checks.verify_instance(target, schemas)
    if isinstance(target, Recipe):
        return _verify_recipe(target, output)
    text = os.fspath(target)
    kind = Target.of(text)
    if kind is Target.DATABASE:
        inst = target_instance(text, role="source")
        try:
            return checks.verify_instance(inst, schemas, where=text)
        except dj.DataJointError as err:
            raise SubsetError(str(err)) from None
        finally:
            inst.close()
    if kind is Target.RECIPE:
        return _verify_recipe(load_recipe(text), output)
    return _verify_file(text)


def _verify_file(text: str) -> list[Any]:
    from pathlib import Path

    from . import verify as checks
    from .writers.duckdb import is_subset_file

    if os.path.isdir(text) and os.path.isfile(os.path.join(text, "manifest.json")):
        return checks.verify_parquet(text)
    if os.path.isfile(text) and is_subset_file(Path(text)):
        return checks.verify_duckdb(text)
    what = "does not exist" if not os.path.exists(text) else "is not a subset snapshot"
    raise SubsetError(
        f"{text} {what}: expected a Parquet snapshot directory (with manifest.json), a DuckDB "
        "file written by subset, a recipe (.yaml), or a database URL"
    )


def _verify_recipe(recipe: Recipe, output: str | None) -> list[Any]:
    """The checks of the recipe's outputs, each named by its output."""
    import datajoint_core as dj

    from . import verify as checks

    chosen = [recipe.output(output)] if output else list(recipe.outputs)
    found: list[Any] = []
    for out in chosen:
        if out.type is OutputType.INSTANCE:
            assert out.connection is not None
            inst = connect(out.connection, recipe, role="source")
            try:
                where = f"output '{out.name}' ({out.connection.describe()})"
                schemas = [out.target_schema(s) for s in recipe.schemas]
                done = checks.verify_instance(inst, schemas, where=where)
            except dj.DataJointError as err:
                raise SubsetError(str(err)) from None
            finally:
                inst.close()
        else:
            path = os.fspath(resolve_path(recipe, out.path or ""))
            if not os.path.exists(path):
                raise SubsetError(
                    f"output '{out.name}': {path} does not exist; write it with subset run"
                )
            done = _verify_file(path)
        for check in done:
            check.output = out.name
        found += done
    return found


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
