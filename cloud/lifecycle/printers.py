"""A printer's status, written here alone, with the events its changes make (presence.py).

Causes differ (the agent's snapshots, its printer events, its Will, the API moving the
printer to another agent or connection, the agent revoked) and all of them come here, so a
change records `printer.offline`, `printer.online` or `printer.error` exactly once, with
the printer as the API shows it after the change. Runs in the caller's transaction.

Snapshots arrive in bursts (every printer of a farm, on every change), so `apply_snapshots`
writes a batch with one executemany statement and loads a printer only when its status
changed, which is rare. They are written in the order the agent stamped them, not the order
they arrive: with several replicas sharing the agents' topics, one replica's batch holding
an older snapshot can commit after another's holding a newer one, and a QoS 1 redelivery
comes late. The printer row keeps the stamp of the snapshot it shows (`reported_at`, read
under the row lock) and an older one is skipped. The stamp is the agent's clock; an agent
whose clock jumps back keeps its printers' states until the clock passes the last stamp
(agents are expected to keep NTP time, as the signed-URL expiry already assumes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import and_, bindparam, func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cloud.db.core import table_of
from cloud.db.models import Printer
from cloud.db.types import utcnow
from cloud.lifecycle.occupancy import current_job_of
from cloud.lifecycle.presence import presence_events
from cloud.services.events import record_event
from cloud.views.printers import printer_out
from shared.enums import EventType, PrinterStatus
from shared.wire import LoadedMaterial

_PRINTERS = table_of(Printer)
# The authorisation of what an agent reports (snapshots, telemetry): an UPDATE with this
# WHERE changes a printer only if it is this agent's, in this organisation; anything else
# updates nothing. Bound as b_id, b_org, b_agent.
AGENTS_OWN_PRINTER = and_(
    _PRINTERS.c.id == bindparam("b_id"),
    _PRINTERS.c.org_id == bindparam("b_org"),
    _PRINTERS.c.agent_id == bindparam("b_agent"),
)
_UPDATE_SNAPSHOT = (
    update(_PRINTERS)
    .where(AGENTS_OWN_PRINTER)
    .values(
        status=bindparam("b_status"),
        hotend_c=bindparam("b_hotend"),
        bed_c=bindparam("b_bed"),
        progress=bindparam("b_progress"),
        firmware=func.coalesce(bindparam("b_firmware"), _PRINTERS.c.firmware),
        reported_materials=bindparam("b_materials", type_=_PRINTERS.c.reported_materials.type),
        reported_at=bindparam("b_reported"),
        updated_at=bindparam("b_at"),
    )
)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What an agent says of one of its printers, status already decided by the caller."""

    org_id: str
    agent_id: str
    printer_id: str
    status: PrinterStatus
    hotend_c: float | None
    bed_c: float | None
    progress: float | None
    firmware: str | None
    message: str | None  # the reason of an offline, the message of an error
    reported_at: datetime  # the agent's stamp (its clock)
    # What the printer says is loaded; none (an older agent, a printer that cannot tell)
    # clears what an earlier snapshot said.
    materials: Sequence[LoadedMaterial] = ()


async def set_status(
    session: AsyncSession,
    printer: Printer,
    status: PrinterStatus,
    *,
    reason: str | None = None,
) -> tuple[EventType, ...]:
    """Change one printer's status and record what the change means."""
    # Its status as committed, locked until this transaction ends (PostgreSQL; SQLite's
    # writer lock does the same): two writers never both see the old one and both record.
    await session.refresh(printer, ["status"], with_for_update=True)
    events = presence_events(PrinterStatus(printer.status), status)
    printer.status = status.value
    printer.updated_at = utcnow()
    if events:
        await record(session, printer, events, reason=reason)
    return events


async def apply_snapshots(
    session: AsyncSession, snapshots: Sequence[Snapshot]
) -> tuple[bool, frozenset[str]]:
    """Write a batch of snapshots (one per printer). Returns whether one of them freed a
    printer (it became idle, which may let the queue start something) and the printers
    whose snapshot was written (the others are not the agent's, or older than the one the
    printer shows)."""
    if not snapshots:
        return False, frozenset()
    keys = [(s.printer_id, s.org_id, s.agent_id) for s in snapshots]
    # Locked in id order (PostgreSQL) so two replicas' batches neither both record one
    # change nor deadlock on each other.
    stmt = (
        select(col(Printer.id), col(Printer.status), col(Printer.reported_at))
        .where(tuple_(col(Printer.id), col(Printer.org_id), col(Printer.agent_id)).in_(keys))
        .order_by(col(Printer.id))
        .with_for_update()
    )
    shown = {row[0]: (PrinterStatus(row[1]), row[2]) for row in await session.execute(stmt)}
    newer = [s for s in snapshots if s.printer_id in shown and _newer(s, shown[s.printer_id][1])]
    if not newer:
        return False, frozenset()
    now = utcnow()
    await session.execute(_UPDATE_SNAPSHOT, [_row(s, now) for s in newer])
    freed = False
    for snapshot in newer:
        old = shown[snapshot.printer_id][0]
        freed |= snapshot.status is PrinterStatus.IDLE and old is not PrinterStatus.IDLE
        events = presence_events(old, snapshot.status)
        if events:
            printer = await session.get(Printer, snapshot.printer_id, populate_existing=True)
            if printer is not None:
                await record(session, printer, events, reason=snapshot.message)
    return freed, frozenset(s.printer_id for s in newer)


def _newer(snapshot: Snapshot, shown_at: datetime | None) -> bool:
    return shown_at is None or snapshot.reported_at > shown_at


async def agent_gone(session: AsyncSession, agent_id: str, reason: str) -> None:
    """Every printer of an agent that went away (its Will) or was revoked goes offline."""
    stmt = select(Printer).where(
        col(Printer.agent_id) == agent_id,
        col(Printer.status) != PrinterStatus.OFFLINE.value,
    )
    for printer in (await session.execute(stmt)).scalars().all():
        await set_status(session, printer, PrinterStatus.OFFLINE, reason=reason)


def _row(s: Snapshot, now: datetime) -> dict[str, Any]:
    return {
        "b_id": s.printer_id,
        "b_org": s.org_id,
        "b_agent": s.agent_id,
        "b_status": s.status.value,
        "b_hotend": s.hotend_c,
        "b_bed": s.bed_c,
        "b_progress": s.progress,
        "b_firmware": s.firmware,
        "b_materials": [msgspec.structs.asdict(m) for m in s.materials],
        "b_reported": s.reported_at,
        "b_at": now,
    }


async def record(
    session: AsyncSession,
    printer: Printer,
    events: tuple[EventType, ...],
    *,
    reason: str | None = None,
) -> None:
    current = await current_job_of(session, printer.id)
    payload: dict[str, Any] = {"printer": msgspec.to_builtins(printer_out(printer, current))}
    for event in events:
        extra: dict[str, Any] = {}
        if event is EventType.PRINTER_ERROR:
            extra = {"message": reason or "the printer reported an error"}
        elif event is EventType.PRINTER_OFFLINE:
            extra = {"reason": reason}
        record_event(session, printer.org_id, event, printer.id, {**payload, **extra})
