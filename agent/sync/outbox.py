"""The durable outbox: what the agent has to tell the cloud, kept until it is delivered.

Every event is written (with its per-agent ``seq``, allocated in the same transaction) before
anything tries to publish it. The pump publishes rows in ``id`` order, so after a reconnect
or a restart the replay is in order and a later event can never overtake an earlier one;
a row sent twice is harmless, the cloud drops the duplicate by ``event_id`` (docs/mqtt.md).

When is a row delivered? A broker's PUBACK only says the broker took it: a broker that
loses the cloud's session (the embedded broker across a restart) or whose queue for it is
full drops the event (DESIGN.md, "MQTT contract"). So, once the cloud's retained
config says it sends acknowledgements (``event_acks``), an event row stays after its PUBACK
(it is only marked sent) until an `EventAck` with ``applied_seq`` >= its seq arrives. Rows
sent but not acknowledged go out again, in order, after every reconnect, when the cloud
asks (``resend``), and after `ack_wait_s` without an acknowledgement (doubling up to
`ack_wait_cap_s` while none comes). The "sent" mark lives in memory only: after a restart
every row left is sent again. Replies and telemetry carry no seq and go on the PUBACK, as
do events while the cloud has not said it acknowledges (an older cloud), so an old cloud
never makes the outbox grow.

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

from agent.sync.store import Store, get_meta_in, next_counter_in, set_meta_in
from shared.wire import Event, encode

log = logging.getLogger(__name__)

SEQ_KEY = "event_seq"
# How long a sent event waits for the cloud's acknowledgement before it is sent again; the
# wait doubles (up to the cap) while no acknowledgement comes, so a cloud that is down is
# not flooded. The cloud answers a batch within milliseconds when it is up.
ACK_WAIT_S = 5.0
ACK_WAIT_CAP_S = 120.0


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


@dataclass(frozen=True, slots=True)
class Backlog:
    """What the outbox still holds: rows not yet delivered (or, for events the cloud
    acknowledges, not yet applied), and when the oldest was written (wall clock, s)."""

    rows: int
    oldest_created_at: float | None


EventFactory = Callable[[int, str], Event]
ExtraWrite = Callable[[aiosqlite.Connection], Awaitable[None]]


def new_event_id() -> str:
    return uuid.uuid4().hex


class Outbox:
    def __init__(
        self,
        store: Store,
        *,
        events_topic: str,
        max_rows: int,
        ack_wait_s: float = ACK_WAIT_S,
        ack_wait_cap_s: float = ACK_WAIT_CAP_S,
    ) -> None:
        self._store = store
        self._events_topic = events_topic
        self._max_rows = max_rows
        # Set whenever a row is added (or must be sent again), so the pump wakes without
        # polling.
        self.added = asyncio.Event()
        # Off until the cloud's config says it acknowledges events (see the module doc).
        self._keep_until_acked = False
        # Rows up to this id went out in the current round; `resend` starts a new round.
        self._sent_through_id = 0
        self._highest_sent_seq = 0
        self.acked_seq = 0
        self._ack_wait_base_s = ack_wait_s
        self._ack_wait_cap_s = ack_wait_cap_s
        self._ack_wait_s = ack_wait_s
        # Monotonic time at which sent, unacknowledged events are sent again (None: none).
        self._resend_at: float | None = None

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
        return [_row(r) for r in rows]

    async def unsent(self, limit: int = 100) -> list[OutboxRow]:
        """The rows not yet sent in the current round, oldest first."""
        rows = await self._store.read(
            "SELECT id, kind, topic, qos, payload, seq FROM outbox "
            "WHERE id > ? ORDER BY id LIMIT ?",
            (self._sent_through_id, limit),
        )
        return [_row(r) for r in rows]

    async def remove(self, row_id: int) -> None:
        async with self._store.transaction() as db:
            await db.execute("DELETE FROM outbox WHERE id = ?", (row_id,))

    # --- delivery state ------------------------------------------------------------------

    @property
    def keep_until_acked(self) -> bool:
        return self._keep_until_acked

    def set_keep_until_acked(self, keep: bool) -> None:
        """Follow the cloud's ``event_acks``; on turning it off, kept rows go out once more
        and are deleted on their PUBACK (a downgraded cloud will never acknowledge them)."""
        if keep == self._keep_until_acked:
            return
        self._keep_until_acked = keep
        log.info("outbox: events are kept until %s", "the cloud applied them" if keep else "sent")
        if not keep:
            self.resend("the cloud no longer acknowledges events")

    async def sent(self, row: OutboxRow, now_s: float) -> None:
        """The broker acknowledged `row`: delete it, or keep it until the cloud applies it."""
        if self._keep_until_acked and row.seq is not None and row.seq > self.acked_seq:
            self._sent_through_id = max(self._sent_through_id, row.id)
            self._highest_sent_seq = max(self._highest_sent_seq, row.seq)
            if self._resend_at is None:
                self._resend_at = now_s + self._ack_wait_s
            return
        await self.remove(row.id)
        # Only once it is gone: if the delete is interrupted (the pump cancelled at shutdown),
        # the row must still count as unsent, or the final drain would skip it.
        self._sent_through_id = max(self._sent_through_id, row.id)

    async def acknowledge(self, applied_seq: int, now_s: float) -> int:
        """The cloud applied every event up to `applied_seq`: delete them; returns how many.

        An acknowledgement beyond the last seq this database allocated cannot be about its
        events: the database was replaced (a wiped SD card) while the cloud remembers the
        agent. The seq counter jumps past it, so new events follow what the cloud has seen,
        and nothing is deleted on its word.
        """
        async with self._store.transaction() as db:
            allocated = int(await get_meta_in(db, SEQ_KEY) or 0)
            if applied_seq > allocated:
                log.warning(
                    "the cloud acknowledged event %d but this database numbered only %d: "
                    "continuing the numbering after it",
                    applied_seq,
                    allocated,
                )
                await set_meta_in(db, SEQ_KEY, str(applied_seq))
                return 0
            cursor = await db.execute(
                "DELETE FROM outbox WHERE seq IS NOT NULL AND seq <= ?", (applied_seq,)
            )
            deleted = max(cursor.rowcount, 0)
        if applied_seq > self.acked_seq:
            self.acked_seq = applied_seq
            # Progress: the next wait starts from the base again.
            self._ack_wait_s = self._ack_wait_base_s
            outstanding = self._highest_sent_seq > applied_seq
            self._resend_at = now_s + self._ack_wait_s if outstanding else None
        return deleted

    def resend(self, reason: str) -> None:
        """Send every row left again, from the oldest (a reconnect, or the cloud asked)."""
        if self._sent_through_id:
            log.info("outbox: sending unacknowledged events again (%s)", reason)
        self._sent_through_id = 0
        self._highest_sent_seq = 0
        self._resend_at = None
        self.added.set()

    def resend_due_in(self, now_s: float) -> float | None:
        """Seconds until sent events wait too long for their acknowledgement (None: none)."""
        return None if self._resend_at is None else max(0.0, self._resend_at - now_s)

    def resend_if_due(self, now_s: float) -> bool:
        if self._resend_at is None or now_s < self._resend_at:
            return False
        waited_s = self._ack_wait_s
        self._ack_wait_s = min(self._ack_wait_cap_s, self._ack_wait_s * 2)
        self.resend(f"no acknowledgement from the cloud within {waited_s:.0f} s")
        return True

    async def backlog(self) -> Backlog:
        rows = await self._store.read("SELECT COUNT(*), MIN(created_at) FROM outbox")
        count, oldest = rows[0]
        return Backlog(
            rows=int(str(count)), oldest_created_at=None if oldest is None else float(str(oldest))
        )

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
    """Publish every unsent row in order, each after the previous one's PUBACK; returns how
    many were sent. `Outbox.sent` then deletes the row or keeps it for the cloud's ack.

    Stops at the first failure (raises `PublishFailed`), leaving that row and all later ones
    for the next attempt, so order is kept.
    """
    sent = 0
    loop = asyncio.get_running_loop()
    while True:
        outbox.added.clear()
        rows = await outbox.unsent(batch)
        if not rows:
            return sent
        for row in rows:
            await publish(row.topic, row.payload, row.qos)
            await outbox.sent(row, loop.time())
            sent += 1


def _row(r: tuple[object, ...]) -> OutboxRow:
    return OutboxRow(
        id=int(str(r[0])),
        kind=RowKind(str(r[1])),
        topic=str(r[2]),
        qos=int(str(r[3])),
        payload=bytes(r[4]) if isinstance(r[4], bytes | bytearray) else b"",
        seq=None if r[5] is None else int(str(r[5])),
    )
