"""Turn a bearer token into a `Principal`, with a short per-process cache.

The cache keeps a hot API from paying a database round trip per request. Its entries live
`CACHE_TTL_S` at most, so a key revoked through another process stops working within that
time; a revocation through this process drops the entry at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from datetime import timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloud.auth.keys import KEY_PREFIX, Principal, hash_secret
from cloud.db.core import table_of
from cloud.db.models import ApiKey
from cloud.db.reader import SqliteReader
from cloud.db.types import utcnow
from cloud.db.writer import WriteLock
from cloud.problems import Problem
from shared.enums import ErrorCode

logger = logging.getLogger(__name__)

CACHE_TTL_S = 5.0
_CACHE_MAX = 10_000
# `last_used_at` is advisory; writing it on every request would serialise SQLite writers.
_LAST_USED_EVERY = timedelta(minutes=1)
_KEYS = table_of(ApiKey)
_BY_HASH = select(_KEYS).where(_KEYS.c.key_hash == bindparam("h"))


class KeyResolver:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        write_lock: WriteLock,
        reader: SqliteReader | None = None,
    ) -> None:
        self._sessions = sessions
        self._write_lock = write_lock
        # SQLite: the lookup runs inline on the reader. Through aiosqlite it took several
        # thread hops, each waiting for the GIL behind a busy event loop: ~50 ms under 50
        # clients, which every request of the key waited for once per CACHE_TTL_S.
        self._reader = reader
        # `last_used_at` writes, off the request path (kept referenced until done).
        self._touches: set[asyncio.Task[None]] = set()
        self._cache: OrderedDict[str, tuple[float, Principal]] = OrderedDict()
        # Lookups under way, by key hash: when an entry expires under load, every request
        # of that key in flight would otherwise query the database at once (a p99 spike
        # every CACHE_TTL_S in bench/api.py); they share one lookup instead.
        self._loading: dict[str, asyncio.Future[Principal]] = {}
        # Bumped by `forget`: a lookup that started before it must not refill the cache.
        self._generation = 0

    def forget(self, key_id: str | None = None) -> None:
        """Drop cached principals (all, or those of one key)."""
        self._generation += 1
        self._loading.clear()
        if key_id is None:
            self._cache.clear()
            return
        for digest in [d for d, (_, p) in self._cache.items() if p.key_id == key_id]:
            del self._cache[digest]

    async def resolve(self, authorization: str | None) -> Principal:
        token = _bearer(authorization)
        digest = hash_secret(token)
        hit = self._cache.get(digest)
        now = time.monotonic()
        if hit is not None and now - hit[0] < CACHE_TTL_S:
            return hit[1]
        generation = self._generation
        # Shielded: a caller that goes away must not cancel the lookup the others wait for.
        principal = await asyncio.shield(self._lookup(digest))
        if generation == self._generation:
            self._cache[digest] = (now, principal)
            self._cache.move_to_end(digest)
            while len(self._cache) > _CACHE_MAX:
                self._cache.popitem(last=False)
        return principal

    def _lookup(self, digest: str) -> asyncio.Future[Principal]:
        """The lookup of `digest` under way, or a new one."""
        loading = self._loading.get(digest)
        if loading is None:
            loading = self._loading[digest] = asyncio.ensure_future(self._load(digest))

            def done(finished: asyncio.Future[Principal]) -> None:
                if self._loading.get(digest) is finished:
                    del self._loading[digest]

            loading.add_done_callback(done)
        return loading

    async def _load(self, digest: str) -> Principal:
        if self._reader is not None:
            row = await self._reader.run(lambda conn: conn.execute(_BY_HASH, {"h": digest}).first())
        else:
            async with self._sessions() as session:
                row = (await session.execute(_BY_HASH, {"h": digest})).first()
        if row is None or row.revoked_at is not None:
            raise Problem(ErrorCode.INVALID_API_KEY, "API key invalid or revoked.")
        if row.last_used_at is None or utcnow() - row.last_used_at > _LAST_USED_EVERY:
            touch = asyncio.ensure_future(self._touch(row.id))
            self._touches.add(touch)
            touch.add_done_callback(self._touches.discard)
        return Principal(
            org_id=row.org_id, key_id=row.id, user_id=row.user_id, scopes=frozenset(row.scopes)
        )

    async def drain(self) -> None:
        """Wait for the `last_used_at` writes under way."""
        await asyncio.gather(*self._touches, return_exceptions=True)

    async def _touch(self, key_id: str) -> None:
        try:
            async with self._sessions() as session:
                # A connection first, then the lock, as a request takes them (cloud/db/writer.py).
                await session.connection()
                async with self._write_lock.held():
                    await session.execute(
                        update(_KEYS).where(_KEYS.c.id == key_id).values(last_used_at=utcnow())
                    )
                    await session.commit()
        except SQLAlchemyError:  # advisory: a busy database must not fail anything
            logger.warning("could not record last use of API key %s", key_id, exc_info=True)


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise Problem(
            ErrorCode.INVALID_API_KEY, "Missing API key: send 'Authorization: Bearer <key>'."
        )
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Problem(
            ErrorCode.INVALID_API_KEY, "Malformed Authorization header: expected 'Bearer <key>'."
        )
    if not token.startswith(KEY_PREFIX) or len(token) > 200:
        raise Problem(ErrorCode.INVALID_API_KEY, "API key invalid or revoked.")
    return token
