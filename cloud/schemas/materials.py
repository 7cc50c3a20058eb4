"""Material (spool) bodies (api-reference.md `GET /v1/materials/:id`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from cloud.schemas.common import Pagination, ResourceId, ShortText
from shared.enums import MaterialStatus

Grams = Annotated[float, msgspec.Meta(ge=0, le=1_000_000)]
PositiveGrams = Annotated[float, msgspec.Meta(gt=0, le=1_000_000)]
Money = Annotated[float, msgspec.Meta(ge=0, le=1_000_000)]
MaterialType = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class MaterialOut(msgspec.Struct, kw_only=True):
    id: str
    type: str
    brand: str | None
    color: str | None
    spool_weight: float
    remaining_weight: float
    cost_per_kg: float | None
    printer_id: str | None
    reorder_threshold: float | None
    status: MaterialStatus
    created_at: datetime
    updated_at: datetime


MATERIAL_FIELDS: tuple[str, ...] = tuple(f.name for f in msgspec.structs.fields(MaterialOut))


class MaterialPage(msgspec.Struct, kw_only=True):
    data: list[MaterialOut]
    pagination: Pagination


class MaterialCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    type: MaterialType
    spool_weight: PositiveGrams
    remaining_weight: Grams | None = None
    brand: ShortText | None = None
    color: ShortText | None = None
    cost_per_kg: Money | None = None
    printer_id: ResourceId | None = None
    reorder_threshold: Grams | None = None
    archived: bool = False


class MaterialPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    type: MaterialType | msgspec.UnsetType = msgspec.UNSET
    spool_weight: PositiveGrams | msgspec.UnsetType = msgspec.UNSET
    remaining_weight: Grams | msgspec.UnsetType = msgspec.UNSET
    brand: ShortText | msgspec.UnsetType | None = msgspec.UNSET
    color: ShortText | msgspec.UnsetType | None = msgspec.UNSET
    cost_per_kg: Money | msgspec.UnsetType | None = msgspec.UNSET
    printer_id: ResourceId | msgspec.UnsetType | None = msgspec.UNSET
    reorder_threshold: Grams | msgspec.UnsetType | None = msgspec.UNSET
    archived: bool | msgspec.UnsetType = msgspec.UNSET
