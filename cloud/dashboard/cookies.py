"""The dashboard session at the HTTP edge: its cookie, and the CSRF header of its writes.

A browser sends a cookie with every request to the site, whoever's page made it; that is why
a write made with the cookie must also carry `X-CSRF-Token`, which only the dashboard's own
pages can read (from the sign-in answer). Two defences, either enough alone: `SameSite=Strict`
keeps the cookie off requests started by another site, and another origin's script cannot
set a custom header without a CORS preflight, which this service never grants.
"""

from __future__ import annotations

import hmac
from datetime import timedelta

from litestar.datastructures import State
from litestar.types import Scope

from cloud.api.state import AppContext
from cloud.dashboard.sessions import SessionResolver, SignedIn
from cloud.errors import ApiError
from cloud.settings import Settings
from shared.enums import ErrorCode

COOKIE_NAME = "apf_session"
CSRF_HEADER = "X-CSRF-Token"
# Methods that change nothing (RFC 9110 §9.2.1): no CSRF token asked for.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_RESOLVER_STATE = "dashboard_sessions"


def session_resolver(app_state: State) -> SessionResolver:
    """The app's session resolver, made at its first use from the app's context: one per
    app, so its cache is the one every sign-out of this process clears."""
    resolver = app_state.get(_RESOLVER_STATE)
    if isinstance(resolver, SessionResolver):
        return resolver
    ctx: AppContext = app_state["ctx"]
    resolver = SessionResolver(
        ctx.sessions,
        ctx.write_lock,
        lifetime=timedelta(hours=ctx.settings.dashboard_session_hours),
        reader=ctx.reader,
    )
    app_state[_RESOLVER_STATE] = resolver
    return resolver


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def session_token(scope: Scope) -> str | None:
    """The `apf_session` cookie's value, if the request has one (HTTP/2 may split `Cookie`
    over several header lines, RFC 9113 §8.2.3)."""
    for key, value in scope.get("headers", ()):
        if key != b"cookie":
            continue
        for pair in value.decode("latin-1").split(";"):
            name, sep, token = pair.strip().partition("=")
            if sep and name == COOKIE_NAME and token:
                return token.strip('"')
    return None


def check_csrf(signed: SignedIn, method: str, token: str | None) -> None:
    """A write with the session's cookie must carry its CSRF token; 403 otherwise."""
    if method in SAFE_METHODS:
        return
    if token is None or not hmac.compare_digest(token.encode(), signed.csrf_token.encode()):
        raise ApiError(
            ErrorCode.INSUFFICIENT_PERMISSIONS,
            f"A write signed in by cookie needs the session's '{CSRF_HEADER}' header "
            "(the csrf_token of the sign-in answer).",
            param=CSRF_HEADER,
        )


async def signed_in(scope: Scope, token: str) -> SignedIn:
    """The session of the cookie `token`, its CSRF token checked for a write: 401 without a
    live session, 403 for a write without the right token."""
    signed = await session_resolver(scope["litestar_app"].state).resolve(token)
    check_csrf(signed, str(scope.get("method", "GET")), header(scope, CSRF_HEADER.lower().encode()))
    return signed


def is_secure(scope: Scope, settings: Settings) -> bool:
    """Whether the cookie gets `Secure`: the request came over TLS, or the service is
    published at an https:// address (TLS ended by a proxy; forwarded headers are not
    trusted, `proxy_headers=False` in cloud/server.py, so the setting says it)."""
    return scope.get("scheme") == "https" or settings.public_url.startswith("https://")


def set_cookie(token: str, max_age_s: int, *, secure: bool) -> str:
    """The `Set-Cookie` value that hands the session to the browser: never readable by a
    page's script (`HttpOnly`), never sent on a request another site starts (`SameSite`)."""
    value = f"{COOKIE_NAME}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age_s}"
    return value + "; Secure" if secure else value


def clear_cookie(*, secure: bool) -> str:
    """The `Set-Cookie` value that removes the session cookie from the browser."""
    return set_cookie("", 0, secure=secure)
