"""The lifecycle table applied to the database: the one writer of the statuses of jobs,
print runs and printer commands (a printer's own status: `printers.py`).

Everything runs inside the caller's transaction (the caller commits): the queue's claim, the
dispatcher's sends and expiries, the applier's agent reports, the API's actions. `JobLife`
reads a job and its active run, asks `cloud.lifecycle.machine.step` what a trigger does,
and writes the result: the job, the run (a new one on a claim), the commands for the copy's
printer, and the events, built from the resource as the API returns it after the change.
Printer occupancy is not stored: a printer's current job is the job of its active run
(`occupancy.py`), and the database allows one active run per printer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import msgspec
from sqlalchemy import ColumnElement, ScalarSelect, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cloud.context import CloudContext
from cloud.db.models import Job, Printer, PrinterCommand
from cloud.db.types import utcnow
from cloud.ids import IdPrefix, new_id
from cloud.lifecycle.machine import JobView, Step, Trigger, job_progress, step
from cloud.lifecycle.occupancy import active_run_of_job
from cloud.lifecycle.states import (
    CommandAction,
    CommandStatus,
    RunStatus,
    command_may_become,
)
from cloud.orchestration.materials import deduct_from_loaded_spool, grams_used
from cloud.orchestration.tables import PrintRun
from cloud.services.events import record_event
from cloud.views.jobs import job_out
from shared.enums import EventType, JobStatus

log = logging.getLogger(__name__)

# How long the agent has to acknowledge a start before the copy goes back to the queue.
START_TTL = timedelta(seconds=60)
# How long a printer action is delivered before it expires unanswered.
ACTION_TTL = timedelta(minutes=5)
# Console G-code is typed by someone waiting for its answer: run minutes later (an agent
# back from an outage), it would surprise whoever typed it.
GCODE_TTL = timedelta(seconds=60)
_TTL = {CommandAction.START_JOB: START_TTL, CommandAction.GCODE: GCODE_TTL}


@dataclass(frozen=True, slots=True)
class CopyReport:
    """What the agent said about a copy (its event's figures)."""

    at: datetime
    progress_pct: float = 0.0
    duration_s: float = 0.0
    filament_used_mm: float | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Applied:
    """A trigger applied: the table's step and the commands it made."""

    step: Step
    commands: tuple[PrinterCommand, ...] = ()


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a claim puts the job's next copy."""

    printer_id: str
    agent_id: str
    pinned: bool


class JobLife:
    def __init__(self, app: CloudContext) -> None:
        self._app = app

    async def apply(
        self,
        session: AsyncSession,
        job: Job,
        trigger: Trigger,
        *,
        run: PrintRun | None = None,
        report: CopyReport | None = None,
        placement: Placement | None = None,
    ) -> Applied:
        """Apply ``trigger`` to ``job`` (with ``run``, its active run, if the caller has it
        already); `IllegalTransition` when the table does not allow it."""
        if run is None:
            run = await active_run_of_job(session, job.id)
        view = JobView(
            JobStatus(job.status),
            job.copies,
            job.copies_done,
            job.hold,
            RunStatus(run.status) if run is not None else None,
        )
        result = step(view, trigger)
        if not result.changed:
            return Applied(result)
        now = utcnow()
        at = report.at if report is not None else now
        commands: list[PrinterCommand] = []
        if trigger is Trigger.CLAIM:
            assert placement is not None, "a claim names its printer"
            run, start = self._new_run(session, job, placement, now)
            commands.append(start)
        elif run is not None and result.run is not None:
            await self._write_run(session, job, run, result=result, report=report, at=at)
        _write_job(job, run, before=view, result=result, report=report, at=at, now=now)
        if placement is not None:
            job.printer_id = placement.printer_id
        if result.run_ended:
            await session.flush()  # the run's duration counts in the job's total
            job.elapsed_time_s = await _finished_seconds(session, job.id)
        for action in result.commands:
            if action is not CommandAction.START_JOB and run is not None:
                command = self.command(
                    session,
                    org_id=job.org_id,
                    printer_id=run.printer_id,
                    agent_id=run.agent_id,
                    action=action,
                    job_id=job.id,
                )
                commands.append(command)
        for event in result.events:
            self._record_job(session, job, event)
        return Applied(result, tuple(commands))

    def _new_run(
        self, session: AsyncSession, job: Job, where: Placement, now: datetime
    ) -> tuple[PrintRun, PrinterCommand]:
        command = self.command(
            session,
            org_id=job.org_id,
            printer_id=where.printer_id,
            agent_id=where.agent_id,
            action=CommandAction.START_JOB,
            job_id=job.id,
        )
        run = PrintRun(
            id=new_id(IdPrefix.PRINT),
            org_id=job.org_id,
            job_id=job.id,
            printer_id=where.printer_id,
            agent_id=where.agent_id,
            command_id=command.id,
            copy_index=job.copies_done + 1,
            pinned=where.pinned,
            status=RunStatus.ASSIGNED.value,
            assigned_at=now,
        )
        session.add(run)
        return run, command

    async def _write_run(
        self,
        session: AsyncSession,
        job: Job,
        run: PrintRun,
        *,
        result: Step,
        report: CopyReport | None,
        at: datetime,
    ) -> None:
        assert result.run is not None
        run.status = result.run.value
        if result.run is RunStatus.PRINTING and run.started_at is None:
            run.started_at = at
        if not result.run_ended:
            return
        run.ended_at = at
        run.failure_reason = report.reason if report is not None else None
        # The printer's progress was this copy's: nothing runs on it now.
        await session.execute(
            update(Printer).where(col(Printer.id) == run.printer_id).values(progress=None)
        )
        if result.run is RunStatus.REFUSED:
            return
        run.progress = 100.0 if result.run is RunStatus.COMPLETED else _progress(report)
        run.duration_s = report.duration_s if report is not None else 0.0
        run.filament_used_g = await grams_used(
            session,
            job,
            filament_used_mm=report.filament_used_mm if report is not None else None,
            progress_pct=run.progress,
        )
        if run.filament_used_g:
            await deduct_from_loaded_spool(session, job.org_id, run.printer_id, run.filament_used_g)

    def command(
        self,
        session: AsyncSession,
        *,
        org_id: str,
        printer_id: str,
        agent_id: str | None,
        action: CommandAction,
        job_id: str | None = None,
        gcode: list[str] | None = None,
    ) -> PrinterCommand:
        """A command for the printer's agent, delivered by the dispatcher until answered;
        `gcode`: the lines of a `gcode` command."""
        now = utcnow()
        ttl = _TTL.get(action, ACTION_TTL)
        command = PrinterCommand(
            id=new_id(IdPrefix.COMMAND),
            org_id=org_id,
            printer_id=printer_id,
            agent_id=agent_id,
            job_id=job_id,
            action=action.value,
            status=CommandStatus.PENDING.value,
            created_at=now,
            updated_at=now,
            expires_at=now + ttl,
            gcode=gcode,
        )
        session.add(command)
        return command

    def _record_job(self, session: AsyncSession, job: Job, event: EventType) -> None:
        payload = {"job": msgspec.to_builtins(job_out(job, self._app))}
        record_event(session, job.org_id, event, job.id, payload)


def _write_job(
    job: Job,
    run: PrintRun | None,
    *,
    before: JobView,
    result: Step,
    report: CopyReport | None,
    at: datetime,
    now: datetime,
) -> None:
    after = result.job
    job.status = after.status.value
    job.hold = after.hold
    job.copies_done = after.copies_done
    job.updated_at = now
    started = result.run is RunStatus.PRINTING and before.run is RunStatus.ASSIGNED
    if started and not after.status.is_final:
        job.started_at = job.started_at or at
        # The copy's share starts at 0 (the whole job's, with the copies already done).
        job.progress = job_progress(job.copies, job.copies_done, 0.0)
    if result.run_ended and not after.status.is_final and run is not None:
        # Back to the queue for the next copy: a pinned job keeps its printer.
        job.printer_id = run.printer_id if run.pinned else None
    if after.status is JobStatus.COMPLETED:
        job.progress = 100.0
    elif result.run_ended:
        # Finished copies, and the share of this one if it ends the job unfinished (a
        # completed copy is counted in copies_done already).
        unfinished = after.status.is_final and result.run is not RunStatus.COMPLETED
        share = _progress(report) if unfinished else None
        job.progress = job_progress(job.copies, job.copies_done, share)
    if after.status.is_final and not before.status.is_final:
        job.completed_at = at
        if after.status is JobStatus.FAILED and report is not None:
            job.failure_reason = report.reason


# --- commands ---------------------------------------------------------------------------


def command_to(command: PrinterCommand, status: CommandStatus, *, error: str | None = None) -> bool:
    """Move a command on (sent, answered, expired); False when it may not (it is settled)."""
    if not command_may_become(CommandStatus(command.status), status):
        return False
    command.status = status.value
    command.error_code = error if status is CommandStatus.FAILED else None
    command.updated_at = utcnow()
    return True


def _progress(report: CopyReport | None) -> float:
    return report.progress_pct if report is not None else 0.0


def finished_seconds(job_id: ColumnElement[str] | str) -> ScalarSelect[float]:
    """The printing time of a job's copies that ended (refused starts count 0): for a job
    id, or as a correlated subquery for a jobs column in an UPDATE."""
    return (
        select(func.coalesce(func.sum(col(PrintRun.duration_s)), 0.0))
        .where(col(PrintRun.job_id) == job_id, col(PrintRun.ended_at).is_not(None))
        .scalar_subquery()
    )


async def _finished_seconds(session: AsyncSession, job_id: str) -> int:
    total = await session.scalar(select(finished_seconds(job_id)))
    return round(float(total or 0.0))


def end_orphan_run(run: PrintRun, status: RunStatus, at: datetime) -> None:
    """Close an active run whose job is gone (deleted with its organization): the printer
    must not stay busy with a job nobody can see."""
    run.status = status.value
    run.ended_at = at
