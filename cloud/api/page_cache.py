"""Encoded list pages, served again for as long as the SQLite database has not changed.

Dashboards poll the same pages (`GET /v1/printers?per_page=100` every second from every
screen); between two commits each of those answers is the same bytes. On SQLite the cache
knows exactly when that stops being true: `PRAGMA data_version` on the reader's connection
changes with every commit by any other connection, in this process or another
(sqlite.org/pragma.html#pragma_data_version). So an entry is served only while the version it
was built under is still current: no time-to-live, never a stale page, whatever wrote (a
request, the bridge, another worker process). On a busy farm the bridge commits printer
states several times a second, so entries live that long; the cache pays off when requests
come faster than commits, which is when it is needed.

The version is read before the page's query, which runs after it on the same connection:
a commit in between can only make the stored page newer than its version says, and the next
lookup then sees a new version and misses. PostgreSQL has no such counter; there the cache is
not used.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar, cast

from litestar import Response
from litestar.enums import MediaType
from litestar.serialization import encode_json

from cloud.db.reader import SqliteReader

T = TypeVar("T")

MAX_ENTRIES = 512
MAX_BYTES = 32 * 1024 * 1024


class PageCache:
    def __init__(
        self, reader: SqliteReader, *, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES
    ) -> None:
        self._reader = reader
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, bytes] = OrderedDict()
        self._bytes = 0
        self._version: int | None = None
        self.hits = 0
        self.misses = 0

    def lookup(self, key: Hashable) -> tuple[bytes | None, int]:
        """The stored page for `key` if the database is unchanged since, and the version now."""
        version = self._reader.data_version()
        if version != self._version:
            self._entries.clear()  # every page was built under an older version
            self._bytes = 0
            self._version = version
        body = self._entries.get(key)
        if body is None:
            self.misses += 1
            return None, version
        self._entries.move_to_end(key)
        self.hits += 1
        return body, version

    def store(self, key: Hashable, version: int, body: bytes) -> None:
        """Keep `body`, built from reads made after `version` was looked up."""
        if version != self._version or len(body) > self._max_bytes:
            return  # the database changed meanwhile (or the page is huge): build it again
        previous = self._entries.pop(key, None)
        if previous is not None:
            self._bytes -= len(previous)
        self._entries[key] = body
        self._bytes += len(body)
        while len(self._entries) > self._max_entries or self._bytes > self._max_bytes:
            _, dropped = self._entries.popitem(last=False)
            self._bytes -= len(dropped)


def encoded(page: Any) -> bytes:
    """The page as Litestar would send it, so a cached answer is byte for byte the same."""
    return encode_json(page)


def as_response(body: bytes, page_type: type[T]) -> T:
    """A ready JSON body standing in for a `page_type` return value.

    Litestar sends a returned `Response` as it is, whatever the handler's annotation, and the
    annotation stays the page type so the OpenAPI document describes the real body.
    """
    return cast(T, Response(content=body, media_type=MediaType.JSON, status_code=200))


async def cached_page(
    cache: PageCache | None, key: Hashable, page_type: type[T], build: Callable[[], Awaitable[T]]
) -> T:
    """The page `build` makes, or the same bytes from `cache` while the database is unchanged.

    `key` names everything the page depends on (the organization, filters, page, fields).
    Without a cache (PostgreSQL) the page is returned as it is.
    """
    if cache is None:
        return await build()
    body, version = cache.lookup(key)
    if body is None:
        body = encoded(await build())
        cache.store(key, version, body)
    return as_response(body, page_type)
