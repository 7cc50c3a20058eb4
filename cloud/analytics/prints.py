"""Aggregates over `prints` (one row per physical print): time, outcomes, grams, cost.

A print occupies its printer from `started_at` to `ended_at`; one still printing or paused
runs until now. A print never started (assigned, then refused) occupies no time.
Definitions: docs/analytics.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, distinct, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Subquery
from sqlmodel import col

from cloud.analytics.sql import Dialect, norm, seconds
from cloud.db.models import Job, Material, Printer
from cloud.orchestration.tables import PrintRun
from shared.enums import MaterialStatus

_OPEN = ("printing", "paused")
_GRAMS_PER_KG = 1000.0


@dataclass(frozen=True, slots=True)
class Window:
    """A period as the queries bind it: datetimes for indexed filters, epoch seconds for
    arithmetic."""

    start: datetime
    end: datetime
    now: datetime

    def start_s(self) -> ColumnElement[float]:
        return seconds(self.start.timestamp(), "window_start_s")

    def end_s(self) -> ColumnElement[float]:
        return seconds(self.end.timestamp(), "window_end_s")

    def now_s(self) -> ColumnElement[float]:
        return seconds(self.now.timestamp(), "window_now_s")


def dialect_of(session: AsyncSession) -> Dialect:
    return Dialect(session.get_bind().dialect.name)


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


def _loaded_spools(org_id: str) -> Subquery:
    """The spool loaded on each printer: its oldest non-archived one, the spool
    cloud/orchestration/materials.py deducts from."""
    rank = (
        func.row_number()
        .over(
            partition_by=col(Material.printer_id),
            order_by=(col(Material.created_at), col(Material.id)),
        )
        .label("rank")
    )
    inner = (
        select(
            col(Material.printer_id).label("printer_id"),
            col(Material.type).label("type"),
            col(Material.color).label("color"),
            col(Material.cost_per_kg).label("cost_per_kg"),
            rank,
        )
        .where(
            col(Material.org_id) == org_id,
            col(Material.printer_id).is_not(None),
            col(Material.status) != MaterialStatus.ARCHIVED.value,
        )
        .subquery("ranked_spools")
    )
    return select(inner).where(inner.c.rank == 1).subquery("loaded")


def _type_prices(org_id: str) -> Subquery:
    """The organization's mean price per kg of each material type (every priced spool)."""
    key = norm(col(Material.type))
    return (
        select(key.label("type_key"), func.avg(col(Material.cost_per_kg)).label("cost_per_kg"))
        .where(col(Material.org_id) == org_id, col(Material.cost_per_kg).is_not(None))
        .group_by(key)
        .subquery("type_prices")
    )


def print_facts(
    d: Dialect, org_id: str, window: Window, scope: Select[Any] | None = None
) -> Subquery:
    """One row per print touching the period: its interval in epoch seconds, outcome,
    grams, attributed material type/colour and price per kg."""
    loaded, prices = _loaded_spools(org_id), _type_prices(org_id)
    job_type = col(Job.material_type)
    # The loaded spool speaks for a print only when it is of the job's material (or the job
    # named none): it is today's spool, and may have been swapped since.
    spool_fits = or_(job_type.is_(None), norm(loaded.c.type) == norm(job_type))
    type_label = func.coalesce(job_type, case((spool_fits, loaded.c.type)))
    color_label = func.coalesce(col(Job.material_color), case((spool_fits, loaded.c.color)))
    price = case(
        (and_(spool_fits, loaded.c.cost_per_kg.is_not(None)), loaded.c.cost_per_kg),
        else_=prices.c.cost_per_kg,
    )
    start_s = d.epoch_s(col(PrintRun.started_at))
    end_s = case(
        (col(PrintRun.ended_at).is_not(None), d.epoch_s(col(PrintRun.ended_at))),
        (col(PrintRun.status).in_(_OPEN), window.now_s()),
        else_=start_s,
    )
    ended_in = and_(col(PrintRun.ended_at) >= window.start, col(PrintRun.ended_at) < window.end)
    overlaps = and_(col(PrintRun.started_at) < window.end, end_s > window.start_s())
    stmt = (
        select(
            col(PrintRun.printer_id).label("printer_id"),
            col(PrintRun.status).label("status"),
            col(PrintRun.ended_at).label("ended_at"),
            start_s.label("start_s"),
            end_s.label("end_s"),
            col(PrintRun.duration_s).label("duration_s"),
            col(PrintRun.filament_used_g).label("grams"),
            norm(type_label).label("type_key"),
            type_label.label("type"),
            norm(color_label).label("color_key"),
            color_label.label("color"),
            price.label("cost_per_kg"),
        )
        .select_from(PrintRun)
        .join(Job, col(Job.id) == col(PrintRun.job_id), isouter=True)
        .join(loaded, loaded.c.printer_id == col(PrintRun.printer_id), isouter=True)
        .join(prices, prices.c.type_key == norm(type_label), isouter=True)
        .where(col(PrintRun.org_id) == org_id, or_(ended_in, overlaps))
    )
    if scope is not None:
        stmt = stmt.where(col(PrintRun.printer_id).in_(scope.scalar_subquery()))
    return stmt.subquery("print_facts")


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
    f = print_facts(d, org_id, window, scope)
    ended_in = and_(f.c.ended_at >= window.start, f.c.ended_at < window.end)
    overlaps = and_(f.c.start_s < window.end_s(), f.c.end_s > window.start_s())
    clipped_s = d.greatest(
        0.0, d.least(f.c.end_s, window.end_s()) - d.greatest(f.c.start_s, window.start_s())
    )
    completed_in = and_(ended_in, f.c.status == "completed")
    # The agent's own duration when it gave one, else the wall time between start and end.
    duration_s = func.coalesce(f.c.duration_s, f.c.end_s - f.c.start_s)
    stmt = select(
        func.count(distinct(case((overlaps, f.c.printer_id)))),
        func.coalesce(func.sum(case((overlaps, clipped_s))), 0.0),
        _count_if(completed_in),
        _count_if(and_(ended_in, f.c.status == "failed")),
        _count_if(and_(ended_in, f.c.status == "cancelled")),
        _count_if(and_(ended_in, f.c.status == "refused")),
        func.coalesce(func.sum(case((ended_in, f.c.grams))), 0.0),
        func.coalesce(func.sum(case((ended_in, f.c.grams * f.c.cost_per_kg / _GRAMS_PER_KG))), 0.0),
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
        cost=float(row[7]),
        mean_completed_duration_s=None if row[8] is None else float(row[8]),
    )
