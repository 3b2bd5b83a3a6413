"""Parallel populate (issue 13): workers that share one job table never compute a key twice.

Each worker has its own ``dj.Instance`` in thread-safe mode (``DJ_THREAD_SAFE=true``) and binds
its own table classes through a schema of that Instance: the pipeline is declared by a function
of the schema, as the README shows. make() appends its key to a file outside any transaction, so
a key computed twice shows even if the second insert were to fail.
"""

from __future__ import annotations

import collections
import multiprocessing as mp
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import datajoint_core as dj

from ..conftest import Server

N_KEYS = 40
WORKERS = 4


def pipeline(schema: dj.Schema, log: str) -> dict[str, Any]:
    """Source -> Slow, whose make() logs each call to the file ``log``."""

    @schema
    class Source(dj.Manual):
        definition = """
        source_id : int32
        ---
        value : float64
        """

    @schema
    class Slow(dj.Computed):
        definition = """
        -> Source
        ---
        result : float64
        """

        def make(self, key: dict[str, Any]) -> None:
            with open(log, "a") as calls:  # one short append per call: atomic
                calls.write(f"{key['source_id']} {os.getpid()} {threading.get_ident()}\n")
            time.sleep(0.01)
            value = (Source & key).fetch1("value")
            self.insert1({**key, "result": value * 2})

    return {"Source": Source, "Slow": Slow}


@pytest.fixture
def log(tmp_path: Path, inst: dj.Instance, schema_name: str) -> Path:
    """The call log; the pipeline declared and Source filled, by the test's own Instance."""
    path = tmp_path / "calls.log"
    t = pipeline(inst.Schema(schema_name), str(path))
    t["Source"].insert([{"source_id": i, "value": float(i)} for i in range(N_KEYS)])
    return path


def calls(log: Path) -> list[list[str]]:
    return [line.split() for line in log.read_text().splitlines()]


def check(log: Path, inst: dj.Instance, schema_name: str) -> None:
    """Every key made exactly once, its row there, and the job table empty again."""
    made = collections.Counter(int(c[0]) for c in calls(log))
    assert made == dict.fromkeys(range(N_KEYS), 1)
    t = pipeline(inst.Schema(schema_name), str(log))
    assert len(t["Slow"]) == N_KEYS
    assert t["Slow"].jobs.progress()["total"] == 0  # jobs.keep_completed is off


def test_threads_with_their_own_instances(
    server: Server, inst: dj.Instance, schema_name: str, log: Path, monkeypatch: Any
) -> None:
    monkeypatch.setenv("DJ_THREAD_SAFE", "true")
    with pytest.raises(dj.ThreadSafetyError):
        dj.config["safemode"]  # global state is off in this mode
    start = threading.Barrier(WORKERS)
    results: list[dict[str, Any]] = []
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            with server.instance() as mine:
                t = pipeline(mine.Schema(schema_name), str(log))
                start.wait()
                results.append(t["Slow"].populate(reserve_jobs=True))
        except BaseException as err:  # reported by the test thread
            failures.append(err)

    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures
    assert sum(r["success_count"] for r in results) == N_KEYS
    assert all(r["error_list"] == [] for r in results)
    assert len({c[2] for c in calls(log)}) > 1  # the work was shared
    check(log, inst, schema_name)


def _process_worker(credentials: dict[str, Any], schema_name: str, log: str, start: Any) -> None:
    os.environ["DJ_THREAD_SAFE"] = "true"
    with dj.Instance(**credentials, safemode=False) as inst:
        t = pipeline(inst.Schema(schema_name), log)
        start.wait()
        t["Slow"].populate(reserve_jobs=True)


def test_processes_with_their_own_instances(
    server: Server, inst: dj.Instance, schema_name: str, log: Path
) -> None:
    context = mp.get_context("spawn")  # nothing inherited: each builds its own Instance
    credentials = {
        "host": server.host,
        "user": server.user,
        "password": server.password,
        "port": server.port,
        "backend": server.backend,
    }
    start = context.Barrier(WORKERS)
    args = (credentials, schema_name, str(log), start)
    workers = [context.Process(target=_process_worker, args=args) for _ in range(WORKERS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=180)
    assert [w.exitcode for w in workers] == [0] * WORKERS
    assert len({c[1] for c in calls(log)}) > 1  # the work was shared
    check(log, inst, schema_name)


def test_populate_processes_with_reserved_jobs(
    inst: dj.Instance, schema_name: str, log: Path
) -> None:
    t = pipeline(inst.Schema(schema_name), str(log))
    assert t["Slow"].populate(reserve_jobs=True, processes=2) == {
        "success_count": N_KEYS,
        "error_list": [],
    }
    assert len({c[1] for c in calls(log)}) == 2  # two forked workers
    check(log, inst, schema_name)
