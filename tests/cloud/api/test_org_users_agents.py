"""`/v1/organization`, `/v1/users`, `/v1/agents`."""

from __future__ import annotations

import tomllib

import msgspec
import pytest

from agent.config import AgentConfig
from tests.cloud.api.test_printers import make_printer
from tests.cloud.conftest import SQLITE_ONLY, Api, OrgClient, assert_error


async def test_organization_get_patch_and_usage(owner: OrgClient) -> None:
    await make_printer(owner)
    r = await owner.get("/v1/organization")
    assert r.status_code == 200
    org = r.json()
    assert (org["id"], org["name"], org["plan"]) == (owner.org.org_id, "acme", "pro")
    assert org["usage"]["printers"] == 1
    assert org["usage"]["users"] == 1
    assert org["limits"]["printers"] == 200
    assert org["home_assistant_enabled"] is False  # opt-in (docs/home-assistant.md)
    r = await owner.patch("/v1/organization", json={"name": "Acme Farms"})
    assert r.json()["name"] == "Acme Farms"
    r = await owner.patch("/v1/organization", json={"home_assistant_enabled": True})
    assert (r.json()["name"], r.json()["home_assistant_enabled"]) == ("Acme Farms", True)
    assert (await owner.get("/v1/organization")).json()["home_assistant_enabled"] is True
    assert_error(
        await owner.patch("/v1/organization", json={"home_assistant_enabled": "yes"}),
        400,
        "invalid_request",
        "home_assistant_enabled",
    )
    assert_error(
        await owner.patch("/v1/organization", json={"plan": "enterprise"}),
        400,
        "invalid_request",
        "plan",
    )


async def test_users_and_invitations(owner: OrgClient) -> None:
    r = await owner.get("/v1/users")
    users = r.json()["data"]
    assert [(u["id"], u["role"]) for u in users] == [(owner.org.user_id, "owner")]
    assert (await owner.get(f"/v1/users/{owner.org.user_id}")).json() == users[0]
    r = await owner.post("/v1/users/invite", json={"email": "Ann@Example.com", "role": "admin"})
    assert r.status_code == 201, r.text
    inv = r.json()
    assert (inv["email"], inv["role"]) == ("ann@example.com", "admin")
    assert inv["token"].startswith("inv_") and len(inv["token"]) > 30
    assert inv["expires_at"] > inv["created_at"]
    assert_error(
        await owner.post("/v1/users/invite", json={"email": "x@y", "role": "owner"}),
        400,
        "invalid_request",
        "role",
    )
    assert_error(
        await owner.post("/v1/users/invite", json={"email": "not-an-email"}),
        400,
        "invalid_request",
        "email",
    )
    assert_error(
        await owner.post("/v1/users/invite", json={"email": "owner@acme.test"}),
        400,
        "invalid_request",
        "email",
    )
    assert_error(await owner.get("/v1/users/usr_nope"), 404, "resource_not_found")
    assert_error(
        await owner.get("/v1/users", params={"role": "boss"}), 400, "invalid_request", "role"
    )


async def test_user_quota(api: Api) -> None:
    free = OrgClient(api, await api.new_org("tiny", plan="free"))
    for i in range(4):  # the free plan allows 5 users: the owner + 4 invitations
        r = await free.post("/v1/users/invite", json={"email": f"u{i}@x.test"})
        assert r.status_code == 201
    assert_error(
        await free.post("/v1/users/invite", json={"email": "u9@x.test"}), 403, "quota_exceeded"
    )


async def test_agent_register_config_and_revoke(owner: OrgClient) -> None:
    r = await owner.post("/v1/agents", json={"name": "pi-garage"})
    assert r.status_code == 201, r.text
    reg = r.json()
    agent = reg["agent"]
    assert agent["id"].startswith("agt_")
    assert (agent["state"], agent["revoked"]) == ("offline", False)
    assert reg["mqtt"]["username"] == agent["id"]
    assert reg["mqtt"]["topic_root"] == f"apf/{owner.org.org_id}/agents/{agent['id']}"
    # The snippet is a valid agent config (decoded by the agent's own strict parser).
    config = msgspec.convert(tomllib.loads(reg["config_toml"]), AgentConfig)
    assert (config.agent_id, config.org_id) == (agent["id"], owner.org.org_id)
    assert config.mqtt.password == reg["mqtt"]["password"]
    got = (await owner.get(f"/v1/agents/{agent['id']}")).json()
    assert got == agent
    assert reg["mqtt"]["password"] not in (await owner.get("/v1/agents")).text
    r = await owner.post(f"/v1/agents/{agent['id']}/revoke")
    assert r.status_code == 200
    assert r.json()["revoked"] is True
    r = await owner.get("/v1/agents", params={"revoked": "false"})
    assert r.json()["data"] == []
    # A revoked agent cannot be given printers.
    r = await owner.post(
        "/v1/printers",
        json={"name": "p", "connection_url": "serial:///dev/x", "agent_id": agent["id"]},
    )
    assert_error(r, 404, "resource_not_found", "agent_id")


@SQLITE_ONLY
@pytest.mark.parametrize(
    "body,param", [({}, "name"), ({"name": ""}, "name"), ({"name": "a", "x": 1}, "x")]
)
async def test_agent_register_errors(owner: OrgClient, body: dict[str, object], param: str) -> None:
    assert_error(await owner.post("/v1/agents", json=body), 400, "invalid_request", param)
