"""Fan-out from the event log: once per event, late commits caught, history not replayed."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select, update

from cloud.db.models import Event
from cloud.db.types import utcnow
from cloud.ids import IdPrefix, new_id
from cloud.orchestration.db import writing
from cloud.webhooks import fanout
from cloud.webhooks.tables import (
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEventMark,
    WebhookFanoutCursor,
)
from tests.cloud.conftest import Api, OrgClient
from tests.cloud.webhooks.conftest import create_hook

GRACE_S = 60.0


async def _event(api: Api, org_id: str, age_s: float, type_: str = "job.created") -> str:
    event_id = new_id(IdPrefix.EVENT)
    async with writing(api.app.state["ctx"]) as session:
        session.add(
            Event(
                id=event_id,
                org_id=org_id,
                type=type_,
                resource_id="job_1",
                payload={"job": {"id": "job_1"}},
                created_at=utcnow() - timedelta(seconds=age_s),
            )
        )
        await session.commit()
    return event_id


async def _pass(api: Api) -> int:
    async with writing(api.app.state["ctx"]) as session:
        return await fanout.fan_out(session, now=utcnow(), batch=50, grace_s=GRACE_S)


async def _delivered(api: Api) -> list[str]:
    async with api.app.state["ctx"].sessions() as session:
        rows = await session.execute(select(WebhookDelivery.event_id))  # type: ignore[call-overload]
        return sorted(rows.scalars())


async def test_each_event_once_and_a_late_commit_is_not_skipped(api: Api, owner: OrgClient) -> None:
    await create_hook(owner, "http://127.0.0.1:8081/a", ["job.*"])
    await create_hook(owner, "http://127.0.0.1:8081/b", ["printer.*"])
    async with writing(api.app.state["ctx"]) as session:  # endpoints older than the events
        await session.execute(
            update(WebhookEndpoint).values(created_at=utcnow() - timedelta(minutes=10))
        )
        await session.commit()
    assert await _pass(api) == 0  # creates the cursor
    first = await _event(api, owner.org.org_id, age_s=0)
    assert await _pass(api) == 1
    assert await _pass(api) == 0
    # An event stamped 30 s ago whose transaction commits only now (within the grace).
    late = await _event(api, owner.org.org_id, age_s=30)
    ignored = await _event(api, owner.org.org_id, age_s=0, type_="material.low")
    assert await _pass(api) == 1
    assert await _delivered(api) == sorted([first, late])
    assert ignored not in await _delivered(api)
    # Even if its marks were lost, a second fan-out of the same events adds nothing.
    async with writing(api.app.state["ctx"]) as session:
        await session.execute(delete(WebhookEventMark))
        await session.commit()
    await _pass(api)
    assert await _delivered(api) == sorted([first, late])


async def test_history_before_the_endpoint_or_outside_the_window_is_not_replayed(
    api: Api, owner: OrgClient
) -> None:
    await _event(api, owner.org.org_id, age_s=5)
    await create_hook(owner, "http://127.0.0.1:8081/a", ["job.*"])
    await _event(api, owner.org.org_id, age_s=3 * GRACE_S)
    after = await _event(api, owner.org.org_id, age_s=0)
    await _pass(api)
    assert await _delivered(api) == [after]
    async with writing(api.app.state["ctx"]) as session:
        cursor = await session.get(WebhookFanoutCursor, fanout.CURSOR_NAME)
        assert cursor is not None and utcnow() - cursor.scanned_to < timedelta(seconds=5)
        # Marks older than the window are cleaned up as the cursor moves.
        await session.execute(
            update(WebhookFanoutCursor).values(scanned_to=utcnow() + timedelta(seconds=GRACE_S * 3))
        )
        await session.commit()
    await _pass(api)
    async with api.app.state["ctx"].sessions() as session:
        marks = await session.scalar(select(func.count()).select_from(WebhookEventMark))
    assert marks == 0
