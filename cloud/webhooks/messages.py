"""The message body, the API view of an endpoint, and ids of the rows this feature writes."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.models import Event
from cloud.db.types import utcnow
from cloud.ids import IdPrefix, new_id
from cloud.schemas.webhooks import WebhookOut
from cloud.webhooks.events import WEBHOOK_DISABLED


def row_id(prefix: str) -> str:
    """`dlv_…` (deliveries) and `att_…` (attempts): 96 random bits in hex. Cheaper than
    `cloud.ids.new_id` (one choice per character), which showed in the delivery profile."""
    return f"{prefix}_" + secrets.token_hex(12)


def message_body(event_id: str, event_type: str, created_at: datetime, data: Any) -> bytes:
    """`{"id", "type", "created_at", "timestamp", "data"}`, encoded once and stored, so every
    retry sends (and signs) the same bytes.

    `timestamp` repeats `created_at` under the name of the Standard Webhooks payload shape
    (`{type, timestamp, data}`, field-notes §4.1), which the SDK's verifier reads.
    """
    return msgspec.json.encode(
        {
            "id": event_id,
            "type": event_type,
            "created_at": created_at,
            "timestamp": created_at,
            "data": data,
        }
    )


def webhook_out(row: Any) -> WebhookOut:
    return WebhookOut(
        id=row.id,
        url=row.url,
        events=list(row.events),
        enabled=row.enabled,
        disabled_reason=row.disabled_reason,
        disabled_at=row.disabled_at,
        failing_since=row.failing_since,
        last_success_at=row.last_success_at,
        last_failure_at=row.last_failure_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def record_disabled(session: AsyncSession, row: Any) -> None:
    """Tell the organization: a `webhook.disabled` event in the log, fanned out like any other
    (so another endpoint subscribed to `webhook.*` hears about it)."""
    session.add(
        Event(
            id=new_id(IdPrefix.EVENT),
            org_id=row.org_id,
            type=WEBHOOK_DISABLED,
            resource_id=row.id,
            payload={"webhook": msgspec.to_builtins(webhook_out(row))},
            created_at=utcnow(),
        )
    )
