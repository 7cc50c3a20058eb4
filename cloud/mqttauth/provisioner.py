"""Keeps the broker's logins as the database says: the one owner of ``applied_revision``.

A pass (on a kick from the API, after every connect, and every ``FULL_EVERY_S`` as a safety
net) does three things, each only when needed:

1. **check** (after a connect): the broker answers our dynamic-security commands, and our
   own login holds the cloud's role. If the role is missing it is created and granted, which
   makes the broker disconnect us (a change to a client's roles does, on Mosquitto); the link
   reconnects and re-subscribes with the new rights. What is wrong is said plainly, once.
2. **reconcile** (after a connect, then every ``FULL_EVERY_S``): list the broker's clients
   and roles; a login the database has and the broker lacks (a broker that lost its users)
   is applied again; a client or role of ours the database does not know is removed; a role
   whose ACLs drifted is edited back (role edits disconnect nobody).
3. **apply**: every row whose ``revision`` is ahead of ``applied_revision``: create, rotate
   or remove the login, then record the revision as applied. A revoked agent's retained
   topics are cleared, so no dashboard shows it as online and its config is gone.

Passes are idempotent: two replicas doing the same work both end where the database says.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select, update

from cloud.bridge.mqtt import NotConnectedError
from cloud.context import CloudContext
from cloud.db.core import table_of
from cloud.db.models import Printer
from cloud.mqttauth.check import admin_roles
from cloud.mqttauth.control import Answer, BrokerAdminError, DynsecControl
from cloud.mqttauth.plan import (
    LoginState,
    acceptable,
    create_role,
    existing_client_commands,
    login_commands,
    role_fixes,
    role_for,
)
from cloud.mqttauth.roles import (
    AGENT_ROLE_PREFIX,
    CLOUD_ROLE,
    DASHBOARD_ROLE_PREFIX,
    cloud_role,
)
from cloud.mqttauth.tables import KIND_AGENT, BrokerLogin, password_purpose
from cloud.orchestration.db import writing
from cloud.sealing import SealError
from shared.cancellation import raise_if_cancelled
from shared.wire import acks_topic, config_topic, printer_state_topic, status_topic

log = logging.getLogger(__name__)

FULL_EVERY_S = 300.0
BATCH = 200
# Usernames the cloud gives out (cloud/ids.py): a broker client with one of these prefixes
# that the database does not know is ours to remove.
MANAGED_PREFIXES = ("agt_", "mqc_")

RetainedPublish = Callable[[str, bytes], Awaitable[None]]
_LOGINS: Any = table_of(BrokerLogin).c
_PRINTERS: Any = table_of(Printer).c


@dataclass(slots=True)
class AdminStatus:
    ok: bool = False
    problem: str = "not checked yet"


class Provisioner:
    def __init__(
        self,
        app: CloudContext,
        control: DynsecControl,
        publish_retained: RetainedPublish,
        *,
        link_up: Callable[[], bool],
        cloud_username: str | None,
        broker: str,
    ) -> None:
        self._app = app
        self._control = control
        self._publish_retained = publish_retained
        self._link_up = link_up
        self._cloud_username = cloud_username
        self._broker = broker
        self.status = AdminStatus()
        self._kicked = asyncio.Event()
        self._check_due = True
        self._full_due = True
        self._warned: set[str] = set()
        self._next_done: asyncio.Future[None] | None = None

    # --- what the bridge and the API call ---------------------------------------------

    def connected(self) -> None:
        """The link is (back) up: check and reconcile before anything else."""
        self._check_due = self._full_due = True
        self._kicked.set()

    @property
    def running(self) -> bool:
        """The loop has started (it waits for a kick between passes)."""
        return self._next_done is not None

    async def sync(self, timeout_s: float) -> bool:
        """Run a pass now (or join the one about to start); True if it ended in time with
        the broker administered (everything pending is then on the broker)."""
        if not self.running:
            return False
        future = self._next_done
        assert future is not None
        self._kicked.set()
        try:
            async with asyncio.timeout(timeout_s):
                await asyncio.shield(future)
        except TimeoutError:
            return False
        return self.status.ok

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        self._next_done = loop.create_future()
        while True:
            try:
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for loses a cancel that
                # arrives as the kick does, and this loop would then outlive its bridge.
                async with asyncio.timeout(FULL_EVERY_S):
                    await self._kicked.wait()
            except TimeoutError:
                self._full_due = True
            self._kicked.clear()
            done, self._next_done = self._next_done, loop.create_future()
            try:
                raise_if_cancelled()
                if self._link_up():
                    await self._pass()
            except NotConnectedError as exc:
                log.info("broker link down during provisioning (%s); resumed on reconnect", exc)
            except BrokerAdminError as exc:
                self._report(str(exc))
            except Exception:
                log.exception("provisioning broker logins failed; retried on the next pass")
            finally:
                done.set_result(None)

    # --- a pass -------------------------------------------------------------------------

    async def _pass(self) -> None:
        if self._check_due:
            if not await self._check():
                return
            self._check_due = False
        if self._full_due:
            await self._reconcile()
            self._full_due = False
        while await self._apply_pending():
            pass

    def _report(self, problem: str) -> None:
        if self.status.problem != problem:
            log.error("the cloud cannot administer the broker %s: %s", self._broker, problem)
        self.status = AdminStatus(ok=False, problem=problem)
        self._check_due = True

    async def _check(self) -> bool:
        """True when we can administer the broker with our role in place."""
        user = self._cloud_username
        roles = await admin_roles(self._control, user)
        want = cloud_role()
        await self._ensure_role(want)
        if CLOUD_ROLE not in roles:
            log.warning(
                "granting the broker user %r the role %s; the broker disconnects it once for "
                "that (reconnecting)",
                user,
                CLOUD_ROLE,
            )
            await self._control.send_only(
                {
                    "command": "addClientRole",
                    "username": user,
                    "rolename": CLOUD_ROLE,
                    "priority": 5,
                }
            )
            return False
        if not self.status.ok:
            log.info("administering the broker %s as %r", self._broker, user)
        self.status = AdminStatus(ok=True, problem="")
        return True

    async def _ensure_role(self, want: Any) -> None:
        answer = await self._control.one({"command": "getRole", "rolename": want.name})
        if not answer.ok:
            await self._expect([create_role(want)])
            return
        fixes = role_fixes(want, answer.data.get("role", {}).get("acls", []))
        if fixes:
            log.info("role %s on the broker differs from ours: %d edits", want.name, len(fixes))
            await self._expect(fixes)

    async def _expect(self, commands: list[dict[str, Any]]) -> list[Answer]:
        answers = await self._control.run(commands)
        for command, answer in zip(commands, answers, strict=True):
            if not acceptable(command["command"], answer.error):
                raise BrokerAdminError(
                    f"{command['command']} for {command.get('username') or command.get('rolename')}"
                    f" was refused: {answer.error}"
                )
        return answers

    # --- reconcile --------------------------------------------------------------------

    async def _reconcile(self) -> None:
        clients_answer, roles_answer = await self._control.run(
            [{"command": "listClients", "verbose": True}, {"command": "listRoles", "verbose": True}]
        )
        clients = {
            c["username"]: c for c in clients_answer.data.get("clients", []) if isinstance(c, dict)
        }
        roles = {
            r["rolename"]: r for r in roles_answer.data.get("roles", []) if isinstance(r, dict)
        }
        logins = await self._all_logins()
        active = {row.username: row for row in logins if row.revoked_at is None}
        states = {u: state for u, row in active.items() if (state := self._state(row))}
        missing: list[str] = []
        fixed: set[str] = set()
        for username, state in states.items():
            role = role_for(state)
            held = {r.get("rolename") for r in clients.get(username, {}).get("roles", [])}
            if username not in clients or role.name not in held or role.name not in roles:
                if active[username].applied_revision == active[username].revision:
                    missing.append(username)  # applied once, gone since
            elif role.name not in fixed:
                fixed.add(role.name)  # a dashboard role serves several logins: once
                fixes = role_fixes(role, roles[role.name].get("acls", []))
                if fixes:
                    log.warning(
                        "role %s on the broker had drifted: %d edits", role.name, len(fixes)
                    )
                    await self._expect(fixes)
        strays = [u for u in clients if u.startswith(MANAGED_PREFIXES) and u not in active]
        if strays:
            log.warning("removing %d broker logins the database does not know", len(strays))
            await self._expect([{"command": "deleteClient", "username": u} for u in strays])
        wanted_roles = {role_for(state).name for state in states.values()}
        stale_roles = [
            name
            for name in roles
            if name.startswith((AGENT_ROLE_PREFIX, DASHBOARD_ROLE_PREFIX))
            and name not in wanted_roles
        ]
        if stale_roles:
            await self._expect([{"command": "deleteRole", "rolename": n} for n in stale_roles])
        if missing:
            log.warning(
                "%d broker logins were missing on the broker; applying them again", len(missing)
            )
            async with writing(self._app) as session:
                await session.execute(
                    update(BrokerLogin).where(_LOGINS.id.in_(missing)).values(applied_revision=0)
                )
                await session.commit()

    async def _all_logins(self) -> list[BrokerLogin]:
        async with self._app.background()() as session:
            return list((await session.execute(select(BrokerLogin))).scalars())

    # --- apply ------------------------------------------------------------------------

    async def _apply_pending(self) -> bool:
        """Apply one batch of pending rows; True if there may be more to do."""
        async with self._app.background()() as session:
            rows = list(
                (
                    await session.execute(
                        select(BrokerLogin)
                        .where(_LOGINS.revision != _LOGINS.applied_revision)
                        # A login without a password can only wait for a rotation; it must
                        # not take a place in the batch from one that can be applied.
                        .where(
                            or_(
                                _LOGINS.password_sealed.is_not(None),
                                _LOGINS.revoked_at.is_not(None),
                            )
                        )
                        .limit(BATCH)
                    )
                ).scalars()
            )
        progressed = False
        for row in rows:
            state = self._state(row)
            if state is None:
                continue
            await self._apply(state)
            async with writing(self._app) as session:
                result = await session.execute(
                    update(BrokerLogin)
                    .where(_LOGINS.id == row.id)
                    .where(_LOGINS.revision == row.revision)
                    .values(applied_revision=row.revision)
                )
                await session.commit()
            progressed = progressed or bool(result.rowcount)  # type: ignore[attr-defined]
            log.info("broker login %s %s", row.username, "removed" if state.revoked else "in place")
        return progressed and len(rows) == BATCH

    async def _apply(self, login: LoginState) -> None:
        commands = login_commands(login)
        answers = await self._control.run(commands)
        if login.revoked:
            for command, answer in zip(commands, answers, strict=True):
                if not acceptable(command["command"], answer.error):
                    raise BrokerAdminError(f"removing {login.username}: {answer.error}")
            if login.kind == KIND_AGENT and login.agent_id is not None:
                await self._clear_agent_topics(login)
            return
        role_answer, client_answer = answers
        if not acceptable("createRole", role_answer.error):
            raise BrokerAdminError(f"role for {login.username}: {role_answer.error}")
        if client_answer.error == "Client already exists":
            await self._expect(existing_client_commands(login))
        elif client_answer.error is not None:
            raise BrokerAdminError(f"login {login.username}: {client_answer.error}")

    async def _clear_agent_topics(self, login: LoginState) -> None:
        """An empty retained message clears a topic (MQTT 3.1.1 §3.3.1.3)."""
        assert login.agent_id is not None
        org, agent = login.org_id, login.agent_id
        async with self._app.background()() as session:
            printers = (
                await session.execute(select(_PRINTERS.id).where(_PRINTERS.agent_id == agent))
            ).scalars()
            topics = [printer_state_topic(org, agent, p) for p in printers]
        topics += [status_topic(org, agent), config_topic(org, agent), acks_topic(org, agent)]
        for topic in topics:
            await self._publish_retained(topic, b"")

    def _state(self, row: BrokerLogin) -> LoginState | None:
        password = None
        if row.revoked_at is None:
            if row.password_sealed is None:
                self._warn_once(
                    row.username,
                    f"broker login {row.username} has no password the cloud can provision "
                    "(registered before the cloud managed the broker): rotate it with POST "
                    f"/v1/agents/{row.agent_id}/credentials",
                )
                return None
            box = self._app.secrets
            try:
                password = box.open(row.password_sealed, password_purpose(row.username))
            except SealError as exc:
                self._warn_once(row.username, f"broker login {row.username}: {exc}")
                return None
        return LoginState(
            username=row.username,
            org_id=row.org_id,
            kind=row.kind,
            agent_id=row.agent_id,
            password=password,
            revoked=row.revoked_at is not None,
        )

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning("%s", message)
