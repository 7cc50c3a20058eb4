"""What to ask the broker so that one login is as the database says: pure rules.

`login_commands` turns a `broker_logins` row into dynsec commands; `acceptable` says which
error answers still mean "done" (the thing already exists, or is already gone); `role_fixes`
turns a role found on the broker into the edits that make it equal to our definition.

Order matters on Mosquitto 2.0.11: deleting a role some client still holds corrupts the
broker's memory and crashes it at the client's deletion (eclipse/mosquitto#2660, reproduced
here), so a role is always deleted after its client.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cloud.mqttauth.roles import Acl, RoleSpec, agent_role, dashboard_role

Command = dict[str, Any]

# The error strings of Mosquitto 2.0.11 (and the embedded broker) that mean "already so".
ALREADY = {
    "createRole": "Role already exists",
    "createClient": "Client already exists",
    "deleteClient": "Client not found",
    "deleteRole": "Role not found",
    "addClientRole": "Internal error",  # Mosquitto's answer when the client has the role
    "addRoleACL": "ACL with this topic already exists",
    "removeRoleACL": "ACL not found",
}


def acceptable(command: str, error: str | None) -> bool:
    return error is None or ALREADY.get(command) == error


@dataclass(frozen=True, slots=True)
class LoginState:
    """What the planner needs of a `broker_logins` row (password already opened)."""

    username: str
    org_id: str
    kind: str  # "agent" or "dashboard"
    agent_id: str | None
    password: str | None
    revoked: bool


def role_for(login: LoginState) -> RoleSpec:
    if login.kind == "agent":
        assert login.agent_id is not None
        return agent_role(login.org_id, login.agent_id)
    return dashboard_role(login.org_id)


def create_role(role: RoleSpec) -> Command:
    return {
        "command": "createRole",
        "rolename": role.name,
        "acls": [acl.as_command_fields() for acl in role.acls],
    }


def login_commands(login: LoginState) -> list[Command]:
    """First try: create what is missing. (`existing_client_commands` if the client exists.)"""
    if login.revoked:
        commands: list[Command] = [{"command": "deleteClient", "username": login.username}]
        if login.kind == "agent":
            commands.append({"command": "deleteRole", "rolename": role_for(login).name})
        return commands
    assert login.password is not None
    role = role_for(login)
    client: Command = {
        "command": "createClient",
        "username": login.username,
        "password": login.password,
        "roles": [{"rolename": role.name, "priority": 1}],
        "textname": f"AutoPrintFarm {login.kind} of {login.org_id}",
    }
    if login.kind == "agent":
        # The agent's client id is bound to it: another login cannot take the agent's
        # session over (knocking it offline) by connecting with its id.
        client["clientid"] = login.agent_id
    return [create_role(role), client]


def existing_client_commands(login: LoginState) -> list[Command]:
    """The client was there already (a rotation, or another replica was first)."""
    assert login.password is not None and not login.revoked
    return [
        {"command": "setClientPassword", "username": login.username, "password": login.password},
        {
            "command": "addClientRole",
            "username": login.username,
            "rolename": role_for(login).name,
            "priority": 1,
        },
    ]


def _key(acl: Acl) -> tuple[str, str]:
    return acl.acltype, acl.topic


def role_fixes(want: RoleSpec, have_acls: Iterable[dict[str, Any]]) -> list[Command]:
    """Edits that make a role on the broker equal to ``want`` (none when it already is)."""
    have = {
        (str(a.get("acltype")), str(a.get("topic"))): (
            bool(a.get("allow")),
            int(a.get("priority", 0)),
        )
        for a in have_acls
    }
    wanted = {_key(a): a for a in want.acls}
    commands: list[Command] = []
    for key, (allow, priority) in have.items():
        acl = wanted.get(key)
        if acl is None or (acl.allow, acl.priority) != (allow, priority):
            commands.append(
                {
                    "command": "removeRoleACL",
                    "rolename": want.name,
                    "acltype": key[0],
                    "topic": key[1],
                }
            )
    for key, acl in wanted.items():
        if have.get(key) != (acl.allow, acl.priority):
            commands.append(
                {"command": "addRoleACL", "rolename": want.name, **acl.as_command_fields()}
            )
    return commands
