"""One agent with one serial printer, driven through the cloud's real applier and queue.

What the agent would publish (its status, state snapshots, telemetry, events, replies) is
handed to `cloud.orchestration.applier.Applier` as the bridge hands it over, and jobs are
claimed by the real `QueueRunner`: every write goes through the code that runs in
production, on the test's SQLite or PostgreSQL, without a broker in between (the bridge's
own tests cover the wire).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from cloud.bridge.inbound import EventIn, ReplyIn, StateIn, StatusIn, TelemetryIn
from cloud.db.models import Event, PrinterCommand
from cloud.orchestration.applier import Applier
from cloud.queue.runner import QueueRunner
from shared import wire
from shared.enums import AgentState, ErrorCode, PrinterStatus
from tests.agent.runtime.cloud import now
from tests.cloud.conftest import OrgClient, SessionRunner


async def add_printer(owner: OrgClient, agent_id: str, name: str) -> tuple[str, str]:
    """A serial printer of the agent, with white PETG loaded (the sample file's jobs ask
    for PETG); its id and its spool's."""
    r = await owner.post(
        "/v1/printers",
        json={
            "name": name,
            "connection_url": f"serial:///dev/{name}?profile=prusa",
            "agent_id": agent_id,
        },
    )
    assert r.status_code == 201, r.text
    printer_id = r.json()["id"]
    r = await owner.post(
        "/v1/materials",
        json={
            "type": "PETG",
            "color": "White",
            "spool_weight": 1000,
            "remaining_weight": 1000,
            "printer_id": printer_id,
        },
    )
    assert r.status_code == 201, r.text
    return printer_id, r.json()["id"]


@dataclass
class Farm:
    owner: OrgClient
    in_db: SessionRunner
    agent_id: str
    printer_id: str
    applier: Applier
    queue: QueueRunner
    spool_id: str = ""
    seq: int = 0
    session: int = 0
    changes: list[str] = field(default_factory=list)

    @classmethod
    async def create(cls, owner: OrgClient, in_db: SessionRunner, *, online: bool = True) -> Farm:
        r = await owner.post("/v1/agents", json={"name": "pi-1"})
        assert r.status_code == 201, r.text
        agent_id = r.json()["agent"]["id"]
        printer_id, spool_id = await add_printer(owner, agent_id, "mk4-1")
        ctx = owner.api.app.state["ctx"]
        changes: list[str] = []
        farm = cls(
            owner,
            in_db,
            agent_id,
            printer_id,
            Applier(ctx, on_change=changes.append),
            QueueRunner(ctx),
            spool_id=spool_id,
            changes=changes,
        )
        if online:
            await farm.connect()
        return farm

    # --- what the agent says -------------------------------------------------------------

    async def connect(self, status: PrinterStatus = PrinterStatus.IDLE) -> None:
        """A new connection of the agent: its birth, then its printer's retained state."""
        self.session += 1
        await self.agent_state(AgentState.ONLINE)
        await self.state(status)

    async def agent_state(self, state: AgentState, *, session: int | None = None) -> None:
        status = wire.AgentStatus(
            state=state,
            session=self.session if session is None else session,
            agent_version="test",
            ts=now(),
        )
        await self.applier.apply_status(StatusIn(self._org, self.agent_id, status))

    async def state(self, status: PrinterStatus, **fields: Any) -> None:
        """Apply one snapshot (`state_in`'s fields)."""
        await self.applier.apply_states([self.state_in(status, **fields)])

    def state_in(
        self,
        status: PrinterStatus,
        *,
        printer: str | None = None,
        job_id: str | None = None,
        progress: float = 0.0,
        elapsed_s: float = 0.0,
        message: str | None = None,
        connected: bool = True,
        ts: datetime | None = None,
        materials: Sequence[wire.LoadedMaterial] = (),
    ) -> StateIn:
        """A snapshot as the bridge hands it to the applier (stamped now unless `ts`)."""
        job = None
        if job_id is not None:
            job = wire.JobState(job_id=job_id, progress=progress, elapsed_s=elapsed_s)
        snapshot = wire.PrinterState(
            printer_id=printer or self.printer_id,
            status=status,
            connected=connected,
            ts=ts or now(),
            job=job,
            message=message,
            materials=list(materials),
        )
        return StateIn(self._org, self.agent_id, snapshot)

    async def telemetry(self, job_id: str, progress: float, elapsed_s: float) -> None:
        sample = wire.Telemetry(
            printer_id=self.printer_id,
            ts=now(),
            temperatures=wire.Temperatures(hotend=215.04, bed=60.0),
            job=wire.JobState(job_id=job_id, progress=progress, elapsed_s=elapsed_s),
        )
        await self.applier.apply_telemetry([TelemetryIn(self._org, self.agent_id, sample)])

    async def event(self, cls: Any, *, printer: str | None = None, **fields: Any) -> bool:
        self.seq += 1
        event = cls(
            event_id=uuid.uuid4().hex,
            seq=self.seq,
            ts=now(),
            printer_id=printer or self.printer_id,
            **fields,
        )
        return await self.applier.apply_event(EventIn(self._org, self.agent_id, event))

    async def reply(
        self,
        command_id: str,
        *,
        ok: bool = True,
        error: ErrorCode | None = None,
        message: str | None = None,
    ) -> str | None:
        reply = wire.CommandReply(
            command_id=command_id,
            ok=ok,
            ts=now(),
            printer_id=self.printer_id,
            error=error,
            message=message,
        )
        return await self.applier.apply_reply(ReplyIn(self._org, self.agent_id, reply))

    # --- a copy's life --------------------------------------------------------------------

    async def claim(self) -> list[str]:
        """One pass of the queue; the ids of the jobs it put on a printer."""
        return [a.job_id for a in await self.queue.run_once()]

    async def start(self, job_id: str) -> None:
        """The queue puts the job's next copy on the printer and the agent starts it."""
        assert job_id in await self.claim()
        await self.event(wire.JobStartedEvent, job_id=job_id)
        await self.state(PrinterStatus.PRINTING, job_id=job_id)

    async def complete(self, job_id: str, duration_s: float = 10.0) -> None:
        await self.event(wire.JobCompletedEvent, job_id=job_id, duration_s=duration_s)
        await self.state(PrinterStatus.IDLE)

    # --- what the cloud recorded -----------------------------------------------------------

    async def events(self, *, since: int = 0) -> list[tuple[str, str | None]]:
        """The event log, oldest first: (type, resource id)."""
        return [(e.type, e.resource_id) for e in (await self.logged())[since:]]

    async def logged(self) -> list[Event]:
        async def run(session: Any) -> list[Event]:
            stmt = select(Event).order_by(col(Event.created_at), col(Event.id))
            return list((await session.execute(stmt)).scalars())

        return list(await self.in_db(run))

    async def commands(self) -> list[PrinterCommand]:
        async def run(session: Any) -> list[PrinterCommand]:
            stmt = select(PrinterCommand).order_by(col(PrinterCommand.created_at))
            return list((await session.execute(stmt)).scalars())

        return list(await self.in_db(run))

    async def job(self, job_id: str) -> dict[str, Any]:
        r = await self.owner.get(f"/v1/jobs/{job_id}")
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def printer(self) -> dict[str, Any]:
        r = await self.owner.get(f"/v1/printers/{self.printer_id}")
        assert r.status_code == 200, r.text
        return dict(r.json())

    @property
    def _org(self) -> str:
        return self.owner.org.org_id
