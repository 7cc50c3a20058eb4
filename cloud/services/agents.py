"""Agents: registration (MQTT credentials + a ready config file), listing, revocation."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement

from cloud.api.listing import PageRequest
from cloud.auth.keys import hash_secret, new_secret
from cloud.db.models import Agent
from cloud.db.types import utcnow
from cloud.errors import not_found
from cloud.ids import IdPrefix, new_id
from cloud.repositories.base import OrgRepository
from cloud.schemas.agents import AgentCreate, AgentOut, AgentRegistered, MqttCredentials
from cloud.services import quotas
from cloud.services.context import ServiceContext
from cloud.settings import Settings
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


def broker_url(settings: Settings) -> str:
    scheme = "mqtts" if settings.mqtt_tls else "mqtt"
    return f"{scheme}://{settings.mqtt_host}:{settings.mqtt_port}"


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
        t = Agent.__table__.c  # type: ignore[attr-defined]
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

    async def register(self, data: AgentCreate, settings: Settings) -> AgentRegistered:
        org = await self.ctx.organization()
        active = await self.repo.count(self.repo.table.c.revoked_at.is_(None))
        quotas.check(active, 1, quotas.plan_for(org.plan).agents, "agents", org.plan)
        agent_id = new_id(IdPrefix.AGENT)
        password = new_secret(prefix="", length=32)
        agent = Agent(
            id=agent_id,
            org_id=self.ctx.org_id,
            name=data.name,
            mqtt_username=agent_id,
            mqtt_password_hash=hash_secret(password),
        )
        self.repo.add(agent)
        await self.ctx.commit()
        creds = MqttCredentials(
            url=broker_url(settings),
            username=agent.mqtt_username,
            password=password,
            client_id=agent_id,
            topic_root=f"apf/{self.ctx.org_id}/agents/{agent_id}",
        )
        return AgentRegistered(
            agent=agent_out(agent),
            mqtt=creds,
            config_toml=config_toml(agent_id, self.ctx.org_id, creds),
        )

    async def revoke(self, agent_id: str) -> AgentOut:
        """Revoked agents lose their MQTT login; their printers stay, unassigned to a live
        agent, until moved to another one with PATCH /v1/printers/:id."""
        agent = await self._row(agent_id)
        if agent.revoked_at is None:
            agent.revoked_at = utcnow()
            agent.state = AgentState.OFFLINE.value
            await self.ctx.commit()
        return agent_out(agent)
