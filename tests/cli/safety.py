"""Helpers for the source-safety tests: every spelling of the same server, TCP forwarders, and
a fingerprint of a schema that changes when anything in it does."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import select
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

import datajoint_core as dj

from ..conftest import Server

OTHER_USER = "subset_other"
OTHER_PASSWORD = "other-Pw-1"
OTHER_PASSWORD_VAR = "SUBSET_TEST_OTHER_PASSWORD"
SOCKETS = {"mysql": "/run/mysqld/mysqld.sock", "postgresql": "/var/run/postgresql"}


class Forwarder:
    """A TCP port on ``listen`` that forwards every connection to 127.0.0.1:``port``."""

    def __init__(self, listen: str, port: int) -> None:
        family = socket.AF_INET6 if ":" in listen else socket.AF_INET
        self.listener = socket.socket(family, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((listen, 0))
        self.listener.listen(16)
        self.port = int(self.listener.getsockname()[1])
        self.target = port
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                client.close()
                continue
            threading.Thread(target=_pump, args=(client, upstream), daemon=True).start()

    def close(self) -> None:
        self._closed = True
        self.listener.close()


def _pump(a: socket.socket, b: socket.socket) -> None:
    try:
        while True:
            ready, _, _ = select.select([a, b], [], [], 60)
            if not ready:
                return
            for sock in ready:
                data = sock.recv(1 << 16)
                if not data:
                    return
                (b if sock is a else a).sendall(data)
    except OSError:
        return
    finally:
        a.close()
        b.close()


@dataclass(frozen=True)
class Spelling:
    """One way of naming the source server."""

    label: str
    host: str
    port: int
    user: str
    password_var: str
    database: str | None = None  # PostgreSQL: None leaves `database:` out

    def recipe_block(self, backend: str) -> str:
        """The connection keys of a recipe output, indented for ``outputs.<name>``."""
        lines = [
            f"backend: {backend}",
            f'host: "{self.host}"',
            f"port: {self.port}",
            f"user: {self.user}",
            f"password: ${{{self.password_var}:-}}",
        ]
        if self.database is not None:
            lines.append(f"database: {self.database}")
        return "\n".join("    " + line for line in lines)

    def url(self, backend: str) -> str:
        path = f"/{self.database}" if self.database else ""
        if self.host.startswith("/"):
            return f"{backend}://{self.user}@localhost:{self.port}{path}?host={self.host}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{backend}://{self.user}@{host}:{self.port}{path}"


SPELLINGS = [
    "127.0.0.1",
    "localhost",
    "hostname",
    "0.0.0.0",
    "unix socket",
    "IPv6 forward",
    "machine address forward",
    "other user",
    "database named",
]


def _machine_address() -> str | None:
    """A non-loopback address of this machine, or None."""
    with contextlib.suppress(OSError):
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.connect(("198.51.100.1", 9))  # only a route lookup: UDP connect sends nothing
        address = str(probe.getsockname()[0])
        probe.close()
        if not address.startswith("127."):
            return address
    return None


@contextlib.contextmanager
def spelled(label: str, server: Server, password_var: str) -> Iterator[Spelling]:
    """The Spelling ``label`` of ``server`` (forwarders started as needed); skips when the
    machine cannot offer it."""
    port, user = server.port, server.user
    if label in ("127.0.0.1", "localhost", "0.0.0.0"):
        yield Spelling(label, label, port, user, password_var)
    elif label == "hostname":
        yield Spelling(label, socket.gethostname(), port, user, password_var)
    elif label == "unix socket":
        path = SOCKETS[server.backend]
        if not os.path.exists(path):
            pytest.skip(f"no Unix socket at {path}")
        yield Spelling(label, path, port, user, password_var)
    elif label == "other user":
        yield Spelling(label, "127.0.0.1", port, OTHER_USER, OTHER_PASSWORD_VAR)
    elif label == "database named":
        if server.backend != "postgresql":
            pytest.skip("only PostgreSQL has a database level")
        yield Spelling(label, "127.0.0.1", port, user, password_var, database="postgres")
    else:
        listen = "::1" if label == "IPv6 forward" else _machine_address()
        if listen is None:
            pytest.skip("this machine has no non-loopback address")
        try:
            forward = Forwarder(listen, port)
        except OSError as err:
            pytest.skip(f"cannot listen on {listen}: {err}")
        try:
            yield Spelling(label, listen, forward.port, user, password_var)
        finally:
            forward.close()


def create_other_user(inst: dj.Instance) -> None:
    """A second account with every privilege (so that only the guard stands in the way)."""
    conn = inst.connection
    if conn.backend == "mysql":
        for host in ("%%", "localhost"):
            conn.execute(f"DROP USER IF EXISTS '{OTHER_USER}'@'{host}'")
            conn.execute(f"CREATE USER '{OTHER_USER}'@'{host}' IDENTIFIED BY '{OTHER_PASSWORD}'")
            conn.execute(f"GRANT ALL PRIVILEGES ON *.* TO '{OTHER_USER}'@'{host}'")
    else:
        conn.execute(f"DROP ROLE IF EXISTS {OTHER_USER}")
        conn.execute(f"CREATE ROLE {OTHER_USER} LOGIN SUPERUSER PASSWORD '{OTHER_PASSWORD}'")


def fingerprint(conn: dj.Connection, schemas: list[str]) -> dict[str, Any]:
    """Every table of ``schemas`` (hidden ones included) with a digest of its rows in key
    order, and whether each schema exists: any write shows."""
    adapter = conn.adapter
    present = set(conn.list_schemas())
    found: dict[str, Any] = {"schemas": sorted(s for s in schemas if s in present)}
    for schema, table in sorted(adapter.table_names(conn.fetchall, schemas)):
        full = adapter.full_name(schema, table)
        rows = conn.fetchall(f"SELECT * FROM {full}")
        text = json.dumps(sorted(json.dumps(list(r), default=str) for r in rows))
        found[f"{schema}.{table}"] = hashlib.sha256(text.encode()).hexdigest()
    return found
