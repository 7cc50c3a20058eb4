"""Applying what agents report to the database, each event exactly once.

Called by the bridge's consumer, one message at a time and in arrival order. Printer state
snapshots arrive far more often than anything else and only the newest matters, so the
bridge hands them over in batches (`apply_states`); everything else is applied on its own
transaction. Messages from an unknown or revoked agent, or naming a printer that agent does
not drive, change nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import msgspec
from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cloud.bridge.inbound import EventIn, ReplyIn, StateIn, StatusIn, TelemetryIn
from cloud.context import CloudContext
from cloud.db.models import Agent, Job, Printer, PrinterCommand
from cloud.db.types import utcnow
from cloud.orchestration import lifecycle
from cloud.orchestration.db import writing
from cloud.orchestration.tables import (
    AgentLink,
    AppliedAgentEvent,
    PrintRun,
    ensure_agent_link,
)
from cloud.services.events import record_event
from cloud.services.printers import printer_out
from shared import wire
from shared.enums import AgentState, ErrorCode, EventType, PrinterStatus

log = logging.getLogger(__name__)

_PRINTERS = Printer.__table__  # type: ignore[attr-defined]
_JOBS = Job.__table__  # type: ignore[attr-defined]
_JOBS_PROGRESS_STATUSES = ("printing", "paused")
_UPDATE_PRINTER_STATE = (
    update(_PRINTERS)
    .where(
        _PRINTERS.c.id == bindparam("b_id"),
        _PRINTERS.c.org_id == bindparam("b_org"),
        _PRINTERS.c.agent_id == bindparam("b_agent"),
    )
    .values(firmware=func.coalesce(bindparam("b_firmware"), _PRINTERS.c.firmware))
)
_UPDATE_PRINTER_TELEMETRY = (
    update(_PRINTERS)
    .where(
        _PRINTERS.c.id == bindparam("b_id"),
        _PRINTERS.c.org_id == bindparam("b_org"),
        _PRINTERS.c.agent_id == bindparam("b_agent"),
    )
    .values(progress=func.coalesce(bindparam("b_progress"), _PRINTERS.c.progress))
)
_UPDATE_JOB_PROGRESS = update(_JOBS).where(
    _JOBS.c.id == bindparam("b_id"),
    _JOBS.c.org_id == bindparam("b_org"),
    # Spelled out: an IN list is an "expanding" parameter, which executemany refuses.
    or_(*(_JOBS.c.status == status for status in _JOBS_PROGRESS_STATUSES)),
)


def _job_progress_row(org_id: str, job: wire.JobState) -> dict[str, Any]:
    return {
        "b_id": job.job_id,
        "b_org": org_id,
        "progress": job.progress,
        "elapsed_time_s": round(job.elapsed_s),
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
                await self._printers_offline(session, agent, "agent went offline")
            await session.commit()
        self._on_change("agent online" if status.state is AgentState.ONLINE else "agent offline")

    async def _printers_offline(self, session: AsyncSession, agent: Agent, reason: str) -> None:
        stmt = select(Printer).where(
            col(Printer.agent_id) == agent.id,
            col(Printer.status) != PrinterStatus.OFFLINE.value,
        )
        for printer in (await session.execute(stmt)).scalars():
            printer.status = PrinterStatus.OFFLINE.value
            printer.updated_at = utcnow()
            record_event(
                session,
                printer.org_id,
                EventType.PRINTER_OFFLINE,
                printer.id,
                {"printer": _printer_payload(printer), "reason": reason},
            )

    # --- printer state snapshots --------------------------------------------------------------

    async def apply_states(self, items: Sequence[StateIn]) -> None:
        """Newest snapshot per printer, in one transaction of two executemany statements."""
        if not items:
            return
        newest: dict[str, StateIn] = {}
        for item in items:
            newest[item.state.printer_id] = item
        now = utcnow()
        printer_rows: list[dict[str, Any]] = []
        job_rows: list[dict[str, Any]] = []
        freed = False
        async with writing(self._app) as session:
            online = await _online_agents(session, {i.agent_id for i in newest.values()})
            for item in newest.values():
                state = item.state
                status = _effective_status(state, item.agent_id in online)
                freed |= status is PrinterStatus.IDLE
                job = state.job
                printer_rows.append(
                    {
                        "b_id": state.printer_id,
                        "b_org": item.org_id,
                        "b_agent": item.agent_id,
                        "status": status.value,
                        "hotend_c": state.temperatures.hotend,
                        "bed_c": state.temperatures.bed,
                        "b_firmware": state.firmware,
                        "progress": job.progress if job is not None else None,
                        "updated_at": now,
                    }
                )
                if job is not None:
                    job_rows.append(_job_progress_row(item.org_id, job))
            # The WHERE clause is the authorisation: a snapshot changes a printer only if the
            # printer is this agent's, in this organisation; anything else updates nothing.
            await session.execute(_UPDATE_PRINTER_STATE, printer_rows)
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
                job_rows.append(_job_progress_row(item.org_id, job))
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
        if freed:
            self._on_change("printer freed")
        return True

    async def _apply_event(self, session: AsyncSession, item: EventIn) -> bool:
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
                if event.firmware:
                    printer.firmware = event.firmware
                record_event(
                    session,
                    printer.org_id,
                    EventType.PRINTER_ONLINE,
                    printer.id,
                    {"printer": _printer_payload(printer)},
                )
                return False
            case wire.PrinterOfflineEvent():
                printer.status = PrinterStatus.OFFLINE.value
                record_event(
                    session,
                    printer.org_id,
                    EventType.PRINTER_OFFLINE,
                    printer.id,
                    {"printer": _printer_payload(printer), "reason": event.reason},
                )
                return False
            case wire.PrinterErrorEvent():
                printer.status = PrinterStatus.ERROR.value
                record_event(
                    session,
                    printer.org_id,
                    EventType.PRINTER_ERROR,
                    printer.id,
                    {"printer": _printer_payload(printer), "message": event.message},
                )
                return False
        run = await lifecycle.active_print(session, item.org_id, event.job_id, printer.id)
        if run is None:
            log.info(
                "event %s for job %s on %s: no active print; nothing to change",
                event.type_name if hasattr(event, "type_name") else type(event).__name__,
                event.job_id,
                printer.id,
            )
            return False
        app = self._app
        match event:
            case wire.JobStartedEvent():
                await lifecycle.print_started(session, app, run, event.ts)
                await _settle_start(session, run.command_id)
                return False
            case wire.JobPausedEvent():
                await lifecycle.print_paused(session, run, paused=True)
                return False
            case wire.JobResumedEvent():
                await lifecycle.print_paused(session, run, paused=False)
                return False
            case wire.JobCompletedEvent():
                await lifecycle.print_ended(
                    session,
                    app,
                    run,
                    "completed",
                    at=event.ts,
                    progress_pct=100.0,
                    duration_s=event.duration_s,
                    filament_used_mm=event.filament_used_mm,
                )
            case wire.JobFailedEvent():
                await lifecycle.print_ended(
                    session,
                    app,
                    run,
                    "failed",
                    at=event.ts,
                    progress_pct=event.progress,
                    duration_s=event.duration_s,
                    filament_used_mm=event.filament_used_mm,
                    reason=event.reason,
                )
            case wire.JobCancelledEvent():
                await lifecycle.print_ended(
                    session,
                    app,
                    run,
                    "cancelled",
                    at=event.ts,
                    progress_pct=event.progress,
                    duration_s=event.duration_s,
                    filament_used_mm=event.filament_used_mm,
                )
        return True

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
            if command.status in ("ok", "failed", "expired"):
                return None  # a repeated reply to a settled command
            command.status = "ok" if reply.ok else "failed"
            command.error_code = None if reply.ok else (reply.error or ErrorCode.INTERNAL_ERROR)
            command.updated_at = utcnow()
            if not reply.ok:
                freed = await self._start_refused(session, command, reply)
            await session.commit()
        if freed:
            self._on_change("start refused")
        return reply.command_id

    async def _start_refused(
        self, session: AsyncSession, command: PrinterCommand, reply: wire.CommandReply
    ) -> bool:
        stmt = select(PrintRun).where(col(PrintRun.command_id) == command.id)
        run = (await session.execute(stmt)).scalar_one_or_none()
        if run is None or run.status != "assigned":
            return False
        reason = reply.message or f"the agent refused the job: {reply.error}"
        await lifecycle.start_refused(
            session, self._app, run, reason=reason, job_fails=reply.error is ErrorCode.FILE_INVALID
        )
        return True

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


async def _settle_start(session: AsyncSession, command_id: str) -> None:
    """A job.started proves the start command arrived, even if its reply was lost."""
    command = await session.get(PrinterCommand, command_id)
    if command is not None and command.status in ("pending", "sent"):
        command.status = "ok"
        command.updated_at = utcnow()


def _printer_payload(printer: Printer) -> dict[str, Any]:
    return msgspec.to_builtins(printer_out(printer))  # type: ignore[no-any-return]
