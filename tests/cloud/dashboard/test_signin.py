"""Signing in to the dashboard: the cookie, CSRF-safe writes, sign-out, and what ends a session."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import msgspec
import pytest
from sqlalchemy import update

from cloud.app import build_context, create_app
from cloud.dashboard.cookies import COOKIE_NAME, CSRF_HEADER, session_resolver
from cloud.db.models import ApiKey, DashboardSession
from cloud.db.types import utcnow
from cloud.services.admin import new_api_key
from cloud.services.invitations import ROLE_SCOPES
from cloud.settings import Settings, SettingsError, load_settings
from tests.cloud.conftest import SQLITE_ONLY, Api, OrgClient, SessionRunner, assert_error

SESSION = "/dashboard/api/session"
SPOOL = {"type": "PLA", "spool_weight": 1000, "remaining_weight": 650}


def _cookie_attributes(set_cookie: str) -> tuple[str, dict[str, str]]:
    """The cookie's value and its attributes (names lower-cased; flags map to "")."""
    first, *rest = (part.strip() for part in set_cookie.split(";"))
    name, _, value = first.partition("=")
    assert name == COOKIE_NAME
    attrs = {}
    for part in rest:
        key, _, val = part.partition("=")
        attrs[key.lower()] = val
    return value, attrs


async def sign_in(client: httpx.AsyncClient, key: str, url: str = SESSION) -> tuple[str, Any]:
    """Sign in with `key`: the cookie's value and the answer's body. The client's own jar
    is emptied, so each request below says which cookie it sends."""
    r = await client.post(url, json={"api_key": key})
    assert r.status_code == 201, r.text
    client.cookies.clear()
    token, _ = _cookie_attributes(r.headers["set-cookie"])
    return token, r.json()


def with_cookie(token: str, csrf: str | None = None) -> dict[str, str]:
    headers = {"Cookie": f"{COOKIE_NAME}={token}"}
    if csrf is not None:
        headers[CSRF_HEADER] = csrf
    return headers


async def key_with(owner: OrgClient, in_db: SessionRunner, scopes: list[str]) -> str:
    async def add(session: Any) -> str:
        row, secret = new_api_key(owner.org.org_id, scopes=scopes, user_id=None, name="t")
        session.add(row)
        return secret

    return str(await in_db(add))


async def test_sign_in_sets_a_strict_http_only_cookie(api: Api, owner: OrgClient) -> None:
    key = owner.org.api_key
    r = await api.client.post(SESSION, json={"api_key": key})
    assert r.status_code == 201, r.text
    token, attrs = _cookie_attributes(r.headers["set-cookie"])
    assert token.startswith("apfs_") and key not in token
    assert "httponly" in attrs and attrs["samesite"] == "Strict" and attrs["path"] == "/"
    assert int(attrs["max-age"]) == 12 * 3600
    assert "secure" not in attrs  # plain http, and public_url is http://
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert set(body) == {"org_id", "key_id", "scopes", "csrf_token", "expires_at"}
    assert body["org_id"] == owner.org.org_id and "admin" in body["scopes"]
    assert key not in r.text
    # A page load asks who is signed in: the same answer, from the cookie alone.
    api.client.cookies.clear()
    again = await api.client.get(SESSION, headers=with_cookie(token))
    assert again.status_code == 200, again.text
    assert again.json() == body


@SQLITE_ONLY
async def test_cookie_is_secure_over_https(api: Api, owner: OrgClient) -> None:
    r = await api.client.post(
        "https://testserver.local" + SESSION, json={"api_key": owner.org.api_key}
    )
    assert r.status_code == 201, r.text
    assert "secure" in _cookie_attributes(r.headers["set-cookie"])[1]


@asynccontextmanager
async def _client_of(settings: Settings) -> AsyncIterator[tuple[Api, httpx.AsyncClient]]:
    ctx = build_context(settings)
    app = create_app(settings, context=ctx)
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as c:
            yield Api(client=c, app=app, settings=settings), c
    finally:
        await ctx.engine.dispose()


@SQLITE_ONLY
async def test_cookie_is_secure_when_published_over_https(settings: Settings) -> None:
    """TLS ended by a proxy: the request is http, the published address says https. The
    lifetime follows `dashboard_session_hours`."""
    published = msgspec.structs.replace(
        settings, public_url="https://farm.example", dashboard_session_hours=2
    )
    async with _client_of(published) as (api, client):
        org = await api.new_org("tls")
        r = await client.post(SESSION, json={"api_key": org.api_key})
        assert r.status_code == 201, r.text
        _, attrs = _cookie_attributes(r.headers["set-cookie"])
        assert "secure" in attrs and int(attrs["max-age"]) == 2 * 3600
        out = await client.delete(
            SESSION, headers={CSRF_HEADER: r.json()["csrf_token"]}
        )  # the jar sends no Secure cookie over http: not signed in
        assert_error(out, 401, "invalid_api_key")


def test_session_hours_setting_is_bounded() -> None:
    assert load_settings(environ={}).dashboard_session_hours == 12
    assert (
        load_settings(environ={"APF_DASHBOARD_SESSION_HOURS": "720"}).dashboard_session_hours == 720
    )
    for bad in ("0", "721"):
        with pytest.raises(SettingsError, match="dashboard_session_hours"):
            load_settings(environ={"APF_DASHBOARD_SESSION_HOURS": bad})


async def test_the_cookie_reads_the_api(api: Api, owner: OrgClient) -> None:
    token, _ = await sign_in(api.client, owner.org.api_key)
    r = await api.client.get("/v1/printers", headers=with_cookie(token))
    assert r.status_code == 200, r.text
    assert "ratelimit-policy" in r.headers  # counted against the key that signed in
    assert_error(await api.client.get("/v1/printers"), 401, "invalid_api_key")
    unknown = with_cookie("apfs_" + "x" * 40)
    assert_error(await api.client.get("/v1/printers", headers=unknown), 401, "invalid_api_key")


async def test_writes_need_the_csrf_token(api: Api, owner: OrgClient) -> None:
    token, body = await sign_in(api.client, owner.org.api_key)
    for headers in (with_cookie(token), with_cookie(token, "wrong"), with_cookie(token, "")):
        r = await api.client.post("/v1/materials", json=SPOOL, headers=headers)
        assert_error(r, 403, "insufficient_permissions", CSRF_HEADER)
    r = await api.client.post(
        "/v1/materials", json=SPOOL, headers=with_cookie(token, body["csrf_token"])
    )
    assert r.status_code == 201, r.text


async def test_an_authorization_header_ignores_the_cookie(api: Api, owner: OrgClient) -> None:
    token, _ = await sign_in(api.client, owner.org.api_key)
    bad = {**with_cookie(token), "Authorization": "Bearer apf_" + "0" * 40}
    assert_error(await api.client.get("/v1/printers", headers=bad), 401, "invalid_api_key")
    # A key in the header needs no CSRF token: no browser sends it on its own.
    good = {**with_cookie(token), **owner.headers}
    r = await api.client.post("/v1/materials", json=SPOOL, headers=good)
    assert r.status_code == 201, r.text


async def test_a_viewer_session_cannot_write(
    api: Api, owner: OrgClient, in_db: SessionRunner
) -> None:
    viewer = await key_with(owner, in_db, ROLE_SCOPES["viewer"])
    token, body = await sign_in(api.client, viewer)
    assert "materials:write" not in body["scopes"] and "materials:read" in body["scopes"]
    assert (await api.client.get("/v1/materials", headers=with_cookie(token))).status_code == 200
    r = await api.client.post(
        "/v1/materials", json=SPOOL, headers=with_cookie(token, body["csrf_token"])
    )
    assert_error(r, 403, "insufficient_permissions")
    assert "materials:write" in r.json()["error"]["message"]


async def test_sign_out(api: Api, owner: OrgClient) -> None:
    token, body = await sign_in(api.client, owner.org.api_key)
    assert (await api.client.get("/v1/printers", headers=with_cookie(token))).status_code == 200
    r = await api.client.delete(SESSION, headers=with_cookie(token))
    assert_error(r, 403, "insufficient_permissions", CSRF_HEADER)
    r = await api.client.delete(SESSION, headers=with_cookie(token, body["csrf_token"]))
    assert r.status_code == 204, r.text
    value, attrs = _cookie_attributes(r.headers["set-cookie"])
    assert value == "" and attrs["max-age"] == "0" and "httponly" in attrs
    # Cached a moment ago, and still refused at once: the sign-out cleared the cache.
    refused = await api.client.get("/v1/printers", headers=with_cookie(token))
    assert_error(refused, 401, "invalid_api_key")
    assert_error(await api.client.get(SESSION, headers=with_cookie(token)), 401, "invalid_api_key")
    again = await api.client.delete(SESSION, headers=with_cookie(token, body["csrf_token"]))
    assert_error(again, 401, "invalid_api_key")
    # The key itself is untouched.
    assert (await owner.get("/v1/printers")).status_code == 200


async def test_revoking_the_key_ends_its_sessions(
    api: Api, owner: OrgClient, in_db: SessionRunner
) -> None:
    token, _ = await sign_in(api.client, owner.org.api_key)
    assert (await api.client.get("/v1/printers", headers=with_cookie(token))).status_code == 200

    async def revoke(session: Any) -> None:
        await session.execute(update(ApiKey).values(revoked_at=utcnow()))

    await in_db(revoke)
    session_resolver(api.app.state).forget()  # revoked by another process; the cache expires
    r = await api.client.get("/v1/printers", headers=with_cookie(token))
    assert_error(r, 401, "invalid_api_key")
    assert_error(await api.client.get(SESSION, headers=with_cookie(token)), 401, "invalid_api_key")


async def test_an_expired_session_is_refused(
    api: Api, owner: OrgClient, in_db: SessionRunner
) -> None:
    token, _ = await sign_in(api.client, owner.org.api_key)

    async def expire(session: Any) -> None:
        await session.execute(
            update(DashboardSession).values(expires_at=utcnow() - timedelta(seconds=1))
        )

    await in_db(expire)
    r = await api.client.get("/v1/printers", headers=with_cookie(token))
    assert_error(r, 401, "invalid_api_key")
    # Signing in again starts a new session and removes the key's ended ones.
    await sign_in(api.client, owner.org.api_key)


@pytest.mark.parametrize("key", ["apf_" + "Z" * 40, "not-a-key-at-all", "   ", "apf_" + "y" * 150])
async def test_a_wrong_key_is_refused_without_echo(api: Api, owner: OrgClient, key: str) -> None:
    r = await api.client.post(SESSION, json={"api_key": key})
    assert_error(r, 401, "invalid_api_key")
    assert not key.strip() or key.strip() not in r.text
    assert "set-cookie" not in r.headers


@SQLITE_ONLY
async def test_sign_in_takes_json_only(api: Api, owner: OrgClient) -> None:
    """Another site's form can post text/plain without a preflight ("login CSRF")."""
    body = msgspec.json.encode({"api_key": owner.org.api_key})
    r = await api.client.post(SESSION, content=body, headers={"Content-Type": "text/plain"})
    assert_error(r, 415, "invalid_request")
    assert owner.org.api_key not in r.text and "set-cookie" not in r.headers
    r = await api.client.post(SESSION, json={"api_key": owner.org.api_key, "remember": True})
    assert_error(r, 400, "invalid_request")
    assert owner.org.api_key not in r.text


@SQLITE_ONLY
async def test_the_key_is_never_logged(
    api: Api, owner: OrgClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    key = owner.org.api_key
    token, _ = await sign_in(api.client, key)
    await api.client.post(SESSION, json={"api_key": key[:-1] + "Q"})
    await api.client.get("/v1/printers", headers=with_cookie(token))
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert key not in logged and key[:-1] not in logged and token not in logged
