"""Fan-out: each new row of the `events` log becomes one delivery row per matching endpoint.

Event ids are random and `created_at` is taken before the writing transaction commits, so
"everything after the last id seen" would skip an event whose transaction committed late.
Instead the cursor keeps a time `scanned_to`, each pass re-reads the events created since
`scanned_to - grace` that have no mark yet, and marks what it fans out. Marks older than the
window are deleted. Every event is therefore fanned out exactly once as long as no
transaction commits more than `grace` after stamping its event.

Replicas take turns: a pass starts by updating the cursor row, which holds its write lock
until commit (a row lock on PostgreSQL, the database lock on SQLite, where starting as a
writer also avoids SQLITE_BUSY_SNAPSHOT when a read transaction tries to write).
Only organizations with an enabled endpoint are read, through `ix_events_org_created`.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.core import table_of
from cloud.db.models import Event
from cloud.webhooks.events import matches
from cloud.webhooks.messages import message_body, row_id
from cloud.webhooks.tables import (
    PENDING,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEventMark,
    WebhookFanoutCursor,
)

logger = logging.getLogger(__name__)

CURSOR_NAME: Final = "events"

_E = table_of(Event).c
_W = table_of(WebhookEndpoint).c
_C = table_of(WebhookFanoutCursor)
_M = table_of(WebhookEventMark)
_D = table_of(WebhookDelivery)


async def _lock_cursor(session: AsyncSession, now: datetime) -> datetime:
    stmt = update(_C).where(_C.c.name == CURSOR_NAME).values(updated_at=now)
    if (await session.execute(stmt)).rowcount == 0:  # type: ignore[attr-defined]
        # First pass ever: start a grace window back, not at the beginning of history.
        await session.execute(
            _insert_ignoring(session, _C, ["name"]).values(
                name=CURSOR_NAME, scanned_to=now, updated_at=now
            )
        )
        await session.execute(stmt)
    scanned_to = await session.scalar(select(_C.c.scanned_to).where(_C.c.name == CURSOR_NAME))
    assert scanned_to is not None
    return scanned_to  # type: ignore[no-any-return]


def _unmarked(since: datetime, *columns: Any) -> Any:
    with_hooks = select(_W.org_id).where(_W.enabled.is_(True)).distinct()
    return (
        select(*columns)
        .outerjoin(_M, _M.c.event_id == _E.id)
        .where(_E.created_at >= since, _M.c.event_id.is_(None), _E.org_id.in_(with_hooks))
    )


async def needed(session: AsyncSession, *, now: datetime, grace_s: float) -> bool:
    """A read-only look (no write lock): is there an event to fan out, or is the cursor old
    enough that the scan window should move? Most polls end here."""
    grace = timedelta(seconds=grace_s)
    try:
        scanned_to = await session.scalar(select(_C.c.scanned_to).where(_C.c.name == CURSOR_NAME))
        if scanned_to is None or now - scanned_to > grace / 4:
            return True
        found = await session.scalar(_unmarked(scanned_to - grace, _E.id).limit(1))
        return found is not None
    finally:
        await session.rollback()  # end the read transaction before any writer starts


async def fan_out(session: AsyncSession, *, now: datetime, batch: int, grace_s: float) -> int:
    """One pass in one transaction (committed here); the number of deliveries created."""
    grace = timedelta(seconds=grace_s)
    scanned_to = await _lock_cursor(session, now)
    events = (
        await session.execute(
            _unmarked(scanned_to - grace, _E.id, _E.org_id, _E.type, _E.payload, _E.created_at)
            .order_by(_E.created_at, _E.id)
            .limit(batch)
        )
    ).all()
    created = 0
    if events:
        created = await _deliver(session, events, now)
        await session.execute(
            _insert_ignoring(session, _M, ["event_id"]),
            [{"event_id": e.id, "created_at": e.created_at} for e in events],
        )
    # A full batch may leave older unmarked events: advance only as far as this batch went.
    reached = events[-1].created_at if len(events) == batch else now
    new_scanned_to = max(scanned_to, reached)
    await session.execute(
        update(_C).where(_C.c.name == CURSOR_NAME).values(scanned_to=new_scanned_to)
    )
    await session.execute(delete(_M).where(_M.c.created_at < new_scanned_to - 2 * grace))
    await session.commit()
    return created


async def _deliver(session: AsyncSession, events: Sequence[Any], now: datetime) -> int:
    orgs = {e.org_id for e in events}
    endpoints: dict[str, list[Any]] = defaultdict(list)
    rows = await session.execute(
        select(_W.id, _W.org_id, _W.events, _W.created_at).where(
            _W.enabled.is_(True), _W.org_id.in_(orgs)
        )
    )
    for endpoint in rows:
        endpoints[endpoint.org_id].append(endpoint)
    deliveries: list[dict[str, Any]] = []
    for event in events:
        body: str | None = None
        for endpoint in endpoints[event.org_id]:
            # An endpoint hears the events that happen after it was created, not history.
            if endpoint.created_at > event.created_at or not matches(endpoint.events, event.type):
                continue
            if body is None:
                body = message_body(event.id, event.type, event.created_at, event.payload).decode()
            deliveries.append(
                {
                    "id": row_id("dlv"),
                    "org_id": event.org_id,
                    "webhook_id": endpoint.id,
                    "event_id": event.id,
                    "event_type": event.type,
                    "body": body,
                    "status": PENDING,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
            )
    if deliveries:
        # The unique (webhook, event) pair makes a second fan-out of one event a no-op rather
        # than an error that would stop the cursor for good.
        await session.execute(_insert_ignoring(session, _D, ["webhook_id", "event_id"]), deliveries)
    return len(deliveries)


def _insert_ignoring(session: AsyncSession, table: Any, keys: list[str]) -> Any:
    insert_fn = (
        postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    )
    return insert_fn(table).on_conflict_do_nothing(index_elements=keys)
