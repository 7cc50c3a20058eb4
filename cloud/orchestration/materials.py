"""Deducting what a print used from the spool loaded on its printer.

A completed print deducts its usage; a failed or cancelled one deducts the share it got
through (by progress). Crossing the spool's ``reorder_threshold`` records `material.low`;
reaching zero records `material.empty`. Each in the caller's transaction.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cloud.db.models import Job, Material, StoredFileRow
from cloud.db.types import utcnow
from cloud.services.events import record_event
from cloud.services.materials import derived_status
from cloud.views.materials import material_out
from shared.enums import EventType, MaterialStatus

log = logging.getLogger(__name__)


async def grams_used(
    session: AsyncSession, job: Job, *, filament_used_mm: float | None, progress_pct: float
) -> float | None:
    """Grams a print used: the agent's length turned into grams with the file's own g/mm
    ratio when both are known, else the job's estimate times the share printed."""
    if filament_used_mm is not None and filament_used_mm > 0:
        stored = await session.get(StoredFileRow, job.file_id)
        analysis: dict[str, Any] = stored.analysis if stored is not None else {}
        mm, grams = analysis.get("filament_used_mm"), analysis.get("filament_used_g")
        if isinstance(mm, int | float) and isinstance(grams, int | float) and mm > 0:
            return round(filament_used_mm * grams / mm, 2)
    if job.estimated_usage_g is None:
        return None
    share = min(max(progress_pct, 0.0), 100.0) / 100.0
    return round(job.estimated_usage_g * share, 2)


async def deduct_from_loaded_spool(
    session: AsyncSession, org_id: str, printer_id: str, grams: float
) -> Material | None:
    """Take ``grams`` off the spool loaded on the printer; record low/empty when crossed."""
    if grams <= 0:
        return None
    stmt = (
        select(Material)
        .where(
            col(Material.org_id) == org_id,
            col(Material.printer_id) == printer_id,
            col(Material.status) != MaterialStatus.ARCHIVED.value,
        )
        .order_by(col(Material.created_at))
        .limit(1)
    )
    spool = (await session.execute(stmt)).scalar_one_or_none()
    if spool is None:
        log.info("printer %s used %.1f g but has no spool loaded to deduct from", printer_id, grams)
        return None
    before = MaterialStatus(spool.status)
    spool.remaining_weight_g = max(0.0, round(spool.remaining_weight_g - grams, 2))
    after = derived_status(spool, archived=False)
    spool.status = after.value
    spool.updated_at = utcnow()
    crossed: list[EventType] = []
    # One print can cross both lines; a subscriber to either hears of it.
    crossed_low = before is MaterialStatus.ACTIVE and after is not MaterialStatus.ACTIVE
    if crossed_low and spool.reorder_threshold_g is not None:
        crossed.append(EventType.MATERIAL_LOW)
    if after is MaterialStatus.EMPTY and before is not MaterialStatus.EMPTY:
        crossed.append(EventType.MATERIAL_EMPTY)
    if crossed:
        payload = {"material": msgspec.to_builtins(material_out(spool))}
        for event_type in crossed:
            record_event(session, org_id, event_type, spool.id, payload)
    return spool
