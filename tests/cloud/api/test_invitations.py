"""Invitations: accepting one (the invitee becomes a user with a key fitting the role, once),
and the open ones listed and revoked."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from cloud.db.models import Invitation
from cloud.db.types import utcnow
from cloud.services.admin import new_api_key
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


async def invitation_id(owner: OrgClient, email: str, role: str) -> tuple[str, str]:
    r = await owner.post("/v1/users/invite", json={"email": email, "role": role})
    assert r.status_code == 201, r.text
    return str(r.json()["id"]), str(r.json()["token"])


async def test_open_invitations_are_listed_without_their_tokens(
    owner: OrgClient, other: OrgClient, in_db: SessionRunner
) -> None:
    first, first_token = await invitation_id(owner, "b@example.com", "viewer")
    second, _ = await invitation_id(owner, "a@example.com", "admin")
    _, accepted_token = await invitation_id(owner, "c@example.com", "member")
    expired, _ = await invitation_id(owner, "d@example.com", "member")
    await invitation_id(other, "rival@example.com", "member")
    assert (await owner.api.client.post(ACCEPT, json={"token": accepted_token})).status_code == 201

    async def expire(session: Any) -> None:
        table = Invitation.__table__  # type: ignore[attr-defined]
        await session.execute(
            sa.update(table)
            .where(table.c.id == expired)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )

    await in_db(expire)
    r = await owner.get("/v1/invitations")
    assert r.status_code == 200, r.text
    listed = r.json()
    assert [i["id"] for i in listed["data"]] == [first, second]  # oldest first
    assert listed["pagination"]["total"] == 2
    shown = listed["data"][0]
    assert (shown["email"], shown["role"]) == ("b@example.com", "viewer")
    assert shown["invited_by"] == owner.org.user_id
    assert first_token not in r.text and "token" not in shown
    by_email = await owner.get("/v1/invitations", params={"sort": "email", "fields": "id,email"})
    assert by_email.json()["data"] == [
        {"id": second, "email": "a@example.com"},
        {"id": first, "email": "b@example.com"},
    ]
    assert_error(await owner.get("/v1/invitations", params={"role": "x"}), 400, "invalid_request")


async def test_a_revoked_invitation_cannot_be_accepted_and_frees_its_place(api: Api) -> None:
    free = OrgClient(api, await api.new_org("tiny", plan="free"))
    made = [await invitation_id(free, f"u{i}@x.test", "member") for i in range(4)]
    full = await free.post("/v1/users/invite", json={"email": "late@x.test"})
    assert_error(full, 403, "quota_exceeded")
    revoked_id, revoked_token = made[0]
    r = await free.delete(f"/v1/invitations/{revoked_id}")
    assert r.status_code == 204, r.text
    # Its link is dead, and the plan has room for another invitation.
    refused = await api.client.post(ACCEPT, json={"token": revoked_token})
    assert_error(refused, 404, "resource_not_found", "token")
    assert (await free.post("/v1/users/invite", json={"email": "late@x.test"})).status_code == 201
    listed = await free.get("/v1/invitations")
    assert revoked_id not in [i["id"] for i in listed.json()["data"]]
    assert_error(await free.delete(f"/v1/invitations/{revoked_id}"), 404, "resource_not_found")
    # An accepted invitation is a member now, not an invitation to revoke.
    accepted_id, accepted_token = made[1]
    assert (await api.client.post(ACCEPT, json={"token": accepted_token})).status_code == 201
    assert_error(await free.delete(f"/v1/invitations/{accepted_id}"), 404, "resource_not_found")


async def test_invitations_stay_within_their_organization_and_scopes(
    owner: OrgClient, other: OrgClient, in_db: SessionRunner
) -> None:
    mine, token = await invitation_id(owner, "ann@example.com", "member")
    assert_error(await other.delete(f"/v1/invitations/{mine}"), 404, "resource_not_found")
    assert (await other.get("/v1/invitations")).json()["data"] == []

    async def reader_key(session: Any) -> str:
        row, secret = new_api_key(
            owner.org.org_id, scopes=["users:read"], user_id=None, name="reader"
        )
        session.add(row)
        return secret

    reader = Api.auth(str(await in_db(reader_key)))
    seen = await owner.api.client.get("/v1/invitations", headers=reader)
    assert [i["id"] for i in seen.json()["data"]] == [mine]
    denied = await owner.api.client.delete(f"/v1/invitations/{mine}", headers=reader)
    assert_error(denied, 403, "insufficient_permissions")
    assert (await owner.api.client.post(ACCEPT, json={"token": token})).status_code == 201
