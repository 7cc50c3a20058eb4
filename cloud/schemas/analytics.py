"""Analytics bodies (api-reference.md `GET /v1/analytics/fleet`; the other three reports
follow its `period` + `metrics` form). Times in seconds, material in grams."""

from __future__ import annotations

from datetime import datetime

import msgspec


class PeriodOut(msgspec.Struct, kw_only=True):
    from_: datetime = msgspec.field(name="from")
    to: datetime


class FleetMetrics(msgspec.Struct, kw_only=True):
    total_printers: int
    active_printers: int
    utilization_rate: float
    jobs_completed: int
    success_rate: float
    total_print_time: int
    material_consumed: float
    estimated_cost: float


class FleetAnalytics(msgspec.Struct, kw_only=True):
    period: PeriodOut
    metrics: FleetMetrics


class PrintOutcomes(msgspec.Struct, kw_only=True):
    """Prints that ended in the period, by how they ended."""

    completed: int
    failed: int
    cancelled: int
    refused: int


class PrinterMetrics(msgspec.Struct, kw_only=True):
    utilization_rate: float
    jobs_completed: int
    success_rate: float
    total_print_time: int
    material_consumed: float
    estimated_cost: float
    mean_print_duration: float | None
    prints: PrintOutcomes


class PrinterAnalytics(msgspec.Struct, kw_only=True):
    period: PeriodOut
    printer_id: str
    metrics: PrinterMetrics


class JobMetrics(msgspec.Struct, kw_only=True):
    total: int
    by_status: dict[str, int]
    by_priority: dict[str, int]
    mean_wait: float | None
    mean_assign_wait: float | None
    mean_duration: float | None


class JobDay(msgspec.Struct, kw_only=True):
    date: str
    created: int
    completed: int
    failed: int
    cancelled: int


class JobAnalytics(msgspec.Struct, kw_only=True):
    period: PeriodOut
    metrics: JobMetrics
    data: list[JobDay]


class MaterialMetrics(msgspec.Struct, kw_only=True):
    material_consumed: float
    estimated_cost: float
    remaining: float
    spools_low: int


class MaterialKind(msgspec.Struct, kw_only=True):
    """One material type and colour: what the period used and what is left now."""

    type: str | None
    color: str | None
    consumed: float
    estimated_cost: float
    prints: int
    remaining: float
    spools: int


class LowSpool(msgspec.Struct, kw_only=True):
    id: str
    type: str
    color: str | None
    remaining_weight: float
    reorder_threshold: float | None
    status: str
    printer_id: str | None


class MaterialAnalytics(msgspec.Struct, kw_only=True):
    period: PeriodOut
    metrics: MaterialMetrics
    data: list[MaterialKind]
    low_stock: list[LowSpool]
