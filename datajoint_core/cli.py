"""``dj.cli``: an interactive Python console with the library loaded, as the reference's ``dj``
command offers it: credentials from the command line, schemas as virtual modules.

    python -m datajoint_core.cli --host db:3306 -u alice -p secret -s lab:lab
    >>> lab.Subject.to_dicts()
"""

from __future__ import annotations

import argparse
import code
from typing import Any


def cli(args: list[str] | None = None) -> None:
    """Parse ``args`` (default: ``sys.argv``), apply the credentials to ``dj.config``, load the
    schemas named ``schema:alias`` and start the console; exits with SystemExit."""
    import datajoint_core as dj

    parser = argparse.ArgumentParser(
        prog="dj",
        description="DataJoint interactive console: a Python console with DataJoint loaded.",
        epilog="Example: dj -s my_lab:lab --host localhost:3306",
    )
    parser.add_argument(
        "-V", "--version", action="version", version=f"{dj.__name__} {dj.__version__}"
    )
    parser.add_argument("-u", "--user", default=None, help="database user (default: from config)")
    parser.add_argument("-p", "--password", default=None, help="password (default: from config)")
    parser.add_argument("--host", default=None, help="host[:port] (default: from config)")
    parser.add_argument(
        "-s",
        "--schemas",
        nargs="+",
        metavar="DB:ALIAS",
        help="load schemas as virtual modules, each given as schema_name:alias",
    )
    options = parser.parse_args(args)
    for key, value in (
        ("user", options.user),
        ("password", options.password),
        ("host", options.host),
    ):
        if value:
            dj.config[f"database.{key}"] = value
    modules: dict[str, Any] = {}
    for item in options.schemas or ():
        if ":" not in item:
            parser.error(f"Invalid schema format '{item}'. Use schema_name:alias")
        schema_name, alias = item.split(":", 1)
        modules[alias] = dj.VirtualModule(alias, schema_name)
    banner = f"{dj.__name__} {dj.__version__} console\nType 'dj.' and press Tab for the API.\n"
    if modules:
        banner += "\nLoaded schemas:\n"
        banner += "".join(f"  {alias} -> {m.schema.database}\n" for alias, m in modules.items())
    code.interact(banner, local={"dj": dj, **modules})
    raise SystemExit


if __name__ == "__main__":
    cli()
