"""The printing resources of the blocking `Client` (``client.printers``, ``client.jobs``,
``client.materials``, ``client.analytics``); the organization's are in `resources.sync_org`.

The asynchronous twins in `resources.async_` have the same methods and arguments.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from autoprintfarm import models as m
from autoprintfarm._core import Call, ProgressCallback, body, path
from autoprintfarm._multipart import FileInput
from autoprintfarm.pagination import SyncPage
from autoprintfarm.resources import _calls as c
from autoprintfarm.resources._calls import NOT_GIVEN, DateLike, Fields, NotGiven

if TYPE_CHECKING:
    from autoprintfarm._sync import Client


class _Resource:
    def __init__(self, client: Client) -> None:
        self._client = client


class Printers(_Resource):
    def list(
        self,
        *,
        status: str | None = None,
        group: str | None = None,
        tag: str | None = None,
        page: int | None = None,
        per_page: int | None = None,
        sort: str | None = None,
        fields: Fields | None = None,
    ) -> SyncPage[m.Printer]:
        params = c.list_query(page, per_page, sort, fields, status=status, group=group, tag=tag)
        return self._client._page(c.PRINTERS, params, m.Printer)

    def get(self, printer_id: str) -> m.Printer:
        return self._client._request(Call("GET", path("v1", "printers", printer_id)), m.Printer)

    def create(
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
        return self._client._request(call, m.Printer)

    def update(
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
        return self._client._request(call, m.Printer)

    def delete(self, printer_id: str) -> None:
        self._client._request_empty(Call("DELETE", path("v1", "printers", printer_id)))

    def action(
        self, printer_id: str, action: str, *, idempotency_key: str | None = None
    ) -> m.PrinterCommand:
        """Send ``pause``, ``resume``, ``cancel``, ``home`` or ``cooldown`` to the printer.
        With ``idempotency_key``, a retry of the same action is answered without sending
        it twice."""
        call = c.printer_action(printer_id, action, idempotency_key)
        return self._client._request(call, m.PrinterCommand)

    def pause(self, printer_id: str) -> m.PrinterCommand:
        return self.action(printer_id, "pause")

    def resume(self, printer_id: str) -> m.PrinterCommand:
        return self.action(printer_id, "resume")

    def cancel(self, printer_id: str) -> m.PrinterCommand:
        return self.action(printer_id, "cancel")

    def home(self, printer_id: str) -> m.PrinterCommand:
        return self.action(printer_id, "home")

    def cooldown(self, printer_id: str) -> m.PrinterCommand:
        return self.action(printer_id, "cooldown")

    def gcode(
        self, printer_id: str, lines: Sequence[str], *, idempotency_key: str | None = None
    ) -> m.GcodeCommand:
        """Send raw G-code lines (1-50, printable ASCII, at most 96 characters each) to an
        idle printer; needs an ``admin`` key. Waits up to 10 s for the printer: ``status``
        ``ok`` and its answer in ``replies``, or ``sent`` when it has not answered yet."""
        call = c.printer_gcode(printer_id, lines, idempotency_key)
        return self._client._request(call, m.GcodeCommand)


class Jobs(_Resource):
    def list(
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
    ) -> SyncPage[m.Job]:
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
        return self._client._page(c.JOBS, params, m.Job)

    def get(self, job_id: str) -> m.Job:
        return self._client._request(Call("GET", path("v1", "jobs", job_id)), m.Job)

    def create(
        self,
        *,
        file_url: str | None = None,
        file: FileInput | None = None,
        filename: str | None = None,
        name: str | None = None,
        priority: str | None = None,
        printer_id: str | None = None,
        material: str | None = None,
        material_color: str | None = None,
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
            material_color=material_color,
            copies=copies,
            tags=tags,
            on_progress=on_progress,
            idempotency_key=idempotency_key,
        )
        return self._client._request(call, m.Job)

    def analyze(
        self,
        file: FileInput,
        *,
        filename: str | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> m.JobFileAnalysis:
        """Validate and analyse ``file`` (a path or a binary file) as ``create`` would, and
        keep nothing: what a job from it would carry, or FileInvalidError with the reason."""
        call = c.job_analyze(file, filename, on_progress)
        return self._client._request(call, m.JobFileAnalysis)

    def update(
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
        return self._client._request(call, m.Job)

    def delete(self, job_id: str) -> m.Job | None:
        """Remove a queued or finished job (returns None), or cancel one on a printer: a
        ``cancel`` goes to its agent and the job, kept in the history, is returned."""
        return self._client._request_optional(Call("DELETE", path("v1", "jobs", job_id)), m.Job)

    def action(self, job_id: str, action: str, *, idempotency_key: str | None = None) -> m.Job:
        """``pause``, ``resume`` or ``cancel`` the job, on its printer or between two of its
        copies (a paused job starts no next copy; cancel ends the copies left). Returns the
        job: on a printer, its status changes once the agent has done it."""
        call = c.job_action(job_id, action, idempotency_key)
        return self._client._request(call, m.Job)

    def pause(self, job_id: str) -> m.Job:
        return self.action(job_id, "pause")

    def resume(self, job_id: str) -> m.Job:
        return self.action(job_id, "resume")

    def cancel(self, job_id: str) -> m.Job:
        return self.action(job_id, "cancel")


class Materials(_Resource):
    def list(
        self,
        *,
        status: str | None = None,
        type: str | None = None,
        printer_id: str | None = None,
        page: int | None = None,
        per_page: int | None = None,
        sort: str | None = None,
        fields: Fields | None = None,
    ) -> SyncPage[m.Material]:
        params = c.list_query(
            page, per_page, sort, fields, status=status, type=type, printer_id=printer_id
        )
        return self._client._page("/v1/materials", params, m.Material)

    def get(self, material_id: str) -> m.Material:
        call = Call("GET", path("v1", "materials", material_id))
        return self._client._request(call, m.Material)

    def create(
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
        return self._client._request(call, m.Material)

    def update(
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
        return self._client._request(call, m.Material)

    def delete(self, material_id: str) -> None:
        self._client._request_empty(Call("DELETE", path("v1", "materials", material_id)))


class Analytics(_Resource):
    def fleet(
        self,
        *,
        from_date: DateLike | None = None,
        to_date: DateLike | None = None,
        group: str | None = None,
    ) -> m.FleetAnalytics:
        params = c.analytics_query(from_date, to_date, group=group)
        call = Call("GET", "/v1/analytics/fleet", params=params)
        return self._client._request(call, m.FleetAnalytics)

    def printer(
        self,
        printer_id: str,
        *,
        from_date: DateLike | None = None,
        to_date: DateLike | None = None,
    ) -> m.Analytics:
        params = c.analytics_query(from_date, to_date)
        call = Call("GET", path("v1", "analytics", "printers", printer_id), params=params)
        return self._client._request(call, m.Analytics)

    def jobs(
        self,
        *,
        from_date: DateLike | None = None,
        to_date: DateLike | None = None,
        group: str | None = None,
        printer_id: str | None = None,
    ) -> m.Analytics:
        params = c.analytics_query(from_date, to_date, group=group, printer_id=printer_id)
        call = Call("GET", "/v1/analytics/jobs", params=params)
        return self._client._request(call, m.Analytics)

    def materials(
        self,
        *,
        from_date: DateLike | None = None,
        to_date: DateLike | None = None,
        group: str | None = None,
    ) -> m.Analytics:
        params = c.analytics_query(from_date, to_date, group=group)
        call = Call("GET", "/v1/analytics/materials", params=params)
        return self._client._request(call, m.Analytics)
