"""`SnapshotVersion`: PostgreSQL's visible state as a value, read fresh for every caller."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from cloud.db.pg_snapshot import SnapshotVersion


class _Scripted(SnapshotVersion):
    """The coalescing rule alone: each read returns its own number once released."""

    def __init__(self) -> None:
        super().__init__("postgresql://unused@127.0.0.1/unused", timeout_s=1)
        self.started: asyncio.Queue[asyncio.Event] = asyncio.Queue()

    async def _read(self) -> str | None:
        self.reads += 1
        number = self.reads
        gate = asyncio.Event()
        self.started.put_nowait(gate)
        await gate.wait()
        return f"read-{number}"


async def test_a_caller_arriving_during_a_read_waits_for_the_next_one() -> None:
    versions = _Scripted()
    first = asyncio.ensure_future(versions.current())
    read_1 = await versions.started.get()
    # These arrive while read 1 is under way: a commit made just before they arrived may be
    # missing from it, so they must not take its answer.
    later = [asyncio.ensure_future(versions.current()) for _ in range(30)]
    await asyncio.sleep(0)  # each has called current() before read 1 ends
    read_1.set()
    assert await first == "read-1"
    (await versions.started.get()).set()
    assert set(await asyncio.gather(*later)) == {"read-2"}
    assert versions.reads == 2  # thirty-one callers, two round trips


async def test_a_caller_that_goes_away_does_not_cancel_the_read_others_wait_for() -> None:
    versions = _Scripted()
    leaving = asyncio.ensure_future(versions.current())
    read_1 = await versions.started.get()
    staying = asyncio.ensure_future(versions.current())
    await asyncio.sleep(0)  # `staying` now waits for read 2
    leaving.cancel()
    read_1.set()
    (await versions.started.get()).set()
    assert await staying == "read-2"


@pytest.mark.postgres
async def test_the_snapshot_changes_with_a_commit_and_not_with_reads(
    postgres_from_template: str,
) -> None:
    versions = SnapshotVersion(postgres_from_template, timeout_s=5)
    other = await asyncpg.connect(postgres_from_template)
    try:
        await other.execute("CREATE TABLE t (v int)")
        before = await versions.current()
        await other.fetch("SELECT * FROM t")
        assert await versions.current() == before  # reading takes no transaction id
        await other.execute("INSERT INTO t VALUES (1)")
        after = await versions.current()
        assert after is not None and after != before
        async with other.transaction():
            await other.execute("INSERT INTO t VALUES (2)")
            during = await versions.current()
        # The open transaction is listed in `during`; once committed, the state differs.
        assert await versions.current() not in (before, after, during)
    finally:
        await other.close()
        await versions.close()


async def test_an_unreachable_database_answers_none_and_is_asked_again() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once the socket closes
    versions = SnapshotVersion(f"postgresql://nobody@127.0.0.1:{port}/none", timeout_s=2)
    try:
        assert await versions.current() is None
        assert await versions.current() is None
        assert versions.reads == 2  # no answer was kept: each caller asks again
    finally:
        await versions.close()
