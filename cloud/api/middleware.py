"""Per request: a request id, the caller's key, its scope, and its rate limit.

The caller is an API key (`Authorization: Bearer`) or, without that header, a dashboard
session cookie acting as the key that signed in (docs/dashboard.md); either way the limit is
counted per key.

Handlers declare the scope they need in `opt={"scope": "printers:read"}`; a handler without
one (docs, signed file downloads) is public. One with `"rate_limited": False` in `opt` spends
none of the rate limit (the dashboard's live stream: one request however long it stays open,
cloud/live/stream.py). Rate-limit headers follow
draft-ietf-httpapi-ratelimit-headers-11 (`RateLimit-Policy` + `RateLimit`), with
`Retry-After` on 429 (field-notes §5.3: Litestar's built-in limiter sends no Retry-After).
"""

from __future__ import annotations

import logging
import re
import secrets
from urllib.parse import parse_qsl

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import (
    ASGIApp,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Message,
    Receive,
    Scope,
    Send,
)

from cloud.api.state import AppContext
from cloud.api.text import NUL, refuse_nul, refuse_nul_in_pairs
from cloud.auth.keys import Principal
from cloud.dashboard.cookies import session_token, signed_in
from cloud.errors import ApiError
from cloud.ratelimit import RateLimiterUnavailableError, rate_limit_headers
from shared.enums import ErrorCode
from shared.logs import bind_log_ids, log_context

logger = logging.getLogger(__name__)

_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
RATE_WINDOW_S = 60


def new_request_id() -> str:
    return "req_" + secrets.token_hex(12)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


class ApiMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        # What the request's handlers and services log carries its id and organization.
        with log_context():  # the ids bound in `_handle` end with the request
            await self._handle(scope, receive, send, next_app)

    async def _handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope.get("method") == "OPTIONS":
            await _answer_options(scope, send)
            return
        state = scope.setdefault("state", {})
        client_id = _header(scope, b"x-request-id")
        request_id = client_id if client_id and _CLIENT_REQUEST_ID.match(client_id) else None
        state["request_id"] = request_id or new_request_id()
        bind_log_ids(request_id=state["request_id"])
        extra: dict[str, str] = {"X-Request-Id": state["request_id"]}
        needed = scope["route_handler"].opt.get("scope")
        if needed is not None:
            ctx: AppContext = scope["litestar_app"].state["ctx"]
            principal = await _principal(ctx, scope)
            bind_log_ids(org_id=principal.org_id)
            counted = scope["route_handler"].opt.get("rate_limited", True)
            if counted and ctx.limiter is not None and ctx.settings.rate_limit_per_minute > 0:
                extra.update(await _rate_limit(ctx, principal.key_id))
            state["rate_headers"] = extra
            if not principal.allows(needed):
                raise ApiError(
                    ErrorCode.INSUFFICIENT_PERMISSIONS,
                    f"This API key lacks the '{needed}' scope.",
                    headers=extra,
                )
            state["principal"] = principal
        _refuse_nul_in_url(scope)
        encoded = [(k.lower().encode(), v.encode()) for k, v in extra.items()]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", ())}
                message["headers"] = [
                    *message.get("headers", ()),
                    *(h for h in encoded if h[0] not in present),
                ]
            await send(message)

        await next_app(scope, receive, send_with_headers)


async def _principal(ctx: AppContext, scope: Scope) -> Principal:
    """The caller: by its `Authorization` header, or else by a dashboard session cookie,
    whose writes must also carry the session's CSRF token (cloud/dashboard/cookies.py). A
    request with the header is judged by the header alone, whatever cookie comes along."""
    authorization = _header(scope, b"authorization")
    token = session_token(scope) if authorization is None else None
    if token is None:
        return await ctx.keys.resolve(authorization)
    return (await signed_in(scope, token)).principal


async def _answer_options(scope: Scope, send: Send) -> None:
    """`OPTIONS`: 204 with every method of the path in `Allow`. Litestar 2's own answer names
    one handler's method only when several share a path (litestar-org/litestar#4169)."""
    paths = scope["route_handler"].paths
    methods: set[str] = {"OPTIONS"}
    for route in scope["litestar_app"].routes:
        if route.path in paths:
            methods |= set(getattr(route, "methods", ()))
    allow = ", ".join(sorted(methods)).encode()
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": 204,
        "headers": [(b"allow", allow)],
    }
    body: HTTPResponseBodyEvent = {"type": "http.response.body", "body": b"", "more_body": False}
    await send(start)
    await send(body)


def _refuse_nul_in_url(scope: Scope) -> None:
    """A NUL in a path or query parameter (`%00`): 400 naming it (cloud/api/text.py)."""
    query = scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        refuse_nul_in_pairs(parse_qsl(query.decode("latin-1"), keep_blank_values=True))
    if NUL in scope.get("path", ""):
        refuse_nul_in_pairs((str(k), str(v)) for k, v in scope.get("path_params", {}).items())
        refuse_nul(scope["path"], "path")


async def _rate_limit(ctx: AppContext, key_id: str) -> dict[str, str]:
    """Count the hit for this API key; raise 429 past the limit. Headers for the response."""
    limit = ctx.settings.rate_limit_per_minute
    if ctx.limiter is None:
        return {}
    try:
        decision = await ctx.limiter.hit(f"key:{key_id}", limit, RATE_WINDOW_S)
    except RateLimiterUnavailableError:
        # Fail open: a slow counter store must not take the whole API down with it.
        logger.warning("rate limiter unavailable; request for key %s not counted", key_id)
        return {}
    headers = rate_limit_headers(decision)
    if not decision.allowed:
        raise ApiError(
            ErrorCode.RATE_LIMIT_EXCEEDED,
            f"Too many requests for this API key (limit {limit} per {RATE_WINDOW_S} s); "
            f"retry in {headers['Retry-After']} s.",
            headers=headers,
        )
    return headers
