"""The ``subset`` command: parse, call :mod:`subsetter.api`, print. Nothing else.

Exit codes: 0 success, 1 a runtime failure, 2 a usage or recipe mistake.
"""

from __future__ import annotations

import functools
import json
import logging
import shlex
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled as Ctrl-C is (temporary outputs removed), then exit 143."""


# The signals received. One may reach a library that raises its own exception instead (DuckDB:
# "RuntimeError: Query interrupted"), or land in a finalizer that swallows it (pymysql's __del__).
_SIGNALLED: list[int] = []
_IMPORTING = ("importlib._bootstrap", "importlib._bootstrap_external")


def _importing(frame: Any) -> bool:
    while frame is not None:
        if frame.f_globals.get("__name__") in _IMPORTING:
            return True
        frame = frame.f_back
    return False


def _again(signum: int) -> None:
    """Send ``signum`` to the main thread again, soon, from another thread (it wakes a blocking
    read there; sent from a handler or hook, it would land in that handler or hook)."""
    import threading

    main = threading.main_thread().ident
    assert main is not None
    threading.Timer(0.02, signal.pthread_kill, (main, signum)).start()


def _on_signal(signum: int, frame: Any) -> None:
    if _importing(frame):
        # never raised inside an import: a C extension's set-up may abort the process on an
        # exception (DuckDB's nanobind: "Critical nanobind error"); sent again until it is done
        _again(signum)
        return
    _SIGNALLED.append(signum)
    raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def _interrupt_code(err: BaseException | None = None) -> int:
    return 143 if isinstance(err, Terminated) or signal.SIGTERM in _SIGNALLED else 130


def _interrupted(err: BaseException | None = None, detail: str = "") -> NoReturn:
    """Say, in one line, that the command was interrupted; exit 130 (143 for SIGTERM)."""
    code = _interrupt_code(err)
    _say(("Terminated" if code == 143 else "Interrupted") + detail)
    # A KeyboardInterrupt that escaped code run by exec() or eval() of a string (dataclasses and
    # namedtuple build methods so) marks CPython to kill itself with SIGINT at exit, whatever
    # the exit code; the next exec() of a string clears that mark.
    exec("")
    sys.exit(code)


def _unraisable(hook: Callable[[Any], object]) -> Callable[[Any], object]:
    """``sys.unraisablehook``: a Ctrl-C swallowed by a finalizer ("Exception ignored in ...
    __del__") is delivered again, to the main thread, instead of printed."""

    def on_unraisable(unraisable: Any) -> object:
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            _again(signal.SIGTERM if signal.SIGTERM in _SIGNALLED else signal.SIGINT)
            return None
        return hook(unraisable)

    return on_unraisable


class RecipeProblem(click.UsageError):
    """A recipe mistake: exit code 2, the file:line: key: message on stderr."""

    def show(self, file: Any = None) -> None:
        click.echo(f"Error: {self.format_message()}", err=True)


def _handle_errors(func: F) -> F:
    """Turn expected failures into clean messages; ``--debug`` shows tracebacks.

    The error classes are imported only when an error happens: ``datajoint_core`` is heavy, and
    ``subset validate`` should not pay for it."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        debug = click.get_current_context().find_root().params.get("debug", False)
        try:
            return func(*args, **kwargs)
        except (click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt as err:
            if debug:
                raise
            # a publishing step that is interrupted raises SubsetError, saying what it published
            _interrupted(err, "; nothing was published.")
        except Exception as err:
            from .errors import SubsetError
            from .recipe import RecipeError

            if debug:
                raise
            if _SIGNALLED:  # a library's own exception for the signal
                text = " ".join(str(err).split())
                detail = f": {text}" if isinstance(err, SubsetError) else "; nothing was published."
                _interrupted(None, detail)
            if isinstance(err, RecipeError):
                raise RecipeProblem(str(err)) from None
            from datajoint_core.errors import DataJointError

            if isinstance(err, (SubsetError, DataJointError, OSError)):
                # one line, for logs and people alike (server messages carry DETAIL / HINT lines)
                raise click.ClickException(" ".join(str(err).split())) from None
            raise

    return wrapper  # type: ignore[return-value]


_SAID: list[str] = []  # what was said about an interruption (said once)


def _say(line: str) -> None:
    """Say how the command ended, once: a second signal during cleanup adds nothing."""
    if not _SAID:
        _SAID.append(line)
        click.echo(line, err=True)


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if verbose:
        logging.getLogger("datajoint_core.sql").setLevel(logging.DEBUG)
        logging.getLogger("subsetter").setLevel(logging.INFO)


def _global_flag(name: str, *decls: str, help: str) -> click.Option:
    """A flag of the group that is also accepted after the subcommand (``subset run r.yaml
    --debug``): it sets the group's parameter, as if given before the subcommand."""

    def given(ctx: click.Context, param: click.Parameter, value: bool) -> None:
        if value:
            ctx.find_root().params[name] = True
            if name == "verbose":
                _configure_logging(verbose=True)

    return click.Option(
        [f"--{name}", *decls], is_flag=True, expose_value=False, callback=given, help=help
    )


DEBUG_HELP = "Show tracebacks of errors."
VERBOSE_HELP = "Log every query with its time."


class _Group(click.Group):
    """The ``subset`` group: every subcommand also takes the global flags."""

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        cmd.params += [
            _global_flag("debug", help=DEBUG_HELP),
            _global_flag("verbose", "-v", help=VERBOSE_HELP),
        ]
        super().add_command(cmd, name)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help=DEBUG_HELP + " (Also after the subcommand.)")
@click.option("--verbose", "-v", is_flag=True, help=VERBOSE_HELP + " (Also after the subcommand.)")
@click.version_option(package_name="datajoint-subsetter")
def cli(debug: bool, verbose: bool) -> None:
    """Write small, complete, correct slices of a DataJoint database.

    Example: subset demo
    """
    _configure_logging(verbose)


@cli.command()
@click.argument("recipe", type=click.Path(dir_okay=False))
@_handle_errors
def validate(recipe: str) -> None:
    """Check a recipe without connecting to any database.

    Example: subset validate subset-demo/demo.yaml
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

    Example: subset preview subset-demo/demo.yaml --json
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

    Example: subset run subset-demo/demo.yaml --output parquet
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

    Example: subset diagram subset-demo/demo.yaml --format svg --out subset.svg
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

    Example: subset verify subset-demo/demo.yaml --output parquet
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


def _self_command() -> str:
    """This ``subset``, runnable without an activated venv: the full path of the console script
    that runs, or of the one next to this interpreter, else ``python -m subsetter``."""
    names = ("subset", "subset.exe")
    script = Path(sys.argv[0])
    if script.name not in names or not script.is_file():
        script = Path(sys.executable).parent / "subset"
    if script.is_file():
        return shlex.quote(str(script.absolute()))
    return f"{shlex.quote(sys.executable)} -m subsetter"


@cli.command()
@click.option(
    "--dir",
    "directory",
    default="subset-demo",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Where the demo keeps everything: the server (pg/), the recipe, the outputs.",
)
@click.option(
    "--keep-running",
    is_flag=True,
    help="Leave the embedded PostgreSQL running, for preview, diagram and run on DIR/demo.yaml.",
)
@click.option("--stop", is_flag=True, help="Stop the embedded PostgreSQL of DIR, and exit.")
@_handle_errors
def demo(directory: str, keep_running: bool, stop: bool) -> None:
    """Start an embedded PostgreSQL, declare a lab pipeline, and run the demo recipe.

    Writes the recipe, Parquet and DuckDB under ./subset-demo/ (--dir), next to the server's
    data. No database server is needed. The server is stopped at the end, also when
    interrupted, unless --keep-running (or it was running before); --stop stops it.

    Example: subset demo --keep-running
    """
    me = _self_command()
    server = Path(directory) / "pg"
    stop_command = f"{me} demo --stop --dir {shlex.quote(str(Path(directory).absolute()))}"
    if stop:
        from datajoint_core.embedded import stop_embedded

        if stop_embedded(server):
            click.echo(f"stopped the embedded PostgreSQL in {server}")
        else:
            click.echo(f"no embedded PostgreSQL runs in {server}")
        return
    from .demo import run_demo

    made = run_demo(directory, keep_running=keep_running, echo=click.echo, show_plan=_print_plan)
    recipe = shlex.quote(str(made.recipe))
    if made.server_running:
        why = "" if keep_running else " (it was running before the demo)"
        click.echo(f"the embedded PostgreSQL in {server} keeps running{why}; stop it with:")
        click.echo(f"  {stop_command}")
        click.echo(f"next: {me} preview {recipe}")
    else:
        click.echo(f"stopped the embedded PostgreSQL in {server}")
        click.echo(f"next: {me} verify {shlex.quote(str(Path(directory) / 'parquet'))}")
        click.echo(f"  or: {me} demo --keep-running, then {me} preview {recipe}")


def main() -> None:
    """Run the command line; Ctrl-C exits 130 and SIGTERM 143 with one line, wherever they land
    (inside a command, :func:`_handle_errors` cleans up and says what was published)."""
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    sys.unraisablehook = _unraisable(sys.unraisablehook)
    code = 0
    try:
        result = cli.main(standalone_mode=False)
        code = result if isinstance(result, int) else 0
    except click.ClickException as err:
        err.show()
        code = err.exit_code
    except click.Abort as err:  # click turns Ctrl-C and end-of-input in a prompt into Abort
        if isinstance(err.__cause__, KeyboardInterrupt) or _SIGNALLED:
            _interrupted(err.__cause__)
        _say("Aborted.")
        code = 1
    except KeyboardInterrupt as err:
        _interrupted(err)
    finally:
        # The work is done: a Ctrl-C while the interpreter exits changes nothing (and would
        # otherwise meet the default handler Python restores as it shuts down).
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.exit(code)
