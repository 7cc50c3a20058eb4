"""What every service call needs: the open session and who is calling."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from cloud.auth.keys import Principal
from cloud.db.models import Agent, Organization
from cloud.errors import ApiError, not_found
from shared.enums import ErrorCode


@dataclass(frozen=True, slots=True)
class ServiceContext:
    session: AsyncSession
    principal: Principal

    @property
    def org_id(self) -> str:
        return self.principal.org_id

    async def organization(self) -> Organization:
        org = await self.session.get(Organization, self.org_id)
        if org is None:  # the key outlived its organization
            raise ApiError(ErrorCode.INVALID_API_KEY, "The key's organization no longer exists.")
        return org

    async def live_agent(self, agent_id: str, param: str = "agent_id") -> Agent:
        agent = await self.session.get(Agent, agent_id)
        if agent is None or agent.org_id != self.org_id or agent.revoked_at is not None:
            raise not_found("agent", agent_id, param=param)
        return agent
