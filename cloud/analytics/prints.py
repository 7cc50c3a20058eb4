"""Aggregates over `prints` (one row per physical print): time, outcomes, grams, cost.

A print occupies its printer from `started_at` to `ended_at`; one still printing or paused
runs until now. A print never started (assigned, then refused) occupies no time.
Definitions: docs/analytics.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, case, distinct, func, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Subquery
from sqlmodel import col

from cloud.analytics.sql import Dialect, Window, dialect_of
from cloud.analytics.usage import usage_cost
from cloud.db.models import Printer
from cloud.lifecycle.states import RunStatus
from cloud.orchestration.tables import PrintRun

_OPEN = (RunStatus.PRINTING.value, RunStatus.PAUSED.value)  # started, not ended


def printers_in_scope(
    org_id: str, window: Window, *, group: str | None = None, printer_id: str | None = None
) -> Select[Any]:
    """Ids of the printers a report covers: registered before the period's end."""
    stmt = select(col(Printer.id)).where(
        col(Printer.org_id) == org_id, col(Printer.created_at) < window.end
    )
    if group is not None:
        stmt = stmt.where(col(Printer.group) == group)
    if printer_id is not None:
        stmt = stmt.where(col(Printer.id) == printer_id)
    return stmt


def capacity(d: Dialect, scope: Select[Any], window: Window) -> Select[int, float]:
    """(printers, seconds they were registered during the elapsed part of the period)."""
    registered_s = d.greatest(
        0.0,
        d.least(window.end_s(), window.now_s())
        - d.greatest(window.start_s(), d.epoch_s(col(Printer.created_at))),
    )
    return select(func.count(), func.coalesce(func.sum(registered_s), 0.0)).where(
        col(Printer.id).in_(scope.scalar_subquery())
    )


def print_spans(
    d: Dialect, org_id: str, window: Window, scope: Select[Any] | None = None
) -> Subquery:
    """One row per print touching the period: its interval in epoch seconds, outcome,
    agent-reported duration and grams. Prints only: no join on the hot path."""
    start_s = d.epoch_s(col(PrintRun.started_at))
    end_s = case(
        (col(PrintRun.ended_at).is_not(None), d.epoch_s(col(PrintRun.ended_at))),
        (col(PrintRun.status).in_(_OPEN), window.now_s()),
        else_=start_s,
    )
    ended_in = and_(col(PrintRun.ended_at) >= window.start, col(PrintRun.ended_at) < window.end)
    overlaps = and_(col(PrintRun.started_at) < window.end, end_s > window.start_s())
    conditions = [col(PrintRun.org_id) == org_id, or_(ended_in, overlaps)]
    if scope is not None:
        conditions.append(col(PrintRun.printer_id).in_(scope.scalar_subquery()))
    columns: tuple[Any, ...] = (
        col(PrintRun.printer_id).label("printer_id"),
        col(PrintRun.status).label("status"),
        col(PrintRun.ended_at).label("ended_at"),
        start_s.label("start_s"),
        end_s.label("end_s"),
        col(PrintRun.duration_s).label("duration_s"),
        col(PrintRun.filament_used_g).label("grams"),
    )
    # A print touching the period ended in it, ended after it having started before its end,
    # or has not ended: three ranges of ix_prints_org_ended (org_id, ended_at), so history
    # before the period is never read.
    ended = col(PrintRun.ended_at)
    in_period = select(*columns).where(*conditions, ended >= window.start, ended < window.end)
    after = select(*columns).where(
        *conditions, ended >= window.end, col(PrintRun.started_at) < window.end
    )
    not_ended = select(*columns).where(*conditions, ended.is_(None))
    return union_all(in_period, after, not_ended).subquery("print_spans")


@dataclass(frozen=True, slots=True)
class PrintTotals:
    active_printers: int
    print_time_s: float
    completed: int
    failed: int
    cancelled: int
    refused: int
    grams: float
    cost: float
    mean_completed_duration_s: float | None


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


async def print_totals(
    session: AsyncSession, org_id: str, window: Window, scope: Select[Any]
) -> PrintTotals:
    d = dialect_of(session)
    f = print_spans(d, org_id, window, scope)
    ended_in = and_(f.c.ended_at >= window.start, f.c.ended_at < window.end)
    overlaps = and_(f.c.start_s < window.end_s(), f.c.end_s > window.start_s())
    clipped_s = d.greatest(
        0.0, d.least(f.c.end_s, window.end_s()) - d.greatest(f.c.start_s, window.start_s())
    )
    completed_in = and_(ended_in, f.c.status == RunStatus.COMPLETED.value)
    # The agent's own duration when it gave one, else the wall time between start and end.
    duration_s = func.coalesce(f.c.duration_s, f.c.end_s - f.c.start_s)
    stmt = select(
        func.count(distinct(case((overlaps, f.c.printer_id)))),
        func.coalesce(func.sum(case((overlaps, clipped_s))), 0.0),
        _count_if(completed_in),
        _count_if(and_(ended_in, f.c.status == RunStatus.FAILED.value)),
        _count_if(and_(ended_in, f.c.status == RunStatus.CANCELLED.value)),
        _count_if(and_(ended_in, f.c.status == RunStatus.REFUSED.value)),
        func.coalesce(func.sum(case((ended_in, f.c.grams))), 0.0),
        func.avg(case((completed_in, duration_s))),
    )
    row = (await session.execute(stmt)).one()
    return PrintTotals(
        active_printers=int(row[0]),
        print_time_s=float(row[1]),
        completed=int(row[2]),
        failed=int(row[3]),
        cancelled=int(row[4]),
        refused=int(row[5]),
        grams=float(row[6]),
        cost=await usage_cost(session, org_id, window, scope),
        mean_completed_duration_s=None if row[7] is None else float(row[7]),
    )
