"""`/v1/webhooks`: endpoints (CRUD), a test send, and the log of delivery attempts."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody

from cloud.api.deps import Svc, app_context
from cloud.api.listing import (
    DEFAULT_PER_PAGE,
    page_of,
    page_request,
    parse_fields,
    reject_unknown_query,
)
from cloud.api.openapi import IDEMPOTENCY_ERRORS, errors
from cloud.api.params import (
    JSON_BODY_MAX_BYTES,
    IdempotencyKey,
    Page,
    PerPage,
    ShortQuery,
    fields_query,
    sort_query,
)
from cloud.schemas.webhooks import (
    ATTEMPT_FIELDS,
    WEBHOOK_FIELDS,
    DeliveryAttemptPage,
    WebhookCreate,
    WebhookCreated,
    WebhookOut,
    WebhookPage,
    WebhookPatch,
    WebhookTestResult,
)
from cloud.webhooks.config import WebhookConfig
from cloud.webhooks.service import ATTEMPT_SORTABLE, SORTABLE, WebhookService

_LIST_QUERY = ("enabled", "page", "per_page", "sort", "fields")
_DELIVERY_QUERY = ("event", "success", "page", "per_page", "sort", "fields")


def _service(request: Request[Any, Any, Any], svc: Svc) -> WebhookService:
    config = request.app.state.get("webhooks")
    if not isinstance(config, WebhookConfig):
        config = WebhookConfig(allow_private_urls=app_context(request).settings.allow_private_urls)
    return WebhookService(svc, config)


class WebhookController(Controller):
    path = "/v1/webhooks"
    tags = ["webhooks"]  # noqa: RUF012
    request_max_body_size = JSON_BODY_MAX_BYTES

    @get("/", opt={"scope": "webhooks:read"}, responses=errors())
    async def list_webhooks(
        self,
        *,
        request: Request[Any, Any, Any],
        svc: Svc,
        enabled: FromQuery[bool | None] = None,
        page: Page = 1,
        per_page: PerPage = DEFAULT_PER_PAGE,
        sort: Annotated[str | None, sort_query(SORTABLE)] = None,
        fields: Annotated[str | None, fields_query(WEBHOOK_FIELDS)] = None,
    ) -> WebhookPage:
        """List the organization's webhook endpoints (secrets are never shown)."""
        reject_unknown_query(request.query_params, _LIST_QUERY)
        wanted = parse_fields(fields, WEBHOOK_FIELDS)
        req = page_request(page, per_page, sort, SORTABLE, "created_at")
        items, total = await _service(request, svc).list(req, enabled=enabled)
        return page_of(WebhookPage, items, wanted, req, total)

    @post("/", opt={"scope": "webhooks:write"}, responses=errors(*IDEMPOTENCY_ERRORS))
    async def create_webhook(
        self,
        request: Request[Any, Any, Any],
        svc: Svc,
        data: JSONBody[WebhookCreate],
        idempotency_key: IdempotencyKey = None,
    ) -> WebhookCreated:
        """Subscribe a URL to events (`job.*`, `printer.*`, `material.*` or exact names).
        Without `secret` one is generated (`whsec_…`). The secret is in this answer only."""
        return await _service(request, svc).create(data)

    @get("/{webhook_id:str}", opt={"scope": "webhooks:read"}, responses=errors())
    async def get_webhook(
        self, request: Request[Any, Any, Any], svc: Svc, webhook_id: FromPath[str]
    ) -> WebhookOut:
        return await _service(request, svc).get(webhook_id)

    @patch("/{webhook_id:str}", opt={"scope": "webhooks:write"}, responses=errors())
    async def update_webhook(
        self,
        request: Request[Any, Any, Any],
        svc: Svc,
        webhook_id: FromPath[str],
        data: JSONBody[WebhookPatch],
    ) -> WebhookOut:
        """Change the URL, events, secret (write-only) or `enabled`. Enabling an endpoint
        the cloud disabled resumes its held messages."""
        return await _service(request, svc).patch(webhook_id, data)

    @delete("/{webhook_id:str}", opt={"scope": "webhooks:write"}, responses=errors())
    async def delete_webhook(
        self, request: Request[Any, Any, Any], svc: Svc, webhook_id: FromPath[str]
    ) -> None:
        await _service(request, svc).delete(webhook_id)

    @post(
        "/{webhook_id:str}/test",
        opt={"scope": "webhooks:write"},
        status_code=200,
        responses=errors(*IDEMPOTENCY_ERRORS),
    )
    async def test_webhook(
        self,
        request: Request[Any, Any, Any],
        svc: Svc,
        webhook_id: FromPath[str],
        idempotency_key: IdempotencyKey = None,
    ) -> WebhookTestResult:
        """Send a signed `webhook.test` event now; answers with the receiver's status and
        latency. Not retried; logged with the deliveries."""
        return await _service(request, svc).test(webhook_id)

    @get("/{webhook_id:str}/deliveries", opt={"scope": "webhooks:read"}, responses=errors())
    async def list_deliveries(
        self,
        *,
        request: Request[Any, Any, Any],
        svc: Svc,
        webhook_id: FromPath[str],
        event: ShortQuery = None,
        success: FromQuery[bool | None] = None,
        page: Page = 1,
        per_page: PerPage = DEFAULT_PER_PAGE,
        sort: Annotated[str | None, sort_query(ATTEMPT_SORTABLE)] = None,
        fields: Annotated[str | None, fields_query(ATTEMPT_FIELDS)] = None,
    ) -> DeliveryAttemptPage:
        """Every delivery attempt, newest first: time, HTTP status, latency, error, next
        retry. Sortable: attempted_at, attempt, status_code, latency_ms."""
        reject_unknown_query(request.query_params, _DELIVERY_QUERY)
        wanted = parse_fields(fields, ATTEMPT_FIELDS)
        req = page_request(page, per_page, sort, ATTEMPT_SORTABLE, "-attempted_at")
        items, total = await _service(request, svc).deliveries(
            webhook_id, req, event=event, success=success
        )
        return page_of(DeliveryAttemptPage, items, wanted, req, total)
