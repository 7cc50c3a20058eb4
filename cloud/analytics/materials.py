"""Aggregates over material: grams used by type and colour, stock, spools to reorder.

Definitions: docs/analytics.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cloud.analytics.sql import Window, norm
from cloud.analytics.usage import priced_usage
from cloud.db.models import Material
from shared.enums import MaterialStatus

# The reorder list is for people; a farm has far fewer spools than this.
LOW_SPOOLS_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class Usage:
    type: str | None
    color: str | None
    grams: float
    cost: float
    prints: int


@dataclass(frozen=True, slots=True)
class Stock:
    type: str | None
    color: str | None
    spools: int
    remaining_g: float


@dataclass(frozen=True, slots=True)
class LowSpool:
    id: str
    type: str
    color: str | None
    remaining_g: float
    reorder_threshold_g: float | None
    status: str
    printer_id: str | None


Key = tuple[str, str]


async def usage_by_kind(
    session: AsyncSession, org_id: str, window: Window, scope: Select[Any] | None
) -> dict[Key, Usage]:
    """Grams (and cost) of the prints that ended in the period, by type and colour."""
    f = priced_usage(org_id, window, scope)
    stmt = select(
        f.c.type_key,
        f.c.color_key,
        func.max(f.c.type),
        func.max(f.c.color),
        func.sum(f.c.grams),
        func.coalesce(func.sum(f.c.cost), 0.0),
        func.sum(f.c.prints),
    ).group_by(f.c.type_key, f.c.color_key)
    return {
        (tk, ck): Usage(type=t, color=c, grams=float(g), cost=float(cost), prints=int(n))
        for tk, ck, t, c, g, cost, n in (await session.execute(stmt)).all()
    }


def _spools(org_id: str, scope: Select[Any] | None) -> list[ColumnElement[bool]]:
    conditions = [
        col(Material.org_id) == org_id,
        col(Material.status) != MaterialStatus.ARCHIVED.value,
    ]
    if scope is not None:
        conditions.append(col(Material.printer_id).in_(scope.scalar_subquery()))
    return conditions


async def stock_by_kind(
    session: AsyncSession, org_id: str, scope: Select[Any] | None
) -> dict[Key, Stock]:
    """What is left now on the spools that are not archived, by type and colour."""
    type_key, color_key = norm(col(Material.type)), norm(col(Material.color))
    stmt = (
        select(
            type_key,
            color_key,
            func.max(col(Material.type)),
            func.max(col(Material.color)),
            func.count(),
            func.sum(col(Material.remaining_weight_g)),
        )
        .where(*_spools(org_id, scope))
        .group_by(type_key, color_key)
    )
    return {
        (tk, ck): Stock(type=t, color=c, spools=int(n), remaining_g=float(g))
        for tk, ck, t, c, n, g in (await session.execute(stmt)).all()
    }


async def low_spools(
    session: AsyncSession, org_id: str, scope: Select[Any] | None
) -> tuple[list[LowSpool], int]:
    """Spools at or below their reorder threshold, or empty; fewest grams first."""
    low = or_(
        and_(
            col(Material.reorder_threshold_g).is_not(None),
            col(Material.remaining_weight_g) <= col(Material.reorder_threshold_g),
        ),
        col(Material.remaining_weight_g) <= 0,
    )
    conditions = [*_spools(org_id, scope), low]
    total = (await session.execute(select(func.count()).where(*conditions))).scalar_one()
    stmt = (
        select(Material)
        .where(*conditions)
        .order_by(col(Material.remaining_weight_g), col(Material.id))
        .limit(LOW_SPOOLS_LIMIT)
    )
    spools = [
        LowSpool(
            id=m.id,
            type=m.type,
            color=m.color,
            remaining_g=m.remaining_weight_g,
            reorder_threshold_g=m.reorder_threshold_g,
            status=m.status,
            printer_id=m.printer_id,
        )
        for m in (await session.execute(stmt)).scalars()
    ]
    return spools, int(total)
