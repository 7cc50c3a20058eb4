"""The four reports: each runs a few aggregate queries and shapes their rows.

Rates are percentages with one decimal and 0 when there is nothing to divide by; means are
null when there is nothing to average. Definitions: docs/analytics.md.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select
from sqlmodel import col, select

from cloud.analytics import jobs as job_queries
from cloud.analytics import materials as material_queries
from cloud.analytics.period import Period
from cloud.analytics.prints import PrintTotals, capacity, print_totals, printers_in_scope
from cloud.analytics.sql import Window, dialect_of
from cloud.db.models import Printer
from cloud.db.types import utcnow
from cloud.problems import not_found
from cloud.schemas.analytics import (
    FleetAnalytics,
    FleetMetrics,
    JobAnalytics,
    JobDay,
    JobMetrics,
    LowSpool,
    MaterialAnalytics,
    MaterialKind,
    MaterialMetrics,
    PeriodOut,
    PrinterAnalytics,
    PrinterMetrics,
    PrintOutcomes,
)
from cloud.services.context import ServiceContext
from cloud.views.numbers import cents, tenth
from shared.enums import JobStatus, Priority


def percent(part: float, whole: float) -> float:
    return tenth(100.0 * part / whole) if whole > 0 else 0.0


def _success_rate(totals: PrintTotals) -> float:
    # Cancelled prints were stopped by a person, not failed by the printer: left out.
    return percent(totals.completed, totals.completed + totals.failed)


class AnalyticsService:
    def __init__(self, ctx: ServiceContext, period: Period, now: datetime | None = None) -> None:
        self.ctx = ctx
        self.period = period
        self.window = Window(start=period.start, end=period.end, now=now or utcnow())

    @property
    def _period_out(self) -> PeriodOut:
        return PeriodOut(from_=self.period.start, to=self.period.end_shown)

    async def _capacity(self, scope: Select[Any]) -> tuple[int, float]:
        session = self.ctx.session
        stmt = capacity(dialect_of(session), scope, self.window)
        count, available_s = (await session.execute(stmt)).one()
        return int(count), float(available_s)

    async def fleet(self, group: str | None) -> FleetAnalytics:
        org_id, window = self.ctx.org_id, self.window
        scope = printers_in_scope(org_id, window, group=group)
        printers, available_s = await self._capacity(scope)
        totals = await print_totals(self.ctx.session, org_id, window, scope)
        completed = await job_queries.jobs_completed(
            self.ctx.session, window, job_queries.JobFilter(org_id, scope=scope)
        )
        metrics = FleetMetrics(
            total_printers=printers,
            active_printers=totals.active_printers,
            utilization_rate=percent(totals.print_time_s, available_s),
            jobs_completed=completed,
            success_rate=_success_rate(totals),
            total_print_time=round(totals.print_time_s),
            material_consumed=tenth(totals.grams),
            estimated_cost=cents(totals.cost),
        )
        return FleetAnalytics(period=self._period_out, metrics=metrics)

    async def printer(self, printer_id: str) -> PrinterAnalytics:
        org_id, window = self.ctx.org_id, self.window
        found = await self.ctx.session.execute(
            select(col(Printer.id)).where(
                col(Printer.id) == printer_id, col(Printer.org_id) == org_id
            )
        )
        if found.first() is None:
            raise not_found("printer", printer_id)
        scope = printers_in_scope(org_id, window, printer_id=printer_id)
        _, available_s = await self._capacity(scope)
        totals = await print_totals(self.ctx.session, org_id, window, scope)
        completed = await job_queries.jobs_completed(
            self.ctx.session, window, job_queries.JobFilter(org_id, printer_id=printer_id)
        )
        metrics = PrinterMetrics(
            utilization_rate=percent(totals.print_time_s, available_s),
            jobs_completed=completed,
            success_rate=_success_rate(totals),
            total_print_time=round(totals.print_time_s),
            material_consumed=tenth(totals.grams),
            estimated_cost=cents(totals.cost),
            mean_print_duration=tenth(totals.mean_completed_duration_s),
            prints=PrintOutcomes(
                completed=totals.completed,
                failed=totals.failed,
                cancelled=totals.cancelled,
                refused=totals.refused,
            ),
        )
        return PrinterAnalytics(period=self._period_out, printer_id=printer_id, metrics=metrics)

    async def jobs(self, *, group: str | None, printer_id: str | None) -> JobAnalytics:
        org_id = self.ctx.org_id
        scope = None if group is None else printers_in_scope(org_id, self.window, group=group)
        filt = job_queries.JobFilter(org_id, scope=scope, printer_id=printer_id)
        totals = await job_queries.job_totals(self.ctx.session, self.window, filt)
        by_status = dict.fromkeys((s.value for s in JobStatus), 0)
        by_priority = dict.fromkeys((p.value for p in Priority), 0)
        for status, priority, count in totals.by_status_priority:
            by_status[status] = by_status.get(status, 0) + count
            by_priority[priority] = by_priority.get(priority, 0) + count
        days = [
            JobDay(
                date=day,
                created=totals.created_per_day.get(day, 0),
                completed=totals.finished_per_day.get((day, JobStatus.COMPLETED.value), 0),
                failed=totals.finished_per_day.get((day, JobStatus.FAILED.value), 0),
                cancelled=totals.finished_per_day.get((day, JobStatus.CANCELLED.value), 0),
            )
            for day in calendar_days(self.period)
        ]
        metrics = JobMetrics(
            total=sum(by_status.values()),
            by_status=by_status,
            by_priority=by_priority,
            mean_wait=tenth(totals.mean_wait_s),
            mean_assign_wait=tenth(totals.mean_assign_wait_s),
            mean_duration=tenth(totals.mean_duration_s),
        )
        return JobAnalytics(period=self._period_out, metrics=metrics, data=days)

    async def materials(self, group: str | None) -> MaterialAnalytics:
        session, org_id = self.ctx.session, self.ctx.org_id
        scope = None if group is None else printers_in_scope(org_id, self.window, group=group)
        usage = await material_queries.usage_by_kind(session, org_id, self.window, scope)
        stock = await material_queries.stock_by_kind(session, org_id, scope)
        low, low_total = await material_queries.low_spools(session, org_id, scope)
        kinds = []
        for key in sorted(usage.keys() | stock.keys()):
            used, left = usage.get(key), stock.get(key)
            label = used or left
            assert label is not None
            kinds.append(
                MaterialKind(
                    type=left.type if left else label.type,
                    color=left.color if left else label.color,
                    consumed=tenth(used.grams) if used else 0.0,
                    estimated_cost=cents(used.cost) if used else 0.0,
                    prints=used.prints if used else 0,
                    remaining=tenth(left.remaining_g) if left else 0.0,
                    spools=left.spools if left else 0,
                )
            )
        metrics = MaterialMetrics(
            material_consumed=tenth(sum(u.grams for u in usage.values())),
            estimated_cost=cents(sum(u.cost for u in usage.values())),
            remaining=tenth(sum(s.remaining_g for s in stock.values())),
            spools_low=low_total,
        )
        low_out = [
            LowSpool(
                id=s.id,
                type=s.type,
                color=s.color,
                remaining_weight=s.remaining_g,
                reorder_threshold=s.reorder_threshold_g,
                status=s.status,
                printer_id=s.printer_id,
            )
            for s in low
        ]
        return MaterialAnalytics(
            period=self._period_out, metrics=metrics, data=kinds, low_stock=low_out
        )


def calendar_days(period: Period) -> list[str]:
    """Every UTC day the period touches, oldest first (an empty period touches none)."""
    if period.end <= period.start:
        return []
    first: date = period.start.date()
    last: date = (period.end - timedelta(microseconds=1)).date()
    return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
