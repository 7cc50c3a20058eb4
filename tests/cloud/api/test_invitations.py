"""Accepting an invitation: the invitee becomes a user with a key fitting the role, once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from cloud.db.models import Invitation
from cloud.db.types import utcnow
from tests.cloud.api.test_printers import OCTO
from tests.cloud.conftest import Api, OrgClient, SessionRunner, assert_error

ACCEPT = "/v1/invitations/accept"


async def invite(owner: OrgClient, email: str, role: str) -> str:
    r = await owner.post("/v1/users/invite", json={"email": email, "role": role})
    assert r.status_code == 201, r.text
    return str(r.json()["token"])


async def test_accepting_creates_the_user_and_a_key_for_the_role(owner: OrgClient) -> None:
    token = await invite(owner, "Vic@Example.com", "viewer")
    # No Authorization header: the token is the credential.
    r = await owner.api.client.post(ACCEPT, json={"token": token, "name": "Vic"})
    assert r.status_code == 201, r.text
    accepted = r.json()
    assert accepted["organization_id"] == owner.org.org_id
    user = accepted["user"]
    assert (user["email"], user["name"], user["role"]) == ("vic@example.com", "Vic", "viewer")
    key = accepted["api_key"]
    assert key["key"].startswith(key["prefix"]) and key["prefix"].startswith("apf_")
    assert "printers:read" in key["scopes"] and "printers:write" not in key["scopes"]
    listed = await owner.get("/v1/users", params={"role": "viewer"})
    assert [u["id"] for u in listed.json()["data"]] == [user["id"]]
    # The new key works, within the role's scopes.
    vic = Api.auth(key["key"])
    assert (await owner.api.client.get("/v1/printers", headers=vic)).status_code == 200
    denied = await owner.api.client.post("/v1/printers", json=OCTO, headers=vic)
    assert_error(denied, 403, "insufficient_permissions")
    me = await owner.api.client.get(f"/v1/users/{user['id']}", headers=vic)
    assert me.json() == user


async def test_members_may_run_the_farm_admins_everything(owner: OrgClient) -> None:
    scopes = {}
    for role in ("member", "admin"):
        token = await invite(owner, f"{role}@example.com", role)
        r = await owner.api.client.post(ACCEPT, json={"token": token})
        assert r.status_code == 201, r.text
        scopes[role] = set(r.json()["api_key"]["scopes"])
    assert {"printers:write", "jobs:write", "materials:write"} <= scopes["member"]
    assert "users:write" not in scopes["member"] and "admin" not in scopes["member"]
    assert "admin" in scopes["admin"]


async def test_a_token_works_once(owner: OrgClient) -> None:
    token = await invite(owner, "ann@example.com", "member")
    results = await asyncio.gather(
        *(owner.api.client.post(ACCEPT, json={"token": token}) for _ in range(4))
    )
    assert sorted(r.status_code for r in results) == [201, 409, 409, 409]
    again = await owner.api.client.post(ACCEPT, json={"token": token})
    assert_error(again, 409, "invalid_request", "token")
    users = await owner.get("/v1/users")
    assert users.json()["pagination"]["total"] == 2


async def test_unknown_expired_and_malformed_tokens(owner: OrgClient, in_db: SessionRunner) -> None:
    unknown = await owner.api.client.post(ACCEPT, json={"token": "inv_" + "x" * 40})
    assert_error(unknown, 404, "resource_not_found", "token")
    token = await invite(owner, "late@example.com", "member")

    async def expire(session: Any) -> None:
        table = Invitation.__table__  # type: ignore[attr-defined]
        await session.execute(sa.update(table).values(expires_at=utcnow() - timedelta(seconds=1)))

    await in_db(expire)
    expired = await owner.api.client.post(ACCEPT, json={"token": token})
    assert_error(expired, 400, "invalid_request", "token")
    for body in ({}, {"token": ""}, {"token": token, "role": "admin"}):
        r = await owner.api.client.post(ACCEPT, json=body)
        assert r.status_code == 400, r.text
    assert (await owner.get("/v1/users")).json()["pagination"]["total"] == 1


async def test_two_invitations_for_one_email_make_one_member(owner: OrgClient) -> None:
    first = await invite(owner, "dup@example.com", "member")
    second = await invite(owner, "dup@example.com", "viewer")
    assert (await owner.api.client.post(ACCEPT, json={"token": first})).status_code == 201
    r = await owner.api.client.post(ACCEPT, json={"token": second})
    assert_error(r, 409, "invalid_request", "token")
    assert (await owner.get("/v1/users")).json()["pagination"]["total"] == 2
