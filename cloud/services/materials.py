"""Spools of material: stock, where each is loaded, when to reorder."""

from __future__ import annotations

import msgspec
from sqlalchemy import ColumnElement

from cloud.api.listing import PageRequest
from cloud.db.core import table_of
from cloud.db.models import Material, Printer
from cloud.db.types import utcnow
from cloud.ids import IdPrefix, new_id
from cloud.problems import invalid, not_found
from cloud.repositories.base import OrgRepository
from cloud.schemas.materials import MaterialCreate, MaterialOut, MaterialPatch
from cloud.services.context import ServiceContext
from cloud.services.events import record_event
from cloud.views.materials import material_out
from shared.enums import EventType, MaterialStatus

SORTABLE = ("type", "brand", "color", "remaining_weight", "status", "created_at", "updated_at")
_COLUMNS = {"remaining_weight": "remaining_weight_g"}
_RENAMES = {
    "spool_weight": "spool_weight_g",
    "remaining_weight": "remaining_weight_g",
    "reorder_threshold": "reorder_threshold_g",
}


def derived_status(material: Material, archived: bool) -> MaterialStatus:
    """empty at 0 g, low at or under the reorder threshold, else active (unless archived)."""
    if archived:
        return MaterialStatus.ARCHIVED
    if material.remaining_weight_g <= 0:
        return MaterialStatus.EMPTY
    threshold = material.reorder_threshold_g
    if threshold is not None and material.remaining_weight_g <= threshold:
        return MaterialStatus.LOW
    return MaterialStatus.ACTIVE


class MaterialService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        t = table_of(Material).c
        self.repo = OrgRepository(
            Material,
            ctx.session,
            ctx.org_id,
            {k: t[_COLUMNS.get(k, k)] for k in SORTABLE},
            reader=ctx.reader,
        )

    async def _row(self, material_id: str) -> Material:
        material = await self.repo.get(material_id)
        if material is None:
            raise not_found("material", material_id)
        return material

    async def get(self, material_id: str) -> MaterialOut:
        return material_out(await self._row(material_id))

    async def list(
        self,
        req: PageRequest,
        *,
        status: MaterialStatus | None,
        type_: str | None,
        printer_id: str | None,
    ) -> tuple[list[MaterialOut], int]:
        t = self.repo.table.c
        filters: list[ColumnElement[bool]] = []
        if status is not None:
            filters.append(t.status == status.value)
        if type_ is not None:
            filters.append(t.type == type_)
        if printer_id is not None:
            filters.append(t.printer_id == printer_id)
        rows, total = await self.repo.page(filters, req)
        return [material_out(r) for r in rows], total

    async def _check_printer(self, printer_id: str | None) -> None:
        if printer_id is None:
            return
        printer = await self.ctx.session.get(Printer, printer_id)
        if printer is None or printer.org_id != self.ctx.org_id:
            raise not_found("printer", printer_id, param="printer_id")

    async def create(self, data: MaterialCreate) -> MaterialOut:
        await self._check_printer(data.printer_id)
        remaining = data.spool_weight if data.remaining_weight is None else data.remaining_weight
        if remaining > data.spool_weight:
            raise invalid("remaining_weight cannot exceed spool_weight.", param="remaining_weight")
        material = Material(
            id=new_id(IdPrefix.MATERIAL),
            org_id=self.ctx.org_id,
            type=data.type,
            brand=data.brand,
            color=data.color,
            spool_weight_g=data.spool_weight,
            remaining_weight_g=remaining,
            cost_per_kg=data.cost_per_kg,
            printer_id=data.printer_id,
            reorder_threshold_g=data.reorder_threshold,
        )
        material.status = derived_status(material, data.archived).value
        self.repo.add(material)
        await self.ctx.commit()
        return material_out(material)

    async def patch(self, material_id: str, data: MaterialPatch) -> MaterialOut:
        material = await self._row(material_id)
        before = MaterialStatus(material.status)
        changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
        archived = changes.pop("archived", before is MaterialStatus.ARCHIVED)
        if "printer_id" in changes:
            await self._check_printer(changes["printer_id"])
        for key, value in changes.items():
            setattr(material, _RENAMES.get(key, key), value)
        if material.remaining_weight_g > material.spool_weight_g:
            raise invalid("remaining_weight cannot exceed spool_weight.", param="remaining_weight")
        after = derived_status(material, archived)
        material.status = after.value
        material.updated_at = utcnow()
        self._emit_stock_event(material, before, after)
        await self.ctx.commit()
        return material_out(material)

    def _emit_stock_event(
        self, material: Material, before: MaterialStatus, after: MaterialStatus
    ) -> None:
        event = {
            MaterialStatus.LOW: EventType.MATERIAL_LOW,
            MaterialStatus.EMPTY: EventType.MATERIAL_EMPTY,
        }.get(after)
        if event is not None and after is not before:
            record_event(
                self.ctx.session,
                self.ctx.org_id,
                event,
                material.id,
                {"material": msgspec.to_builtins(material_out(material))},
            )

    async def delete(self, material_id: str) -> None:
        await self.repo.delete(await self._row(material_id))
        await self.ctx.commit()
