"""Which job a printer is busy with: the job of its active run, never a stored copy.

A print run is active while assigned, printing or paused, and the database allows one per
printer (the partial unique index `ux_prints_active_printer`), so "the printer's job" has a
single source. `CURRENT_JOB` is that as a correlated subquery, for list pages that show
each printer's `current_job` (it reads the same index).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cloud.db.models import Printer
from cloud.orchestration.tables import PrintRun

# In the order of the partial index's WHERE clause (cloud/orchestration/tables.py), as
# literals: SQLite uses a partial index only for a query whose terms imply the index's
# WHERE, which it can tell of the same literal list and not of bound parameters. Literals
# also let a list page's prepared SQL carry this subquery with no parameters of its own.
ACTIVE_VALUES = ("assigned", "printing", "paused")  # RUN_ACTIVE (states.py); a test says so


def run_is_active() -> ColumnElement[bool]:
    return col(PrintRun.status).in_([literal_column(f"'{v}'") for v in ACTIVE_VALUES])


CURRENT_JOB: ColumnElement[Any] = (
    select(col(PrintRun.job_id))
    .where(col(PrintRun.printer_id) == col(Printer.id), run_is_active())
    .scalar_subquery()
)


async def current_job_of(session: AsyncSession, printer_id: str) -> str | None:
    job_id = await session.scalar(
        select(col(PrintRun.job_id)).where(col(PrintRun.printer_id) == printer_id, run_is_active())
    )
    return str(job_id) if job_id is not None else None


async def active_run_of_job(session: AsyncSession, job_id: str) -> PrintRun | None:
    stmt = select(PrintRun).where(col(PrintRun.job_id) == job_id, run_is_active())
    return (await session.execute(stmt)).scalar_one_or_none()


async def active_run_on(session: AsyncSession, job_id: str, printer_id: str) -> PrintRun | None:
    """The job's active run if it is on this printer."""
    run = await active_run_of_printer(session, printer_id)
    return run if run is not None and run.job_id == job_id else None


async def active_run_of_printer(session: AsyncSession, printer_id: str) -> PrintRun | None:
    stmt = select(PrintRun).where(col(PrintRun.printer_id) == printer_id, run_is_active())
    return (await session.execute(stmt)).scalar_one_or_none()


async def last_run_of(session: AsyncSession, printer_id: str) -> PrintRun | None:
    """The printer's latest run, whatever its state."""
    stmt = (
        select(PrintRun)
        .where(col(PrintRun.printer_id) == printer_id)
        .order_by(col(PrintRun.assigned_at).desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()
