"""`PageCache`: a page is served again only while no connection has committed since, and a
page missed by many requests at once is built once."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Hashable

import pytest

from cloud.api.page_cache import PageCache
from cloud.db.reader import SqliteReader


def _cache(reader: SqliteReader, **kw: int) -> PageCache:
    async def version() -> int:
        return reader.data_version()

    return PageCache(version, **kw)


async def test_a_stored_page_is_served_until_another_connection_commits(
    sqlite_pair: tuple[SqliteReader, sqlite3.Connection],
) -> None:
    reader, writer = sqlite_pair
    cache = _cache(reader)
    body, version = await cache.lookup("k")
    assert body is None
    assert version is not None
    cache.store("k", version, b"page-1")
    assert await cache.lookup("k") == (b"page-1", version)
    writer.execute("BEGIN")
    writer.execute("INSERT INTO t VALUES (1)")
    assert (await cache.lookup("k"))[0] == b"page-1"  # not committed yet: still true
    writer.execute("COMMIT")
    body, newer = await cache.lookup("k")
    assert body is None and newer != version


async def test_a_page_built_across_a_commit_is_not_kept(
    sqlite_pair: tuple[SqliteReader, sqlite3.Connection],
) -> None:
    reader, writer = sqlite_pair
    cache = _cache(reader)
    _, version = await cache.lookup("k")
    assert version is not None
    writer.execute("INSERT INTO t VALUES (1)")  # commits while the page is being built
    await cache.lookup("other")  # any lookup notices the new version
    cache.store("k", version, b"maybe-stale")
    assert (await cache.lookup("k"))[0] is None


async def test_entries_and_bytes_are_bounded_oldest_first(
    sqlite_pair: tuple[SqliteReader, sqlite3.Connection],
) -> None:
    reader, _ = sqlite_pair
    cache = _cache(reader, max_entries=2, max_bytes=10)
    _, version = await cache.lookup("a")
    assert version is not None
    cache.store("a", version, b"aaaa")
    cache.store("b", version, b"bbbb")
    await cache.lookup("a")  # "a" is now the most recently used
    cache.store("c", version, b"cccc")  # over 10 bytes and 2 entries: "b" goes
    assert (await cache.lookup("b"))[0] is None
    assert (await cache.lookup("a"))[0] == b"aaaa" and (await cache.lookup("c"))[0] == b"cccc"
    cache.store("huge", version, b"x" * 11)  # larger than the whole cache: not kept
    assert (await cache.lookup("huge"))[0] is None


class _Versions:
    """A version source the test moves by hand (a commit is `bump`)."""

    def __init__(self) -> None:
        self.value: Hashable | None = 1

    async def __call__(self) -> Hashable | None:
        return self.value

    def bump(self) -> None:
        assert isinstance(self.value, int)
        self.value += 1


async def test_requests_missing_the_same_page_together_build_it_once() -> None:
    versions = _Versions()
    cache = PageCache(versions)
    release, started = asyncio.Event(), asyncio.Event()
    built = 0

    async def build() -> bytes:
        nonlocal built
        built += 1
        started.set()
        await release.wait()
        return b"page"

    waiting = [asyncio.ensure_future(cache.page("k", build)) for _ in range(20)]
    await started.wait()
    release.set()
    assert await asyncio.gather(*waiting) == [b"page"] * 20
    assert built == 1
    assert await cache.page("k", build) == b"page" and built == 1  # now a plain hit


async def test_a_build_under_an_older_version_is_not_shared_with_later_requests() -> None:
    versions = _Versions()
    cache = PageCache(versions)
    first_release, started = asyncio.Event(), asyncio.Event()

    async def slow_old() -> bytes:
        started.set()
        await first_release.wait()
        return b"old"

    async def new() -> bytes:
        return b"new"

    old = asyncio.ensure_future(cache.page("k", slow_old))
    await started.wait()
    versions.bump()  # a commit lands while the old page is being built
    assert await cache.page("k", new) == b"new"  # built afresh, not the old build's bytes
    first_release.set()
    assert await old == b"old"
    assert await cache.page("k", new) == b"new"  # the old build was not stored over it


async def test_a_failed_build_fails_its_waiters_and_is_not_kept() -> None:
    cache = PageCache(_Versions())
    release, started = asyncio.Event(), asyncio.Event()

    async def failing() -> bytes:
        started.set()
        await release.wait()
        raise RuntimeError("database went away")

    first = asyncio.ensure_future(cache.page("k", failing))
    await started.wait()
    second = asyncio.ensure_future(cache.page("k", failing))
    release.set()
    for request in (first, second):
        with pytest.raises(RuntimeError, match="went away"):
            await request

    async def works() -> bytes:
        return b"page"

    assert await cache.page("k", works) == b"page"


async def test_when_the_builder_is_cancelled_a_waiter_builds_the_page_itself() -> None:
    cache = PageCache(_Versions())
    never, started = asyncio.Event(), asyncio.Event()

    async def stuck() -> bytes:
        started.set()
        await never.wait()
        return b"unreachable"

    async def works() -> bytes:
        return b"page"

    first = asyncio.ensure_future(cache.page("k", stuck))
    await started.wait()
    second = asyncio.ensure_future(cache.page("k", works))
    await asyncio.sleep(0)
    first.cancel()  # the client of the first request went away
    assert await second == b"page"


async def test_an_unknown_version_builds_every_time_and_keeps_nothing() -> None:
    versions = _Versions()
    versions.value = None  # the database cannot be asked
    cache = PageCache(versions)
    built = 0

    async def build() -> bytes:
        nonlocal built
        built += 1
        return b"page"

    assert await cache.page("k", build) == b"page"
    assert await cache.page("k", build) == b"page"
    assert built == 2 and cache.hits == 0
