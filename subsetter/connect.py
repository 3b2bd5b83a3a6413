"""Connections for recipes and command-line targets: read-only sources, guarded targets."""

from __future__ import annotations

import os
from typing import Any

import datajoint_core as dj
from datajoint_core.adapters import ALIASES, EMBEDDABLE

from .errors import SubsetError
from .recipe import ConnectionSpec, Recipe, resolve_path


def connect(
    spec: ConnectionSpec,
    recipe: Recipe | None = None,
    *,
    role: str = "source",
    **overrides: Any,
) -> dj.Instance:
    """An Instance for a recipe connection (an embedded directory is started if needed).

    ``role="source"`` makes the session read-only, so that no statement can write to the
    source even outside the snapshot; ``role="target"`` never reconnects silently, so that the
    guard's locks cannot be lost unnoticed.
    """
    overrides.setdefault("safemode", False)
    if role == "target":
        overrides.setdefault("database__reconnect", False)
    try:
        if spec.embedded is not None:
            from datajoint_core.embedded import embedded_instance

            directory = resolve_path(recipe, spec.embedded) if recipe else spec.embedded
            inst = embedded_instance(directory, **overrides)
        else:
            if spec.database is not None:
                overrides["database__name"] = spec.database
            inst = dj.Instance(
                host=spec.host or "localhost",
                user=spec.user,
                password=spec.password,
                port=spec.port,
                backend=spec.backend,
                **overrides,
            )
        if role == "source":
            inst.connection.set_read_only()
        return inst
    except dj.DataJointError as err:
        raise SubsetError(f"cannot connect to {spec.describe()}: {err}") from None


def target_instance(url: str, role: str = "target") -> dj.Instance:
    """An Instance for ``mysql://user@host:port``, ``postgresql://user@host:port/db`` or
    ``embedded:DIR``; the password comes from the environment variable SUBSET_PASSWORD.
    ``role`` as for :func:`connect` ("source" for a connection that only reads)."""
    from urllib.parse import unquote, urlparse

    if url.startswith("embedded:"):
        spec = ConnectionSpec(
            EMBEDDABLE[0],
            None,
            None,
            None,
            None,
            None,
            url[len("embedded:") :],
            None,  # type: ignore[arg-type]
        )
        return connect(spec, role=role)
    from urllib.parse import parse_qs

    parsed = urlparse(url)
    backend = ALIASES.get(parsed.scheme)
    # ?host=/path names a Unix socket (a directory for PostgreSQL, the socket file for MySQL)
    socket_path = parse_qs(parsed.query).get("host", [None])[-1]
    host = socket_path or parsed.hostname
    if backend is None or not host:
        raise SubsetError(
            f"cannot read the target {url!r}: expected mysql://user@host:port, "
            "postgresql://user@host:port/database, ...?host=/socket/path or embedded:DIR"
        )
    if parsed.password:
        raise SubsetError("put the password in SUBSET_PASSWORD, not in the URL")
    spec = ConnectionSpec(
        backend=backend,
        host=host,
        port=parsed.port,
        user=unquote(parsed.username) if parsed.username else None,
        password=os.environ.get("SUBSET_PASSWORD"),
        database=parsed.path.lstrip("/") or None,
        embedded=None,
        location=None,  # type: ignore[arg-type]
    )
    return connect(spec, role=role)
