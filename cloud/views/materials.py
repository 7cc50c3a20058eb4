"""A spool as the API returns it (and as `material.*` events carry it)."""

from __future__ import annotations

from typing import Any

from cloud.schemas.materials import MaterialOut
from cloud.views.numbers import cents, tenth
from shared.enums import MaterialStatus


def material_out(row: Any) -> MaterialOut:
    """From a `Material` row or object; weights in grams to one decimal (stored unrounded
    after deductions), the price per kilogram to the cent."""
    return MaterialOut(
        id=row.id,
        type=row.type,
        brand=row.brand,
        color=row.color,
        spool_weight=tenth(row.spool_weight_g),
        remaining_weight=tenth(row.remaining_weight_g),
        cost_per_kg=cents(row.cost_per_kg),
        printer_id=row.printer_id,
        reorder_threshold=tenth(row.reorder_threshold_g),
        status=MaterialStatus(row.status),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
