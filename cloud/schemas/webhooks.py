"""Webhook bodies (api-reference.md `POST /v1/webhooks`) and the delivery log's items."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from cloud.schemas.common import Pagination, Url

EventName = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
# A user-chosen secret is used as raw key bytes (the spec's example is "webhook_secret_key");
# a `whsec_…` one must decode to 24-64 bytes (Standard Webhooks, field-notes §4.1).
Secret = Annotated[str, msgspec.Meta(min_length=8, max_length=256)]


class WebhookOut(msgspec.Struct, kw_only=True):
    id: str
    url: str
    events: list[str]
    enabled: bool
    # Set when the cloud switched the endpoint off: "gone" (it answered 410) or "failing"
    # (every attempt of a message failed for the whole retry schedule).
    disabled_reason: str | None
    disabled_at: datetime | None
    # Start of the current run of failed attempts; null once an attempt succeeds.
    failing_since: datetime | None
    last_success_at: datetime | None
    last_failure_at: datetime | None
    created_at: datetime
    updated_at: datetime


WEBHOOK_FIELDS: tuple[str, ...] = tuple(f.name for f in msgspec.structs.fields(WebhookOut))


class WebhookCreated(WebhookOut, kw_only=True):
    """The create answer: the only response that ever carries the secret."""

    secret: str


class WebhookPage(msgspec.Struct, kw_only=True):
    data: list[WebhookOut]
    pagination: Pagination


# Checked in code (cloud/webhooks/events.py, with its own message); documented here.
Events = Annotated[list[EventName], msgspec.Meta(extra_json_schema={"minItems": 1})]


class WebhookCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    url: Url
    events: Events
    secret: Secret | None = None
    enabled: bool = True


class WebhookPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    url: Url | msgspec.UnsetType = msgspec.UNSET
    events: Events | msgspec.UnsetType = msgspec.UNSET
    secret: Secret | msgspec.UnsetType = msgspec.UNSET
    enabled: bool | msgspec.UnsetType = msgspec.UNSET


class DeliveryAttemptOut(msgspec.Struct, kw_only=True):
    """One HTTP attempt at delivering one message to the endpoint."""

    id: str
    webhook_id: str
    # The `webhook-id` header (the event's id): the same on every retry of one message.
    message_id: str
    event: str
    attempt: int
    attempted_at: datetime
    status_code: int | None
    latency_ms: float | None
    success: bool
    error: str | None
    # "succeeded", "retrying", "failed" (no retry left, or the endpoint answered 410) or
    # "test" (sent by POST /v1/webhooks/:id/test).
    outcome: str
    next_retry_at: datetime | None


ATTEMPT_FIELDS: tuple[str, ...] = tuple(f.name for f in msgspec.structs.fields(DeliveryAttemptOut))


class DeliveryAttemptPage(msgspec.Struct, kw_only=True):
    data: list[DeliveryAttemptOut]
    pagination: Pagination


class WebhookTestResult(msgspec.Struct, kw_only=True):
    """What `POST /v1/webhooks/:id/test` answers: how the receiver took the test event."""

    id: str
    webhook_id: str
    message_id: str
    event: str
    success: bool
    status: str
    status_code: int | None
    latency_ms: float
    error: str | None
    created_at: datetime
