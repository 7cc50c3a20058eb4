"""The embedded broker's dynamic security: Mosquitto's command set and answers (shapes
observed against Mosquitto 2.0.11), the kicks each change asks for, and the saved state."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
from pathlib import Path
from typing import Any

from cloud.broker.acl import Action
from cloud.broker.dynsec import DynamicSecurity

FAST = 10  # PBKDF2 iterations in tests: the work factor is not what is tested here


def run(sec: DynamicSecurity, *commands: dict[str, Any]) -> tuple[list[dict[str, Any]], Any]:
    payload = json.dumps({"commands": list(commands)}).encode()
    outcome = sec.execute(payload, sec.hash_new_passwords(payload))
    return json.loads(outcome.response)["responses"], outcome


def agent_role() -> dict[str, Any]:
    return {
        "command": "createRole",
        "rolename": "r-agent",
        "acls": [
            {"acltype": "publishClientSend", "topic": "apf/o/agents/a/status", "allow": True},
            {"acltype": "subscribeLiteral", "topic": "apf/o/agents/a/config", "allow": True},
        ],
    }


def test_commands_answer_like_mosquitto(tmp_path: Path) -> None:
    sec = DynamicSecurity(tmp_path / "ds.json", iterations=FAST)
    responses, _ = run(
        sec,
        agent_role(),
        {
            "command": "createClient",
            "username": "a",
            "password": "pw",
            "clientid": "a",
            "roles": [{"rolename": "r-agent"}],
            "correlationData": "c1",
        },
        {"command": "createClient", "username": "a", "password": "pw"},
        {"command": "createClient", "username": "b", "roles": [{"rolename": "missing"}]},
        {"command": "getClient", "username": "a"},
        {"command": "deleteClient", "username": "nobody", "correlationData": "c2"},
        {"command": "addRoleACL", "rolename": "r-agent", "acltype": "bogus", "topic": "x"},
        {
            "command": "addRoleACL",
            "rolename": "r-agent",
            "acltype": "publishClientSend",
            "topic": "a/#/b",
            "allow": True,
        },
        {"command": "listClients"},
        {"command": "frobnicate"},
    )
    assert responses == [
        {"command": "createRole"},
        {"command": "createClient", "correlationData": "c1"},
        {"command": "createClient", "error": "Client already exists"},
        {"command": "createClient", "error": "Role not found"},
        {
            "command": "getClient",
            "data": {
                "client": {
                    "username": "a",
                    "clientid": "a",
                    "roles": [{"rolename": "r-agent"}],  # -1, the default, left out
                    "groups": [],
                }
            },
        },
        {"command": "deleteClient", "error": "Client not found", "correlationData": "c2"},
        {"command": "addRoleACL", "error": "Unknown acltype"},
        {"command": "addRoleACL", "error": "Invalid ACL topic"},
        {"command": "listClients", "data": {"totalCount": 1, "clients": ["a"]}},
        {"command": "frobnicate", "error": "Unknown command"},
    ]
    assert "b" not in sec.clients  # a failed create leaves nothing behind


def test_bad_documents_get_an_answer_not_an_exception() -> None:
    sec = DynamicSecurity(None, iterations=FAST)
    for payload in (b"not json", b"[]", b'{"commands": 3}', b"[" * 5000):
        outcome = sec.execute(payload)
        assert json.loads(outcome.response)["responses"][0]["error"]
    outcome = sec.execute(b'{"commands": [7, {"command": null}]}')
    assert [r["error"] for r in json.loads(outcome.response)["responses"]] == [
        "Invalid command",
        "Unknown command",
    ]


def test_credential_changes_kick_and_role_changes_recheck() -> None:
    sec = DynamicSecurity(None, iterations=FAST)
    run(sec, agent_role(), {"command": "createClient", "username": "a", "password": "pw"})
    kicks = {
        "setClientPassword": {"username": "a", "password": "new"},
        "disableClient": {"username": "a"},
        "addClientRole": {"username": "a", "rolename": "r-agent"},
        "removeClientRole": {"username": "a", "rolename": "r-agent"},
        "deleteClient": {"username": "a"},
    }
    for name, fields in kicks.items():
        _, outcome = run(sec, {"command": name, **fields})
        assert outcome.kick == {"a"}, name
        assert not outcome.roles_changed
    _, outcome = run(
        sec,
        {
            "command": "addRoleACL",
            "rolename": "r-agent",
            "acltype": "publishClientSend",
            "topic": "x",
            "allow": True,
        },
    )
    assert outcome.roles_changed and not outcome.kick


def test_passwords_verify_and_disabled_clients_cannot_log_in() -> None:
    sec = DynamicSecurity(None, iterations=FAST)
    run(sec, {"command": "createClient", "username": "a", "password": "right"})
    assert sec.check_password("a", "right")
    assert not sec.check_password("a", "wrong")
    assert not sec.check_password("nobody", "right")
    run(sec, {"command": "disableClient", "username": "a"})
    assert not sec.check_password("a", "right")
    run(sec, {"command": "createClient", "username": "nopw"})
    assert not sec.check_password("nopw", "")


def test_the_hash_is_mosquittos_pbkdf2_sha512() -> None:
    sec = DynamicSecurity(None, iterations=101)
    run(sec, {"command": "createClient", "username": "a", "password": "secret"})
    stored = sec.clients["a"]
    assert stored.salt is not None and stored.iterations == 101
    digest = hashlib.pbkdf2_hmac("sha512", b"secret", base64.b64decode(stored.salt), 101, 64)
    assert stored.password == base64.b64encode(digest).decode()


def test_client_ids_bound_to_a_user_are_theirs_alone() -> None:
    sec = DynamicSecurity(None, iterations=FAST)
    run(
        sec,
        {"command": "createClient", "username": "agent", "password": "p", "clientid": "agt_1"},
        {"command": "createClient", "username": "dash", "password": "p"},
    )
    assert sec.client_id_allowed("agent", "agt_1")
    assert not sec.client_id_allowed("agent", "other")
    assert not sec.client_id_allowed("dash", "agt_1")
    assert sec.client_id_allowed("dash", "dash-tv")


def test_state_is_saved_privately_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "ds.json"
    sec = DynamicSecurity(path, iterations=FAST)
    run(
        sec,
        agent_role(),
        {
            "command": "createClient",
            "username": "a",
            "password": "pw",
            "roles": [{"rolename": "r-agent", "priority": 5}],
        },
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "pw" not in path.read_text()
    again = DynamicSecurity(path, iterations=FAST)
    assert again.check_password("a", "pw")
    policy = again.policy("a")
    assert policy.allows(Action.PUBLISH, "apf/o/agents/a/status")
    assert not policy.allows(Action.PUBLISH, "apf/o/agents/b/status")
    assert policy.allows(Action.SUBSCRIBE, "apf/o/agents/a/config")


def test_ensure_admin_creates_then_resets_the_password(tmp_path: Path) -> None:
    sec = DynamicSecurity(tmp_path / "ds.json", iterations=FAST)
    sec.ensure_admin("admin", "first")
    sec.ensure_admin("admin", "second")
    assert not sec.check_password("admin", "first") and sec.check_password("admin", "second")
    policy = sec.policy("admin")
    assert policy.allows(Action.PUBLISH, "$CONTROL/dynamic-security/v1")
    assert policy.allows(Action.SUBSCRIBE, "#")
    assert not policy.allows(Action.PUBLISH, "apf/o/agents/a/commands")
