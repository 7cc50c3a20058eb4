"""What the cloud sends agents: each agent's desired config, and commands until answered.

Neither rests on the broker's session queue (a broker may lose it: the embedded broker keeps
sessions in memory, a full queue drops messages): configs are retained and re-published
after every reconnect, and a command is re-sent every `RESEND_AFTER` until the agent
replies or it expires. The agent
executes each command id at most once, so re-sending is safe.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cloud.context import CloudContext
from cloud.db.models import Agent, Job, Printer, PrinterCommand, StoredFileRow
from cloud.db.types import utcnow
from cloud.files.urls import signed_file_url
from cloud.lifecycle.machine import Trigger
from cloud.lifecycle.occupancy import active_run_on
from cloud.lifecycle.states import CommandAction, CommandStatus, RunStatus
from cloud.lifecycle.store import CopyReport, JobLife, command_to
from cloud.orchestration.db import writing
from cloud.orchestration.tables import AgentLink, PrintRun, ensure_agent_link
from cloud.sealing import SecretBox
from cloud.services.connections import (
    bambu_address,
    http_url,
    moonraker_http_url,
    prusalink_credentials,
)
from cloud.services.printer_secrets import printer_secret_purpose
from shared import wire
from shared.enums import AgentState, JobStatus

log = logging.getLogger(__name__)

Publish = Callable[[str, bytes, bool], Awaitable[None]]

RESEND_AFTER = timedelta(seconds=5)
# Commands about the printer's job: they carry its id, so a late one never acts on another.
_JOB_COMMANDS: dict[str, type[wire.PauseJob | wire.ResumeJob | wire.CancelJob]] = {
    CommandAction.PAUSE.value: wire.PauseJob,
    CommandAction.RESUME.value: wire.ResumeJob,
    CommandAction.CANCEL.value: wire.CancelJob,
}
_PRINTER_COMMANDS: dict[str, type[wire.HomeAxes | wire.Cooldown]] = {
    CommandAction.HOME.value: wire.HomeAxes,
    CommandAction.COOLDOWN.value: wire.Cooldown,
}


def connection_for(printer: Printer, box: SecretBox) -> wire.Connection:
    sealed = printer.connection_secret_sealed
    secret = box.open(sealed, printer_secret_purpose(printer.id)) if sealed else None
    if printer.connection_kind == "octoprint":
        return wire.OctoPrintConnection(url=printer.connection_url, api_key=secret or "")
    if printer.connection_kind == "prusalink":
        user, password, key = prusalink_credentials(secret or "")
        return wire.PrusaLinkConnection(
            url=http_url(printer.connection_url), username=user, password=password, api_key=key
        )
    if printer.connection_kind == "moonraker":
        url = moonraker_http_url(printer.connection_url)
        return wire.MoonrakerConnection(url=url, api_key=secret)
    if printer.connection_kind == "bambu":
        at = bambu_address(printer.connection_url)
        return wire.BambuConnection(
            host=at.host,
            serial=at.serial,
            access_code=secret or "",
            mqtt_port=at.mqtt_port,
            ftps_port=at.ftps_port,
            fingerprint=at.fingerprint,
        )
    parts = urlsplit(printer.connection_url)
    params = parse_qs(parts.query)
    baud = params.get("baud", [None])[-1]
    return wire.SerialConnection(
        port=parts.path,
        baud=int(baud) if baud else None,
        profile=params.get("profile", ["auto"])[-1],
    )


class Dispatcher:
    def __init__(self, app: CloudContext, publish: Publish) -> None:
        self._app = app
        self._publish = publish
        self._life = JobLife(app)
        # Configs this process has published since it connected (retained: once is enough).
        self._published: dict[str, str] = {}

    def forget_published(self) -> None:
        """After a reconnect: publish every config again (the broker may have lost them)."""
        self._published.clear()

    async def publish_configs(self) -> int:
        """Publish each agent's config if it changed, or if not yet published since connect.

        The revision is bumped in a transaction; the messages go out after the commit, so
        the database is never held while waiting on the broker.
        """
        outgoing: list[tuple[str, wire.DesiredConfig, str]] = []
        async with writing(self._app) as session:
            agents = (
                (await session.execute(select(Agent).where(col(Agent.revoked_at).is_(None))))
                .scalars()
                .all()
            )
            for agent in agents:
                prepared = await self._prepare_config(session, agent)
                if prepared is not None:
                    outgoing.append(prepared)
            await session.commit()
        for org_id, config, digest in outgoing:
            await self._publish(
                wire.config_topic(org_id, config.agent_id), wire.encode(config), True
            )
            self._published[config.agent_id] = digest
            log.info(
                "published config r%d for agent %s (%d printers)",
                config.revision,
                config.agent_id,
                len(config.printers),
            )
        return len(outgoing)

    async def _prepare_config(
        self, session: AsyncSession, agent: Agent
    ) -> tuple[str, wire.DesiredConfig, str] | None:
        printers = (
            (
                await session.execute(
                    select(Printer)
                    .where(col(Printer.agent_id) == agent.id, col(Printer.org_id) == agent.org_id)
                    .order_by(col(Printer.id))
                )
            )
            .scalars()
            .all()
        )
        box = self._app.secrets
        entries = [
            wire.PrinterConfig(
                printer_id=p.id, name=p.name, model=p.model, connection=connection_for(p, box)
            )
            for p in printers
        ]
        # Keyed: the digest is stored, and an unkeyed hash of a config that holds printer
        # keys would let whoever reads the database test guesses of those keys.
        digest = hmac.new(
            self._app.signing_key,
            wire.encode(wire.DesiredConfig(agent_id=agent.id, revision=0, printers=entries)),
            hashlib.sha256,
        ).hexdigest()
        link = await ensure_agent_link(session, agent.id, agent.org_id)
        if link.config_hash != digest:
            link.config_revision += 1
            link.config_hash = digest
            link.updated_at = utcnow()
        if self._published.get(agent.id) == digest:
            return None
        config = wire.DesiredConfig(
            agent_id=agent.id, revision=link.config_revision, printers=entries, event_acks=True
        )
        return agent.org_id, config, digest

    async def publish_commands(self) -> int:
        """Send what is due: new commands, and unanswered ones every RESEND_AFTER."""
        now = utcnow()
        outgoing: list[tuple[str, wire.Command]] = []
        async with writing(self._app) as session:
            stmt = (
                select(PrinterCommand, AgentLink)
                .join(AgentLink, col(AgentLink.agent_id) == col(PrinterCommand.agent_id))
                .where(col(PrinterCommand.status).in_(_UNSETTLED))
                .order_by(col(PrinterCommand.created_at))
                .limit(500)
            )
            rows = (await session.execute(stmt)).all()
            for command, link in rows:
                if link.state != AgentState.ONLINE.value:
                    # Never expire behind an absent agent's back: it may have run the command
                    # and be holding the reply in its outbox. It gets the command again when
                    # it is back, and answers with its first reply (or `command_expired`).
                    continue
                sent = command.status == CommandStatus.SENT.value
                if sent and now - command.updated_at < RESEND_AFTER:
                    continue
                sent_this_session = sent and command.updated_at >= link.updated_at
                if command.expires_at <= now and sent_this_session:
                    await self._expire(session, command)
                    continue
                message = await self._message(session, command)
                if message is None:
                    continue
                # Marked sent before it goes out: if the publish fails, the resend timer
                # sends it again, which the agent's command-id dedup makes harmless.
                command_to(command, CommandStatus.SENT)
                outgoing.append((wire.commands_topic(command.org_id, link.agent_id), message))
            await session.commit()
        for topic, message in outgoing:
            await self._publish(topic, wire.encode(message), False)
        return len(outgoing)

    async def _message(self, session: AsyncSession, command: PrinterCommand) -> wire.Command | None:
        cid, pid = command.id, command.printer_id
        issued, expires = command.created_at, command.expires_at
        if command.action in _JOB_COMMANDS:
            if command.job_id is not None and not await _runs_there(session, command):
                # Its copy is no longer on the printer (a start refused or expired before a
                # cancel went out): a cancel has nothing left to stop, a pause or resume
                # nothing to act on. Never sent, so never refused for the wrong reason.
                done = command.action == CommandAction.CANCEL.value
                command_to(command, CommandStatus.OK if done else CommandStatus.EXPIRED)
                return None
            return _JOB_COMMANDS[command.action](
                command_id=cid,
                printer_id=pid,
                issued_at=issued,
                expires_at=expires,
                job_id=command.job_id,
            )
        if command.action in _PRINTER_COMMANDS:
            return _PRINTER_COMMANDS[command.action](
                command_id=cid, printer_id=pid, issued_at=issued, expires_at=expires
            )
        if command.action == CommandAction.GCODE.value and command.gcode:
            return wire.RawGcode(
                command_id=cid,
                printer_id=pid,
                issued_at=issued,
                expires_at=expires,
                lines=list(command.gcode),
            )
        if command.action != CommandAction.START_JOB.value:
            log.error("command %s has unknown action %r; expiring it", command.id, command.action)
            command_to(command, CommandStatus.EXPIRED)
            return None
        run = await _run_of(session, command.id)
        job = await session.get(Job, run.job_id) if run is not None else None
        stored = await session.get(StoredFileRow, job.file_id) if job is not None else None
        if run is None or job is None or stored is None or not RunStatus(run.status).active:
            command_to(command, CommandStatus.EXPIRED)
            return None
        if JobStatus(job.status).is_final:
            if command.status == CommandStatus.SENT.value:
                # Cancelled after its start went out: never sent again. The agent may be
                # fetching the file; its reply, its job.started and the cancel that follows
                # it, or the start's expiry, end the run.
                return None
            # Cancelled before its start went out: never sent, and the copy is over.
            command_to(command, CommandStatus.EXPIRED)
            await self._life.apply(
                session, job, Trigger.START_EXPIRED, run=run, report=_why(f"job {job.status}")
            )
            return None
        return wire.StartJob(
            command_id=cid,
            printer_id=pid,
            issued_at=issued,
            expires_at=expires,
            job_id=job.id,
            file_url=signed_file_url(self._app, stored.id),
            sha256=stored.sha256,
            size_bytes=stored.size_bytes,
            file_name=stored.filename,
        )

    async def _expire(self, session: AsyncSession, command: PrinterCommand) -> None:
        command_to(command, CommandStatus.EXPIRED)
        if command.action != CommandAction.START_JOB.value:
            return
        run = await _run_of(session, command.id)
        if run is None or run.status != RunStatus.ASSIGNED.value:
            return
        job = await session.get(Job, run.job_id)
        if job is not None:
            reason = "the agent did not acknowledge the start in time"
            await self._life.apply(
                session, job, Trigger.START_EXPIRED, run=run, report=_why(reason)
            )


_UNSETTLED = (CommandStatus.PENDING.value, CommandStatus.SENT.value)


async def _runs_there(session: AsyncSession, command: PrinterCommand) -> bool:
    """A copy of the command's job is active on the command's printer."""
    assert command.job_id is not None
    return await active_run_on(session, command.job_id, command.printer_id) is not None


async def _run_of(session: AsyncSession, command_id: str) -> PrintRun | None:
    stmt = select(PrintRun).where(col(PrintRun.command_id) == command_id)
    return (await session.execute(stmt)).scalar_one_or_none()


def _why(reason: str) -> CopyReport:
    return CopyReport(at=utcnow(), reason=reason)
