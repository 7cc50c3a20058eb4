"""Turning a login's row into dynsec commands, and a drifted role into edits: pure rules."""

from __future__ import annotations

from cloud.mqttauth.plan import (
    LoginState,
    acceptable,
    existing_client_commands,
    login_commands,
    role_fixes,
)
from cloud.mqttauth.roles import agent_role, dashboard_role


def agent(revoked: bool = False) -> LoginState:
    return LoginState("agt_1", "org_a", "agent", "agt_1", None if revoked else "pw", revoked)


def test_an_agent_login_is_its_role_then_a_client_bound_to_its_client_id() -> None:
    role, client = login_commands(agent())
    assert role["command"] == "createRole" and role["rolename"] == agent_role("org_a", "agt_1").name
    assert client["command"] == "createClient"
    assert (client["username"], client["password"], client["clientid"]) == ("agt_1", "pw", "agt_1")
    assert client["roles"] == [{"rolename": role["rolename"], "priority": 1}]


def test_a_dashboard_login_shares_its_organizations_role_and_binds_no_client_id() -> None:
    login = LoginState("mqc_1", "org_a", "dashboard", None, "pw", False)
    role, client = login_commands(login)
    assert role["rolename"] == dashboard_role("org_a").name
    assert "clientid" not in client


def test_revoking_deletes_the_client_before_its_role() -> None:
    # Mosquitto 2.0.11 crashes when a role still held by a client is deleted first.
    assert [c["command"] for c in login_commands(agent(revoked=True))] == [
        "deleteClient",
        "deleteRole",
    ]
    dashboard = LoginState("mqc_1", "org_a", "dashboard", None, None, True)
    assert [c["command"] for c in login_commands(dashboard)] == ["deleteClient"]


def test_an_existing_client_gets_the_new_password_and_the_role() -> None:
    commands = existing_client_commands(agent())
    assert [c["command"] for c in commands] == ["setClientPassword", "addClientRole"]


def test_already_there_and_already_gone_count_as_done() -> None:
    assert acceptable("createRole", "Role already exists")
    assert acceptable("deleteClient", "Client not found")
    assert acceptable("addClientRole", "Internal error")
    assert not acceptable("createClient", "Role not found")
    assert not acceptable("deleteClient", "Role not found")


def test_a_role_as_defined_needs_no_fix_and_a_drifted_one_is_edited_back() -> None:
    want = dashboard_role("org_a")
    same = [a.as_command_fields() for a in want.acls]
    assert role_fixes(want, same) == []
    drifted = [*same[1:], {"acltype": "subscribePattern", "topic": "#", "allow": True}]
    fixes = role_fixes(want, drifted)
    removed = [(f["acltype"], f["topic"]) for f in fixes if f["command"] == "removeRoleACL"]
    added = [(f["acltype"], f["topic"]) for f in fixes if f["command"] == "addRoleACL"]
    assert ("subscribePattern", "#") in removed  # the grant of everything goes
    assert (want.acls[0].acltype, want.acls[0].topic) in added  # the missing one comes back
