"""Encoded list pages, served again for as long as the database has not changed.

Dashboards poll the same pages (`GET /v1/printers?per_page=100` every second from every
screen); between two commits each of those answers is the same bytes. The cache asks the
database, at every lookup, for a version that changes with every commit by anyone (this
process, another worker, another replica, an operator's shell):
- SQLite: `PRAGMA data_version` on the reader's connection (sqlite.org/pragma.html
  #pragma_data_version; cloud/db/reader.py);
- PostgreSQL: the current snapshot, `pg_current_snapshot()` (cloud/db/pg_snapshot.py), read
  fresh for each request but shared by the requests that arrive together.
An entry is served only while the version it was built under is still current: no
time-to-live, never a stale page. On a busy farm the bridge commits printer states several
times a second, so entries live that long; the cache pays off when requests come faster than
commits, which is when it is needed.

The version is read before the page's query, which runs after it: a commit in between can
only make the stored page newer than its version says, and the next lookup then sees a new
version and misses. When several requests miss the same page under the same version, one
builds it and the others wait for its bytes (on PostgreSQL the query is a network round trip:
fifty clients would otherwise build the same page fifty times after every commit). A version
that cannot be read (the database is away) turns the cache off for that request.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar, cast

from litestar import Response
from litestar.enums import MediaType
from litestar.serialization import encode_json

T = TypeVar("T")

# The database's version now, or None when it cannot be told.
VersionSource = Callable[[], Awaitable[Hashable | None]]

MAX_ENTRIES = 512
MAX_BYTES = 32 * 1024 * 1024


class PageCache:
    def __init__(
        self,
        version: VersionSource,
        *,
        max_entries: int = MAX_ENTRIES,
        max_bytes: int = MAX_BYTES,
    ) -> None:
        self._current_version = version
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, bytes] = OrderedDict()
        self._bytes = 0
        self._version: Hashable | None = None
        # Pages being built, by key: the version they were asked under and their bytes.
        self._building: dict[Hashable, tuple[Hashable, asyncio.Future[bytes]]] = {}
        self.hits = 0
        self.misses = 0
        self.builds = 0

    async def lookup(self, key: Hashable) -> tuple[bytes | None, Hashable | None]:
        """The stored page for `key` if the database is unchanged since, and the version now
        (None: unknown, nothing may be served or stored)."""
        version = await self._current_version()
        if version is None:
            self.misses += 1
            return None, None
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

    async def page(self, key: Hashable, build: Callable[[], Awaitable[bytes]]) -> bytes:
        """The page for `key`: stored, being built under the current version, or built now."""
        body, version = await self.lookup(key)
        if body is not None:
            return body
        if version is None:
            return await build()
        building = self._building.get(key)
        if building is not None and building[0] == version:
            try:
                return await asyncio.shield(building[1])
            except asyncio.CancelledError:
                if not building[1].cancelled():
                    raise  # this request was cancelled
                return await build()  # the request building it went away
        done: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._building[key] = (version, done)
        self.builds += 1
        try:
            body = await build()
        except asyncio.CancelledError:
            done.cancel()
            raise
        except Exception as error:
            done.set_exception(error)
            done.exception()  # retrieved: waiters (if any) re-raise it, nobody logs it
            raise
        else:
            done.set_result(body)
            self.store(key, version, body)
            return body
        finally:
            if self._building.get(key, (None, None))[1] is done:
                del self._building[key]

    def store(self, key: Hashable, version: Hashable, body: bytes) -> None:
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
    Without a cache the page is returned as it is.
    """
    if cache is None:
        return await build()

    async def build_encoded() -> bytes:
        return encoded(await build())

    return as_response(await cache.page(key, build_encoded), page_type)
