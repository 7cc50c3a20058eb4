"""Agents: registration (MQTT credentials + a ready config file), listing, revocation."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement

from cloud.api.listing import PageRequest
from cloud.context import CloudContext
from cloud.db.core import table_of
from cloud.db.models import Agent
from cloud.db.types import utcnow
from cloud.ids import IdPrefix, new_id
from cloud.lifecycle import printers
from cloud.mqttauth.tables import KIND_AGENT, BrokerLogin
from cloud.problems import not_found
from cloud.repositories.base import OrgRepository
from cloud.schemas.agents import AgentCreate, AgentOut, AgentRegistered, MqttCredentials
from cloud.services import broker_logins, quotas
from cloud.services.context import ServiceContext
from shared.enums import AgentState

SORTABLE = ("name", "created_at", "last_seen_at")


def agent_out(row: Any) -> AgentOut:
    return AgentOut(
        id=row.id,
        name=row.name,
        state=AgentState(row.state),
        version=row.version,
        mqtt_username=row.mqtt_username,
        last_seen_at=row.last_seen_at,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        revoked=row.revoked_at is not None,
    )


def config_toml(agent_id: str, org_id: str, creds: MqttCredentials) -> str:
    """The agent's config file (agent/config.py `AgentConfig`); printers arrive over MQTT."""
    return (
        "# AutoPrintFarm agent configuration, generated at registration.\n"
        "# Keep it private: it holds the agent's MQTT password.\n"
        f'agent_id = "{agent_id}"\n'
        f'org_id = "{org_id}"\n'
        'data_dir = "/var/lib/apf-agent"\n'
        "\n"
        "[mqtt]\n"
        f'url = "{creds.url}"\n'
        f'username = "{creds.username}"\n'
        f'password = "{creds.password}"\n'
    )


class AgentService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        t = table_of(Agent).c
        self.repo = OrgRepository(
            Agent, ctx.session, ctx.org_id, {k: t[k] for k in SORTABLE}, reader=ctx.reader
        )

    async def _row(self, agent_id: str) -> Agent:
        agent = await self.repo.get(agent_id)
        if agent is None:
            raise not_found("agent", agent_id)
        return agent

    async def get(self, agent_id: str) -> AgentOut:
        return agent_out(await self._row(agent_id))

    async def list(self, req: PageRequest, *, revoked: bool | None) -> tuple[list[AgentOut], int]:
        t = self.repo.table.c
        filters: list[ColumnElement[bool]] = []
        if revoked is not None:
            filters.append(t.revoked_at.is_not(None) if revoked else t.revoked_at.is_(None))
        rows, total = await self.repo.page(filters, req)
        return [agent_out(r) for r in rows], total

    async def register(self, data: AgentCreate, app: CloudContext) -> AgentRegistered:
        org = await self.ctx.organization()
        active = await self.repo.count(self.repo.table.c.revoked_at.is_(None))
        quotas.check(active, 1, quotas.plan_for(org.plan).agents, "agents", org.plan)
        agent_id = new_id(IdPrefix.AGENT)
        agent = Agent(id=agent_id, org_id=self.ctx.org_id, name=data.name, mqtt_username=agent_id)
        login, password = broker_logins.new_login(
            self.ctx.box,
            username=agent_id,
            org_id=self.ctx.org_id,
            kind=KIND_AGENT,
            name=data.name,
            agent_id=agent_id,
        )
        self.repo.add(agent)
        await self.ctx.flush()  # the agent row first: the login names it
        self.ctx.session.add(login)
        await self.ctx.commit()
        provisioned = await broker_logins.apply_now(app)
        return self._registered(agent, password, app, provisioned)

    async def rotate(self, agent_id: str, app: CloudContext) -> AgentRegistered:
        """New MQTT password: the old one stops working (its connection is closed)."""
        agent = await self.ctx.live_agent(agent_id, param="id")
        login = await self._login(agent)
        password = broker_logins.rotate(login, self.ctx.box)
        await self.ctx.commit()
        provisioned = await broker_logins.apply_now(app)
        return self._registered(agent, password, app, provisioned)

    async def revoke(self, agent_id: str, app: CloudContext) -> AgentOut:
        """Revoked agents lose their MQTT login and are disconnected; their printers stay,
        unassigned to a live agent, until moved to another one with PATCH /v1/printers/:id."""
        agent = await self._row(agent_id)
        if agent.revoked_at is None:
            # The write lock before the first change: the `get` below would otherwise flush
            # it to SQLite unlocked, and a writer holding the lock would wait on SQLite while
            # this one waits on the lock, until SQLite's busy timeout (10 s) broke the tie.
            await self.ctx.begin_write()
            agent.revoked_at = utcnow()
            agent.state = AgentState.OFFLINE.value
            login = await self.ctx.session.get(BrokerLogin, agent.mqtt_username)
            if login is not None:
                broker_logins.revoke(login)
            await self.ctx.flush()  # before the lifecycle writes
            # Nobody drives its printers any more: offline (and said so) until moved.
            await printers.agent_gone(self.ctx.session, agent.id, "agent revoked")
            await self.ctx.commit()
            await broker_logins.apply_now(app)
        return agent_out(agent)

    async def _login(self, agent: Agent) -> BrokerLogin:
        login = await self.ctx.session.get(BrokerLogin, agent.mqtt_username)
        if login is None:  # cannot happen after migration 0008; said plainly if it does
            raise not_found("MQTT login of agent", agent.id)
        return login

    def _registered(
        self, agent: Agent, password: str, app: CloudContext, provisioned: bool
    ) -> AgentRegistered:
        creds = MqttCredentials(
            url=broker_logins.broker_url(app.settings),
            username=agent.mqtt_username,
            password=password,
            client_id=agent.id,
            topic_root=f"apf/{agent.org_id}/agents/{agent.id}",
            provisioned=provisioned,
        )
        return AgentRegistered(
            agent=agent_out(agent),
            mqtt=creds,
            config_toml=config_toml(agent.id, agent.org_id, creds),
        )
