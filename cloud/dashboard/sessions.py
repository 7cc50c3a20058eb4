"""Dashboard sessions: a browser signs in once with an API key and then holds a cookie.

The key itself never reaches the browser's storage, a URL or a page: the cookie carries a
random secret of its own (`apfs_` + 40 base-62 characters), stored as its SHA-256 like an API
key (cloud/auth/keys.py explains why a plain hash suffices for secrets this random). A
session acts as the key that opened it, with that key's scopes, until it expires, is signed
out, or the key is revoked: every lookup reads the key's row along with the session's.

Lookups are cached per process for `CACHE_TTL_S`, as API keys are (cloud/services/auth.py):
a sign-out or a key revocation through another process takes effect within that time; one
through this process drops the entries at once. Nothing here knows HTTP (cloud/dashboard/
cookies.py is the edge).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloud.auth.keys import Principal, hash_secret, new_secret
from cloud.db.core import new_row, table_of
from cloud.db.models import ApiKey, DashboardSession
from cloud.db.reader import SqliteReader
from cloud.db.types import utcnow
from cloud.db.writer import WriteLock
from cloud.ids import IdPrefix, new_id
from cloud.problems import Problem
from cloud.services.auth import CACHE_TTL_S
from shared.enums import ErrorCode

SESSION_PREFIX = "apfs_"
_TOKEN_MAX_LEN = 100
_CACHE_MAX = 10_000
_SESSIONS = table_of(DashboardSession)
_KEYS = table_of(ApiKey)
_BY_HASH = (
    select(
        _SESSIONS.c.id,
        _SESSIONS.c.key_id,
        _SESSIONS.c.org_id,
        _SESSIONS.c.csrf_token,
        _SESSIONS.c.expires_at,
        _SESSIONS.c.revoked_at,
        _KEYS.c.user_id,
        _KEYS.c.scopes,
        _KEYS.c.revoked_at.label("key_revoked_at"),
    )
    .join(_KEYS, _KEYS.c.id == _SESSIONS.c.key_id)
    .where(_SESSIONS.c.token_hash == bindparam("h"))
)
_SessionRow = Row[*tuple[Any, ...]]


def signed_out() -> Problem:
    """The one answer for a cookie that does not sign in: which reason it was (unknown,
    expired, signed out, key revoked) is no business of whoever holds it."""
    return Problem(ErrorCode.INVALID_API_KEY, "Not signed in, or the session has ended.")


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A live session: who it acts as and the token its writes must carry."""

    session_id: str
    principal: Principal
    csrf_token: str
    expires_at: datetime


class SessionResolver:
    """Opens, resolves and ends dashboard sessions."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        write_lock: WriteLock,
        *,
        lifetime: timedelta,
        reader: SqliteReader | None = None,
    ) -> None:
        self._sessions = sessions
        self._write_lock = write_lock
        self._lifetime = lifetime
        # SQLite: the lookup runs inline on the reader, as the key lookup does.
        self._reader = reader
        self._cache: dict[str, tuple[float, SignedIn]] = {}
        # Bumped by `forget` and `revoke`: a lookup that started before must not refill.
        self._generation = 0

    @property
    def lifetime(self) -> timedelta:
        return self._lifetime

    async def create(self, principal: Principal) -> tuple[SignedIn, str]:
        """A new session for `principal`, and the secret for its cookie (shown this once)."""
        token = new_secret(SESSION_PREFIX)
        now = utcnow().replace(microsecond=0)
        signed = SignedIn(
            session_id=new_id(IdPrefix.DASHBOARD_SESSION),
            principal=principal,
            csrf_token=secrets.token_urlsafe(32),
            expires_at=now + self._lifetime,
        )
        row = new_row(
            DashboardSession,
            id=signed.session_id,
            token_hash=hash_secret(token),
            key_id=principal.key_id,
            org_id=principal.org_id,
            csrf_token=signed.csrf_token,
            created_at=now,
            expires_at=signed.expires_at,
        )
        async with self._sessions() as session:
            await session.connection()  # a connection first, then the lock (cloud/db/writer.py)
            async with self._write_lock.held():
                # The key's ended sessions go as it signs in again: rows never pile up for
                # longer than one lifetime past a key's last sign-in.
                await session.execute(
                    delete(_SESSIONS).where(
                        _SESSIONS.c.key_id == principal.key_id, _SESSIONS.c.expires_at <= now
                    )
                )
                await session.execute(insert(_SESSIONS).values(row))
                await session.commit()
        return signed, token

    async def resolve(self, token: str) -> SignedIn:
        """The live session whose cookie secret is `token`; `signed_out()` otherwise."""
        if not token.startswith(SESSION_PREFIX) or len(token) > _TOKEN_MAX_LEN:
            raise signed_out()
        digest = hash_secret(token)
        now = time.monotonic()
        hit = self._cache.get(digest)
        if hit is not None and now - hit[0] < CACHE_TTL_S:
            if hit[1].expires_at > utcnow():
                return hit[1]
            del self._cache[digest]
            raise signed_out()
        generation = self._generation
        signed = _signed_in(await self._load(digest))
        if generation == self._generation:
            if len(self._cache) >= _CACHE_MAX:
                self._cache.clear()  # a dashboard's sessions are few; this is a safety net
            self._cache[digest] = (now, signed)
        return signed

    async def revoke(self, session_id: str) -> None:
        """Sign out: the session ends now, in every process (within `CACHE_TTL_S`)."""
        async with self._sessions() as session:
            await session.connection()
            async with self._write_lock.held():
                await session.execute(
                    update(_SESSIONS)
                    .where(_SESSIONS.c.id == session_id, _SESSIONS.c.revoked_at.is_(None))
                    .values(revoked_at=utcnow())
                )
                await session.commit()
        # After the commit: a lookup that read the row before it must not stay cached.
        self._drop(lambda s: s.session_id == session_id)

    def forget(self, key_id: str | None = None) -> None:
        """Drop cached sessions (all, or those of one key): a key was revoked."""
        self._drop(lambda s: key_id is None or s.principal.key_id == key_id)

    def _drop(self, matches: Callable[[SignedIn], bool]) -> None:
        self._generation += 1
        for digest in [d for d, (_, s) in self._cache.items() if matches(s)]:
            del self._cache[digest]

    async def _load(self, digest: str) -> _SessionRow | None:
        if self._reader is not None:
            return await self._reader.run(
                lambda conn: conn.execute(_BY_HASH, {"h": digest}).first()
            )
        async with self._sessions() as session:
            return (await session.execute(_BY_HASH, {"h": digest})).first()


def _signed_in(row: _SessionRow | None) -> SignedIn:
    if row is None or row.revoked_at is not None or row.key_revoked_at is not None:
        raise signed_out()
    if row.expires_at <= utcnow():
        raise signed_out()
    principal = Principal(
        org_id=row.org_id, key_id=row.key_id, user_id=row.user_id, scopes=frozenset(row.scopes)
    )
    return SignedIn(
        session_id=row.id, principal=principal, csrf_token=row.csrf_token, expires_at=row.expires_at
    )
