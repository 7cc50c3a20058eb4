"""`PageCache`: a page is served again only while no connection has committed since."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloud.api.page_cache import PageCache
from cloud.db.reader import SqliteReader


@pytest.fixture
def db(tmp_path: Path) -> Iterator[tuple[SqliteReader, sqlite3.Connection]]:
    path = tmp_path / "c.sqlite3"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("CREATE TABLE t (v INTEGER)")
    reader = SqliteReader(f"sqlite+aiosqlite:///{path}", pool_size=1, timeout_s=5)
    try:
        yield reader, writer
    finally:
        reader.dispose()
        writer.close()


def test_a_stored_page_is_served_until_another_connection_commits(
    db: tuple[SqliteReader, sqlite3.Connection],
) -> None:
    reader, writer = db
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
    db: tuple[SqliteReader, sqlite3.Connection],
) -> None:
    reader, writer = db
    cache = PageCache(reader)
    _, version = cache.lookup("k")
    writer.execute("INSERT INTO t VALUES (1)")  # commits while the page is being built
    cache.lookup("other")  # any lookup notices the new version
    cache.store("k", version, b"maybe-stale")
    assert cache.lookup("k")[0] is None


def test_entries_and_bytes_are_bounded_oldest_first(
    db: tuple[SqliteReader, sqlite3.Connection],
) -> None:
    reader, _ = db
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
