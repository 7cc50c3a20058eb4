"""`/v1/agents`: register an edge agent, list, get, rotate its MQTT credentials, revoke."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from cloud.api.deps import Svc, app_context
from cloud.api.listing import (
    DEFAULT_PER_PAGE,
    page_of,
    page_request,
    parse_fields,
    reject_unknown_query,
)
from cloud.api.openapi import IDEMPOTENCY_ERRORS, errors
from cloud.api.params import (
    JSON_BODY_MAX_BYTES,
    IdempotencyKey,
    Page,
    PerPage,
    fields_query,
    sort_query,
)
from cloud.schemas.agents import AGENT_FIELDS, AgentCreate, AgentOut, AgentPage, AgentRegistered
from cloud.services.agents import SORTABLE, AgentService

_LIST_QUERY = ("revoked", "page", "per_page", "sort", "fields")


class AgentController(Controller):
    path = "/v1/agents"
    tags = ["agents"]  # noqa: RUF012
    request_max_body_size = JSON_BODY_MAX_BYTES

    @get("/", opt={"scope": "agents:read"}, responses=errors())
    async def list_agents(
        self,
        *,
        request: Request[Any, Any, Any],
        svc: Svc,
        revoked: FromQuery[bool | None] = None,
        page: Page = 1,
        per_page: PerPage = DEFAULT_PER_PAGE,
        sort: Annotated[str | None, sort_query(SORTABLE)] = None,
        fields: Annotated[str | None, fields_query(AGENT_FIELDS)] = None,
    ) -> AgentPage:
        """List agents. Sortable: name, created_at, last_seen_at."""
        reject_unknown_query(request.query_params, _LIST_QUERY)
        wanted = parse_fields(fields, AGENT_FIELDS)
        req = page_request(page, per_page, sort, SORTABLE, "created_at")
        items, total = await AgentService(svc).list(req, revoked=revoked)
        return page_of(AgentPage, items, wanted, req, total)

    @get("/{agent_id:str}", opt={"scope": "agents:read"}, responses=errors())
    async def get_agent(self, svc: Svc, agent_id: FromPath[str]) -> AgentOut:
        return await AgentService(svc).get(agent_id)

    @post("/", opt={"scope": "agents:write"}, responses=errors(*IDEMPOTENCY_ERRORS))
    async def register_agent(
        self,
        request: Request[Any, Any, Any],
        svc: Svc,
        data: JSONBody[AgentCreate],
        idempotency_key: IdempotencyKey = None,
    ) -> AgentRegistered:
        """Register an agent. The response carries its MQTT password and a ready
        configuration file, once: store them on the agent's machine. The cloud creates the
        agent's broker login, confined to the agent's own topics."""
        return await AgentService(svc).register(data, app_context(request))

    @post(
        "/{agent_id:str}/credentials",
        opt={"scope": "agents:write"},
        status_code=200,
        responses=errors(*IDEMPOTENCY_ERRORS),
    )
    async def rotate_agent_credentials(
        self,
        request: Request[Any, Any, Any],
        svc: Svc,
        agent_id: FromPath[str],
        idempotency_key: IdempotencyKey = None,
    ) -> AgentRegistered:
        """Give the agent a new MQTT password (and configuration file). The old password
        stops working at once: the agent is disconnected until it is given the new one."""
        return await AgentService(svc).rotate(agent_id, app_context(request))

    @delete("/{agent_id:str}", opt={"scope": "agents:write"}, responses=errors())
    async def delete_agent(
        self, request: Request[Any, Any, Any], svc: Svc, agent_id: FromPath[str]
    ) -> None:
        """Revoke an agent: its broker login is removed and its connection closed (within
        5 s while the broker is reachable), and it cannot reconnect. The agent stays listed
        as revoked. Idempotent."""
        await AgentService(svc).revoke(agent_id, app_context(request))

    @post(
        "/{agent_id:str}/revoke",
        opt={"scope": "agents:write"},
        status_code=200,
        responses=errors(*IDEMPOTENCY_ERRORS),
    )
    async def revoke_agent(
        self,
        request: Request[Any, Any, Any],
        svc: Svc,
        agent_id: FromPath[str],
        idempotency_key: IdempotencyKey = None,
    ) -> AgentOut:
        """Revoke an agent, as DELETE does, answering with the revoked agent. Idempotent."""
        return await AgentService(svc).revoke(agent_id, app_context(request))
