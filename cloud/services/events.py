"""The event log: services append here in the same transaction as the change it describes."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.models import Event
from cloud.db.types import utcnow
from cloud.ids import IdPrefix, new_id
from shared.enums import EventType


class _StrictClock:
    """Times that never repeat nor go back in this process: the log is read (and webhooks
    delivered) in `created_at` order, and one change often records two events within the
    same microsecond (`printer.online` then `printer.error`)."""

    def __init__(self) -> None:
        self._last = utcnow()
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            self._last = max(utcnow(), self._last + timedelta(microseconds=1))
            return self._last


_event_time = _StrictClock()


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
        created_at=_event_time(),
    )
    session.add(event)
    return event


def event_values(
    org_id: str, event_type: EventType, resource_id: str | None, payload: dict[str, Any]
) -> dict[str, Any]:
    """An event's row as column values, for a write that does not go through a session."""
    return {
        "id": new_id(IdPrefix.EVENT),
        "org_id": org_id,
        "type": event_type.value,
        "resource_id": resource_id,
        "payload": payload,
        "created_at": _event_time(),
    }
