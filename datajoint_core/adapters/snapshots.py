"""Several connections that read one consistent snapshot (parallel readers of one subset).

PostgreSQL: the first connection exports its snapshot (``pg_export_snapshot()``), the others
import it (``SET TRANSACTION SNAPSHOT``) -- any account may. MySQL / MariaDB have no such
thing: as mydumper does, a short-lived extra connection blocks commits server-wide (MariaDB
``BACKUP STAGE BLOCK_COMMIT``, MySQL ``FLUSH TABLES WITH READ LOCK``; both need the RELOAD
privilege), every reader starts ``START TRANSACTION WITH CONSISTENT SNAPSHOT`` while no commit
can happen, and the lock is released at once. The lock is held for the time it takes to start
the readers' transactions (milliseconds), never while reading.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ..errors import AccessError

if TYPE_CHECKING:
    from ..connection import Connection


def start_shared(readers: Sequence[Connection], open_extra: Callable[[], Connection]) -> None:
    """Start one read-only transaction on each of ``readers`` (none in one yet), all on the same
    snapshot. ``open_extra()`` opens another connection to the same server (MySQL's lock).

    Raises AccessError, saying what is missing, when the account may not synchronise readers.
    """
    leader, followers = readers[0], list(readers[1:])
    if not followers:
        leader.start_transaction(snapshot=True)
    elif leader.adapter.name == "postgresql":
        _postgres(leader, followers)
    else:
        _mysql(list(readers), open_extra)


def _postgres(leader: Connection, followers: list[Connection]) -> None:
    leader.start_transaction(snapshot=True)
    token = leader.fetchall("SELECT pg_export_snapshot()")[0][0]
    for conn in followers:
        conn.start_transaction(snapshot=True)
        conn.execute("SET TRANSACTION SNAPSHOT %s", (token,))


def _mysql(readers: list[Connection], open_extra: Callable[[], Connection]) -> None:
    lock = open_extra()
    try:
        mariadb = "mariadb" in str(lock.fetchall("SELECT VERSION()")[0][0]).lower()
        if mariadb:
            statements = ["BACKUP STAGE START", "BACKUP STAGE BLOCK_COMMIT"]
            release = "BACKUP STAGE END"
        else:
            statements = ["FLUSH TABLES WITH READ LOCK"]
            release = "UNLOCK TABLES"
        try:
            for sql in statements:
                lock.execute(sql)
        except AccessError as err:
            raise AccessError(
                f"{len(readers)} readers of one snapshot need the RELOAD privilege on this "
                f"server (to hold {statements[-1]} while their transactions start): {err}; "
                "read with one connection instead"
            ) from err
        try:
            for conn in readers:
                conn.start_transaction(snapshot=True)
        finally:
            lock.execute(release)
    finally:
        lock.close()
