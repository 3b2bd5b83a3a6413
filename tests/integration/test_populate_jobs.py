"""Job tables (issue 13) on both backends: the ``~~table`` queue, what refresh / reserve /
complete / error / ignore do, stale and orphaned jobs, priorities, and populate(reserve_jobs).

Statuses, columns and rules are those of the reference (datajoint 2.3.5 jobs.py);
test_populate_reference.py has the reference itself read and write the same tables.
"""

from __future__ import annotations

import datetime
import logging
import os
import random
import signal
import string
import time
import uuid
from typing import Any

import pytest

import datajoint_core as dj
from datajoint_core.jobs import ERROR_MESSAGE_LENGTH, TRUNCATION_APPENDIX

from .test_populate import VALUES, lab


@pytest.fixture
def t(inst: dj.Instance, schema_name: str) -> dict[str, Any]:
    return lab(inst.Schema(schema_name))


def statuses(jobs: Any) -> dict[int, str]:
    return {r["source_id"]: r["status"] for r in jobs.proj("status").to_dicts()}


def backdate(jobs: Any, column: str = "created_time", restriction: Any = None) -> None:
    """Make the jobs (those of ``restriction``) look old: ``column`` in the year 2000."""
    chosen = jobs if restriction is None else jobs & restriction
    for key in chosen.keys():  # noqa: SIM118 -- a query, not a dict
        jobs.update1({**key, column: datetime.datetime(2000, 1, 1)})


class Statements(logging.Handler):
    """The SQL statements the connection logs at DEBUG."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.sql: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.sql.append(str(record.args[-1]) if record.args else record.getMessage())


# -- the table ----------------------------------------------------------------------------------


def test_job_table_is_hidden_and_declared_on_first_use(
    t: dict[str, Any], inst: dj.Instance, schema_name: str
) -> None:
    schema, result = t["schema"], t["Result"]
    assert schema.jobs == []
    jobs = result.jobs  # declares ~~result
    assert isinstance(jobs, dj.Job) and jobs.table_name == "~~result"
    assert [j.table_name for j in schema.jobs] == ["~~result"]
    assert jobs.primary_key == ["source_id"]
    assert jobs.heading.names == [
        "source_id",
        "status",
        "priority",
        "created_time",
        "scheduled_time",
        "reserved_time",
        "completed_time",
        "duration",
        "error_message",
        "error_stack",
        "user",
        "host",
        "pid",
        "connection_id",
        "version",
    ]
    assert "source_id : int32" in jobs.definition
    assert result().jobs.full_table_name == jobs.full_table_name  # instance or class
    # hidden from the pipeline: no heading, no class, no node
    assert "~~result" not in schema.list_tables()
    assert "~~result" not in dj.Diagram(schema).make_mermaid()
    vm = dj.VirtualModule("lab", schema_name, connection=inst.connection)
    assert sorted(c for c in vars(vm) if c[0].isupper()) == ["Result", "Source"]


def test_uuid_keys_keep_their_type(inst: dj.Instance, schema_name: str) -> None:
    schema = inst.Schema(schema_name)

    @schema
    class Basic(dj.Manual):
        definition = """
        item : uuid
        """

    @schema
    class BasicComputed(dj.Computed):
        definition = """
        -> Basic
        ---
        value : int32
        """

        def make(self, key: dict[str, Any]) -> None:
            self.insert1({**key, "value": 1})

    assert "item : uuid" in BasicComputed.jobs.definition
    assert BasicComputed.jobs.heading["item"].type == "uuid"
    Basic.insert([{"item": uuid.uuid4()} for _ in range(3)])
    assert BasicComputed.populate(reserve_jobs=True)["success_count"] == 3


# -- refresh, reserve, complete, error, ignore --------------------------------------------------


def test_refresh_reserve_complete(t: dict[str, Any], inst: dj.Instance) -> None:
    result = t["Result"]
    jobs = result.jobs
    result.insert1({"source_id": 5, "doubled": 1.0}, allow_direct_insert=True)
    assert jobs.refresh() == {"added": 4, "removed": 0, "orphaned": 0, "re_pended": 0}
    assert jobs.refresh()["added"] == 0
    assert statuses(jobs) == dict.fromkeys([1, 2, 3, 4], "pending")
    assert jobs.progress() == {
        "pending": 4,
        "reserved": 0,
        "success": 0,
        "error": 0,
        "ignore": 0,
        "total": 4,
    }
    assert jobs.reserve({"source_id": 1}) is True
    assert jobs.reserve({"source_id": 1}) is False  # reserved already
    row = (jobs & {"source_id": 1}).fetch1()
    assert row["status"] == "reserved" and row["reserved_time"] is not None
    assert row["connection_id"] == inst.connection.session_id() and row["pid"] > 0
    jobs.complete({"source_id": 1})  # jobs.keep_completed is off: the job goes
    assert 1 not in statuses(jobs)
    with inst.config.override(jobs__keep_completed=True):
        assert jobs.reserve({"source_id": 2})
        jobs.complete({"source_id": 2}, duration=1.25)
    done = jobs.completed.fetch1()
    assert (done["source_id"], done["duration"]) == (2, 1.25)
    assert done["completed_time"] >= done["reserved_time"]
    assert len(jobs.pending) == 2 and len(jobs.reserved) == 0


def test_error_messages_and_stacks(t: dict[str, Any]) -> None:
    jobs = t["Result"].jobs
    jobs.refresh()
    long = "".join(random.choice(string.ascii_letters) for _ in range(ERROR_MESSAGE_LENGTH + 100))
    stack = "".join(random.choice(string.ascii_letters) for _ in range(89_942))
    jobs.reserve({"source_id": 1})
    jobs.error({"source_id": 1}, long, stack)
    jobs.error({"source_id": 2}, "short")
    assert jobs.reserve({"source_id": 1}) is False  # errors are not reserved again
    first = (jobs & {"source_id": 1}).fetch1()
    assert len(first["error_message"]) == ERROR_MESSAGE_LENGTH
    assert first["error_message"].endswith(TRUNCATION_APPENDIX)
    assert first["error_message"].startswith(long[:100])
    assert first["error_stack"] == stack
    second = (jobs & {"source_id": 2}).fetch1()
    assert (second["error_message"], second["error_stack"]) == ("short", None)
    with pytest.raises(dj.DataJointError, match="one existing entry"):
        jobs.error({"source_id": 99}, "no such job")
    jobs.errors.delete()
    assert statuses(jobs) == dict.fromkeys([3, 4, 5], "pending")


def test_ignore_and_errors_are_skipped(t: dict[str, Any]) -> None:
    result = t["Result"]
    jobs = result.jobs
    jobs.ignore({"source_id": 1})  # not in the queue yet: added as 'ignore'
    jobs.refresh()
    jobs.ignore({"source_id": 2})  # pending -> ignore
    out = result.populate(reserve_jobs=True, suppress_errors=True)
    assert out["success_count"] == 2  # 4 and 5; 3 fails
    assert out["error_list"] == [({"source_id": 3}, "ValueError: negative value for source 3")]
    assert statuses(jobs) == {1: "ignore", 2: "ignore", 3: "error"}
    error = jobs.errors.fetch1()
    assert error["error_message"] == "ValueError: negative value for source 3"
    stack = error["error_stack"]
    assert stack.startswith("Traceback") and stack.endswith("negative value for source 3\n")
    # a second run retries nothing; clearing the error lets it run again
    assert result.populate(reserve_jobs=True, suppress_errors=True)["success_count"] == 0
    (jobs & {"source_id": 2}).delete()
    assert result.populate(reserve_jobs=True)["success_count"] == 1
    assert sorted(r["source_id"] for r in result.proj().to_dicts()) == [2, 4, 5]


def test_interrupts_are_recorded(inst: dj.Instance, schema_name: str) -> None:
    schema = inst.Schema(schema_name)
    t = lab(schema)
    Source = t["Source"]  # noqa: F841 -- "-> Source" below

    @schema
    class Interrupted(dj.Computed):
        definition = """
        -> Source
        """

        def make(self, key: dict[str, Any]) -> None:
            raise KeyboardInterrupt

    @schema
    class Terminated(dj.Computed):
        definition = """
        -> Source
        """

        def make(self, key: dict[str, Any]) -> None:
            raise SystemExit("SIGTERM received")

    with pytest.raises(KeyboardInterrupt):
        Interrupted.populate(reserve_jobs=True)
    assert Interrupted.jobs.errors.fetch1("error_message") == "KeyboardInterrupt"
    with pytest.raises(SystemExit):  # even when errors are suppressed
        Terminated.populate(reserve_jobs=True, suppress_errors=True)
    assert Terminated.jobs.errors.fetch1("error_message") == "SystemExit: SIGTERM received"
    # KeyboardInterrupt is suppressed like any error (as in the reference)
    out = Interrupted.populate(reserve_jobs=True, suppress_errors=True)
    assert [m for _, m in out["error_list"]] == ["KeyboardInterrupt"] * (len(VALUES) - 1)


# -- scheduling: delay, priority, restrictions ----------------------------------------------


def test_delay_and_priority(t: dict[str, Any]) -> None:
    result = t["Result"]
    jobs = result.jobs
    jobs.refresh({"source_id": 1}, delay=3600)  # not due for an hour
    assert result.populate(reserve_jobs=True, refresh=False)["success_count"] == 0
    jobs.refresh("source_id in (2, 4)", priority=7, delay=-1)
    jobs.refresh({"source_id": 5}, priority=1, delay=-1)
    assert {r["source_id"]: r["priority"] for r in jobs.to_dicts()} == {1: 5, 2: 7, 4: 7, 5: 1}
    assert result.populate(reserve_jobs=True, refresh=False, max_calls=1)["success_count"] == 1
    assert statuses(jobs) == {1: "pending", 2: "pending", 4: "pending"}  # 5 ran first
    assert result.populate(reserve_jobs=True, refresh=False, priority=6)["success_count"] == 0
    assert result.populate(reserve_jobs=True, refresh=False, priority=7)["success_count"] == 2
    assert statuses(jobs) == {1: "pending"}


def test_reserved_populate_keeps_to_its_restriction(t: dict[str, Any]) -> None:
    result = t["Result"]
    result.jobs.refresh(delay=-1)
    assert result.populate({"source_id": 2}, reserve_jobs=True, refresh=False) == {
        "success_count": 1,
        "error_list": [],
    }
    assert statuses(result.jobs) == dict.fromkeys([1, 3, 4, 5], "pending")
    assert result.populate("source_id > 3", reserve_jobs=True)["success_count"] == 2
    assert statuses(result.jobs) == dict.fromkeys([1, 3], "pending")


# -- cleaning up: stale, orphaned, vanished, re-pended -------------------------------------------


def test_stale_jobs_go_after_stale_timeout(t: dict[str, Any]) -> None:
    source, jobs = t["Source"], t["Result"].jobs
    jobs.refresh()
    jobs.ignore({"source_id": 2})
    (source & "source_id in (1, 2)").delete()  # keys gone from key_source
    backdate(jobs)
    assert jobs.refresh(stale_timeout=0)["removed"] == 0  # 0: no age-based check
    assert jobs.refresh()["removed"] == 1  # 1 goes; 2 is 'ignore' and stays
    assert statuses(jobs) == {2: "ignore", 3: "pending", 4: "pending", 5: "pending"}


def test_restricted_refresh_keeps_other_workers_jobs(t: dict[str, Any]) -> None:
    source, jobs = t["Source"], t["Result"].jobs
    jobs.refresh()
    assert jobs.reserve({"source_id": 1}) and jobs.reserve({"source_id": 2})
    jobs.error({"source_id": 2}, "failed")
    (source & {"source_id": 5}).delete()
    backdate(jobs)
    result = jobs.refresh({"source_id": 3})  # judged against the whole key_source
    assert result["removed"] == 1
    assert statuses(jobs) == {1: "reserved", 2: "error", 3: "pending", 4: "pending"}


def test_orphaned_reservations_are_pending_again(t: dict[str, Any]) -> None:
    jobs = t["Result"].jobs
    jobs.refresh()
    assert jobs.reserve({"source_id": 1}) and jobs.reserve({"source_id": 2})
    backdate(jobs, "reserved_time", {"source_id": 1})
    assert jobs.refresh(orphan_timeout=60) == {
        "added": 0,
        "removed": 0,
        "orphaned": 1,
        "re_pended": 0,
    }
    assert statuses(jobs)[1] == "pending" and statuses(jobs)[2] == "reserved"


def test_records_of_vanished_keys_and_re_pended_successes(
    t: dict[str, Any], inst: dj.Instance
) -> None:
    source, result = t["Source"], t["Result"]
    jobs = result.jobs
    with inst.config.override(jobs={"keep_completed": True}):
        out = result.populate(reserve_jobs=True, suppress_errors=True)
        assert out["success_count"] == 4
        assert statuses(jobs) == {**dict.fromkeys([1, 2, 4, 5], "success"), 3: "error"}
        (source & "source_id in (1, 3)").delete()  # rows, and their keys, gone
        (result & {"source_id": 4}).delete()  # the row gone, the key still to do
        assert jobs.refresh() == {"added": 0, "removed": 2, "orphaned": 0, "re_pended": 1}
        assert statuses(jobs) == {2: "success", 4: "pending", 5: "success"}


def test_cleanup_is_set_based(t: dict[str, Any], inst: dj.Instance) -> None:
    source, result = t["Source"], t["Result"]
    source.insert([{"source_id": 10 + i, "value": float(i)} for i in range(20)])
    with inst.config.override(jobs__keep_completed=True):
        result.populate(reserve_jobs=True, suppress_errors=True)
        (source & "source_id >= 10").delete()
        backdate(result.jobs)
        log, handler = logging.getLogger("datajoint_core.sql"), Statements()
        log.addHandler(handler)
        level = log.level
        log.setLevel(logging.DEBUG)
        try:
            assert result.jobs.refresh()["removed"] == 20
        finally:
            log.removeHandler(handler)
            log.setLevel(level)
    deletes = [s for s in handler.sql if s.lstrip().upper().startswith("DELETE")]
    assert 1 <= len(deletes) <= 2 and len(handler.sql) < 20


def test_update1(t: dict[str, Any]) -> None:
    jobs = t["Result"].jobs
    jobs.refresh()
    jobs.update1({"source_id": 1, "priority": 9, "error_message": "note"})
    jobs.update1({"source_id": 1, "error_message": None})  # None: back to the default
    assert (jobs & {"source_id": 1}).fetch1("priority", "error_message") == (9, "")
    with pytest.raises(dj.DataJointError, match="all primary key"):
        jobs.update1({"priority": 1})
    with pytest.raises(dj.DataJointError, match="not found"):
        jobs.update1({"source_id": 1, "nope": 1})
    with pytest.raises(dj.DataJointError, match="one existing entry"):
        jobs.update1({"source_id": 99, "priority": 1})


def test_success_records_stay_while_their_rows_do(inst: dj.Instance, schema_name: str) -> None:
    schema = inst.Schema(schema_name)
    t = lab(schema)
    Source = t["Source"]

    @schema
    class Gated(dj.Computed):
        definition = """
        -> Source
        """

        @property
        def key_source(self) -> Any:
            return Source & "value >= 0"

        def make(self, key: dict[str, Any]) -> None:
            self.insert1(key)

    with inst.config.override(jobs__keep_completed=True):
        assert Gated.populate(reserve_jobs=True)["success_count"] == 4
        q = inst.connection.adapter.quote
        inst.connection.execute(  # source 1 leaves key_source; its Gated row stays
            f"UPDATE {Source.full_table_name} SET {q('value')} = -5 WHERE {q('source_id')} = 1"
        )
        assert Gated.jobs.refresh()["removed"] == 0  # a fresh record
        assert statuses(Gated.jobs) == dict.fromkeys([1, 2, 4, 5], "success")
        (Gated & {"source_id": 1}).delete()  # now the row is gone too: at any age
        assert Gated.jobs.refresh()["removed"] == 1
        assert statuses(Gated.jobs) == dict.fromkeys([2, 4, 5], "success")
        inst.connection.execute(  # source 4 leaves key_source too, and its record is old:
            f"UPDATE {Source.full_table_name} SET {q('value')} = -5 WHERE {q('source_id')} = 4"
        )
        backdate(Gated.jobs)
        assert Gated.jobs.refresh()["removed"] == 1  # stale, though its row is there
        assert statuses(Gated.jobs) == dict.fromkeys([2, 5], "success")


def test_sigterm_marks_the_reserved_job_failed(inst: dj.Instance, schema_name: str) -> None:
    schema = inst.Schema(schema_name)
    t = lab(schema)
    Source = t["Source"]  # noqa: F841 -- "-> Source" below

    @schema
    class Killed(dj.Computed):
        definition = """
        -> Source
        """

        def make(self, key: dict[str, Any]) -> None:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the handler interrupts this
            self.insert1(key)

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(SystemExit, match="SIGTERM received"):
        Killed.populate(reserve_jobs=True, suppress_errors=True)
    assert signal.getsignal(signal.SIGTERM) is before  # restored
    assert Killed.jobs.errors.fetch1("error_message") == "SystemExit: SIGTERM received"
    assert len(Killed) == 0 and len(Killed.jobs.pending) == len(VALUES) - 1
