"""The ``subset`` command: parse, call :mod:`subsetter.api`, print. Nothing else.

Exit codes: 0 success, 1 a runtime failure, 2 a usage or recipe mistake.
"""

from __future__ import annotations

import functools
import json
import logging
import signal
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled as Ctrl-C is (temporary outputs removed), then exit 143."""


_TERMINATED: list[int] = []  # the signal may reach a library that raises its own exception


def _on_sigterm(signum: int, frame: Any) -> None:
    _TERMINATED.append(signum)
    raise Terminated()


def _interrupt_code(err: BaseException | None) -> int:
    return 143 if isinstance(err, Terminated) or _TERMINATED else 130


class RecipeProblem(click.UsageError):
    """A recipe mistake: exit code 2, the file:line: key: message on stderr."""

    def show(self, file: Any = None) -> None:
        click.echo(f"Error: {self.format_message()}", err=True)


def _handle_errors(func: F) -> F:
    """Turn expected failures into clean messages; ``--debug`` shows tracebacks."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from datajoint_core.errors import DataJointError

        from .api import SubsetError
        from .recipe import RecipeError

        debug = click.get_current_context().find_root().params.get("debug", False)
        try:
            return func(*args, **kwargs)
        except (click.ClickException, click.Abort):
            raise
        except RecipeError as err:
            if debug:
                raise
            raise RecipeProblem(str(err)) from None
        except (SubsetError, DataJointError, OSError) as err:
            if debug:
                raise
            # one line, for logs and people alike (server messages carry DETAIL / HINT lines)
            raise click.ClickException(" ".join(str(err).split())) from None
        except KeyboardInterrupt as err:
            if debug:
                raise
            code = _interrupt_code(err)
            what = "Terminated" if code == 143 else "Interrupted"
            click.echo(f"{what}; nothing was published.", err=True)
            sys.exit(code)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks of errors.")
@click.option("--verbose", "-v", is_flag=True, help="Log every query with its time.")
@click.version_option(package_name="datajoint-subsetter")
def cli(debug: bool, verbose: bool) -> None:
    """Write small, complete, correct slices of a DataJoint database.

    Example: subset run recipes/demo.yaml
    """
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if verbose:
        logging.getLogger("datajoint_core.sql").setLevel(logging.DEBUG)
        logging.getLogger("subsetter").setLevel(logging.INFO)


@cli.command()
@click.argument("recipe", type=click.Path(dir_okay=False))
@_handle_errors
def validate(recipe: str) -> None:
    """Check a recipe without connecting to any database.

    Example: subset validate recipes/demo.yaml
    """
    from . import api

    checked = api.validate(recipe)
    outputs = ", ".join(f"{o.name} ({o.type.value})" for o in checked.outputs)
    click.echo(f"{recipe}: valid; {len(checked.restrictions)} restrictions; outputs: {outputs}")


def _plan_rows(plan: Any) -> list[dict[str, Any]]:
    return [
        {"table": t.display, "rows": t.count, "status": t.status.value, "reason": t.reason}
        for t in plan.tables
    ]


def _step_rows(plan: Any) -> list[dict[str, Any]]:
    """Each restriction, in recipe order, with the rows its table keeps after it."""
    return [
        {
            "line": s.restriction.location.line,
            "table": s.table,
            "restriction": s.restriction.describe().partition(": ")[2],
            "rows": s.rows,
        }
        for s in plan.steps
    ]


def _print_plan(plan: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    from .progress import quantity

    console = Console()
    if plan.steps:
        steps = Table(title="Restrictions, in order", show_lines=False)
        for name, justify in (("line", "right"), ("table", "left"), ("restriction", "left")):
            steps.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
        steps.add_column("rows after", justify="right")
        for step in _step_rows(plan):
            rows = f"{step['rows']:,}"
            steps.add_row(str(step["line"]), step["table"], step["restriction"], rows)
        console.print(steps)
    table = Table(title="Subset preview", show_lines=False)
    table.add_column("table")
    table.add_column("rows", justify="right")
    table.add_column("reached by", overflow="fold")
    for t in plan.tables:
        table.add_row(t.display, f"{t.count:,}", t.reason)
    console.print(table)
    for name, why in plan.left_out.items():
        console.print(f"  left out: {name} ({why})")
    rows = quantity(sum(t.count for t in plan.tables), "row")
    console.print(f"  {rows} in {quantity(len(plan.tables), 'table')}")


@cli.command()
@click.argument("recipe", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON for programs.")
@_handle_errors
def preview(recipe: str, as_json: bool) -> None:
    """Show the tables of the subset, their row counts and what restricted each.

    Example: subset preview recipes/demo.yaml --json
    """
    from . import api

    plan = api.preview(recipe)
    if as_json:
        rows = {"tables": _plan_rows(plan), "left_out": plan.left_out, "steps": _step_rows(plan)}
        click.echo(json.dumps(rows, indent=2))
    else:
        _print_plan(plan)


@cli.command()
@click.argument("recipe", type=click.Path(dir_okay=False))
@click.option(
    "--output", "-o", "outputs", multiple=True, help="Write only this output (repeatable)."
)
@click.option(
    "--json", "as_json", is_flag=True, help="Write progress and the summary as JSON lines."
)
@click.option(
    "--jobs",
    "-j",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Read with this many connections sharing one snapshot (MySQL: needs RELOAD).",
)
@_handle_errors
def run(recipe: str, outputs: tuple[str, ...], as_json: bool, jobs: int) -> None:
    """Preview, then write the subset to the recipe's outputs.

    On a terminal, stderr shows a line per output: rows, rows/s, its time, and what it does
    (reading a table, committing, publishing). With --json, stdout gets one JSON object a
    line: progress events {"event": "progress", "output", "table" (schema.Class; null for the
    whole output), "phase" (reading, committing, staged, publishing, published), "rows",
    "total", "elapsed" (seconds since the start)}, then {"event": "summary", "outputs":
    {name: {"location", "rows", "tables"}}, "elapsed"}.

    Example: subset run recipes/demo.yaml --output parquet
    """
    import contextlib
    import time

    from . import api
    from .progress import Bars, JsonLines, quantity

    started = time.monotonic()
    bars = Bars() if sys.stderr.isatty() and not as_json else None
    with bars or contextlib.nullcontext():
        result = api.run(
            recipe,
            outputs=outputs or None,
            progress=JsonLines(sys.stdout) if as_json else bars,
            on_plan=None if as_json else _print_plan,
            jobs=jobs,
        )
    elapsed = round(time.monotonic() - started, 3)
    if as_json:
        summary = {
            name: {"location": out.location, "rows": out.rows, "tables": out.tables}
            for name, out in result.outputs.items()
        }
        click.echo(json.dumps({"event": "summary", "outputs": summary, "elapsed": elapsed}))
        return
    for name, out in result.outputs.items():
        rows, tables = quantity(out.rows, "row"), quantity(len(out.tables), "table")
        click.echo(f"{name}: {rows} in {tables} -> {out.location}")
    click.echo(f"done in {elapsed:.1f} s")


@cli.command()
@click.argument("recipe", type=click.Path(dir_okay=False))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["mermaid", "dot", "svg"]),
    default="mermaid",
    show_default=True,
)
@click.option("--out", type=click.Path(dir_okay=False), help="Write to a file instead of stdout.")
@_handle_errors
def diagram(recipe: str, fmt: str, out: str | None) -> None:
    """Draw the restricted pipeline with the row count of each table.

    Example: subset diagram recipes/demo.yaml --format svg --out subset.svg
    """
    from . import api

    text = api.diagram(recipe, fmt)
    if out:
        with open(out, "w", encoding="utf-8") as stream:
            stream.write(text)
        click.echo(f"wrote {out}")
    else:
        click.echo(text, nl=False)


@cli.command()
@click.argument("recipe", type=click.Path(dir_okay=False))
@click.option(
    "--output", "-o", "output", help="The staging output to clean (default: the only one)."
)
@click.option("--drop", is_flag=True, help="Drop the staging schemas instead of deleting rows.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before acting.")
@_handle_errors
def clean(recipe: str, output: str | None, drop: bool, yes: bool) -> None:
    """Delete the recipe's rows from a staging output (cascading), or drop its schemas.

    Only a staging database (type: instance) is ever touched, never the source.

    Example: subset clean recipes/mysql-to-staging.yaml --yes
    """
    from . import api

    def confirm(summary: str) -> bool:
        click.echo(summary)
        return yes or click.confirm("Proceed?", default=False)

    done = api.clean(recipe, output=output, drop=drop, confirm=confirm)
    click.echo(done)


@cli.command()
@click.argument("snapshot", type=click.Path(exists=True))
@click.option(
    "--to",
    "target",
    required=True,
    help="mysql://user@host:port, postgresql://user@host:port/db or embedded:DIR "
    "(the password comes from SUBSET_PASSWORD).",
)
@click.option("--schema-map", multiple=True, help="Rename a schema: source=target (repeatable).")
@click.option(
    "--if-exists",
    type=click.Choice(["fail", "replace", "append"]),
    default="fail",
    show_default=True,
    help="What to do with tables that exist (only in schemas subset created).",
)
@click.option(
    "--adopt",
    is_flag=True,
    help="Write into existing schemas subset did not create (never on the snapshot's source).",
)
@_handle_errors
def load(
    snapshot: str, target: str, schema_map: tuple[str, ...], if_exists: str, adopt: bool
) -> None:
    """Load a Parquet or DuckDB snapshot into a database.

    The snapshot's own source schemas are never written over, however the server is spelled.

    Example: SUBSET_PASSWORD=... subset load subset-demo/parquet --to mysql://root@127.0.0.1:3306
    """
    from . import api

    mapping = {}
    for item in schema_map:
        source, sep, dest = item.partition("=")
        if not sep or not source or not dest:
            raise click.BadParameter(
                f"expected source=target, got {item!r}", param_hint="--schema-map"
            )
        mapping[source] = dest
    result = api.load(snapshot, target, schema_map=mapping, if_exists=if_exists, adopt=adopt)
    click.echo(f"loaded {result.rows:,} rows in {len(result.tables)} tables into {result.location}")


@cli.command()
@click.argument("target")
@click.option("--output", "-o", help="With a recipe: verify only this output.")
@click.option(
    "--schema",
    "-s",
    "schemas",
    multiple=True,
    help="With a database URL: a schema to verify (repeatable); no other is read.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
@_handle_errors
def verify(target: str, output: str | None, schemas: tuple[str, ...], as_json: bool) -> None:
    """Check an output: every foreign key resolves inside it, and counts match its manifest.

    TARGET is a recipe (its outputs where it writes them, or the one --output names), a
    Parquet directory, a DuckDB file, or a database URL (as for `load --to`) with a --schema
    for each schema to check.

    Example: subset verify recipes/demo.yaml --output parquet
    """
    from . import api

    kind = api.Target.of(target)
    if kind is api.Target.DATABASE and not schemas:
        raise click.UsageError(
            "name the schemas to verify with --schema (repeatable), or verify the recipe"
        )
    if schemas and kind is not api.Target.DATABASE:
        raise click.BadParameter("only with a database URL", param_hint="--schema")
    if output is not None and kind is not api.Target.RECIPE:
        raise click.BadParameter("names an output of a recipe", param_hint="--output")
    checks = api.verify(target, schemas, output=output)
    failed = [c for c in checks if not c.ok]
    if as_json:
        click.echo(json.dumps([c.__dict__ for c in checks], indent=2))
    else:
        shown: object = None
        for c in checks:
            if c.output is not None and c.output != shown:
                click.echo(f"{c.output}:")
            shown = c.output
            mark = "ok  " if c.ok else "FAIL"
            indent = "  " if c.output is not None else ""
            click.echo(f"{indent}{mark} {c.table}: {c.kind}: {c.detail}")
        click.echo(f"{len(checks) - len(failed)} passed, {len(failed)} failed")
    if failed:
        sys.exit(1)


@cli.command()
@click.option(
    "--dir", "directory", default=".subset/pg", show_default=True, help="Embedded server data."
)
@_handle_errors
def demo(directory: str) -> None:
    """Start an embedded PostgreSQL, declare a lab pipeline, and run the demo recipe.

    Writes Parquet and DuckDB under ./subset-demo/. No database server is needed.

    Example: subset demo
    """
    from .demo import run_demo

    run_demo(directory, echo=click.echo, show_plan=_print_plan)


def main() -> None:
    """Run the command line; Ctrl-C exits 130 and SIGTERM 143, quietly, wherever they land
    (inside a command, :func:`_handle_errors` cleans up and says what was published)."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        code = cli.main(standalone_mode=False)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except (click.Abort, KeyboardInterrupt) as err:
        sys.exit(_interrupt_code(err.__cause__ if isinstance(err, click.Abort) else err))
    sys.exit(code if isinstance(code, int) else 0)
