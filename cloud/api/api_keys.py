"""`/v1/api-keys`: the organization's API keys (admin scope): list, create, revoke."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post
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
    fields_query,
    sort_query,
)
from cloud.dashboard.cookies import session_resolver
from cloud.schemas.api_keys import API_KEY_FIELDS, ApiKeyCreate, ApiKeyIssued, ApiKeyPage
from cloud.services.api_keys import SORTABLE, ApiKeyService

_LIST_QUERY = ("revoked", "page", "per_page", "sort", "fields")


class ApiKeyController(Controller):
    path = "/v1/api-keys"
    tags = ["api-keys"]  # noqa: RUF012
    request_max_body_size = JSON_BODY_MAX_BYTES

    @get("/", opt={"scope": "admin"}, responses=errors())
    async def list_api_keys(
        self,
        *,
        request: Request[Any, Any, Any],
        svc: Svc,
        revoked: FromQuery[bool | None] = None,
        page: Page = 1,
        per_page: PerPage = DEFAULT_PER_PAGE,
        sort: Annotated[str | None, sort_query(SORTABLE)] = None,
        fields: Annotated[str | None, fields_query(API_KEY_FIELDS)] = None,
    ) -> ApiKeyPage:
        """List the organization's API keys: prefix, name, scopes, owner, creation, last use
        (recorded at most once a minute) and revocation; never a key or its hash. Sortable:
        name, created_at, last_used_at."""
        reject_unknown_query(request.query_params, _LIST_QUERY)
        wanted = parse_fields(fields, API_KEY_FIELDS)
        req = page_request(page, per_page, sort, SORTABLE, "created_at")
        items, total = await ApiKeyService(svc).list(req, revoked=revoked)
        return page_of(ApiKeyPage, items, wanted, req, total)

    @post("/", opt={"scope": "admin"}, responses=errors(*IDEMPOTENCY_ERRORS))
    async def create_api_key(
        self, svc: Svc, data: JSONBody[ApiKeyCreate], idempotency_key: IdempotencyKey = None
    ) -> ApiKeyIssued:
        """Create a key with these `scopes` (and an optional `name`), acting for the
        caller's user. The `key` is in this answer only: store it now."""
        return await ApiKeyService(svc).create(data)

    @delete(
        "/{key_id:str}",
        opt={"scope": "admin"},
        responses=errors((409, "invalid_request: the organization's last admin key")),
    )
    async def revoke_api_key(
        self, request: Request[Any, Any, Any], svc: Svc, key_id: FromPath[str]
    ) -> None:
        """Revoke a key: it is refused (401) from now on, in this process at once and in
        others within 5 s, and the dashboard sessions it opened end with it. The key making
        the call may revoke itself. The organization's last admin key cannot be revoked
        (409). Idempotent."""
        await ApiKeyService(svc).revoke(key_id)
        # This process's caches hold the key for up to 5 s more: drop it from them now (also
        # when it was revoked before, perhaps through another process).
        app_context(request).keys.forget(key_id)
        session_resolver(request.app.state).forget(key_id)
