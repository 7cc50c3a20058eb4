"""`/dashboard/api/session`: sign in with an API key, see who is signed in, sign out.

Not part of `/v1` nor of its OpenAPI document: the answer is a cookie for a browser, which an
API client has no use for. The key travels once, in the body of the sign-in (never a URL,
whose path reaches the access log); no log line names it and no answer echoes it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.params import JSONBody

from cloud.api.deps import app_context
from cloud.auth.keys import ALL_SCOPES, KEY_PREFIX
from cloud.dashboard.cookies import (
    clear_cookie,
    is_secure,
    session_resolver,
    session_token,
    set_cookie,
    signed_in,
)
from cloud.dashboard.sessions import SignedIn, signed_out
from cloud.errors import ApiError, Problem
from shared.enums import ErrorCode

# A sign-in body holds one key (`apf_` + 40 characters); nothing bigger is read.
_BODY_MAX_BYTES = 4096
# The answers carry the CSRF token: no cache may keep them.
_NO_STORE = {"Cache-Control": "no-store"}


class SignInIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The API key to sign in with (`apf_…`); it is checked, never stored or shown."""

    api_key: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class SessionOut(msgspec.Struct, kw_only=True):
    """Who the browser is signed in as, and the token its writes must send back in
    `X-CSRF-Token`. The page keeps it in memory; `GET` gives it again after a reload."""

    org_id: str
    key_id: str
    scopes: list[str]
    csrf_token: str
    expires_at: datetime


def _out(signed: SignedIn) -> SessionOut:
    scopes = signed.principal.scopes
    return SessionOut(
        org_id=signed.principal.org_id,
        key_id=signed.principal.key_id,
        scopes=[s for s in ALL_SCOPES if s in scopes],
        csrf_token=signed.csrf_token,
        expires_at=signed.expires_at,
    )


def _refuse_non_json(request: Request[Any, Any, Any]) -> None:
    """A form of another site can post `text/plain` without a CORS preflight (a sign-in as
    the attacker's key, "login CSRF"); only a same-origin script can send JSON."""
    if request.content_type[0] != "application/json":
        raise ApiError(
            ErrorCode.INVALID_REQUEST,
            "Send the sign-in as JSON (Content-Type: application/json).",
            status_code=415,
        )


class SessionController(Controller):
    path = "/dashboard/api/session"
    include_in_schema = False
    request_max_body_size = _BODY_MAX_BYTES

    @post("/", status_code=201)
    async def sign_in(
        self, request: Request[Any, Any, Any], data: JSONBody[SignInIn]
    ) -> Response[SessionOut]:
        """Sign in with an API key: 201, the session in the body and its cookie set."""
        _refuse_non_json(request)
        ctx = app_context(request)
        key = data.api_key.strip()
        if not key.startswith(KEY_PREFIX):  # the resolver's own message speaks of a header
            raise Problem(ErrorCode.INVALID_API_KEY, "API key invalid or revoked.")
        principal = await ctx.keys.resolve(f"Bearer {key}")
        resolver = session_resolver(request.app.state)
        signed, token = await resolver.create(principal)
        max_age_s = int(resolver.lifetime.total_seconds())
        secure = is_secure(request.scope, ctx.settings)
        return Response(
            _out(signed),
            status_code=201,
            headers={**_NO_STORE, "Set-Cookie": set_cookie(token, max_age_s, secure=secure)},
        )

    @get("/")
    async def current(self, request: Request[Any, Any, Any]) -> Response[SessionOut]:
        """The session of the cookie (for a page load): 200, or 401 when signed out."""
        token = session_token(request.scope)
        if token is None:
            raise signed_out()
        signed = await signed_in(request.scope, token)
        return Response(_out(signed), headers=_NO_STORE)

    @delete("/", status_code=204)
    async def sign_out(self, request: Request[Any, Any, Any]) -> Response[None]:
        """Sign out (with the CSRF header, like any write): 204, the cookie cleared."""
        token = session_token(request.scope)
        if token is None:
            raise signed_out()
        signed = await signed_in(request.scope, token)
        await session_resolver(request.app.state).revoke(signed.session_id)
        secure = is_secure(request.scope, app_context(request).settings)
        return Response(
            None,
            status_code=204,
            headers={**_NO_STORE, "Set-Cookie": clear_cookie(secure=secure)},
        )
