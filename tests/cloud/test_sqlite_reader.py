"""`SqliteReader`: inline reads see every commit; a locked read moves to a worker thread."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from sqlalchemy import Connection, exc, text

from cloud.db.reader import SqliteReader


def _count(conn: Connection) -> int:
    return int(conn.execute(text("SELECT count(*) FROM t")).scalar_one())


async def test_inline_reads_see_each_commit(
    sqlite_pair: tuple[SqliteReader, sqlite3.Connection],
) -> None:
    reader, writer = sqlite_pair
    assert await reader.run(_count) == 0
    writer.execute("INSERT INTO t VALUES (1)")
    # The reader's connection must not hold a snapshot from its previous read.
    assert await reader.run(_count) == 1
    writer.execute("BEGIN")
    writer.execute("INSERT INTO t VALUES (2)")
    assert await reader.run(_count) == 1  # uncommitted: not visible, and no waiting (WAL)
    writer.execute("COMMIT")
    assert await reader.run(_count) == 2


async def test_locked_read_is_retried_on_a_worker_thread(
    sqlite_pair: tuple[SqliteReader, sqlite3.Connection],
) -> None:
    reader, writer = sqlite_pair
    writer.execute("INSERT INTO t VALUES (1)")
    loop_thread = threading.get_ident()
    threads: list[int] = []

    def locked_on_the_loop(conn: Connection) -> int:
        threads.append(threading.get_ident())
        if threading.get_ident() == loop_thread:
            raise exc.OperationalError("SELECT", {}, sqlite3.OperationalError("database is locked"))
        return _count(conn)

    assert await reader.run(locked_on_the_loop) == 1
    assert threads[0] == loop_thread and threads[1] != loop_thread


async def test_other_errors_are_not_retried(
    sqlite_pair: tuple[SqliteReader, sqlite3.Connection],
) -> None:
    reader, _ = sqlite_pair
    calls: list[int] = []

    def broken(conn: Connection) -> int:
        calls.append(1)
        return int(conn.execute(text("SELECT nope FROM t")).scalar_one())

    with pytest.raises(exc.OperationalError, match="no such column"):
        await reader.run(broken)
    assert len(calls) == 1
