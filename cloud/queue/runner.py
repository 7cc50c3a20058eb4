"""Applying the plan: load queued jobs and free printers, plan, and claim each assignment.

A claim is one transaction through the lifecycle (`Trigger.CLAIM`): the job moves from
`queued` to `assigned` only if it is still queued (the table says so, and the job's version
check makes a concurrent change fail the write), and a run is inserted for the printer,
which a unique index allows only while the printer has no active run. Two replicas planning
at the same moment therefore cannot start one job twice or put two jobs on one printer: the
loser's claim changes nothing. The start command is written in the same transaction, and
the dispatcher delivers it.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import col

from cloud.context import CloudContext
from cloud.db.core import table_of
from cloud.db.models import Job, Material, Printer
from cloud.lifecycle.machine import IllegalTransition, Trigger
from cloud.lifecycle.occupancy import run_is_active
from cloud.lifecycle.store import JobLife, Placement
from cloud.orchestration.db import writing
from cloud.orchestration.tables import AgentLink, PrintRun
from cloud.queue.planner import Assignment, Filament, FreePrinter, QueuedJob, plan
from shared.enums import AgentState, JobStatus, MaterialStatus, PrinterStatus, Priority

log = logging.getLogger(__name__)

_JOBS = table_of(Job)
_LOADABLE = (MaterialStatus.ACTIVE.value, MaterialStatus.LOW.value)


class QueueRunner:
    def __init__(self, app: CloudContext) -> None:
        self._app = app
        self._life = JobLife(app)

    async def run_once(self) -> list[Assignment]:
        """Plan and claim; returns the assignments that were claimed."""
        free_by_org, queued_by_org = await self._load()
        claimed: list[Assignment] = []
        for org_id, printers in free_by_org.items():
            jobs = queued_by_org.get(org_id)
            if not jobs:
                continue
            pinned = {j.job_id for j in jobs if j.printer_id is not None}
            agents = {p.printer_id: agent for p, agent in printers}
            for assignment in plan(jobs, [p for p, _ in printers]):
                if await self._claim(
                    org_id,
                    assignment,
                    agents[assignment.printer_id],
                    pinned=assignment.job_id in pinned,
                ):
                    claimed.append(assignment)
        if claimed:
            log.info("queue: %d job(s) assigned", len(claimed))
        return claimed

    async def _load(
        self,
    ) -> tuple[dict[str, list[tuple[FreePrinter, str]]], dict[str, list[QueuedJob]]]:
        async with self._app.background()() as session:
            active_print = exists().where(
                col(PrintRun.printer_id) == col(Printer.id), run_is_active()
            )
            printer_rows = (
                await session.execute(
                    select(
                        col(Printer.id),
                        col(Printer.org_id),
                        col(Printer.agent_id),
                        col(Printer.reported_materials),
                    )
                    .join(AgentLink, col(AgentLink.agent_id) == col(Printer.agent_id))
                    .where(
                        col(AgentLink.state) == AgentState.ONLINE.value,
                        col(Printer.status) == PrinterStatus.IDLE.value,
                        ~active_print,
                    )
                    .order_by(col(Printer.updated_at), col(Printer.id))
                )
            ).all()
            if not printer_rows:
                return {}, {}
            spool_of: dict[str | None, Filament] = {}
            spools = await session.execute(
                select(col(Material.printer_id), col(Material.type), col(Material.color))
                .where(
                    col(Material.printer_id).in_([r.id for r in printer_rows]),
                    col(Material.status).in_(_LOADABLE),
                )
                .order_by(col(Material.created_at))
            )
            for printer_id, spool_type, spool_color in spools:
                spool_of.setdefault(printer_id, (spool_type, spool_color))
            free: dict[str, list[tuple[FreePrinter, str]]] = defaultdict(list)
            for row in printer_rows:
                printer = FreePrinter(row.id, _loaded(spool_of.get(row.id), row.reported_materials))
                free[row.org_id].append((printer, str(row.agent_id)))
            job_rows = await session.execute(
                select(
                    _JOBS.c.id,
                    _JOBS.c.org_id,
                    _JOBS.c.priority,
                    _JOBS.c.created_at,
                    _JOBS.c.printer_id,
                    _JOBS.c.material_type,
                    _JOBS.c.material_color,
                ).where(
                    _JOBS.c.status == JobStatus.QUEUED.value,
                    _JOBS.c.hold.is_(False),
                    _JOBS.c.org_id.in_(list(free)),
                )
            )
            queued: dict[str, list[QueuedJob]] = defaultdict(list)
            for r in job_rows:
                queued[r.org_id].append(
                    QueuedJob(
                        r.id,
                        Priority(r.priority),
                        r.created_at,
                        r.printer_id,
                        r.material_type,
                        r.material_color,
                    )
                )
        return free, queued

    async def _claim(
        self, org_id: str, assignment: Assignment, agent_id: str, *, pinned: bool
    ) -> bool:
        placement = Placement(assignment.printer_id, agent_id, pinned)
        async with writing(self._app) as session:
            job = await session.get(Job, assignment.job_id)
            if job is None or job.org_id != org_id:
                return False
            try:
                await self._life.apply(session, job, Trigger.CLAIM, placement=placement)
                # The flush is where a second active run on the printer collides with the
                # unique index, and where a job another writer changed meanwhile fails its
                # version check: the loser's claim changes nothing.
                await session.commit()
            except IllegalTransition:
                return False  # no longer queued (cancelled, held, or claimed meanwhile)
            except (IntegrityError, StaleDataError):
                await session.rollback()
                log.info(
                    "job %s or printer %s was claimed by another replica first",
                    assignment.job_id,
                    assignment.printer_id,
                )
                return False
        log.info(
            "job %s -> printer %s (copy %d)",
            assignment.job_id,
            assignment.printer_id,
            job.copies_done + 1,
        )
        return True


def _loaded(spool: Filament | None, reported: list[dict[str, Any]]) -> tuple[Filament, ...]:
    """What a printer can print with: its assigned spool (the oldest loadable one, the one
    a print's usage is deducted from), then what the printer reports loaded; the planner
    leaves out those without a type."""
    found = [(m.get("type"), m.get("color")) for m in reported]
    return (spool, *found) if spool is not None else tuple(found)
