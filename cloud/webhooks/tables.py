"""Tables of the webhooks feature (migration 0004_webhooks).

- `webhooks`: the endpoints. The secret is kept as given because every delivery is signed
  with it; the API never returns it after the create call.
- `webhook_deliveries`: one row per (endpoint, event): the message, its exact body bytes and
  where it stands (pending with a due time, succeeded, failed). The unique pair makes fan-out
  idempotent, and the lease columns make a claim atomic on SQLite and PostgreSQL alike.
- `webhook_attempts`: every HTTP attempt, the log `GET /v1/webhooks/:id/deliveries` shows.
- `webhook_fanout_cursor` and `webhook_event_marks`: how far the event log has been fanned
  out, and which recent events already were (see `cloud.webhooks.fanout`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, ForeignKey, Index, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from cloud.db.types import UTCDateTime, utcnow

# Delivery statuses.
PENDING = "pending"
SUCCEEDED = "succeeded"
FAILED = "failed"

# Why an endpoint was switched off by the cloud (None when the user did it, or it is on).
DISABLED_GONE = "gone"  # the receiver answered 410 Gone
DISABLED_FAILING = "failing"  # every attempt failed for the whole retry schedule


class WebhookEndpoint(SQLModel, table=True):
    __tablename__ = "webhooks"
    __table_args__ = (Index("ix_webhooks_org_created", "org_id", "created_at"),)

    id: str = Field(primary_key=True, max_length=32)
    org_id: str = Field(foreign_key="organizations.id", max_length=32)
    url: str = Field(sa_type=Text)
    events: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Kept in plain text before migration 0010; sealed into the column below at start-up
    # (cloud/webhooks/secrets.py) and always empty after that.
    secret: str | None = Field(default=None, sa_type=Text, repr=False)
    # The signing secret, sealed for "webhook:{id}:secret".
    secret_sealed: str | None = Field(default=None, sa_type=Text, repr=False)
    enabled: bool = True
    disabled_reason: str | None = Field(default=None, max_length=16)
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Start of the current run of failures (None after a success): how long it has failed.
    failing_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_success_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_failure_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WebhookDelivery(SQLModel, table=True):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("webhook_id", "event_id", name="ux_webhook_deliveries_message"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )

    id: str = Field(primary_key=True, max_length=32)
    org_id: str = Field(max_length=32)
    webhook_id: str = Field(
        sa_column=Column(String(32), ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False)
    )
    # The `webhook-id` header: the event's id, the same on every retry (receivers dedupe on it).
    event_id: str = Field(max_length=64)
    event_type: str = Field(max_length=64)
    body: str = Field(sa_type=Text)
    status: str = Field(default=PENDING, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    lease_owner: str | None = Field(default=None, max_length=32)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WebhookAttempt(SQLModel, table=True):
    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_webhook_time", "webhook_id", "attempted_at"),)

    id: str = Field(primary_key=True, max_length=32)
    org_id: str = Field(max_length=32)
    webhook_id: str = Field(
        sa_column=Column(String(32), ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False)
    )
    delivery_id: str | None = Field(default=None, max_length=32, index=True)
    event_id: str = Field(max_length=64)
    event_type: str = Field(max_length=64)
    attempt: int = 1
    attempted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    status_code: int | None = None
    latency_ms: float | None = None
    error: str | None = Field(default=None, sa_type=Text)
    # "succeeded", "retrying" (next_retry_at set), "failed" (no retry left, or 410) or "test".
    outcome: str = Field(max_length=16)
    next_retry_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebhookFanoutCursor(SQLModel, table=True):
    __tablename__ = "webhook_fanout_cursor"

    name: str = Field(primary_key=True, max_length=32)
    # Every event created before `scanned_to - grace` has been fanned out.
    scanned_to: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WebhookEventMark(SQLModel, table=True):
    __tablename__ = "webhook_event_marks"

    event_id: str = Field(primary_key=True, max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)
