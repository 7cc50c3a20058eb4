"""`/v1/api-keys`: list, create (the key shown once), revoke (refused at once), admin only,
one organization's keys only."""

from __future__ import annotations

from typing import Any

from cloud.auth.keys import ADMIN, ALL_SCOPES, PREFIX_SHOWN
from tests.cloud.conftest import Api, OrgClient, assert_error

KEYS = "/v1/api-keys"


async def create_key(owner: OrgClient, scopes: list[str], name: str = "") -> Any:
    r = await owner.post(KEYS, json={"scopes": scopes, "name": name})
    assert r.status_code == 201, r.text
    return r.json()


async def test_create_list_and_revoke_a_key(api: Api, owner: OrgClient) -> None:
    made = await create_key(owner, ["printers:read", "jobs:write", "printers:read"], "wall")
    secret = made["key"]
    assert secret.startswith("apf_") and made["prefix"] == secret[:PREFIX_SHOWN]
    assert made["id"].startswith("key_")
    # Scopes come back deduplicated, in the one order of cloud/auth/keys.py.
    assert made["scopes"] == ["printers:read", "jobs:write"]
    assert (made["name"], made["user_id"], made["revoked"]) == ("wall", owner.org.user_id, False)
    assert made["last_used_at"] is None and made["revoked_at"] is None

    as_new = Api.auth(secret)
    assert (await api.client.get("/v1/printers", headers=as_new)).status_code == 200
    refused = await api.client.post("/v1/printers", headers=as_new, json={"name": "x"})
    assert_error(refused, 403, "insufficient_permissions")
    await api.app.state["ctx"].keys.drain()  # the last-use write runs off the request

    r = await owner.get(KEYS)
    assert r.status_code == 200
    assert secret not in r.text  # the key is shown once: never in a list
    listed = {k["id"]: k for k in r.json()["data"]}
    assert set(listed) == {owner.org.key_id, made["id"]}
    mine = listed[made["id"]]
    assert set(mine) == set(made) - {"key"}
    assert mine["last_used_at"] is not None
    assert listed[owner.org.key_id]["scopes"] == list(ALL_SCOPES)

    r = await owner.delete(f"{KEYS}/{made['id']}")
    assert r.status_code == 204, r.text
    # Refused at once: this process forgot the key it had just verified.
    assert_error(await api.client.get("/v1/printers", headers=as_new), 401, "invalid_api_key")
    revoked = (await owner.get(KEYS, params={"revoked": "true"})).json()["data"]
    assert [(k["id"], k["revoked"]) for k in revoked] == [(made["id"], True)]
    assert revoked[0]["revoked_at"] is not None
    live = (await owner.get(KEYS, params={"revoked": "false"})).json()["data"]
    assert [k["id"] for k in live] == [owner.org.key_id]
    again = await owner.delete(f"{KEYS}/{made['id']}")
    assert again.status_code == 204  # idempotent
    after = (await owner.get(KEYS, params={"revoked": "true"})).json()["data"]
    assert after[0]["revoked_at"] == revoked[0]["revoked_at"]


async def test_the_list_pages_sorts_and_picks_fields(owner: OrgClient) -> None:
    await create_key(owner, ["jobs:read"], "b")
    await create_key(owner, ["jobs:read"], "a")
    r = await owner.get(KEYS, params={"sort": "name", "per_page": 2, "fields": "id,name"})
    body = r.json()
    assert [k["name"] for k in body["data"]] == ["a", "b"]
    assert set(body["data"][0]) == {"id", "name"}
    assert body["pagination"]["total"] == 3
    assert_error(await owner.get(KEYS, params={"sort": "key_hash"}), 400, "invalid_request")
    assert_error(await owner.get(KEYS, params={"fields": "key"}), 400, "invalid_request")
    assert_error(await owner.get(KEYS, params={"user": "x"}), 400, "invalid_request", "user")


async def test_a_key_without_admin_may_do_none_of_it(api: Api, owner: OrgClient) -> None:
    almost = await create_key(owner, [s for s in ALL_SCOPES if s != ADMIN])
    headers = Api.auth(almost["key"])
    calls: list[tuple[str, str, Any]] = [
        ("GET", KEYS, None),
        ("POST", KEYS, {"scopes": ["printers:read"]}),
        ("DELETE", f"{KEYS}/{owner.org.key_id}", None),
    ]
    for method, url, body in calls:
        r = await api.client.request(method, url, headers=headers, json=body)
        assert_error(r, 403, "insufficient_permissions")
        assert "admin" in r.json()["error"]["message"]
    assert (await owner.get("/v1/printers")).status_code == 200  # nothing was revoked


async def test_another_organizations_keys_are_not_found(owner: OrgClient, other: OrgClient) -> None:
    made = await create_key(owner, ["printers:read"])
    for key_id in (made["id"], owner.org.key_id):
        assert_error(await other.delete(f"{KEYS}/{key_id}"), 404, "resource_not_found", "id")
    listed = (await other.get(KEYS)).json()["data"]
    assert [k["id"] for k in listed] == [other.org.key_id]
    assert (await owner.get("/v1/printers")).status_code == 200
    ids = {k["id"]: k["revoked"] for k in (await owner.get(KEYS)).json()["data"]}
    assert ids == {owner.org.key_id: False, made["id"]: False}
    assert_error(await owner.delete(f"{KEYS}/key_missing"), 404, "resource_not_found")


async def test_bodies_are_validated(owner: OrgClient) -> None:
    for body, param in (
        ({"scopes": ["printers:fly"]}, "scopes"),
        ({"scopes": []}, "scopes"),
        ({"scopes": "admin"}, "scopes"),
        ({}, "scopes"),
        ({"scopes": ["admin"], "name": "x" * 201}, "name"),
        ({"scopes": ["admin"], "key": "apf_mine"}, "key"),
    ):
        r = await owner.post(KEYS, json=body)
        assert_error(r, 400, "invalid_request")
        assert param in r.text, (body, r.text)
    assert [k["id"] for k in (await owner.get(KEYS)).json()["data"]] == [owner.org.key_id]


async def test_the_last_admin_key_stays_and_a_key_may_revoke_itself(
    api: Api, owner: OrgClient
) -> None:
    r = await owner.delete(f"{KEYS}/{owner.org.key_id}")
    assert_error(r, 409, "invalid_request", "id")
    assert "last admin key" in r.json()["error"]["message"]
    spare = await create_key(owner, [ADMIN], "spare")
    # Now the caller's own key may go, and is refused from its next request on.
    assert (await owner.delete(f"{KEYS}/{owner.org.key_id}")).status_code == 204
    assert_error(await owner.get("/v1/printers"), 401, "invalid_api_key")
    as_spare = Api.auth(spare["key"])
    keys = (await api.client.get(KEYS, headers=as_spare)).json()["data"]
    assert {k["id"]: k["revoked"] for k in keys} == {owner.org.key_id: True, spare["id"]: False}
    r = await api.client.delete(f"{KEYS}/{spare['id']}", headers=as_spare)
    assert_error(r, 409, "invalid_request", "id")


async def test_a_revoked_keys_dashboard_sessions_end_at_once(api: Api, owner: OrgClient) -> None:
    made = await create_key(owner, ["printers:read"])
    r = await api.client.post("/dashboard/api/session", json={"api_key": made["key"]})
    assert r.status_code == 201, r.text
    cookie = {"Cookie": r.headers["set-cookie"].split(";", 1)[0]}
    api.client.cookies.clear()
    assert (await api.client.get("/v1/printers", headers=cookie)).status_code == 200
    assert (await owner.delete(f"{KEYS}/{made['id']}")).status_code == 204
    assert_error(await api.client.get("/v1/printers", headers=cookie), 401, "invalid_api_key")
    gone = await api.client.get("/dashboard/api/session", headers=cookie)
    assert_error(gone, 401, "invalid_api_key")
