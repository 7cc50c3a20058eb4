"""Applying what agents report to the database, each event exactly once.

Called by the bridge's consumer, one message at a time and in arrival order. Printer state
snapshots arrive far more often than anything else and only the newest matters, so the
bridge hands them over in batches (`apply_states`); everything else is applied on its own
transaction. Messages from an unknown or revoked agent, or naming a printer that agent does
not drive, change nothing.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import bindparam, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cloud.bridge.inbound import EventIn, ReplyIn, StateIn, StatusIn, TelemetryIn
from cloud.context import CloudContext
from cloud.db.core import table_of
from cloud.db.models import Agent, Job, Printer, PrinterCommand
from cloud.db.types import utcnow
from cloud.lifecycle import printers
from cloud.lifecycle.machine import IllegalTransition, Trigger
from cloud.lifecycle.occupancy import active_run_on, run_is_active
from cloud.lifecycle.states import CommandAction, CommandStatus, RunStatus
from cloud.lifecycle.store import CopyReport, JobLife, command_to, end_orphan_run, finished_seconds
from cloud.metrics.series import EVENTS_APPLIED, EVENTS_DUPLICATES
from cloud.orchestration.db import writing
from cloud.orchestration.tables import (
    AgentLink,
    AppliedAgentEvent,
    PrintRun,
    ensure_agent_link,
)
from shared import wire
from shared.enums import AgentState, ErrorCode, JobStatus, PrinterStatus

log = logging.getLogger(__name__)

# The agent sends at most the last 4,000 characters of a G-code reply; the cloud keeps no
# more than that whatever it is sent.
MAX_GCODE_REPLY_CHARS = 4000

_PRINTERS = table_of(Printer)
_JOBS = table_of(Job)
_RUNS = table_of(PrintRun)
_UPDATE_PRINTER_TELEMETRY = (
    update(_PRINTERS)
    .where(printers.AGENTS_OWN_PRINTER)
    .values(progress=func.coalesce(bindparam("b_progress"), _PRINTERS.c.progress))
)


# The whole job, from its running copy: finished copies plus this one's share, and their
# time plus this one's (cloud/lifecycle/machine.job_progress says the same in Python).
_UPDATE_JOB_PROGRESS = (
    update(_JOBS)
    .where(
        _JOBS.c.id == bindparam("b_id"),
        _JOBS.c.org_id == bindparam("b_org"),
        # Spelled out: an IN list is an "expanding" parameter, which executemany refuses.
        or_(
            _JOBS.c.status == JobStatus.PRINTING.value,
            _JOBS.c.status == JobStatus.PAUSED.value,
        ),
        # A copy of it runs on the printer that reports it: a late sample of a copy that
        # ended (the job held or queued for the next) or another agent's word changes
        # nothing.
        exists().where(
            _RUNS.c.job_id == _JOBS.c.id,
            _RUNS.c.printer_id == bindparam("b_printer"),
            or_(
                _RUNS.c.status == RunStatus.PRINTING.value,
                _RUNS.c.status == RunStatus.PAUSED.value,
            ),
        ),
    )
    .values(
        progress=(_JOBS.c.copies_done * 100.0 + bindparam("b_progress")) / _JOBS.c.copies,
        elapsed_time_s=func.round(bindparam("b_elapsed") + finished_seconds(_JOBS.c.id)),
    )
)


def _job_progress_row(org_id: str, printer_id: str, job: wire.JobState) -> dict[str, Any]:
    return {
        "b_id": job.job_id,
        "b_org": org_id,
        "b_printer": printer_id,
        "b_progress": job.progress,
        "b_elapsed": job.elapsed_s,
    }


# The agent's reports that end a copy, and the run's status after.
_COPY_ENDS = {
    Trigger.COMPLETED: RunStatus.COMPLETED,
    Trigger.FAILED: RunStatus.FAILED,
    Trigger.CANCELLED: RunStatus.CANCELLED,
}


def _effective_status(state: wire.PrinterState, agent_online: bool) -> PrinterStatus:
    if not (state.connected and agent_online):
        return PrinterStatus.OFFLINE
    if state.foreign_job and state.status is PrinterStatus.IDLE:
        return PrinterStatus.BUSY  # printing something the farm did not start
    return state.status


class Applier:
    def __init__(self, app: CloudContext, *, on_change: Callable[[str], None]) -> None:
        """``on_change(reason)`` is called after a commit that may let the queue or the
        command dispatcher make progress (a printer freed, an agent back online)."""
        self._app = app
        self._life = JobLife(app)
        self._on_change = on_change

    # --- agent status ----------------------------------------------------------------------

    async def apply_status(self, item: StatusIn) -> None:
        status = item.status
        async with writing(self._app) as session:
            agent = await self._agent(session, item.org_id, item.agent_id)
            if agent is None:
                return
            link = await ensure_agent_link(session, agent.id, agent.org_id)
            if status.session < link.session:
                # A Will or birth from an older connection arriving late (MQTT allows one
                # Will per connection; the session counter orders them).
                log.info(
                    "agent %s: ignoring %s of old session %d (now %d)",
                    agent.id,
                    status.state,
                    status.session,
                    link.session,
                )
                return
            if status.state is AgentState.ONLINE and (
                link.state != AgentState.ONLINE.value or status.session > link.session
            ):
                link.online_since = utcnow()
            link.session = status.session
            link.state = status.state.value
            link.updated_at = utcnow()
            agent.state = status.state.value
            agent.version = status.agent_version
            agent.last_seen_at = status.ts
            if status.state is AgentState.OFFLINE:
                await printers.agent_gone(session, agent.id, "agent went offline")
            await session.commit()
        self._on_change("agent online" if status.state is AgentState.ONLINE else "agent offline")

    # --- printer state snapshots --------------------------------------------------------------

    async def apply_states(self, items: Sequence[StateIn]) -> None:
        """Newest snapshot per printer, in one transaction of (at most) two executemany
        statements; a change of a printer's status records its event (presence.py)."""
        if not items:
            return
        newest: dict[str, StateIn] = {}
        for item in items:
            kept = newest.get(item.state.printer_id)
            # By the agent's stamp (a redelivered older one may arrive after a newer one).
            if kept is None or item.state.ts >= kept.state.ts:
                newest[item.state.printer_id] = item
        job_rows: list[dict[str, Any]] = []
        snapshots: list[printers.Snapshot] = []
        async with writing(self._app) as session:
            online = await _online_agents(session, {i.agent_id for i in newest.values()})
            for item in newest.values():
                state = item.state
                job = state.job
                snapshots.append(
                    printers.Snapshot(
                        org_id=item.org_id,
                        agent_id=item.agent_id,
                        printer_id=state.printer_id,
                        status=_effective_status(state, item.agent_id in online),
                        hotend_c=state.temperatures.hotend,
                        bed_c=state.temperatures.bed,
                        progress=job.progress if job is not None else None,
                        firmware=state.firmware,
                        message=state.message,
                        reported_at=state.ts,
                        materials=state.materials,
                    )
                )
                if job is not None:
                    job_rows.append(_job_progress_row(item.org_id, state.printer_id, job))
            freed, written = await printers.apply_snapshots(session, snapshots)
            job_rows = [row for row in job_rows if row["b_printer"] in written]
            if job_rows:
                await session.execute(_UPDATE_JOB_PROGRESS, job_rows)
            await session.commit()
        if freed:
            self._on_change("printer idle")

    async def apply_telemetry(self, items: Sequence[TelemetryIn]) -> None:
        """Temperatures and progress between snapshots (the agent sends these at about 1 Hz
        per printer and a snapshot only when something else changes); newest per printer."""
        newest: dict[str, TelemetryIn] = {}
        for item in items:
            newest[item.telemetry.printer_id] = item
        if not newest:
            return
        printer_rows: list[dict[str, Any]] = []
        job_rows: list[dict[str, Any]] = []
        for item in newest.values():
            sample = item.telemetry
            job = sample.job
            printer_rows.append(
                {
                    "b_id": sample.printer_id,
                    "b_org": item.org_id,
                    "b_agent": item.agent_id,
                    "hotend_c": sample.temperatures.hotend,
                    "bed_c": sample.temperatures.bed,
                    "b_progress": job.progress if job is not None else None,
                }
            )
            if job is not None:
                job_rows.append(_job_progress_row(item.org_id, sample.printer_id, job))
        async with writing(self._app) as session:
            await session.execute(_UPDATE_PRINTER_TELEMETRY, printer_rows)
            if job_rows:
                await session.execute(_UPDATE_JOB_PROGRESS, job_rows)
            await session.commit()

    async def last_seq(self, agent_id: str) -> int:
        """The highest event sequence applied for this agent (0 if none)."""
        async with self._app.background()() as session:
            link = await session.get(AgentLink, agent_id)
            return link.last_seq if link is not None else 0

    async def last_seqs(self, agent_ids: Sequence[str]) -> dict[str, int]:
        """`last_seq` of several agents in one query (those with no link are left out)."""
        links = table_of(AgentLink).c
        stmt = select(links.agent_id, links.last_seq).where(links.agent_id.in_(agent_ids))
        async with self._app.background()() as session:
            return {agent: int(seq) for agent, seq in await session.execute(stmt)}

    # --- events --------------------------------------------------------------------------------

    async def apply_event(self, item: EventIn) -> bool:
        """Apply one event unless it was applied before; True if it was applied now."""
        event = item.event
        async with writing(self._app) as session:
            agent = await self._agent(session, item.org_id, item.agent_id)
            if agent is None:
                return False
            session.add(
                AppliedAgentEvent(agent_id=agent.id, event_id=event.event_id, seq=event.seq)
            )
            try:
                await session.flush()
            except IntegrityError:
                await session.rollback()
                # Not agent.id: the rollback expired the instance, and reloading it here would
                # be I/O outside the async driver (MissingGreenlet), failing the duplicate.
                log.debug("event %s from %s already applied", event.event_id, item.agent_id)
                EVENTS_DUPLICATES.inc()
                return False
            link = await ensure_agent_link(session, agent.id, agent.org_id)
            if event.seq > link.last_seq + 1 and link.last_seq > 0:
                log.warning(
                    "agent %s: event sequence gap, %d follows %d (events %d-%d missing or late)",
                    agent.id,
                    event.seq,
                    link.last_seq,
                    link.last_seq + 1,
                    event.seq - 1,
                )
            link.last_seq = max(link.last_seq, event.seq)
            freed = await self._apply_event(session, item)
            await session.commit()
        EVENTS_APPLIED.inc()
        if freed:
            self._on_change("printer freed")
        return True

    async def _apply_event(self, session: AsyncSession, item: EventIn) -> bool:
        """True if the event ended a copy (its printer is free)."""
        event = item.event
        printer = await session.get(Printer, event.printer_id)
        if printer is None or printer.org_id != item.org_id or printer.agent_id != item.agent_id:
            log.info(
                "event %s names printer %s, not one of agent %s; recorded as applied only",
                event.event_id,
                event.printer_id,
                item.agent_id,
            )
            return False
        match event:
            case wire.PrinterOnlineEvent():
                # Its status follows with the next snapshot, which records `printer.online`.
                if event.firmware:
                    printer.firmware = event.firmware
                return False
            case wire.PrinterOfflineEvent():
                await printers.set_status(
                    session, printer, PrinterStatus.OFFLINE, reason=event.reason
                )
                return False
            case wire.PrinterErrorEvent():
                await printers.set_status(
                    session, printer, PrinterStatus.ERROR, reason=event.message
                )
                return False
            case wire.JobStartedEvent():
                return await self._copy(session, item, Trigger.STARTED, CopyReport(at=event.ts))
            case wire.JobPausedEvent():
                return await self._copy(session, item, Trigger.PAUSED, CopyReport(at=event.ts))
            case wire.JobResumedEvent():
                return await self._copy(session, item, Trigger.RESUMED, CopyReport(at=event.ts))
            case wire.JobCompletedEvent():
                report = CopyReport(
                    at=event.ts,
                    progress_pct=100.0,
                    duration_s=event.duration_s,
                    filament_used_mm=event.filament_used_mm,
                )
                return await self._copy(session, item, Trigger.COMPLETED, report)
            case wire.JobFailedEvent():
                report = CopyReport(
                    at=event.ts,
                    progress_pct=event.progress,
                    duration_s=event.duration_s,
                    filament_used_mm=event.filament_used_mm,
                    reason=event.reason,
                )
                return await self._copy(session, item, Trigger.FAILED, report)
            case wire.JobCancelledEvent():
                report = CopyReport(
                    at=event.ts,
                    progress_pct=event.progress,
                    duration_s=event.duration_s,
                    filament_used_mm=event.filament_used_mm,
                )
                return await self._copy(session, item, Trigger.CANCELLED, report)
        return False

    async def _copy(
        self, session: AsyncSession, item: EventIn, trigger: Trigger, report: CopyReport
    ) -> bool:
        """A copy's event: applied to the job through the lifecycle table."""
        event = item.event
        job_id = str(getattr(event, "job_id", ""))
        run = await active_run_on(session, job_id, event.printer_id)
        job = await session.get(Job, job_id) if run is not None else None
        if run is not None and job is None:
            if trigger in _COPY_ENDS:
                end_orphan_run(run, _COPY_ENDS[trigger], report.at)
                return True
            return False
        if run is None or job is None:
            log.info(
                "%s for job %s on %s: no copy of it runs there; nothing to change",
                trigger.value,
                job_id,
                event.printer_id,
            )
            return False
        try:
            applied = await self._life.apply(session, job, trigger, run=run, report=report)
        except IllegalTransition as exc:
            # The agent's word is what happened; the table has no rule for it in this phase
            # (a repeated or crossed report). Nothing to change, never a crashed consumer.
            log.warning("job %s: %s ignored in phase %s", job.id, trigger.value, exc.phase)
            return False
        if trigger is Trigger.STARTED:
            # A start proves the start command arrived, even if its reply was lost.
            start = await session.get(PrinterCommand, run.command_id)
            if start is not None:
                command_to(start, CommandStatus.OK)
        return applied.step.run_ended

    # --- command replies -----------------------------------------------------------------------

    async def apply_reply(self, item: ReplyIn) -> str | None:
        """Record the agent's answer to a command; returns the command id when it changed."""
        reply = item.reply
        freed = False
        async with writing(self._app) as session:
            command = await session.get(PrinterCommand, reply.command_id)
            if (
                command is None
                or command.org_id != item.org_id
                or command.agent_id != item.agent_id
            ):
                log.info(
                    "reply to unknown command %s from agent %s", reply.command_id, item.agent_id
                )
                return None
            error = None if reply.ok else (reply.error or ErrorCode.INTERNAL_ERROR)
            new = CommandStatus.OK if reply.ok else CommandStatus.FAILED
            if not command_to(command, new, error=error):
                return None  # a repeated reply to a settled command
            if command.action == CommandAction.GCODE.value and reply.message:
                # What the printer answered (or why not), for the request that waits on it.
                command.reply = reply.message[-MAX_GCODE_REPLY_CHARS:]
            if not reply.ok and command.action == CommandAction.START_JOB.value:
                freed = await self._start_refused(session, command, reply)
            elif not reply.ok and command.action == CommandAction.PAUSE.value:
                await self._pause_refused(session, command)
            await session.commit()
        if freed:
            self._on_change("start refused")
        return reply.command_id

    async def _start_refused(
        self, session: AsyncSession, command: PrinterCommand, reply: wire.CommandReply
    ) -> bool:
        """The agent refused a start: the copy never began. The job goes back to the queue,
        unless the refusal is about the job itself (its file is invalid), which no other
        printer would fix: then it fails."""
        stmt = select(PrintRun).where(col(PrintRun.command_id) == command.id, run_is_active())
        run = (await session.execute(stmt)).scalar_one_or_none()
        job = await session.get(Job, run.job_id) if run is not None else None
        if run is None or job is None:
            return False
        trigger = (
            Trigger.FILE_REFUSED if reply.error is ErrorCode.FILE_INVALID else Trigger.START_REFUSED
        )
        reason = reply.message or f"the agent refused the job: {reply.error}"
        try:
            applied = await self._life.apply(
                session, job, trigger, run=run, report=CopyReport(at=utcnow(), reason=reason)
            )
        except IllegalTransition as exc:
            log.warning("job %s: refused start ignored in phase %s", job.id, exc.phase)
            return False
        log.info("job %s: start on %s refused: %s", job.id, run.printer_id, reason)
        return applied.step.run_ended

    async def _pause_refused(self, session: AsyncSession, command: PrinterCommand) -> None:
        """The printer did not pause: the user's wish is dropped with it, or it would hold
        the next copy although the API said the pause failed."""
        if command.job_id is None:
            return
        run = await active_run_on(session, command.job_id, command.printer_id)
        job = await session.get(Job, command.job_id) if run is not None else None
        if run is None or job is None:
            return
        # Paused meanwhile, or over: nothing is waiting on that pause any more.
        with contextlib.suppress(IllegalTransition):
            await self._life.apply(session, job, Trigger.PAUSE_REFUSED, run=run)

    # --- helpers ---------------------------------------------------------------------------------

    @staticmethod
    async def _agent(session: AsyncSession, org_id: str, agent_id: str) -> Agent | None:
        agent = await session.get(Agent, agent_id)
        if agent is None or agent.org_id != org_id or agent.revoked_at is not None:
            log.info("message from unknown or revoked agent %s/%s skipped", org_id, agent_id)
            return None
        return agent


async def _online_agents(session: AsyncSession, agent_ids: set[str]) -> set[str]:
    stmt = select(col(AgentLink.agent_id)).where(
        col(AgentLink.agent_id).in_(agent_ids),
        col(AgentLink.state) == AgentState.ONLINE.value,
    )
    return set((await session.execute(stmt)).scalars())
