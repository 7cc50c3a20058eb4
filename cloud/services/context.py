"""What every service call needs: the open session and who is calling."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from cloud.auth.keys import Principal
from cloud.context import CloudContext
from cloud.db.models import Agent, Organization
from cloud.db.reader import SqliteReader
from cloud.db.writer import WriteLock
from cloud.problems import Problem, not_found
from cloud.sealing import SecretBox
from shared.enums import ErrorCode


@dataclass(slots=True)
class ServiceContext:
    # The request's session, opened at its first use: a list page served from the page cache
    # or read through `reader` never needs one (creating it costs ~12 us a request).
    sessions: Callable[[], AsyncSession]
    principal: Principal
    # What the process shares: settings, secrets, the writer lock, the bridge's kick.
    app: CloudContext
    # SQLite only: list queries run inline on the event loop (cloud/db/reader.py).
    reader: SqliteReader | None = None
    _writing: bool = field(default=False, init=False)
    _session: AsyncSession | None = field(default=None, init=False)

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            self._session = self.sessions()
        return self._session

    async def close(self) -> None:
        """End the request: roll back what was not committed, then free the write lock (in
        that order, so the next writer does not find this one's transaction still open)."""
        try:
            # Only a session that began a transaction has anything to give back; closing an
            # idle one (a list page read through `reader`) costs ~20 us for nothing.
            if self._session is not None and self._session.in_transaction():
                await self._session.close()
        finally:
            self.end_write()

    async def begin_write(self) -> None:
        """Take the write lock now, before reading what the write depends on: on SQLite a
        read after it sees the last writer's commit (the bridge may apply an agent's report
        between a read and a write). A connection first, then the lock (cloud/db/writer.py):
        the holder of the lock must never wait for a connection that a waiter for it holds."""
        if not self._writing:
            await self.session.connection()
            await self.write_lock.acquire()
            self._writing = True

    def end_write(self) -> None:
        """Release the write lock (after commit, or when the request ends without one)."""
        if self._writing:
            self._writing = False
            self.write_lock.release()

    async def flush(self) -> None:
        await self.begin_write()
        await self.session.flush()

    async def commit(self) -> None:
        await self.begin_write()
        try:
            await self.session.commit()
        finally:
            self.end_write()

    @property
    def org_id(self) -> str:
        return self.principal.org_id

    async def organization(self) -> Organization:
        org = await self.session.get(Organization, self.org_id)
        if org is None:  # the key outlived its organization
            raise organization_gone()
        return org

    @property
    def box(self) -> SecretBox:
        """Seals the secrets a service stores (printer keys, MQTT passwords)."""
        return self.app.secrets

    @property
    def write_lock(self) -> WriteLock:
        """SQLite allows one writer; concurrent writers would spin in its busy handler
        (sleeps of up to 100 ms, sqlite.org/c3ref/busy_timeout.html). Writers of this
        process queue on this lock instead, from their first flush to their commit."""
        return self.app.write_lock

    async def live_agent(self, agent_id: str, param: str = "agent_id") -> Agent:
        agent = await self.session.get(Agent, agent_id)
        if agent is None or agent.org_id != self.org_id or agent.revoked_at is not None:
            raise not_found("agent", agent_id, param=param)
        return agent


def organization_gone() -> Problem:
    return Problem(ErrorCode.INVALID_API_KEY, "The key's organization no longer exists.")
