"""``Connection.shared_snapshot(n)``: n connections that read the same point in time while
another session keeps committing; an account that may not synchronise readers is refused with
a clear AccessError (MySQL: RELOAD), and the lock never outlives the start."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest

import datajoint_core as dj
from datajoint_core import errors

from ..conftest import Server


def _make_table(conn: dj.Connection, schema: str) -> str:
    a = conn.adapter
    conn.execute(a.create_schema_sql(schema))
    full = a.full_name(schema, "t")
    conn.execute(f"CREATE TABLE {full} ({a.quote('id')} int NOT NULL PRIMARY KEY)")
    return full


class Writer:
    """Another session committing one row at a time until stopped (bounded: 20 s)."""

    def __init__(self, server: Server, full: str) -> None:
        self.inst = server.instance()
        self.full = full
        self.written = 0
        self.stop = threading.Event()
        self.failure: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        deadline = time.monotonic() + 20
        try:
            while not self.stop.is_set() and time.monotonic() < deadline:
                self.inst.connection.execute(
                    f"INSERT INTO {self.full} VALUES (%s)", (self.written,)
                )
                self.written += 1
        except BaseException as err:  # reported by the test
            self.failure.append(err)

    def __enter__(self) -> Writer:
        self.thread.start()
        while self.written < 20 and self.thread.is_alive():
            time.sleep(0.005)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
        self.inst.close()
        assert not self.failure, self.failure


def counts(group: list[dj.Connection], full: str) -> list[int]:
    found = []
    for conn in group:
        found.append(int(conn.fetchall(f"SELECT count(*) FROM {full}")[0][0]))
        time.sleep(0.1)  # the writer goes on meanwhile
    return found


def test_readers_see_one_snapshot_while_another_session_writes(
    inst: dj.Instance, server: Server, schema_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = inst.connection
    start = dj.Connection.start_transaction

    def slow_start(self: dj.Connection, *, snapshot: bool = False) -> None:
        start(self, snapshot=snapshot)
        time.sleep(0.05)  # a wide window between the readers' starts: commits must not land

    monkeypatch.setattr(dj.Connection, "start_transaction", slow_start)
    full = _make_table(conn, schema_name)
    with Writer(server, full) as writer:
        # the control: snapshots started one after another see different rows
        apart = [server.instance() for _ in range(3)]
        try:
            for other in apart:
                other.connection.start_transaction(snapshot=True)
                other.connection.fetchall(f"SELECT count(*) FROM {full}")  # PostgreSQL: now
            assert len(set(counts([o.connection for o in apart], full))) == 3
        finally:
            for other in apart:
                other.close()
        with conn.shared_snapshot(3) as group:
            assert group[0] is conn and len(group) == 3
            assert all(c.in_transaction for c in group)
            before = writer.written
            seen = counts(group, full)
            assert len(set(seen)) == 1, seen
            time.sleep(0.1)
            assert writer.written > before  # commits go on: no lock is held while reading
            assert counts(group, full) == seen
            with pytest.raises(errors.QueryError):  # read-only
                group[1].execute(f"INSERT INTO {full} VALUES (-1)")
        extra = group[1:]
    assert not conn.in_transaction
    assert all(not c.is_connected for c in extra)
    assert int(conn.fetchall(f"SELECT count(*) FROM {full}")[0][0]) > seen[0]


def test_one_reader_is_a_plain_snapshot(inst: dj.Instance, schema_name: str) -> None:
    conn = inst.connection
    full = _make_table(conn, schema_name)
    with conn.shared_snapshot(1) as group:
        assert group == [conn] and conn.in_transaction
        assert conn.fetchall(f"SELECT count(*) FROM {full}") == [(0,)]
    assert not conn.in_transaction


@pytest.fixture
def select_only(server: Server, inst: dj.Instance, schema_name: str) -> Iterator[dj.Instance]:
    """An Instance of a new account that may only SELECT from the test schema."""
    user, password = f"subset_ro_{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex}"
    conn = inst.connection
    q = conn.adapter.quote
    _make_table(conn, schema_name)
    hosts = ("%%", "localhost")  # '%' doubled: SQL text is always formatted
    if server.backend == "mysql":
        for host in hosts:
            conn.execute(f"CREATE USER '{user}'@'{host}' IDENTIFIED BY %s", (password,))
            conn.execute(f"GRANT SELECT ON {q(schema_name)}.* TO '{user}'@'{host}'")
    else:
        conn.execute(f"CREATE ROLE {q(user)} LOGIN PASSWORD %s", (password,))
        conn.execute(f"GRANT USAGE ON SCHEMA {q(schema_name)} TO {q(user)}")
        conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {q(schema_name)} TO {q(user)}")
    reader = dj.Instance(
        host=server.host, user=user, password=password, port=server.port, backend=server.backend
    )
    yield reader
    reader.close()
    if server.backend == "mysql":
        for host in hosts:
            conn.execute(f"DROP USER '{user}'@'{host}'")
    else:
        conn.execute(f"DROP OWNED BY {q(user)}")
        conn.execute(f"DROP ROLE {q(user)}")


def test_an_account_without_the_privilege_is_refused_clearly(
    select_only: dj.Instance, server: Server, schema_name: str
) -> None:
    conn = select_only.connection
    full = conn.adapter.full_name(schema_name, "t")
    if server.backend == "mysql":  # synchronising needs RELOAD
        message = r"need the RELOAD privilege .* read with one connection instead"
        with pytest.raises(errors.AccessError, match=message), conn.shared_snapshot(2):
            pytest.fail("the account may not synchronise readers")
        assert not conn.in_transaction
        assert conn.fetchall(f"SELECT count(*) FROM {full}") == [(0,)]
    else:  # any account may import an exported snapshot
        with conn.shared_snapshot(2) as group:
            assert [c.fetchall(f"SELECT count(*) FROM {full}") for c in group] == [[(0,)]] * 2


def test_bad_reader_count(inst: dj.Instance) -> None:
    with (
        pytest.raises(errors.DataJointError, match="at least one"),
        inst.connection.shared_snapshot(0),
    ):
        pytest.fail("no group for no readers")
