"""The ``subset`` command: a thin click layer over :mod:`subsetter.api`."""

from __future__ import annotations

import click


@click.group()
@click.version_option(package_name="datajoint-subsetter")
def main() -> None:
    """Write small, complete, correct slices of a DataJoint database."""


@main.command()
@click.option("--dir", "directory", default=".subset/pg", show_default=True, help="Server data.")
def demo(directory: str) -> None:
    """Start the embedded PostgreSQL and show that it answers.

    Example: subset demo
    """
    from datajoint_core.embedded import embedded_instance

    inst = embedded_instance(directory)
    version = inst.connection.fetchall("SELECT version()")[0][0]
    click.echo(f"embedded server in {directory}: {version}")
