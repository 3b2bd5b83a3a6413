"""dj.Instance and thread-safe mode, as the seed describes them."""

from __future__ import annotations

import threading

import pytest

import datajoint_core as dj
from datajoint_core import errors

from ..conftest import Server


def test_seed_overrides_with_double_underscore(server: Server) -> None:
    inst = dj.Instance(
        host=server.host,
        user=server.user,
        password=server.password,
        port=server.port,
        backend=server.backend,
        safemode=False,
        database__reconnect=False,
    )
    assert inst.config.safemode is False
    assert inst.config.database.reconnect is False
    assert inst.connection.fetchall("SELECT 1") == [(1,)]
    assert dj.config.safemode is True  # global config unaffected
    inst.close()


def test_unknown_override_raises(server: Server) -> None:
    with pytest.raises(errors.ConfigError, match="safe_mode"):
        server.instance(safe_mode=False)


def test_two_instances_side_by_side(server: Server) -> None:
    a, b = server.instance(), server.instance()
    a.config.safemode = True
    a.config.display.limit = 25
    b.config.display.limit = 3
    assert (a.config.safemode, b.config.safemode) == (True, False)
    assert (a.config.display.limit, b.config.display.limit) == (25, 3)
    assert dj.config.display.limit == 12
    assert a.connection is not b.connection
    assert a.connection.session_id() != b.connection.session_id()
    a.close()
    b.close()


def test_instance_config_is_read_by_its_connection(server: Server) -> None:
    inst = server.instance()
    assert inst.connection.config is inst.config
    inst.close()


def test_threads_with_their_own_instances(server: Server) -> None:
    results: dict[int, list[int]] = {}
    failures: list[BaseException] = []

    def work(n: int) -> None:
        try:
            inst = server.instance(display__limit=n)
            got = [inst.connection.fetchall("SELECT %s", (n * 100 + i,))[0][0] for i in range(20)]
            assert inst.config.display.limit == n
            results[n] = got
            inst.close()
        except BaseException as err:  # collected and re-raised in the main thread
            failures.append(err)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(1, 9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert results == {n: [n * 100 + i for i in range(20)] for n in range(1, 9)}


def test_thread_safe_mode(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJ_THREAD_SAFE", "true")
    with pytest.raises(dj.ThreadSafetyError):
        _ = dj.config.database.host
    with pytest.raises(dj.ThreadSafetyError):
        dj.config["safemode"] = False
    with pytest.raises(dj.ThreadSafetyError):
        dj.conn()
    inst = server.instance()  # Instance keeps working
    assert inst.connection.fetchall("SELECT 1") == [(1,)]
    inst.close()
    monkeypatch.setenv("DJ_THREAD_SAFE", "0")  # read at every call, not once at import
    assert dj.config.database.host


@pytest.mark.parametrize("value", ["true", "1", "yes", "TRUE", "Yes"])
def test_thread_safe_values(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJ_THREAD_SAFE", value)
    with pytest.raises(errors.ThreadSafetyError):
        dj.conn()


def test_global_conn_uses_global_config(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DJ_THREAD_SAFE", raising=False)
    with dj.config.override(
        database__host=server.host,
        database__port=server.port,
        database__user=server.user,
        database__password=server.password,
        database__backend=server.backend,
    ):
        conn = dj.conn(reset=True)
        assert conn.fetchall("SELECT 1") == [(1,)]
        assert dj.conn() is conn
        conn.close()
