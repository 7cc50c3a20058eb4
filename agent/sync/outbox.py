"""The durable outbox: what the agent has to tell the cloud, kept until the broker acks it.

Every event is written (with its per-agent ``seq``, allocated in the same transaction) before
anything tries to publish it, and the row is deleted only after the broker's PUBACK. The pump
publishes one row at a time in ``id`` order, so after a reconnect or a restart the replay is
in order and a later event can never overtake an earlier one; a row whose PUBACK was lost is
sent again and the cloud drops the duplicate by ``event_id`` (docs/mqtt.md).

Bounded: past ``max_rows`` the oldest telemetry samples go first, then replies (the cloud
re-sends an unanswered command and the ledger answers it again), then printer events. Job
events (started … completed/failed/cancelled) are never dropped.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

import aiosqlite

from agent.sync.store import Store, next_counter_in
from shared.wire import Event, encode

log = logging.getLogger(__name__)

SEQ_KEY = "event_seq"


class RowKind(StrEnum):
    JOB = "job"  # job.* events: never dropped
    EVENT = "event"  # printer.* events
    REPLY = "reply"
    TELEMETRY = "telemetry"


# Dropped first to last when the outbox is over its bound; JOB is never dropped.
_DROP_ORDER = (RowKind.TELEMETRY, RowKind.REPLY, RowKind.EVENT)


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    kind: RowKind
    topic: str
    qos: int
    payload: bytes
    seq: int | None


EventFactory = Callable[[int, str], Event]
ExtraWrite = Callable[[aiosqlite.Connection], Awaitable[None]]


def new_event_id() -> str:
    return uuid.uuid4().hex


class Outbox:
    def __init__(self, store: Store, *, events_topic: str, max_rows: int) -> None:
        self._store = store
        self._events_topic = events_topic
        self._max_rows = max_rows
        # Set whenever a row is added, so the pump wakes without polling.
        self.added = asyncio.Event()

    async def add_event(
        self, build: EventFactory, kind: RowKind, *, also: ExtraWrite | None = None
    ) -> Event:
        """Allocate the next seq, build the event and store it, atomically.

        ``also`` runs inside the same transaction: a job's outcome and the removal of the
        job from the in-flight table commit together, so after a crash the job is reported
        exactly once (either its outcome is here, or it is still in flight).
        """
        async with self._store.transaction() as db:
            seq = await next_counter_in(db, SEQ_KEY)
            event = build(seq, new_event_id())
            await db.execute(
                "INSERT INTO outbox (kind, topic, qos, payload, seq, created_at) "
                "VALUES (?, ?, 1, ?, ?, ?)",
                (kind.value, self._events_topic, encode(event), seq, time.time()),
            )
            if also is not None:
                await also(db)
            await self._enforce_bound(db)
        self.added.set()
        return event

    async def add(
        self,
        kind: RowKind,
        topic: str,
        payload: bytes,
        *,
        qos: int = 1,
        also: ExtraWrite | None = None,
    ) -> None:
        async with self._store.transaction() as db:
            await db.execute(
                "INSERT INTO outbox (kind, topic, qos, payload, created_at) VALUES (?, ?, ?, ?, ?)",
                (kind.value, topic, qos, payload, time.time()),
            )
            if also is not None:
                await also(db)
            await self._enforce_bound(db)
        self.added.set()

    async def _enforce_bound(self, db: aiosqlite.Connection) -> None:
        rows = list(await db.execute_fetchall("SELECT COUNT(*) FROM outbox"))
        excess = int(rows[0][0]) - self._max_rows
        for kind in _DROP_ORDER:
            if excess <= 0:
                return
            cursor = await db.execute(
                "DELETE FROM outbox WHERE id IN "
                "(SELECT id FROM outbox WHERE kind = ? ORDER BY id LIMIT ?)",
                (kind.value, excess),
            )
            if cursor.rowcount > 0:
                log.warning(
                    "outbox over its bound of %d rows: dropped the %d oldest %s rows",
                    self._max_rows,
                    cursor.rowcount,
                    kind.value,
                )
                excess -= cursor.rowcount

    async def peek(self, limit: int = 100) -> list[OutboxRow]:
        rows = await self._store.read(
            "SELECT id, kind, topic, qos, payload, seq FROM outbox ORDER BY id LIMIT ?", (limit,)
        )
        return [
            OutboxRow(
                id=int(str(r[0])),
                kind=RowKind(str(r[1])),
                topic=str(r[2]),
                qos=int(str(r[3])),
                payload=bytes(r[4]) if isinstance(r[4], bytes | bytearray) else b"",
                seq=None if r[5] is None else int(str(r[5])),
            )
            for r in rows
        ]

    async def remove(self, row_id: int) -> None:
        async with self._store.transaction() as db:
            await db.execute("DELETE FROM outbox WHERE id = ?", (row_id,))

    async def count(self, kind: RowKind | None = None) -> int:
        if kind is None:
            rows = await self._store.read("SELECT COUNT(*) FROM outbox")
        else:
            rows = await self._store.read(
                "SELECT COUNT(*) FROM outbox WHERE kind = ?", (kind.value,)
            )
        return int(str(rows[0][0]))


class PublishFailed(Exception):
    """The link could not deliver a message (down, or no ack in time)."""


Publish = Callable[[str, bytes, int], Awaitable[None]]


async def drain(outbox: Outbox, publish: Publish, *, batch: int = 100) -> int:
    """Publish every row in order, deleting each once acked; returns how many were sent.

    Stops at the first failure (raises `PublishFailed`), leaving that row and all later ones
    for the next attempt, so order is kept.
    """
    sent = 0
    while True:
        outbox.added.clear()
        rows = await outbox.peek(batch)
        if not rows:
            return sent
        for row in rows:
            await publish(row.topic, row.payload, row.qos)
            await outbox.remove(row.id)
            sent += 1
