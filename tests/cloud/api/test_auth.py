"""Authentication, scopes, rate limits, request ids and the error envelope."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from sqlalchemy import update

from cloud.auth.keys import PREFIX_SHOWN, Principal
from cloud.db.models import ApiKey
from cloud.db.types import utcnow
from cloud.services.admin import new_api_key
from cloud.settings import Settings
from tests.cloud.conftest import (
    SQLITE_ONLY,
    Api,
    OrgClient,
    SessionRunner,
    assert_error,
    open_api,
)


async def key_with(api: Api, owner: OrgClient, in_db: SessionRunner, scopes: list[str]) -> str:
    async def add(session: Any) -> str:
        row, secret = new_api_key(owner.org.org_id, scopes=scopes, user_id=None, name="t")
        session.add(row)
        return secret

    return str(await in_db(add))


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer",
        "Basic abc",
        "Bearer apf_unknownkey0000000000000000000000000000",
        "Bearer not-a-key",
        "bearer " + "x" * 500,
    ],
)
@SQLITE_ONLY
async def test_missing_or_unknown_key(api: Api, owner: OrgClient, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    r = await api.client.get("/v1/printers", headers=headers)
    assert_error(r, 401, "invalid_api_key")


async def test_revoked_key(api: Api, owner: OrgClient, in_db: SessionRunner) -> None:
    assert (await owner.get("/v1/printers")).status_code == 200

    async def revoke(session: Any) -> None:
        await session.execute(update(ApiKey).values(revoked_at=utcnow()))

    await in_db(revoke)
    api.app.state["ctx"].keys.forget()  # another process revoked it; the cache expires
    assert_error(await owner.get("/v1/printers"), 401, "invalid_api_key")


async def test_scopes(api: Api, owner: OrgClient, in_db: SessionRunner) -> None:
    reader = await key_with(api, owner, in_db, ["printers:read"])
    h = Api.auth(reader)
    assert (await api.client.get("/v1/printers", headers=h)).status_code == 200
    r = await api.client.post("/v1/printers", headers=h, json={"name": "x"})
    assert_error(r, 403, "insufficient_permissions")
    assert "printers:write" in r.json()["error"]["message"]
    assert_error(await api.client.get("/v1/jobs", headers=h), 403, "insufficient_permissions")
    writer = await key_with(api, owner, in_db, ["jobs:write"])
    # write includes read
    assert (await api.client.get("/v1/jobs", headers=Api.auth(writer))).status_code == 200


def test_principal_scope_rules() -> None:
    p = Principal(org_id="o", key_id="k", user_id=None, scopes=frozenset({"jobs:write"}))
    assert p.allows("jobs:read") and p.allows("jobs:write")
    assert not p.allows("printers:read")
    admin = Principal(org_id="o", key_id="k", user_id=None, scopes=frozenset({"admin"}))
    assert admin.allows("webhooks:write")


async def test_key_prefix_only_is_stored(owner: OrgClient, in_db: SessionRunner) -> None:
    async def keys(session: Any) -> list[ApiKey]:
        from sqlalchemy import select

        return list((await session.execute(select(ApiKey))).scalars())

    rows = await in_db(keys)
    secret = owner.org.api_key
    assert [r.prefix for r in rows] == [secret[:PREFIX_SHOWN]]
    assert all(secret not in repr(r.model_dump()) for r in rows)


async def test_rate_limit_429_with_headers(api: Api, owner: OrgClient) -> None:
    import msgspec

    ctx = api.app.state["ctx"]
    ctx.settings = msgspec.structs.replace(ctx.settings, rate_limit_per_minute=3)
    for remaining in (2, 1, 0):
        r = await owner.get("/v1/printers")
        assert r.status_code == 200
        assert r.headers["RateLimit"].startswith(f'"default";r={remaining};')
        assert r.headers["RateLimit-Policy"] == '"default";q=3;w=60'
    r = await owner.get("/v1/printers")
    assert_error(r, 429, "rate_limit_exceeded")
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    # Per key: another organization's key is not affected.
    other = OrgClient(api, await api.new_org("second"))
    assert (await other.get("/v1/printers")).status_code == 200


async def test_the_database_rate_limiter_counts_with_the_apps_other_writers(
    settings: Settings,
) -> None:
    # Shared by every process on the database; on SQLite its counting writes queue on the
    # app's write lock like every other writer (tests/cloud's apps refuse any that do not).
    shared = msgspec.structs.replace(
        settings, rate_limit_backend="database", rate_limit_per_minute=3
    )
    async with open_api(shared) as api:
        owner = OrgClient(api, await api.new_org())
        statuses = [(await owner.get("/v1/printers")).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


async def test_request_id_echoed_and_generated(owner: OrgClient) -> None:
    r = await owner.get("/v1/printers", headers={"X-Request-Id": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    r = await owner.get("/v1/printers/prt_nope", headers={"X-Request-Id": "bad id with spaces"})
    assert r.headers["x-request-id"].startswith("req_")
    assert r.json()["error"]["request_id"] == r.headers["x-request-id"]


@SQLITE_ONLY
async def test_unknown_route_and_method(api: Api, owner: OrgClient) -> None:
    assert_error(await api.client.get("/v2/printers"), 404, "resource_not_found")
    r = await owner.request("PUT", "/v1/printers")
    assert r.status_code == 405
    assert r.json()["error"]["code"] == "invalid_request"
