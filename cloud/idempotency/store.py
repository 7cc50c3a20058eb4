"""Claim, complete, release and sweep idempotency records.

Every call is one short transaction of its own, outside the request's: the claim must be
visible to other processes before the request's work starts, and the stored response must
be there before the client reads it.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloud.db.types import utcnow
from cloud.db.writer import WriteLock
from cloud.idempotency.tables import idempotency_keys as t

KEY_TTL: Final = timedelta(hours=24)
# A claim whose request never completed (its process died) frees the key after this long.
# Longer than any request runs: a 256 MiB upload or a slow `file_url` fetch included.
IN_FLIGHT_TIMEOUT: Final = timedelta(minutes=15)
_CLAIM_ATTEMPTS: Final = 3


@dataclass(frozen=True, slots=True)
class StoredRequest:
    """A key already claimed: in flight (`status_code` None) or with its stored response."""

    method: str
    path: str
    request_hash: str | None
    status_code: int | None
    content_type: str | None
    request_id: str | None
    body: bytes | None
    created_at: datetime


class KeyBusyError(Exception):
    """The key could not be claimed after several tries (it keeps changing hands)."""


class IdempotencyStore:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        write_lock: WriteLock | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._write_lock = write_lock or WriteLock(enabled=False)
        self._clock = clock

    @contextlib.asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session:
            # A connection first, then SQLite's in-process writer lock: the order requests
            # use (cloud.services.context), so the two cannot wait on each other.
            await session.connection()
            async with self._write_lock.held():
                yield session
                await session.commit()

    async def claim(
        self, org_id: str, key_hash: str, method: str, path: str
    ) -> StoredRequest | None:
        """None when this caller now holds the key; else what holds it already.

        An expired record, or a claim abandoned in flight, is removed and the key claimed
        anew; the removal names the row's `created_at`, so of two processes doing this at
        once only one removes it and the unique key lets only one insert win.
        """
        for _ in range(_CLAIM_ATTEMPTS):
            now = self._clock()
            try:
                async with self._writing() as session:
                    await session.execute(
                        t.insert().values(
                            org_id=org_id,
                            key_hash=key_hash,
                            method=method,
                            path=path,
                            created_at=now,
                            expires_at=now + KEY_TTL,
                        )
                    )
                return None
            except IntegrityError:
                pass
            existing = await self._load(org_id, key_hash)
            if existing is None:  # released between our insert and our read
                continue
            if not self._stale(existing, now):
                return existing
            async with self._writing() as session:
                await session.execute(
                    t.delete().where(
                        t.c.org_id == org_id,
                        t.c.key_hash == key_hash,
                        t.c.created_at == existing.created_at,
                    )
                )
        raise KeyBusyError(key_hash)

    def _stale(self, row: StoredRequest, now: datetime) -> bool:
        if row.created_at + KEY_TTL <= now:
            return True
        return row.status_code is None and row.created_at + IN_FLIGHT_TIMEOUT <= now

    async def _load(self, org_id: str, key_hash: str) -> StoredRequest | None:
        async with self._sessions() as session:
            row = (
                await session.execute(
                    sa.select(
                        t.c.method,
                        t.c.path,
                        t.c.request_hash,
                        t.c.status_code,
                        t.c.content_type,
                        t.c.request_id,
                        t.c.body,
                        t.c.created_at,
                    ).where(t.c.org_id == org_id, t.c.key_hash == key_hash)
                )
            ).one_or_none()
        if row is None:
            return None
        return StoredRequest(
            method=row.method,
            path=row.path,
            request_hash=row.request_hash,
            status_code=row.status_code,
            content_type=row.content_type,
            request_id=row.request_id,
            body=row.body,
            created_at=row.created_at,
        )

    async def complete(
        self,
        org_id: str,
        key_hash: str,
        *,
        request_hash: str,
        status_code: int,
        content_type: str | None,
        request_id: str | None,
        body: bytes,
    ) -> None:
        """Store the response of the request that holds the key."""
        async with self._writing() as session:
            await session.execute(
                t.update()
                .where(t.c.org_id == org_id, t.c.key_hash == key_hash)
                .values(
                    request_hash=request_hash,
                    status_code=status_code,
                    content_type=content_type,
                    request_id=request_id,
                    body=body,
                )
            )

    async def release(self, org_id: str, key_hash: str) -> None:
        """Give the key up without a stored response, so a retry runs the request again."""
        async with self._writing() as session:
            await session.execute(
                t.delete().where(
                    t.c.org_id == org_id,
                    t.c.key_hash == key_hash,
                    t.c.status_code.is_(None),
                )
            )

    async def sweep(self) -> int:
        """Delete expired records; the number removed."""
        async with self._writing() as session:
            result = await session.execute(t.delete().where(t.c.expires_at <= self._clock()))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
