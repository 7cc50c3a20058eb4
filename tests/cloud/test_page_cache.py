"""`PageCache`: a page is served again only while no connection has committed since."""

from __future__ import annotations

import sqlite3

from cloud.api.page_cache import PageCache
from cloud.db.reader import SqliteReader


def test_a_stored_page_is_served_until_another_connection_commits(
    sqlite_pair: tuple[SqliteReader, sqlite3.Connection],
) -> None:
    reader, writer = sqlite_pair
    cache = PageCache(reader)
    body, version = cache.lookup("k")
    assert body is None
    cache.store("k", version, b"page-1")
    assert cache.lookup("k") == (b"page-1", version)
    writer.execute("BEGIN")
    writer.execute("INSERT INTO t VALUES (1)")
    assert cache.lookup("k")[0] == b"page-1"  # not committed yet: the page is still true
    writer.execute("COMMIT")
    body, newer = cache.lookup("k")
    assert body is None and newer != version


def test_a_page_built_across_a_commit_is_not_kept(
    sqlite_pair: tuple[SqliteReader, sqlite3.Connection],
) -> None:
    reader, writer = sqlite_pair
    cache = PageCache(reader)
    _, version = cache.lookup("k")
    writer.execute("INSERT INTO t VALUES (1)")  # commits while the page is being built
    cache.lookup("other")  # any lookup notices the new version
    cache.store("k", version, b"maybe-stale")
    assert cache.lookup("k")[0] is None


def test_entries_and_bytes_are_bounded_oldest_first(
    sqlite_pair: tuple[SqliteReader, sqlite3.Connection],
) -> None:
    reader, _ = sqlite_pair
    cache = PageCache(reader, max_entries=2, max_bytes=10)
    _, version = cache.lookup("a")
    cache.store("a", version, b"aaaa")
    cache.store("b", version, b"bbbb")
    cache.lookup("a")  # "a" is now the most recently used
    cache.store("c", version, b"cccc")  # over 10 bytes and 2 entries: "b" goes
    assert cache.lookup("b")[0] is None
    assert cache.lookup("a")[0] == b"aaaa" and cache.lookup("c")[0] == b"cccc"
    cache.store("huge", version, b"x" * 11)  # larger than the whole cache: not kept
    assert cache.lookup("huge")[0] is None
