"""The farm's gauges, read from the database when Prometheus scrapes.

Counting printers, jobs and waiting deliveries in the processes that change them would
need every writer (N workers, several replicas, the bridge) to agree on one running figure;
the database already holds the truth, so the scrape asks it: a few aggregate queries on
indexed columns (`ix_printers_org_status` cannot serve a count over all organizations, but
the printers table is small; `ix_jobs_queue` and `ix_webhook_deliveries_due` lead with the
status). The figures are the same whichever worker or replica answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from cloud.db.core import table_of
from cloud.db.models import Job, Printer
from cloud.db.types import utcnow
from cloud.metrics.series import (
    JOBS,
    PRINTERS,
    QUEUE_DEPTH,
    QUEUE_OLDEST_AGE,
    WEBHOOK_RETRY_QUEUE_DEPTH,
    ScrapedGauge,
)
from cloud.webhooks.tables import PENDING, WebhookDelivery
from shared.enums import JobStatus

_PRINTERS = table_of(Printer)
_JOBS = table_of(Job)
_DELIVERIES = table_of(WebhookDelivery)


@dataclass(frozen=True, slots=True)
class FarmSnapshot:
    printers: dict[str, int] = field(default_factory=dict)  # by status
    jobs: dict[str, int] = field(default_factory=dict)  # by status
    oldest_queued_at: datetime | None = None
    webhook_retries: int = 0
    taken_at: datetime = field(default_factory=utcnow)


async def read_snapshot(engine: AsyncEngine) -> FarmSnapshot:
    """Four aggregate reads, on one pooled connection."""
    async with engine.connect() as conn:
        printers = await conn.execute(
            select(_PRINTERS.c.status, func.count()).group_by(_PRINTERS.c.status)
        )
        jobs = await conn.execute(select(_JOBS.c.status, func.count()).group_by(_JOBS.c.status))
        oldest = await conn.scalar(
            select(func.min(_JOBS.c.created_at)).where(_JOBS.c.status == JobStatus.QUEUED.value)
        )
        retries = await conn.scalar(
            select(func.count())
            .select_from(_DELIVERIES)
            .where(_DELIVERIES.c.status == PENDING, _DELIVERIES.c.attempts > 0)
        )
        return FarmSnapshot(
            printers={str(status): int(n) for status, n in printers},
            jobs={str(status): int(n) for status, n in jobs},
            oldest_queued_at=oldest,
            webhook_retries=int(retries or 0),
        )


class FarmCollector(Collector):
    """One scrape's farm gauges, from a snapshot read just before (collectors are called
    synchronously by the exposition; the database is asked asynchronously first)."""

    def __init__(self, snapshot: FarmSnapshot) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        snap = self._snapshot
        yield _by_label(PRINTERS, snap.printers)
        yield _by_label(JOBS, snap.jobs)
        yield _gauge(QUEUE_DEPTH, snap.jobs.get(JobStatus.QUEUED.value, 0))
        age_s = 0.0
        if snap.oldest_queued_at is not None:
            age_s = max(0.0, (snap.taken_at - snap.oldest_queued_at).total_seconds())
        yield _gauge(QUEUE_OLDEST_AGE, age_s)
        yield _gauge(WEBHOOK_RETRY_QUEUE_DEPTH, snap.webhook_retries)


def _gauge(spec: ScrapedGauge, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(spec.name, spec.documentation, value=value)


def _by_label(spec: ScrapedGauge, counts: dict[str, int]) -> GaugeMetricFamily:
    assert spec.label is not None
    family = GaugeMetricFamily(spec.name, spec.documentation, labels=[spec.label])
    for value in sorted({*spec.known, *counts}):
        family.add_metric([value], counts.get(value, 0))
    return family
