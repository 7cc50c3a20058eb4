"""`/v1/analytics`: fleet, printer, job and material reports for a period.

`from`/`to` take an ISO 8601 date or datetime (parsed by cloud/analytics/period.py, which
also accepts bare dates, unlike Litestar's datetime parameters); see docs/analytics.md.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.params import FromPath, QueryParameter

from cloud.analytics.period import Period, resolve_period
from cloud.analytics.service import AnalyticsService
from cloud.api.deps import Svc
from cloud.api.listing import reject_unknown_query
from cloud.api.openapi import errors
from cloud.api.params import ShortQuery, date_query
from cloud.db.types import utcnow
from cloud.schemas.analytics import (
    FleetAnalytics,
    JobAnalytics,
    MaterialAnalytics,
    PrinterAnalytics,
)

_BOUND = "ISO 8601 date (YYYY-MM-DD) or datetime with a time zone"
From = Annotated[
    str | None,
    date_query("from", f"Period start, {_BOUND}; default: `to` − 7 days"),
]
To = Annotated[
    str | None,
    date_query(
        "to", f"Period end (exclusive), {_BOUND}; a date covers that whole day; default: now"
    ),
]
Group = Annotated[
    str | None, QueryParameter(max_length=100, description="Only printers of this group")
]


def _period(
    request: Request[Any, Any, Any],
    allowed: tuple[str, ...],
    period_from: str | None,
    period_to: str | None,
) -> Period:
    reject_unknown_query(request.query_params, allowed)
    return resolve_period(period_from, period_to, utcnow())


class AnalyticsController(Controller):
    path = "/v1/analytics"
    tags = ["analytics"]  # noqa: RUF012

    @get("/fleet", opt={"scope": "analytics:read"}, responses=errors())
    async def fleet(
        self,
        *,
        request: Request[Any, Any, Any],
        svc: Svc,
        period_from: From = None,
        period_to: To = None,
        group: Group = None,
    ) -> FleetAnalytics:
        """Fleet figures for the period: printers, utilization, jobs, success, time,
        material and cost (definitions in docs/analytics.md)."""
        period = _period(request, ("from", "to", "group"), period_from, period_to)
        return await AnalyticsService(svc, period).fleet(group)

    @get("/printers/{printer_id:str}", opt={"scope": "analytics:read"}, responses=errors())
    async def printer(
        self,
        *,
        request: Request[Any, Any, Any],
        svc: Svc,
        printer_id: FromPath[str],
        period_from: From = None,
        period_to: To = None,
    ) -> PrinterAnalytics:
        """One printer's figures for the period, its prints by outcome and mean duration."""
        period = _period(request, ("from", "to"), period_from, period_to)
        return await AnalyticsService(svc, period).printer(printer_id)

    @get("/jobs", opt={"scope": "analytics:read"}, responses=errors())
    async def jobs(
        self,
        *,
        request: Request[Any, Any, Any],
        svc: Svc,
        period_from: From = None,
        period_to: To = None,
        group: Group = None,
        printer_id: ShortQuery = None,
    ) -> JobAnalytics:
        """Jobs created in the period by status and priority, per day, mean wait and
        duration."""
        period = _period(request, ("from", "to", "group", "printer_id"), period_from, period_to)
        return await AnalyticsService(svc, period).jobs(group=group, printer_id=printer_id)

    @get("/materials", opt={"scope": "analytics:read"}, responses=errors())
    async def materials(
        self,
        *,
        request: Request[Any, Any, Any],
        svc: Svc,
        period_from: From = None,
        period_to: To = None,
        group: Group = None,
    ) -> MaterialAnalytics:
        """Material used in the period by type and colour, stock left, spools to reorder."""
        period = _period(request, ("from", "to", "group"), period_from, period_to)
        return await AnalyticsService(svc, period).materials(group)
