"""The resources of `AsyncClient`: the same methods and arguments as `resources.sync`,
awaited. tests/sdk checks that the two stay alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from autoprintfarm import models as m
from autoprintfarm._core import Call, ProgressCallback, body, path, query
from autoprintfarm._multipart import FileInput
from autoprintfarm.pagination import AsyncPage
from autoprintfarm.resources import _calls as c
from autoprintfarm.resources._calls import NOT_GIVEN, DateLike, Fields, NotGiven

if TYPE_CHECKING:
    from autoprintfarm._async import AsyncClient


class _Resource:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client


class Printers(_Resource):
    async def list(
        self,
        *,
        status: str | None = None,
        group: str | None = None,
        tag: str | None = None,
        page: int | None = None,
        per_page: int | None = None,
        sort: str | None = None,
        fields: Fields | None = None,
    ) -> AsyncPage[m.Printer]:
        params = c.list_query(page, per_page, sort, fields, status=status, group=group, tag=tag)
        return await self._client._page(c.PRINTERS, params, m.Printer)

    async def get(self, printer_id: str) -> m.Printer:
        result: m.Printer = await self._client._request(
            Call("GET", path("v1", "printers", printer_id)), m.Printer
        )
        return result

    async def create(
        self,
        *,
        name: str,
        connection_url: str,
        api_key: str | None = None,
        model: str | None = None,
        group: str | None = None,
        tags: Sequence[str] | None = None,
        agent_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> m.Printer:
        call = c.printer_create(
            name=name,
            connection_url=connection_url,
            api_key=api_key,
            model=model,
            group=group,
            tags=tags,
            agent_id=agent_id,
            idempotency_key=idempotency_key,
        )
        result: m.Printer = await self._client._request(call, m.Printer)
        return result

    async def update(
        self,
        printer_id: str,
        *,
        name: str | NotGiven = NOT_GIVEN,
        connection_url: str | NotGiven = NOT_GIVEN,
        api_key: str | NotGiven | None = NOT_GIVEN,
        model: str | NotGiven | None = NOT_GIVEN,
        group: str | NotGiven | None = NOT_GIVEN,
        tags: Sequence[str] | NotGiven = NOT_GIVEN,
        agent_id: str | NotGiven | None = NOT_GIVEN,
    ) -> m.Printer:
        payload = c.changes(
            name=name,
            connection_url=connection_url,
            api_key=api_key,
            model=model,
            group=group,
            tags=list(tags) if not isinstance(tags, NotGiven) else tags,
            agent_id=agent_id,
        )
        call = Call("PATCH", path("v1", "printers", printer_id), json=payload)
        result: m.Printer = await self._client._request(call, m.Printer)
        return result

    async def delete(self, printer_id: str) -> None:
        await self._client._request(Call("DELETE", path("v1", "printers", printer_id)), None)

    async def action(self, printer_id: str, action: str) -> m.PrinterCommand:
        """Send ``pause``, ``resume``, ``cancel``, ``home`` or ``cooldown`` to the printer."""
        result: m.PrinterCommand = await self._client._request(
            c.printer_action(printer_id, action), m.PrinterCommand
        )
        return result

    async def pause(self, printer_id: str) -> m.PrinterCommand:
        return await self.action(printer_id, "pause")

    async def resume(self, printer_id: str) -> m.PrinterCommand:
        return await self.action(printer_id, "resume")

    async def cancel(self, printer_id: str) -> m.PrinterCommand:
        return await self.action(printer_id, "cancel")

    async def home(self, printer_id: str) -> m.PrinterCommand:
        return await self.action(printer_id, "home")

    async def cooldown(self, printer_id: str) -> m.PrinterCommand:
        return await self.action(printer_id, "cooldown")


class Jobs(_Resource):
    async def list(
        self,
        *,
        status: str | None = None,
        printer_id: str | None = None,
        priority: str | None = None,
        from_date: DateLike | None = None,
        to_date: DateLike | None = None,
        page: int | None = None,
        per_page: int | None = None,
        sort: str | None = None,
        fields: Fields | None = None,
    ) -> AsyncPage[m.Job]:
        params = c.list_query(
            page,
            per_page,
            sort,
            fields,
            status=status,
            printer_id=printer_id,
            priority=priority,
            **{"from": from_date, "to": to_date},
        )
        return await self._client._page(c.JOBS, params, m.Job)

    async def get(self, job_id: str) -> m.Job:
        result: m.Job = await self._client._request(Call("GET", path("v1", "jobs", job_id)), m.Job)
        return result

    async def create(
        self,
        *,
        file_url: str | None = None,
        file: FileInput | None = None,
        filename: str | None = None,
        name: str | None = None,
        priority: str | None = None,
        printer_id: str | None = None,
        material: str | None = None,
        copies: int | None = None,
        tags: Sequence[str] | None = None,
        on_progress: ProgressCallback | None = None,
        idempotency_key: str | None = None,
    ) -> m.Job:
        """Queue a job from ``file_url`` or by uploading ``file`` (a path or a binary file).

        ``on_progress(bytes_sent, total_bytes)`` is called as the upload goes out
        (``total_bytes`` is None for a file whose size cannot be known in advance).
        """
        call = c.job_create(
            file_url=file_url,
            file=file,
            filename=filename,
            name=name,
            priority=priority,
            printer_id=printer_id,
            material=material,
            copies=copies,
            tags=tags,
            on_progress=on_progress,
            idempotency_key=idempotency_key,
        )
        result: m.Job = await self._client._request(call, m.Job)
        return result

    async def update(
        self,
        job_id: str,
        *,
        name: str | NotGiven = NOT_GIVEN,
        priority: str | NotGiven = NOT_GIVEN,
        tags: Sequence[str] | NotGiven = NOT_GIVEN,
    ) -> m.Job:
        payload = c.changes(
            name=name,
            priority=priority,
            tags=list(tags) if not isinstance(tags, NotGiven) else tags,
        )
        call = Call("PATCH", path("v1", "jobs", job_id), json=payload)
        result: m.Job = await self._client._request(call, m.Job)
        return result

    async def delete(self, job_id: str) -> m.Job | None:
        """Remove a queued or finished job (returns None), or cancel one on a printer: a
        ``cancel`` goes to its agent and the job, kept in the history, is returned."""
        result: m.Job | None = await self._client._request(
            Call("DELETE", path("v1", "jobs", job_id)), m.Job
        )
        return result


class Materials(_Resource):
    async def list(
        self,
        *,
        status: str | None = None,
        type: str | None = None,
        printer_id: str | None = None,
        page: int | None = None,
        per_page: int | None = None,
        sort: str | None = None,
        fields: Fields | None = None,
    ) -> AsyncPage[m.Material]:
        params = c.list_query(
            page, per_page, sort, fields, status=status, type=type, printer_id=printer_id
        )
        return await self._client._page("/v1/materials", params, m.Material)

    async def get(self, material_id: str) -> m.Material:
        call = Call("GET", path("v1", "materials", material_id))
        result: m.Material = await self._client._request(call, m.Material)
        return result

    async def create(
        self,
        *,
        type: str,
        spool_weight: float,
        remaining_weight: float | None = None,
        brand: str | None = None,
        color: str | None = None,
        cost_per_kg: float | None = None,
        printer_id: str | None = None,
        reorder_threshold: float | None = None,
        archived: bool | None = None,
        idempotency_key: str | None = None,
    ) -> m.Material:
        payload = body(
            type=type,
            spool_weight=spool_weight,
            remaining_weight=remaining_weight,
            brand=brand,
            color=color,
            cost_per_kg=cost_per_kg,
            printer_id=printer_id,
            reorder_threshold=reorder_threshold,
            archived=archived,
        )
        headers = c.idempotency(idempotency_key)
        call = Call("POST", "/v1/materials", json=payload, headers=headers)
        result: m.Material = await self._client._request(call, m.Material)
        return result

    async def update(
        self,
        material_id: str,
        *,
        type: str | NotGiven = NOT_GIVEN,
        brand: str | NotGiven | None = NOT_GIVEN,
        color: str | NotGiven | None = NOT_GIVEN,
        spool_weight: float | NotGiven = NOT_GIVEN,
        remaining_weight: float | NotGiven = NOT_GIVEN,
        cost_per_kg: float | NotGiven | None = NOT_GIVEN,
        printer_id: str | NotGiven | None = NOT_GIVEN,
        reorder_threshold: float | NotGiven | None = NOT_GIVEN,
        archived: bool | NotGiven = NOT_GIVEN,
    ) -> m.Material:
        payload = c.changes(
            type=type,
            brand=brand,
            color=color,
            spool_weight=spool_weight,
            remaining_weight=remaining_weight,
            cost_per_kg=cost_per_kg,
            printer_id=printer_id,
            reorder_threshold=reorder_threshold,
            archived=archived,
        )
        call = Call("PATCH", path("v1", "materials", material_id), json=payload)
        result: m.Material = await self._client._request(call, m.Material)
        return result

    async def delete(self, material_id: str) -> None:
        await self._client._request(Call("DELETE", path("v1", "materials", material_id)), None)


class Analytics(_Resource):
    async def fleet(
        self,
        *,
        from_date: DateLike | None = None,
        to_date: DateLike | None = None,
        group: str | None = None,
    ) -> m.FleetAnalytics:
        params = c.analytics_query(from_date, to_date, group=group)
        call = Call("GET", "/v1/analytics/fleet", params=params)
        result: m.FleetAnalytics = await self._client._request(call, m.FleetAnalytics)
        return result

    async def printer(
        self,
        printer_id: str,
        *,
        from_date: DateLike | None = None,
        to_date: DateLike | None = None,
    ) -> m.Analytics:
        params = c.analytics_query(from_date, to_date)
        call = Call("GET", path("v1", "analytics", "printers", printer_id), params=params)
        result: m.Analytics = await self._client._request(call, m.Analytics)
        return result

    async def jobs(
        self,
        *,
        from_date: DateLike | None = None,
        to_date: DateLike | None = None,
        group: str | None = None,
        printer_id: str | None = None,
    ) -> m.Analytics:
        params = c.analytics_query(from_date, to_date, group=group, printer_id=printer_id)
        call = Call("GET", "/v1/analytics/jobs", params=params)
        result: m.Analytics = await self._client._request(call, m.Analytics)
        return result

    async def materials(
        self,
        *,
        from_date: DateLike | None = None,
        to_date: DateLike | None = None,
        group: str | None = None,
    ) -> m.Analytics:
        params = c.analytics_query(from_date, to_date, group=group)
        call = Call("GET", "/v1/analytics/materials", params=params)
        result: m.Analytics = await self._client._request(call, m.Analytics)
        return result


class Webhooks(_Resource):
    async def list(
        self, *, page: int | None = None, per_page: int | None = None
    ) -> AsyncPage[m.Webhook]:
        return await self._client._page(c.WEBHOOKS, query(page=page, per_page=per_page), m.Webhook)

    async def create(
        self,
        *,
        url: str,
        events: Sequence[str],
        secret: str | None = None,
        enabled: bool | None = None,
        idempotency_key: str | None = None,
    ) -> m.Webhook:
        """Register an endpoint. The answer carries ``secret`` (yours, or a generated
        ``whsec_…``): store it now, it is never returned again."""
        call = c.webhook_create(
            url=url,
            events=events,
            secret=secret,
            enabled=enabled,
            idempotency_key=idempotency_key,
        )
        result: m.Webhook = await self._client._request(call, m.Webhook)
        return result

    async def update(
        self,
        webhook_id: str,
        *,
        url: str | NotGiven = NOT_GIVEN,
        events: Sequence[str] | NotGiven = NOT_GIVEN,
        secret: str | NotGiven = NOT_GIVEN,
        enabled: bool | NotGiven = NOT_GIVEN,
    ) -> m.Webhook:
        payload = c.changes(
            url=url,
            events=list(events) if not isinstance(events, NotGiven) else events,
            secret=secret,
            enabled=enabled,
        )
        call = Call("PATCH", path("v1", "webhooks", webhook_id), json=payload)
        result: m.Webhook = await self._client._request(call, m.Webhook)
        return result

    async def delete(self, webhook_id: str) -> None:
        await self._client._request(Call("DELETE", path("v1", "webhooks", webhook_id)), None)

    async def test(self, webhook_id: str) -> m.WebhookTestResult:
        """Send a signed test event to the endpoint now; the answer says how it went."""
        call = Call("POST", path("v1", "webhooks", webhook_id, "test"))
        result: m.WebhookTestResult = await self._client._request(call, m.WebhookTestResult)
        return result


class OrganizationResource(_Resource):
    async def get(self) -> m.Organization:
        result: m.Organization = await self._client._request(
            Call("GET", "/v1/organization"), m.Organization
        )
        return result

    retrieve = get

    async def update(self, *, name: str | NotGiven = NOT_GIVEN) -> m.Organization:
        call = Call("PATCH", "/v1/organization", json=c.changes(name=name))
        result: m.Organization = await self._client._request(call, m.Organization)
        return result


class Users(_Resource):
    async def list(
        self,
        *,
        role: str | None = None,
        page: int | None = None,
        per_page: int | None = None,
        sort: str | None = None,
        fields: Fields | None = None,
    ) -> AsyncPage[m.User]:
        params = c.list_query(page, per_page, sort, fields, role=role)
        return await self._client._page("/v1/users", params, m.User)

    async def get(self, user_id: str) -> m.User:
        call = Call("GET", path("v1", "users", user_id))
        result: m.User = await self._client._request(call, m.User)
        return result

    async def invite(self, *, email: str, role: str | None = None) -> m.Invitation:
        """Invite someone by email; the answer's ``token`` is shown only this once."""
        call = Call("POST", "/v1/users/invite", json=body(email=email, role=role))
        result: m.Invitation = await self._client._request(call, m.Invitation)
        return result


class Agents(_Resource):
    async def list(
        self,
        *,
        revoked: bool | None = None,
        page: int | None = None,
        per_page: int | None = None,
        sort: str | None = None,
        fields: Fields | None = None,
    ) -> AsyncPage[m.Agent]:
        params = c.list_query(page, per_page, sort, fields, revoked=revoked)
        return await self._client._page("/v1/agents", params, m.Agent)

    async def get(self, agent_id: str) -> m.Agent:
        call = Call("GET", path("v1", "agents", agent_id))
        result: m.Agent = await self._client._request(call, m.Agent)
        return result

    async def create(self, *, name: str) -> m.AgentRegistration:
        """Register an agent. The answer carries its MQTT password and a ready config file,
        shown only this once: store them on the agent's machine."""
        call = Call("POST", "/v1/agents", json={"name": name})
        result: m.AgentRegistration = await self._client._request(call, m.AgentRegistration)
        return result

    async def revoke(self, agent_id: str) -> m.Agent:
        """Revoke an agent: it can no longer log in to the broker. Idempotent."""
        call = Call("POST", path("v1", "agents", agent_id, "revoke"))
        result: m.Agent = await self._client._request(call, m.Agent)
        return result
