"""Applying the plan: load queued jobs and free printers, plan, and claim each assignment.

A claim is one transaction: the job moves from `queued` to `assigned` only if it is still
queued (a conditional UPDATE), and a print row is inserted for the printer, which a unique
index allows only while the printer has no active print. Two replicas planning at the same
moment therefore cannot start one job twice or put two jobs on one printer: the loser's
claim changes nothing. The start command is written in the same transaction, and the
dispatcher delivers it.
"""

from __future__ import annotations

import logging
from collections import defaultdict

from sqlalchemy import and_, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from cloud.context import CloudContext
from cloud.db.models import Job, Material, Printer, PrinterCommand
from cloud.db.types import utcnow
from cloud.ids import IdPrefix, new_id
from cloud.orchestration.db import writing
from cloud.orchestration.dispatch import START_ACK_TIMEOUT
from cloud.orchestration.tables import PRINT_ACTIVE, AgentLink, PrintRun
from cloud.queue.planner import Assignment, FreePrinter, QueuedJob, plan
from shared.enums import AgentState, JobStatus, MaterialStatus, PrinterStatus, Priority

log = logging.getLogger(__name__)

_JOBS = Job.__table__  # type: ignore[attr-defined]
_LOADABLE = (MaterialStatus.ACTIVE.value, MaterialStatus.LOW.value)


class QueueRunner:
    def __init__(self, app: CloudContext) -> None:
        self._app = app

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
                col(PrintRun.printer_id) == col(Printer.id),
                col(PrintRun.status).in_(PRINT_ACTIVE),
            )
            printer_rows = (
                await session.execute(
                    select(col(Printer.id), col(Printer.org_id), col(Printer.agent_id))
                    .join(AgentLink, col(AgentLink.agent_id) == col(Printer.agent_id))
                    .where(
                        col(AgentLink.state) == AgentState.ONLINE.value,
                        col(Printer.status) == PrinterStatus.IDLE.value,
                        col(Printer.current_job_id).is_(None),
                        ~active_print,
                    )
                    .order_by(col(Printer.updated_at), col(Printer.id))
                )
            ).all()
            if not printer_rows:
                return {}, {}
            loaded: dict[str | None, tuple[str | None, str | None]] = {}
            spools = await session.execute(
                select(col(Material.printer_id), col(Material.type), col(Material.color))
                .where(
                    col(Material.printer_id).in_([r.id for r in printer_rows]),
                    col(Material.status).in_(_LOADABLE),
                )
                .order_by(col(Material.created_at))
            )
            for printer_id, spool_type, spool_color in spools:
                loaded.setdefault(printer_id, (spool_type, spool_color))
            free: dict[str, list[tuple[FreePrinter, str]]] = defaultdict(list)
            for row in printer_rows:
                loaded_type, loaded_color = loaded.get(row.id, (None, None))
                printer = FreePrinter(row.id, loaded_type, loaded_color)
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
                ).where(_JOBS.c.status == JobStatus.QUEUED.value, _JOBS.c.org_id.in_(list(free)))
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
        now = utcnow()
        async with writing(self._app) as session:
            moved = await session.execute(
                update(_JOBS)
                .where(
                    and_(
                        _JOBS.c.id == assignment.job_id,
                        _JOBS.c.org_id == org_id,
                        _JOBS.c.status == JobStatus.QUEUED.value,
                    )
                )
                .values(
                    status=JobStatus.ASSIGNED.value,
                    printer_id=assignment.printer_id,
                    updated_at=now,
                )
            )
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                await session.rollback()
                return False  # another replica took it, or it was cancelled meanwhile
            job = await session.get(Job, assignment.job_id)
            copy_index = (job.copies_done + 1) if job is not None else 1
            command_id = new_id(IdPrefix.COMMAND)
            session.add(
                PrinterCommand(
                    id=command_id,
                    org_id=org_id,
                    printer_id=assignment.printer_id,
                    agent_id=agent_id,
                    action="start_job",
                    status="pending",
                    created_at=now,
                    updated_at=now,
                    expires_at=now + START_ACK_TIMEOUT,
                )
            )
            session.add(
                PrintRun(
                    id=new_id(IdPrefix.PRINT),
                    org_id=org_id,
                    job_id=assignment.job_id,
                    printer_id=assignment.printer_id,
                    agent_id=agent_id,
                    command_id=command_id,
                    copy_index=copy_index,
                    pinned=pinned,
                    assigned_at=now,
                )
            )
            try:
                # The flush is where a second active print on the printer collides with the
                # unique index: another replica claimed the printer first.
                await session.flush()
                printer = await session.get(Printer, assignment.printer_id)
                if printer is not None:
                    printer.current_job_id = assignment.job_id
                await session.commit()
            except IntegrityError:
                await session.rollback()
                log.info("printer %s was claimed by another replica first", assignment.printer_id)
                return False
        log.info(
            "job %s -> printer %s (copy %d)", assignment.job_id, assignment.printer_id, copy_index
        )
        return True
