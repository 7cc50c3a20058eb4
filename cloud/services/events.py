"""The event log: services append here in the same transaction as the change it describes."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.models import Event
from cloud.ids import IdPrefix, new_id
from shared.enums import EventType


def record_event(
    session: AsyncSession,
    org_id: str,
    event_type: EventType,
    resource_id: str | None,
    payload: dict[str, Any],
) -> Event:
    event = Event(
        id=new_id(IdPrefix.EVENT),
        org_id=org_id,
        type=event_type.value,
        resource_id=resource_id,
        payload=payload,
    )
    session.add(event)
    return event
