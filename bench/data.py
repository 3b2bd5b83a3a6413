"""The benchmark pipeline: Subject -> Session -> Trial -> Trial.Event, plus a Stimulus Lookup.

At scale 1.0: 10k subjects, 100k sessions, 1M trials, 2M trial events (~3.1M rows), as in
``shared/spec/performance.md``. The tables are declared with datajoint_core and filled on the server
(PostgreSQL ``generate_series``; MariaDB's sequence engine; a cross join of digits on MySQL), so a
full-scale fill takes seconds, not the minutes that inserting from Python would. The data stays in
a schema named ``bench_lab_<scale>`` and is reused by later runs while it is current.

>>> lab = ensure_lab(connect("postgresql"), scale=0.1)   # doctest: +SKIP
>>> lab.Subject & lab.subsets()["key"][0]                # doctest: +SKIP
"""

from __future__ import annotations

import datetime
import logging
import time
from dataclasses import dataclass
from typing import Any

import datajoint_core as dj

logger = logging.getLogger("bench")

BACKENDS = ("mysql", "postgresql")
SERVERS: dict[str, dict[str, Any]] = {
    "mysql": {"host": "127.0.0.1", "port": 3306, "user": "root", "password": ""},
    "postgresql": {"host": "127.0.0.1", "port": 5432, "user": "postgres", "password": ""},
}

SUBJECTS = 10_000  # at scale 1.0
SESSIONS_PER_SUBJECT = 10
TRIALS_PER_SESSION = 10
EVENTS_PER_TRIAL = 2
STIMULI = 4
DOB_CYCLE = 700  # dates of birth: 2020-01-01 + (subject_id * DOB_STRIDE mod DOB_CYCLE) days,
DOB_STRIDE = 37  # coprime with DOB_CYCLE, so any run of subject ids spreads over all the days
SUBSET_MODULUS = 10  # the subset: subjects whose id is a multiple of 10 (10 %, spread out)


def connect(backend: str) -> dj.Instance:
    """An Instance on the local server of ``backend`` (no prompts)."""
    return dj.Instance(**SERVERS[backend], backend=backend, safemode=False)


def schema_name(scale: float, prefix: str = "bench_lab") -> str:
    """``bench_lab_1``, ``bench_lab_0_1``: one schema per scale, so data is reused per scale."""
    return f"{prefix}_{scale:g}".replace(".", "_").replace("-", "_")


@dataclass
class Lab:
    """The declared pipeline on one connection."""

    instance: dj.Instance
    schema: dj.Schema
    scale: float
    Subject: Any
    Session: Any
    Stimulus: Any
    Trial: Any

    @property
    def connection(self) -> dj.Connection:
        return self.instance.connection

    @property
    def backend(self) -> str:
        return self.connection.backend

    @property
    def Event(self) -> Any:
        return self.Trial.Event

    @property
    def subjects(self) -> int:
        return max(SUBSET_MODULUS, round(SUBJECTS * self.scale))

    def tables(self) -> list[Any]:
        """Parents first."""
        return [self.Subject, self.Stimulus, self.Session, self.Trial, self.Trial.Event]

    def expected_counts(self) -> dict[str, int]:
        sessions = self.subjects * SESSIONS_PER_SUBJECT
        trials = sessions * TRIALS_PER_SESSION
        return {
            self.Subject.full_table_name: self.subjects,
            self.Stimulus.full_table_name: STIMULI,
            self.Session.full_table_name: sessions,
            self.Trial.full_table_name: trials,
            self.Event.full_table_name: trials * EVENTS_PER_TRIAL,
        }

    def counts(self) -> dict[str, int]:
        return {
            t.full_table_name: int(
                self.connection.fetchall(f"SELECT count(*) FROM {t.full_table_name}")[0][0]
            )
            for t in self.tables()
        }

    def subsets(self) -> dict[str, tuple[str, str]]:
        """Two ~10 % subsets of Subject: ``{name: (restriction string, raw SQL on Subject)}``.

        ``key``: a condition on ``subject_id``, an attribute every descendant inherits in its
        primary key (so it can be copied down the graph), matching ids spread over the table.
        ``secondary``: a condition on a secondary attribute, which only Subject has.
        """
        q = self.connection.adapter.quote
        first = datetime.date(2020, 1, 1)
        cutoff = (first + datetime.timedelta(days=DOB_CYCLE // SUBSET_MODULUS)).isoformat()
        return {
            "key": (
                f"MOD(subject_id, {SUBSET_MODULUS}) = 0",
                f"MOD({q('subject_id')}, {SUBSET_MODULUS}) = 0",
            ),
            "secondary": (
                f"date_of_birth < '{cutoff}'",
                f"{q('date_of_birth')} < DATE '{cutoff}'",
            ),
        }


def declare_lab(instance: dj.Instance, scale: float) -> Lab:
    """Declare (or bind to) the pipeline's tables in ``bench_lab_<scale>``."""
    schema = instance.Schema(schema_name(scale))

    @schema
    class Subject(dj.Manual):
        definition = """
        subject_id : int32
        ---
        species : varchar(32)
        date_of_birth : date
        """

    @schema
    class Session(dj.Manual):
        definition = """
        -> Subject
        session_id : int32
        ---
        session_date : date
        operator : varchar(32)
        """

    @schema
    class Stimulus(dj.Lookup):
        definition = """
        stimulus_id : int32
        ---
        kind : varchar(16)
        """
        contents = [(i, k) for i, k in enumerate(["visual", "audio", "tactile", "odor"], 1)]

    @schema
    class Trial(dj.Manual):
        definition = """
        -> Session
        trial_id : int32
        ---
        -> Stimulus
        outcome = null : float64
        start_time : float64
        """

        class Event(dj.Part):
            definition = """
            -> master
            event_id : int32
            ---
            t : float64
            """

    return Lab(instance, schema, scale, Subject, Session, Stimulus, Trial)


def is_current(lab: Lab) -> bool:
    """Whether the tables hold what ``fill`` makes now (row counts and the secondary subset)."""
    if lab.counts() != lab.expected_counts():
        return False
    restriction = lab.subsets()["secondary"][0]
    cutoff = DOB_CYCLE // SUBSET_MODULUS
    expected = sum(1 for i in range(1, lab.subjects + 1) if i * DOB_STRIDE % DOB_CYCLE < cutoff)
    return len(lab.Subject & restriction) == expected


def ensure_lab(instance: dj.Instance, scale: float = 1.0) -> Lab:
    """The pipeline at ``scale``, filled; reuses the data of an earlier run when current."""
    lab = declare_lab(instance, scale)
    if is_current(lab):
        tidy(lab)
        return lab
    logger.info("filling %s on %s", lab.schema.database, lab.backend)
    lab.schema.drop(prompt=False)  # a partial or stale fill: start over
    lab = declare_lab(instance, scale)
    started = time.perf_counter()
    fill(lab)
    logger.info("filled in %.1f s", time.perf_counter() - started)
    if not is_current(lab):
        raise RuntimeError(f"fill produced {lab.counts()}, expected {lab.expected_counts()}")
    return lab


def tidy(lab: Lab) -> None:
    """Undo the traces of rolled-back deletes that would slow later reads.

    On PostgreSQL a DELETE clears the pages' all-visible bits even when it is rolled back, so
    index-only scans fetch every heap row until the next VACUUM (cheap when nothing changed).
    InnoDB's purge needs no help.
    """
    if lab.backend == "postgresql":
        for table in lab.tables():
            lab.connection.execute(f"VACUUM ANALYZE {table.full_table_name}")


def fill(lab: Lab) -> None:
    """Fill Subject, Session, Trial and Trial.Event on the server."""
    if lab.backend == "postgresql":
        _fill_postgres(lab)
    else:
        _fill_mysql(lab)


# -- PostgreSQL ----------------------------------------------------------------------------------


def _fill_postgres(lab: Lab) -> None:
    conn = lab.connection
    n = lab.subjects
    subject, session = lab.Subject.full_table_name, lab.Session.full_table_name
    trial, event = lab.Trial.full_table_name, lab.Event.full_table_name
    statements = [
        "SET synchronous_commit = off",
        f"""INSERT INTO {subject} (subject_id, species, date_of_birth)
            SELECT i, (ARRAY['mouse', 'rat', 'zebrafish'])[1 + MOD(i, 3)],
                   DATE '2020-01-01' + MOD(i * {DOB_STRIDE}, {DOB_CYCLE})
            FROM generate_series(1, {n}) AS i""",
        f"""INSERT INTO {session} (subject_id, session_id, session_date, operator)
            SELECT s.subject_id, k, s.date_of_birth + 60 + 7 * k,
                   (ARRAY['alice', 'bob', 'carol'])[1 + MOD(s.subject_id + k, 3)]
            FROM {subject} AS s CROSS JOIN generate_series(1, {SESSIONS_PER_SUBJECT}) AS k
            ORDER BY 1, 2""",
        f"""INSERT INTO {trial} (subject_id, session_id, trial_id, stimulus_id, outcome, start_time)
            SELECT s.subject_id, s.session_id, k,
                   1 + MOD(s.subject_id + s.session_id + k, {STIMULI}),
                   CASE WHEN MOD(k, 7) = 0 THEN NULL
                        ELSE MOD(s.subject_id * 31 + k, 1000) / 1000.0 END,
                   k * 4.5
            FROM {session} AS s CROSS JOIN generate_series(1, {TRIALS_PER_SESSION}) AS k
            ORDER BY 1, 2, 3""",
        f"""INSERT INTO {event} (subject_id, session_id, trial_id, event_id, t)
            SELECT t.subject_id, t.session_id, t.trial_id, k, t.start_time + k * 0.25
            FROM {trial} AS t CROSS JOIN generate_series(1, {EVENTS_PER_TRIAL}) AS k
            ORDER BY 1, 2, 3, 4""",
        "RESET synchronous_commit",
    ]
    for sql in statements:
        conn.execute(sql)
    tidy(lab)  # visibility map for index-only scans, and planner statistics


# -- MySQL / MariaDB -----------------------------------------------------------------------------


def _numbers(lab: Lab, n: int, alias: str) -> str:
    """A derived table ``alias`` of the integers 1..n in a column ``seq``."""
    version = str(lab.connection.fetchall("SELECT VERSION()")[0][0])
    if "mariadb" in version.lower():
        database = lab.connection.adapter.quote(lab.schema.database or "")
        return f"(SELECT seq FROM {database}.seq_1_to_{n}) AS {alias}"
    digits = "(SELECT 0 AS d UNION ALL " + " UNION ALL ".join(f"SELECT {i}" for i in range(1, 10))
    digits += ")"
    places = max(1, len(str(n)))
    terms = " + ".join(f"d{p}.d * {10**p}" for p in range(places))
    joined = " CROSS JOIN ".join(f"{digits} AS d{p}" for p in range(places))
    return f"(SELECT {terms} + 1 AS seq FROM {joined} HAVING seq <= {n}) AS {alias}"


def _fill_mysql(lab: Lab) -> None:
    conn = lab.connection
    n = lab.subjects
    subject, session = lab.Subject.full_table_name, lab.Session.full_table_name
    trial, event = lab.Trial.full_table_name, lab.Event.full_table_name
    statements = [
        # generated data is consistent by construction; checks would only slow the load
        "SET SESSION foreign_key_checks = 0, unique_checks = 0",
        f"""INSERT INTO {subject} (subject_id, species, date_of_birth)
            SELECT seq, ELT(1 + MOD(seq, 3), 'mouse', 'rat', 'zebrafish'),
                   DATE '2020-01-01' + INTERVAL MOD(seq * {DOB_STRIDE}, {DOB_CYCLE}) DAY
            FROM {_numbers(lab, n, "nums")}""",
        f"""INSERT INTO {session} (subject_id, session_id, session_date, operator)
            SELECT s.subject_id, k.seq, s.date_of_birth + INTERVAL (60 + 7 * k.seq) DAY,
                   ELT(1 + MOD(s.subject_id + k.seq, 3), 'alice', 'bob', 'carol')
            FROM {subject} AS s CROSS JOIN {_numbers(lab, SESSIONS_PER_SUBJECT, "k")}
            ORDER BY 1, 2""",
        f"""INSERT INTO {trial} (subject_id, session_id, trial_id, stimulus_id, outcome, start_time)
            SELECT s.subject_id, s.session_id, k.seq,
                   1 + MOD(s.subject_id + s.session_id + k.seq, {STIMULI}),
                   IF(MOD(k.seq, 7) = 0, NULL, MOD(s.subject_id * 31 + k.seq, 1000) / 1000.0),
                   k.seq * 4.5
            FROM {session} AS s CROSS JOIN {_numbers(lab, TRIALS_PER_SESSION, "k")}
            ORDER BY 1, 2, 3""",
        f"""INSERT INTO {event} (subject_id, session_id, trial_id, event_id, t)
            SELECT t.subject_id, t.session_id, t.trial_id, k.seq, t.start_time + k.seq * 0.25
            FROM {trial} AS t CROSS JOIN {_numbers(lab, EVENTS_PER_TRIAL, "k")}
            ORDER BY 1, 2, 3, 4""",
        "SET SESSION foreign_key_checks = 1, unique_checks = 1",
    ]
    try:
        for sql in statements:
            conn.execute(sql)
    finally:
        conn.execute("SET SESSION foreign_key_checks = 1, unique_checks = 1")
    for table in lab.tables():
        conn.fetchall(f"ANALYZE TABLE {table.full_table_name}")
