"""Aggregates over `jobs`: counts by status, priority and day; mean wait and duration.

"Jobs of the period" are the jobs created in it; the per-day outcome counts and the mean
duration use the jobs that finished in it. Definitions: docs/analytics.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cloud.analytics.sql import Dialect, Window, dialect_of
from cloud.db.models import Job
from cloud.orchestration.tables import PrintRun
from shared.enums import JobStatus

_S = TypeVar("_S", bound=Select[*tuple[Any, ...]])

FINISHED = (JobStatus.COMPLETED.value, JobStatus.FAILED.value, JobStatus.CANCELLED.value)


@dataclass(frozen=True, slots=True)
class JobTotals:
    by_status_priority: list[tuple[str, str, int]]
    created_per_day: dict[str, int]
    finished_per_day: dict[tuple[str, str], int]  # (day, status) → jobs
    mean_wait_s: float | None
    mean_assign_wait_s: float | None
    mean_duration_s: float | None


class JobFilter:
    """Which jobs: the organization's, optionally those whose printer (the printer of their
    latest print) is one given or among `scope`."""

    def __init__(
        self, org_id: str, *, scope: Select[Any] | None = None, printer_id: str | None = None
    ) -> None:
        self.conditions: list[ColumnElement[bool]] = [col(Job.org_id) == org_id]
        if printer_id is not None:
            self.conditions.append(col(Job.printer_id) == printer_id)
        if scope is not None:
            self.conditions.append(col(Job.printer_id).in_(scope.scalar_subquery()))

    def apply(self, stmt: _S) -> _S:
        return stmt.where(*self.conditions)


def _created_in(window: Window) -> ColumnElement[bool]:
    return and_(col(Job.created_at) >= window.start, col(Job.created_at) < window.end)


def _finished_in(window: Window) -> ColumnElement[bool]:
    return and_(
        col(Job.status).in_(FINISHED),
        col(Job.completed_at) >= window.start,
        col(Job.completed_at) < window.end,
    )


async def job_totals(session: AsyncSession, window: Window, jobs: JobFilter) -> JobTotals:
    d = dialect_of(session)
    by_status = jobs.apply(
        select(col(Job.status), col(Job.priority), func.count())
        .where(_created_in(window))
        .group_by(col(Job.status), col(Job.priority))
    )
    created_day = d.day(col(Job.created_at))
    created = jobs.apply(
        select(created_day, func.count()).where(_created_in(window)).group_by(created_day)
    )
    status_rows = (await session.execute(by_status)).all()
    wait_s, assign_wait_s = await _waits(session, d, window, jobs)
    finished, mean_duration_s = await _finished(session, d, window, jobs)
    return JobTotals(
        by_status_priority=[(str(s), str(p), int(n)) for s, p, n in status_rows],
        created_per_day={str(day): int(n) for day, n in (await session.execute(created)).all()},
        finished_per_day=finished,
        mean_wait_s=wait_s,
        mean_assign_wait_s=assign_wait_s,
        mean_duration_s=mean_duration_s,
    )


async def _waits(
    session: AsyncSession, d: Dialect, window: Window, jobs: JobFilter
) -> tuple[float | None, float | None]:
    """Mean created → started and created → first assignment of the period's jobs."""
    # Each job's first assignment in one grouped join driven by the jobs of the period
    # (ix_jobs_org_created, then ix_prints_job), not a subquery per job.
    first = jobs.apply(
        select(
            col(Job.id).label("job_id"),
            func.min(col(PrintRun.assigned_at)).label("assigned_at"),
        )
        .select_from(Job)
        .join(PrintRun, col(PrintRun.job_id) == col(Job.id))
        .where(_created_in(window))
        .group_by(col(Job.id))
    ).subquery("first_assigned")
    created_s = d.epoch_s(col(Job.created_at))
    waits = jobs.apply(
        select(
            func.avg(d.epoch_s(col(Job.started_at)) - created_s),
            func.avg(d.epoch_s(first.c.assigned_at) - created_s),
        )
        .select_from(Job)
        .join(first, first.c.job_id == col(Job.id), isouter=True)
        .where(_created_in(window))
    )
    row = (await session.execute(waits)).one()
    return _float(row[0]), _float(row[1])


async def _finished(
    session: AsyncSession, d: Dialect, window: Window, jobs: JobFilter
) -> tuple[dict[tuple[str, str], int], float | None]:
    """Jobs finished in the period per (day, final status), and the mean start → end of
    those completed. One pass: `completed_at` has no index of its own."""
    day = d.day(col(Job.completed_at))
    duration_s = d.epoch_s(col(Job.completed_at)) - d.epoch_s(col(Job.started_at))
    stmt = jobs.apply(
        select(day, col(Job.status), func.count(), func.sum(duration_s), func.count(duration_s))
        .where(_finished_in(window))
        .group_by(day, col(Job.status))
    )
    per_day: dict[tuple[str, str], int] = {}
    total_s, timed = 0.0, 0
    for when, status, count, sum_s, count_s in (await session.execute(stmt)).all():
        per_day[(str(when), str(status))] = int(count)
        if status == JobStatus.COMPLETED.value and count_s:
            total_s += float(sum_s)
            timed += int(count_s)
    return per_day, (total_s / timed if timed else None)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


async def jobs_completed(session: AsyncSession, window: Window, jobs: JobFilter) -> int:
    """Jobs whose last copy completed in the period (status `completed`)."""
    stmt = jobs.apply(
        select(func.count()).where(
            col(Job.status) == JobStatus.COMPLETED.value,
            col(Job.completed_at) >= window.start,
            col(Job.completed_at) < window.end,
        )
    )
    return int((await session.execute(stmt)).scalar_one())
