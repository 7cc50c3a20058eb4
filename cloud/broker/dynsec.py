"""The embedded broker's clients and roles, administered like Mosquitto's dynamic-security
plugin: JSON commands published on ``$CONTROL/dynamic-security/v1``, answers on
``…/v1/response``.

One administration protocol for both brokers means the cloud provisions agents and
dashboards the same way on Mosquitto and here (`cloud/mqttauth`). This implements the
commands the cloud uses, with Mosquitto 2.0's command names, fields, error strings and
response shape (``{"responses": [{"command", "error"?, "data"?, "correlationData"?}]}``),
as observed against Mosquitto 2.0.11. Groups and the anonymous group are not implemented:
the embedded broker never admits anonymous clients.

Like Mosquitto, a change to a client's password, roles or enabled state, or its deletion,
disconnects its connections (`Outcome.kick`). Unlike Mosquitto, a change to a role's ACLs
takes effect on connected clients at once (`Outcome.roles_changed`): the broker re-checks
their subscriptions instead of leaving what they had.

Passwords are stored as PBKDF2-HMAC-SHA512 with a random salt. The state is saved to a
JSON file (mode 0600) after every change, atomically.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from cloud.broker.acl import (
    DEFAULT_ACCESS,
    DEFAULT_ACCESS_TYPES,
    AccessPolicy,
    AclEntry,
    AclType,
    Role,
)
from shared.mqtt.topics import TopicError, check_filter

log = logging.getLogger(__name__)

CONTROL_TOPIC = "$CONTROL/dynamic-security/v1"
RESPONSE_TOPIC = f"{CONTROL_TOPIC}/response"
PASSWORD_ITERATIONS = 20_000
ADMIN_ROLE = "admin"
# What `apf broker init` gives its admin: the right to administer, and to read everything
# (Mosquitto's `mosquitto_ctrl dynsec init` admin role has the same entries).
ADMIN_ACLS = (
    AclEntry(AclType.PUBLISH_SEND, "$CONTROL/dynamic-security/#", True),
    AclEntry(AclType.PUBLISH_RECEIVE, "$CONTROL/dynamic-security/#", True),
    AclEntry(AclType.PUBLISH_RECEIVE, "$SYS/#", True),
    AclEntry(AclType.PUBLISH_RECEIVE, "#", True),
    AclEntry(AclType.SUBSCRIBE_PATTERN, "$CONTROL/dynamic-security/#", True),
    AclEntry(AclType.SUBSCRIBE_PATTERN, "$SYS/#", True),
    AclEntry(AclType.SUBSCRIBE_PATTERN, "#", True),
    AclEntry(AclType.UNSUBSCRIBE_PATTERN, "#", True),
)


class CommandError(Exception):
    """A command that cannot be done; the message is Mosquitto's error string."""


class _Stored(msgspec.Struct, kw_only=True, omit_defaults=True):
    pass


class StoredAcl(_Stored):
    acltype: str
    topic: str
    priority: int = 0
    allow: bool = False


class StoredRole(_Stored):
    rolename: str
    textname: str | None = None
    textdescription: str | None = None
    acls: list[StoredAcl] = msgspec.field(default_factory=list)


class RoleRef(_Stored):
    rolename: str
    priority: int = -1


class StoredClient(_Stored):
    username: str
    textname: str | None = None
    textdescription: str | None = None
    clientid: str | None = None
    disabled: bool = False
    roles: list[RoleRef] = msgspec.field(default_factory=list)
    password: str | None = None  # base64 PBKDF2 output
    salt: str | None = None
    iterations: int | None = None


class StoredState(_Stored):
    defaultACLAccess: dict[str, bool] = msgspec.field(  # Mosquitto's name
        default_factory=lambda: {
            "publishClientSend": False,
            "publishClientReceive": True,
            "subscribe": False,
            "unsubscribe": True,
        }
    )
    clients: list[StoredClient] = msgspec.field(default_factory=list)
    roles: list[StoredRole] = msgspec.field(default_factory=list)


def hash_password(password: str, *, salt: bytes | None = None, iterations: int) -> tuple[str, str]:
    salt = salt if salt is not None else secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    return base64.b64encode(digest).decode(), base64.b64encode(salt).decode()


@dataclass(slots=True)
class Outcome:
    """What one batch of commands asks of the broker besides the answer."""

    response: bytes
    kick: set[str] = field(default_factory=set)  # usernames to disconnect
    roles_changed: bool = False  # some role's ACLs (or the defaults) changed
    changed: bool = False


Handler = Callable[["DynamicSecurity", dict[str, Any], Outcome], dict[str, Any] | None]
_HANDLERS: dict[str, Handler] = {}


def _command(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        _HANDLERS[name] = fn
        return fn

    return register


def _text(cmd: dict[str, Any], key: str, what: str, *, required: bool = True) -> str | None:
    value = cmd.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise CommandError(f"Invalid/missing {what}")
    return value


class DynamicSecurity:
    def __init__(self, path: Path | None, *, iterations: int = PASSWORD_ITERATIONS) -> None:
        self._path = path
        self._iterations = iterations
        self._hashed: dict[str, tuple[str, str]] = {}
        self.state = StoredState()
        if path is not None and path.exists():
            self.state = msgspec.json.decode(path.read_bytes(), type=StoredState)
        self._index()

    def _index(self) -> None:
        self.clients = {c.username: c for c in self.state.clients}
        self.roles = {r.rolename: r for r in self.state.roles}

    def save(self) -> None:
        if self._path is None:
            return
        self.state.clients = sorted(self.clients.values(), key=lambda c: c.username)
        self.state.roles = sorted(self.roles.values(), key=lambda r: r.rolename)
        tmp = self._path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(msgspec.json.format(msgspec.json.encode(self.state)))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self._path)

    # --- what the broker asks -----------------------------------------------------------

    def check_password(self, username: str, password: str) -> bool:
        """Slow on purpose (PBKDF2): call it off the event loop."""
        client = self.clients.get(username)
        if client is None or client.disabled or client.password is None or client.salt is None:
            # Spend the same time as a real check, so the answer does not tell whether the
            # user name exists.
            hash_password(password, salt=b"0" * 12, iterations=self._iterations)
            return False
        want = client.password
        got, _ = hash_password(
            password,
            salt=base64.b64decode(client.salt),
            iterations=client.iterations or self._iterations,
        )
        return hmac.compare_digest(got, want)

    def client_id_allowed(self, username: str, client_id: str) -> bool:
        """A client id bound to one user (``clientid``) is that user's alone, both ways."""
        own = self.clients.get(username)
        if own is not None and own.clientid is not None and own.clientid != client_id:
            return False
        return not any(
            c.clientid == client_id and c.username != username for c in self.clients.values()
        )

    def policy(self, username: str) -> AccessPolicy:
        client = self.clients.get(username)
        refs = sorted(client.roles, key=lambda r: -r.priority) if client is not None else []
        roles = [self._role(ref.rolename) for ref in refs if ref.rolename in self.roles]
        defaults = dict(DEFAULT_ACCESS)
        for name, allow in self.state.defaultACLAccess.items():
            defaults[DEFAULT_ACCESS_TYPES[name]] = allow
        return AccessPolicy(roles, defaults)

    def _role(self, name: str) -> Role:
        stored = self.roles[name]
        entries = [AclEntry(AclType(a.acltype), a.topic, a.allow, a.priority) for a in stored.acls]
        return Role(name, entries)

    def ensure_admin(
        self, username: str, password: str, extra_roles: Sequence[StoredRole] = ()
    ) -> None:
        """The first administrator (``apf broker init``, the demo): created, or its
        password set, with the admin role restored if it was taken away. ``extra_roles``
        (the cloud's own) are created if missing and granted too, so the cloud that logs in
        as this user needs no change to its own login, which would disconnect it."""
        admin = StoredRole(
            rolename=ADMIN_ROLE,
            acls=[StoredAcl(acltype=e.type.value, topic=e.topic, allow=True) for e in ADMIN_ACLS],
        )
        client = self.clients.setdefault(username, StoredClient(username=username))
        client.disabled = False
        for role in (admin, *extra_roles):
            have = self.roles.setdefault(role.rolename, StoredRole(rolename=role.rolename))
            known = {(a.acltype, a.topic) for a in have.acls}
            have.acls += [a for a in role.acls if (a.acltype, a.topic) not in known]
            if not any(r.rolename == role.rolename for r in client.roles):
                client.roles.append(RoleRef(rolename=role.rolename))
        if not self.check_password(username, password):
            self._set_password(client, password)
        self.save()

    # --- the control topic ------------------------------------------------------------

    def hash_new_passwords(self, payload: bytes) -> dict[str, tuple[str, str]]:
        """The hashes of the passwords a command document sets, computed ahead: this is the
        slow part, and it touches no state, so the broker runs it off the event loop and
        `execute` (which must run on it) only looks them up."""
        try:
            commands = json.loads(payload).get("commands")
        except (ValueError, AttributeError, RecursionError):
            return {}
        hashes: dict[str, tuple[str, str]] = {}
        for cmd in commands if isinstance(commands, list) else []:
            password = cmd.get("password") if isinstance(cmd, dict) else None
            if isinstance(password, str) and password and password not in hashes:
                hashes[password] = hash_password(password, iterations=self._iterations)
        return hashes

    def execute(self, payload: bytes, hashed: dict[str, tuple[str, str]] | None = None) -> Outcome:
        """Run a ``{"commands": [...]}`` document; never raises on bad input."""
        self._hashed = hashed or {}
        outcome = Outcome(response=b"")
        responses: list[dict[str, Any]] = []
        try:
            doc = json.loads(payload)
            commands = doc["commands"]
            if not isinstance(commands, list):
                raise TypeError
        except (ValueError, KeyError, TypeError, RecursionError):
            responses.append({"command": "Unknown command", "error": "Payload not valid JSON"})
            commands = []
        for cmd in commands:
            responses.append(self._one(cmd, outcome))
        if outcome.changed:
            self.save()
        outcome.response = json.dumps({"responses": responses}).encode()
        return outcome

    def _one(self, cmd: Any, outcome: Outcome) -> dict[str, Any]:
        if not isinstance(cmd, dict):
            return {"command": "Unknown command", "error": "Invalid command"}
        name = cmd.get("command")
        answer: dict[str, Any] = {"command": name if isinstance(name, str) else "Unknown command"}
        handler = _HANDLERS.get(name) if isinstance(name, str) else None
        try:
            if handler is None:
                raise CommandError("Unknown command")
            data = handler(self, cmd, outcome)
            if data is not None:
                answer["data"] = data
        except CommandError as exc:
            answer["error"] = str(exc)
        if "correlationData" in cmd:
            answer["correlationData"] = cmd["correlationData"]
        return answer

    def _client(self, cmd: dict[str, Any]) -> StoredClient:
        username = _text(cmd, "username", "username")
        client = self.clients.get(username or "")
        if client is None:
            raise CommandError("Client not found")
        return client

    def _existing_role(self, cmd: dict[str, Any]) -> StoredRole:
        rolename = _text(cmd, "rolename", "rolename")
        role = self.roles.get(rolename or "")
        if role is None:
            raise CommandError("Role not found")
        return role

    def _set_password(self, client: StoredClient, password: str) -> None:
        hashed = self._hashed.get(password)
        if hashed is None:
            hashed = hash_password(password, iterations=self._iterations)
        client.password, client.salt = hashed
        client.iterations = self._iterations


def _client_view(client: StoredClient) -> dict[str, Any]:
    view: dict[str, Any] = {"username": client.username}
    for key in ("textname", "textdescription", "clientid"):
        if getattr(client, key) is not None:
            view[key] = getattr(client, key)
    if client.disabled:
        view["disabled"] = True
    view["roles"] = [msgspec.to_builtins(r) for r in client.roles]
    view["groups"] = []
    return view


def _role_refs(raw: Any, sec: DynamicSecurity) -> list[RoleRef]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise CommandError("Invalid/missing roles")
    refs = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("rolename"), str):
            raise CommandError("Invalid/missing rolename")
        if item["rolename"] not in sec.roles:
            raise CommandError("Role not found")
        priority = item.get("priority", -1)
        refs.append(RoleRef(rolename=item["rolename"], priority=int(priority)))
    return refs


def _acl(cmd: dict[str, Any]) -> StoredAcl:
    acltype = cmd.get("acltype")
    if acltype not in {t.value for t in AclType}:
        raise CommandError("Unknown acltype")
    topic = cmd.get("topic")
    try:
        if not isinstance(topic, str):
            raise TopicError("missing")
        check_filter(topic)
    except TopicError:
        raise CommandError("Invalid ACL topic") from None
    priority = cmd.get("priority", 0)
    allow = cmd.get("allow", False)
    if not isinstance(priority, int) or not isinstance(allow, bool):
        raise CommandError("Invalid/missing allow")
    return StoredAcl(acltype=acltype, topic=topic, priority=priority, allow=allow)


@_command("createClient")
def _create_client(sec: DynamicSecurity, cmd: dict[str, Any], out: Outcome) -> None:
    username = _text(cmd, "username", "username")
    assert username is not None
    if username in sec.clients:
        raise CommandError("Client already exists")
    password = _text(cmd, "password", "password", required=False)
    clientid = _text(cmd, "clientid", "client id", required=False)
    client = StoredClient(
        username=username,
        clientid=clientid,
        textname=_text(cmd, "textname", "textname", required=False),
        textdescription=_text(cmd, "textdescription", "textdescription", required=False),
        roles=_role_refs(cmd.get("roles"), sec),
    )
    if password is not None:
        sec._set_password(client, password)
    sec.clients[username] = client
    out.changed = True


@_command("deleteClient")
def _delete_client(sec: DynamicSecurity, cmd: dict[str, Any], out: Outcome) -> None:
    client = sec._client(cmd)
    del sec.clients[client.username]
    out.kick.add(client.username)
    out.changed = True


@_command("setClientPassword")
def _set_client_password(sec: DynamicSecurity, cmd: dict[str, Any], out: Outcome) -> None:
    client = sec._client(cmd)
    password = _text(cmd, "password", "password")
    assert password is not None
    sec._set_password(client, password)
    out.kick.add(client.username)
    out.changed = True


@_command("setClientId")
def _set_client_id(sec: DynamicSecurity, cmd: dict[str, Any], out: Outcome) -> None:
    client = sec._client(cmd)
    client.clientid = _text(cmd, "clientid", "client id", required=False)
    out.kick.add(client.username)
    out.changed = True


@_command("enableClient")
def _enable_client(sec: DynamicSecurity, cmd: dict[str, Any], out: Outcome) -> None:
    sec._client(cmd).disabled = False
    out.changed = True


@_command("disableClient")
def _disable_client(sec: DynamicSecurity, cmd: dict[str, Any], out: Outcome) -> None:
    client = sec._client(cmd)
    client.disabled = True
    out.kick.add(client.username)
    out.changed = True


@_command("addClientRole")
def _add_client_role(sec: DynamicSecurity, cmd: dict[str, Any], out: Outcome) -> None:
    client = sec._client(cmd)
    role = sec._existing_role(cmd)
    if any(r.rolename == role.rolename for r in client.roles):
        raise CommandError("Internal error")  # what Mosquitto 2.0.11 answers
    priority = cmd.get("priority", -1)
    client.roles.append(RoleRef(rolename=role.rolename, priority=int(priority)))
    out.kick.add(client.username)
    out.changed = True


@_command("removeClientRole")
def _remove_client_role(sec: DynamicSecurity, cmd: dict[str, Any], out: Outcome) -> None:
    client = sec._client(cmd)
    role = sec._existing_role(cmd)
    client.roles = [r for r in client.roles if r.rolename != role.rolename]
    out.kick.add(client.username)
    out.changed = True


@_command("getClient")
def _get_client(sec: DynamicSecurity, cmd: dict[str, Any], out: Outcome) -> dict[str, Any]:
    return {"client": _client_view(sec._client(cmd))}


@_command("listClients")
def _list_clients(sec: DynamicSecurity, cmd: dict[str, Any], out: Outcome) -> dict[str, Any]:
    clients = sorted(sec.clients.values(), key=lambda c: c.username)
    page = _page(clients, cmd)
    items = [_client_view(c) if cmd.get("verbose") else c.username for c in page]
    return {"totalCount": len(clients), "clients": items}


def _page(items: list[Any], cmd: dict[str, Any]) -> list[Any]:
    offset = cmd.get("offset", 0)
    count = cmd.get("count", -1)
    offset = offset if isinstance(offset, int) and offset > 0 else 0
    if isinstance(count, int) and count >= 0:
        return items[offset : offset + count]
    return items[offset:]


@_command("createRole")
def _create_role(sec: DynamicSecurity, cmd: dict[str, Any], out: Outcome) -> None:
    rolename = _text(cmd, "rolename", "rolename")
    assert rolename is not None
    if rolename in sec.roles:
        raise CommandError("Role already exists")
    raw_acls = cmd.get("acls") or []
    if not isinstance(raw_acls, list):
        raise CommandError("Invalid/missing acls")
    acls = [_acl(a) if isinstance(a, dict) else _acl({}) for a in raw_acls]
    sec.roles[rolename] = StoredRole(
        rolename=rolename,
        textname=_text(cmd, "textname", "textname", required=False),
        textdescription=_text(cmd, "textdescription", "textdescription", required=False),
        acls=acls,
    )
    out.changed = True


@_command("deleteRole")
def _delete_role(sec: DynamicSecurity, cmd: dict[str, Any], out: Outcome) -> None:
    role = sec._existing_role(cmd)
    del sec.roles[role.rolename]
    for client in sec.clients.values():
        client.roles = [r for r in client.roles if r.rolename != role.rolename]
    out.roles_changed = True
    out.changed = True


@_command("addRoleACL")
def _add_role_acl(sec: DynamicSecurity, cmd: dict[str, Any], out: Outcome) -> None:
    role = sec._existing_role(cmd)
    acl = _acl(cmd)
    if any(a.acltype == acl.acltype and a.topic == acl.topic for a in role.acls):
        raise CommandError("ACL with this topic already exists")
    role.acls.append(acl)
    out.roles_changed = True
    out.changed = True


@_command("removeRoleACL")
def _remove_role_acl(sec: DynamicSecurity, cmd: dict[str, Any], out: Outcome) -> None:
    role = sec._existing_role(cmd)
    acltype, topic = cmd.get("acltype"), cmd.get("topic")
    kept = [a for a in role.acls if not (a.acltype == acltype and a.topic == topic)]
    if len(kept) == len(role.acls):
        raise CommandError("ACL not found")
    role.acls = kept
    out.roles_changed = True
    out.changed = True


@_command("getRole")
def _get_role(sec: DynamicSecurity, cmd: dict[str, Any], out: Outcome) -> dict[str, Any]:
    return {"role": msgspec.to_builtins(sec._existing_role(cmd))}


@_command("listRoles")
def _list_roles(sec: DynamicSecurity, cmd: dict[str, Any], out: Outcome) -> dict[str, Any]:
    roles = sorted(sec.roles.values(), key=lambda r: r.rolename)
    page = _page(roles, cmd)
    items = [msgspec.to_builtins(r) if cmd.get("verbose") else r.rolename for r in page]
    return {"totalCount": len(roles), "roles": items}


@_command("setDefaultACLAccess")
def _set_default(sec: DynamicSecurity, cmd: dict[str, Any], out: Outcome) -> None:
    acls = cmd.get("acls")
    if not isinstance(acls, list):
        raise CommandError("Missing/invalid acls array")
    for item in acls:
        if not isinstance(item, dict) or item.get("acltype") not in DEFAULT_ACCESS_TYPES:
            raise CommandError("Unknown acltype")
        if not isinstance(item.get("allow"), bool):
            raise CommandError("Invalid/missing allow")
        sec.state.defaultACLAccess[item["acltype"]] = item["allow"]
    out.roles_changed = True
    out.changed = True


@_command("getDefaultACLAccess")
def _get_default(sec: DynamicSecurity, cmd: dict[str, Any], out: Outcome) -> dict[str, Any]:
    return {"acls": [{"acltype": k, "allow": v} for k, v in sec.state.defaultACLAccess.items()]}
