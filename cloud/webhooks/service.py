"""Webhook endpoints for the API: CRUD, the test send, the delivery log.

The secret is write-only: it is returned by `create` alone (`WebhookCreated`); every other
answer is a `WebhookOut`, which has no field for it.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Final

import msgspec
from sqlalchemy import ColumnElement

from autoprintfarm.signature import SECRET_PREFIX, generate_secret
from cloud.api.listing import PageRequest
from cloud.db.core import table_of
from cloud.db.types import utcnow
from cloud.ids import IdPrefix, new_id
from cloud.net import OutboundURLError, resolve_public_url
from cloud.problems import Problem, invalid, not_found
from cloud.repositories.base import OrgRepository
from cloud.schemas.webhooks import (
    DeliveryAttemptOut,
    WebhookCreate,
    WebhookCreated,
    WebhookOut,
    WebhookPatch,
    WebhookTestResult,
)
from cloud.services.context import ServiceContext
from cloud.webhooks.config import WebhookConfig
from cloud.webhooks.events import WEBHOOK_TEST, validate_events
from cloud.webhooks.messages import message_body, row_id, webhook_out
from cloud.webhooks.secrets import open_secret, webhook_secret_purpose
from cloud.webhooks.sender import Sender
from cloud.webhooks.tables import WebhookAttempt, WebhookEndpoint
from shared.enums import ErrorCode

MAX_WEBHOOKS_PER_ORG: Final = 100
SORTABLE = ("created_at", "updated_at", "url")
ATTEMPT_SORTABLE = ("attempted_at", "attempt", "status_code", "latency_ms")


def attempt_out(row: Any) -> DeliveryAttemptOut:
    code = row.status_code
    return DeliveryAttemptOut(
        id=row.id,
        webhook_id=row.webhook_id,
        message_id=row.event_id,
        event=row.event_type,
        attempt=row.attempt,
        attempted_at=row.attempted_at,
        status_code=code,
        latency_ms=row.latency_ms,
        success=code is not None and 200 <= code < 300,
        error=row.error,
        outcome=row.outcome,
        next_retry_at=row.next_retry_at,
    )


def _check_secret(secret: str) -> None:
    if not secret.startswith(SECRET_PREFIX):
        return  # any other value is used as raw UTF-8 key bytes (documented)
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except binascii.Error:
        raise invalid("A whsec_ secret must be base64 after the prefix.", param="secret") from None
    if not 24 <= len(key) <= 64:
        raise invalid("A whsec_ secret must decode to 24-64 bytes.", param="secret")


class WebhookService:
    def __init__(self, ctx: ServiceContext, config: WebhookConfig) -> None:
        self.ctx = ctx
        self.config = config
        t = table_of(WebhookEndpoint).c
        self.repo = OrgRepository(
            WebhookEndpoint, ctx.session, ctx.org_id, {k: t[k] for k in SORTABLE}
        )

    async def _row(self, webhook_id: str) -> WebhookEndpoint:
        row = await self.repo.get(webhook_id)
        if row is None:
            raise not_found("webhook", webhook_id)
        return row

    async def _check_url(self, url: str) -> None:
        """The URL policy at save time (checked again before every delivery)."""
        try:
            await resolve_public_url(
                url, allow_private=self.config.allow_private_urls, resolver=self.config.resolver
            )
        except OutboundURLError as exc:
            raise invalid(f"Webhook URL refused: {exc.reason}.", param="url") from None

    async def get(self, webhook_id: str) -> WebhookOut:
        return webhook_out(await self._row(webhook_id))

    async def create(self, data: WebhookCreate) -> WebhookCreated:
        events = validate_events(data.events)
        await self._check_url(data.url)
        if data.secret is not None:
            _check_secret(data.secret)
        if await self.repo.count() >= MAX_WEBHOOKS_PER_ORG:
            raise Problem(
                ErrorCode.QUOTA_EXCEEDED,
                f"An organization may have {MAX_WEBHOOKS_PER_ORG} webhooks.",
            )
        secret = data.secret if data.secret is not None else generate_secret()
        webhook_id = new_id(IdPrefix.WEBHOOK)
        row = WebhookEndpoint(
            id=webhook_id,
            org_id=self.ctx.org_id,
            url=data.url,
            events=events,
            secret_sealed=self.ctx.box.seal(secret, webhook_secret_purpose(webhook_id)),
            enabled=data.enabled,
        )
        self.repo.add(row)
        await self.ctx.commit()
        out = webhook_out(row)
        return WebhookCreated(**msgspec.structs.asdict(out), secret=secret)

    async def patch(self, webhook_id: str, data: WebhookPatch) -> WebhookOut:
        row = await self._row(webhook_id)
        if not isinstance(data.events, msgspec.UnsetType):
            row.events = validate_events(data.events)
        if not isinstance(data.url, msgspec.UnsetType):
            await self._check_url(data.url)
            row.url = data.url
        if not isinstance(data.secret, msgspec.UnsetType):
            _check_secret(data.secret)
            row.secret_sealed = self.ctx.box.seal(data.secret, webhook_secret_purpose(row.id))
            row.secret = None
        if not isinstance(data.enabled, msgspec.UnsetType) and data.enabled != row.enabled:
            row.enabled = data.enabled
            # Re-enabling starts afresh: held messages resume, the failure run is forgotten.
            row.disabled_reason = None
            row.disabled_at = None if data.enabled else utcnow()
            if data.enabled:
                row.failing_since = None
        row.updated_at = utcnow()
        await self.ctx.commit()
        return webhook_out(row)

    async def delete(self, webhook_id: str) -> None:
        # Pending deliveries and the attempt log go with it (ON DELETE CASCADE).
        await self.repo.delete(await self._row(webhook_id))
        await self.ctx.commit()

    async def test(self, webhook_id: str) -> WebhookTestResult:
        """Send a `webhook.test` message now, once (no retry), and log the attempt."""
        row = await self._row(webhook_id)
        message_id = new_id(IdPrefix.EVENT)
        now = utcnow()
        data = {"webhook": {"id": row.id, "url": row.url}, "message": "A test from AutoPrintFarm."}
        body = message_body(message_id, WEBHOOK_TEST, now, data)
        # End the read transaction: no database connection is held while the receiver thinks.
        await self.ctx.commit()
        secret = open_secret(self.ctx.box, row.id, row.secret_sealed, row.secret)
        async with Sender(self.config) as sender:
            result = await sender.send(row.url, secret, message_id, body)
        attempt = WebhookAttempt(
            id=row_id("att"),
            org_id=self.ctx.org_id,
            webhook_id=row.id,
            event_id=message_id,
            event_type=WEBHOOK_TEST,
            attempt=1,
            attempted_at=result.attempted_at,
            status_code=result.status_code,
            latency_ms=result.latency_ms,
            error=result.error,
            outcome="test",
        )
        self.ctx.session.add(attempt)
        await self.ctx.commit()
        return WebhookTestResult(
            id=attempt.id,
            webhook_id=row.id,
            message_id=message_id,
            event=WEBHOOK_TEST,
            success=result.success,
            status="succeeded" if result.success else "failed",
            status_code=result.status_code,
            latency_ms=result.latency_ms,
            error=result.error,
            created_at=result.attempted_at,
        )

    async def deliveries(
        self, webhook_id: str, req: PageRequest, *, event: str | None, success: bool | None
    ) -> tuple[list[DeliveryAttemptOut], int]:
        await self._row(webhook_id)  # 404 for another organization's webhook
        t = table_of(WebhookAttempt).c
        repo = OrgRepository(
            WebhookAttempt, self.ctx.session, self.ctx.org_id, {k: t[k] for k in ATTEMPT_SORTABLE}
        )
        filters: list[ColumnElement[bool]] = [t.webhook_id == webhook_id]
        if event is not None:
            filters.append(t.event_type == event)
        if success is not None:
            ok = t.status_code.between(200, 299)
            filters.append(ok if success else ~ok | t.status_code.is_(None))
        rows, total = await repo.page(filters, req)
        return [attempt_out(r) for r in rows], total

    async def list(self, req: PageRequest, *, enabled: bool | None) -> tuple[list[WebhookOut], int]:
        filters: list[ColumnElement[bool]] = []
        if enabled is not None:
            filters.append(self.repo.table.c.enabled.is_(enabled))
        rows, total = await self.repo.page(filters, req)
        return [webhook_out(r) for r in rows], total
