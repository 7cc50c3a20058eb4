"""What the cloud's parts share for the process's lifetime: settings, database, secrets.

The request handlers (cloud/api), the bridge, the queue, the orchestration and the webhook
worker all run on this one context, built by `cloud.app.build_context`; the API adds what
only it needs (`cloud.api.state.AppContext`). Nothing here knows HTTP.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from cloud.db.writer import WriteLock
from cloud.files.store import GcodeStore
from cloud.sealing import SecretBox
from cloud.settings import Settings


def no_kick(reason: str) -> None:
    return None


async def no_broker_sync(timeout_s: float) -> bool:
    return False


@dataclass(slots=True, kw_only=True)
class CloudContext:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    store: GcodeStore
    # Seals and opens the secrets kept at rest (cloud/sealing.py).
    secrets: SecretBox
    # The secret of signed download links (cloud/files/signing.py).
    signing_key: bytes
    # One writer at a time on SQLite (cloud.db.writer); off on PostgreSQL.
    write_lock: WriteLock = field(default_factory=lambda: WriteLock(enabled=False))
    # Tells the bridge something may let the queue or commands progress (a job created, a
    # printer or spool changed, an action recorded). A no-op where no bridge runs.
    kick: Callable[[str], None] = no_kick
    bridge_running: bool = False
    # Brings the broker's logins in line with the database now (cloud.mqttauth.provisioner);
    # True when that pass ended within the time given. False where no bridge runs.
    broker_sync: Callable[[float], Awaitable[bool]] = no_broker_sync
    # The pool of background workers (see cloud.app.build_context); None: share `sessions`.
    background_engine: AsyncEngine | None = None
    background_sessions: async_sessionmaker[AsyncSession] | None = None

    def background(self) -> async_sessionmaker[AsyncSession]:
        return self.background_sessions or self.sessions
