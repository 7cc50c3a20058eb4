"""Material used by prints, attributed to a material type and colour, and priced.

A print's material is its job's (`material_type`, `material_color`). Where the job named
none, it is that of the spool loaded on the printer, which is today's spool (spool history
is not kept), so it speaks for a print only when it is of the job's type or the job named
no type. Price per kg: that spool's when it fits and has one, else the organization's mean
price for the type. Prints are first summed per printer and job material, so the spool
and price joins run over a few rows, not over every print. Definitions: docs/analytics.md.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import Subquery
from sqlmodel import col

from cloud.analytics.sql import Window, norm
from cloud.db.models import Job, Material
from cloud.orchestration.tables import PrintRun
from shared.enums import MaterialStatus

_GRAMS_PER_KG = 1000.0


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
    """The organization's mean price per kg of each material type (every priced spool,
    archived ones included: their price is still a price paid)."""
    key = norm(col(Material.type))
    return (
        select(key.label("type_key"), func.avg(col(Material.cost_per_kg)).label("cost_per_kg"))
        .where(col(Material.org_id) == org_id, col(Material.cost_per_kg).is_not(None))
        .group_by(key)
        .subquery("type_prices")
    )


def _per_printer(org_id: str, window: Window, scope: Select[Any] | None) -> Subquery:
    """Grams and prints that ended in the period, per printer and job material."""
    job_type, job_color = col(Job.material_type), col(Job.material_color)
    type_key, color_key = norm(job_type), norm(job_color)
    stmt: Select[*tuple[Any, ...]] = (
        select(
            col(PrintRun.printer_id).label("printer_id"),
            type_key.label("job_type_key"),
            func.max(job_type).label("job_type"),
            func.max(job_color).label("job_color"),
            func.sum(col(PrintRun.filament_used_g)).label("grams"),
            func.count().label("prints"),
        )
        .select_from(PrintRun)
        .join(Job, col(Job.id) == col(PrintRun.job_id), isouter=True)
        .where(
            col(PrintRun.org_id) == org_id,
            col(PrintRun.ended_at) >= window.start,
            col(PrintRun.ended_at) < window.end,
            col(PrintRun.filament_used_g) > 0,
        )
        .group_by(col(PrintRun.printer_id), type_key, color_key)
    )
    if scope is not None:
        stmt = stmt.where(col(PrintRun.printer_id).in_(scope.scalar_subquery()))
    return stmt.subquery("usage_per_printer")


def priced_usage(org_id: str, window: Window, scope: Select[Any] | None) -> Subquery:
    """Rows of (type_key, type, color_key, color, grams, prints, cost)."""
    used, loaded, prices = (
        _per_printer(org_id, window, scope),
        _loaded_spools(org_id),
        (_type_prices(org_id)),
    )
    spool_fits = or_(used.c.job_type_key == "", norm(loaded.c.type) == used.c.job_type_key)
    type_label = func.coalesce(used.c.job_type, case((spool_fits, loaded.c.type)))
    color_label = func.coalesce(used.c.job_color, case((spool_fits, loaded.c.color)))
    price = case(
        (and_(spool_fits, loaded.c.cost_per_kg.is_not(None)), loaded.c.cost_per_kg),
        else_=prices.c.cost_per_kg,
    )
    return (
        select(
            norm(type_label).label("type_key"),
            type_label.label("type"),
            norm(color_label).label("color_key"),
            color_label.label("color"),
            used.c.grams,
            used.c.prints,
            (used.c.grams * price / _GRAMS_PER_KG).label("cost"),
        )
        .select_from(used)
        .join(loaded, loaded.c.printer_id == used.c.printer_id, isouter=True)
        .join(prices, prices.c.type_key == norm(type_label), isouter=True)
        .subquery("priced_usage")
    )


async def usage_cost(
    session: AsyncSession, org_id: str, window: Window, scope: Select[Any] | None
) -> float:
    """Estimated cost of what the prints that ended in the period used (priced grams)."""
    usage = priced_usage(org_id, window, scope)
    stmt = select(func.coalesce(func.sum(usage.c.cost), 0.0))
    return float((await session.execute(stmt)).scalar_one())
