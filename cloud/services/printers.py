"""Printer rules: connection validation, quotas, busy checks, and the printer actions.

A printer's pause, resume and cancel act on the printer's job (`_job_on`): the job of its
active run, or, between two copies, the job it printed last while that one has copies to
go. They go through the lifecycle (cloud/lifecycle) like the job's own actions; home and
cooldown are commands for the printer alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, func

from cloud.api.listing import PageRequest
from cloud.db.core import table_of
from cloud.db.models import Job, Printer, PrinterCommand
from cloud.db.types import utcnow
from cloud.ids import IdPrefix, new_id
from cloud.lifecycle import printers
from cloud.lifecycle.machine import IllegalTransition, Phase, Trigger
from cloud.lifecycle.occupancy import (
    CURRENT_JOB,
    active_run_of_job,
    active_run_of_printer,
    current_job_of,
    last_run_of,
)
from cloud.lifecycle.states import CommandAction, CommandStatus, RunStatus
from cloud.lifecycle.store import JobLife
from cloud.orchestration.tables import PrintRun
from cloud.problems import Problem, invalid, not_found
from cloud.repositories.base import OrgRepository
from cloud.schemas.printers import (
    GcodeIn,
    GcodeOut,
    PrinterActionIn,
    PrinterActionOut,
    PrinterCreate,
    PrinterOut,
    PrinterPatch,
)
from cloud.services import quotas
from cloud.services.connections import KINDS_WITH_SECRET, origin, parse_connection
from cloud.services.context import ServiceContext
from cloud.services.printer_secrets import printer_secret_purpose
from cloud.views.printers import PRINTER_COLUMNS, printer_from_values, printer_out
from shared.enums import ErrorCode, JobStatus, PrinterAction, PrinterStatus

SORTABLE = ("name", "status", "group", "created_at", "updated_at")
_PRINTING = (PrinterStatus.PRINTING.value, PrinterStatus.PAUSED.value)
# The printer actions that act on the printer's job, and what each is to that job.
_JOB_TRIGGERS = {
    PrinterAction.PAUSE: Trigger.HOLD,
    PrinterAction.RESUME: Trigger.RELEASE,
    PrinterAction.CANCEL: Trigger.CANCEL,
}


class PrinterService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        t = table_of(Printer).c
        self.repo = OrgRepository(
            Printer,
            ctx.session,
            ctx.org_id,
            {k: t[k] for k in SORTABLE},
            reader=ctx.reader,
            derived=(("current_job_id", CURRENT_JOB),),
        )
        self.life = JobLife(ctx.app)

    async def get_row(self, printer_id: str, *, param: str = "id") -> Printer:
        printer = await self.repo.get(printer_id)
        if printer is None:
            raise not_found("printer", printer_id, param=param)
        return printer

    async def get(self, printer_id: str) -> PrinterOut:
        printer = await self.get_row(printer_id)
        return printer_out(printer, await current_job_of(self.ctx.session, printer.id))

    async def list(
        self,
        req: PageRequest,
        *,
        status: PrinterStatus | None,
        group: str | None,
        tag: str | None,
    ) -> tuple[list[PrinterOut], int]:
        equal: dict[str, str] = {}
        if status is not None:
            equal["status"] = status.value
        if group is not None:
            equal["group"] = group
        filters: list[ColumnElement[bool]] = []
        if tag is not None:
            t = self.repo.table.c
            filters.append(_has_tag(t.tags, tag, self.ctx.session.get_bind().dialect.name))
        rows, total = await self.repo.page(filters, req, raw=PRINTER_COLUMNS, equal=equal)
        return [printer_from_values(r) for r in rows], total

    async def create(self, data: PrinterCreate) -> PrinterOut:
        org = await self.ctx.organization()
        plan = quotas.plan_for(org.plan)
        quotas.check(await self.repo.count(), 1, plan.printers, "printers", org.plan)
        conn = parse_connection(data.connection_url)
        _check_credentials(conn.kind, data.api_key is not None, data.agent_id)
        if data.agent_id is not None:
            await self.ctx.live_agent(data.agent_id)
        printer_id = new_id(IdPrefix.PRINTER)
        printer = Printer(
            id=printer_id,
            org_id=self.ctx.org_id,
            agent_id=data.agent_id,
            name=data.name,
            model=data.model,
            connection_kind=conn.kind,
            connection_url=conn.url,
            connection_secret_sealed=self._seal(printer_id, data.api_key)
            if conn.kind in KINDS_WITH_SECRET
            else None,
            group=data.group,
            tags=_dedupe(data.tags),
        )
        self.repo.add(printer)
        await self.ctx.commit()
        return printer_out(printer, None)

    async def patch(self, printer_id: str, data: PrinterPatch) -> PrinterOut:
        # The lock first: its status (whose change is an event) and its job are read as the
        # last writer left them.
        await self.ctx.begin_write()
        printer = await self.get_row(printer_id)
        changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
        new_key = changes.pop("api_key", msgspec.UNSET)
        moves = (
            "connection_url" in changes and changes["connection_url"] != printer.connection_url
        ) or ("agent_id" in changes and changes["agent_id"] != printer.agent_id)
        current = await current_job_of(self.ctx.session, printer.id)
        if moves and current is not None:
            raise Problem(
                ErrorCode.PRINTER_BUSY,
                f"Printer '{printer_id}' is busy with job '{current}'; cancel it before moving "
                "the printer to another agent or connection.",
            )
        if "connection_url" in changes:
            conn = parse_connection(changes.pop("connection_url"))
            if conn.kind == "serial":
                printer.connection_secret_sealed = None
            elif (
                new_key is msgspec.UNSET
                and printer.connection_secret_sealed is not None
                and origin(conn.url) != origin(printer.connection_url)
            ):
                # The key was given for the old address: sending it to a new one would hand
                # it to whoever answers there.
                raise invalid(
                    "The printer's address moves to another host: give its 'api_key' again "
                    "in the same request.",
                    param="api_key",
                )
            printer.connection_kind, printer.connection_url = conn.kind, conn.url
        if new_key is not msgspec.UNSET:
            printer.connection_secret_sealed = (
                self._seal(printer.id, new_key)
                if printer.connection_kind in KINDS_WITH_SECRET
                else None
            )
        if changes.get("agent_id") is not None:
            await self.ctx.live_agent(changes["agent_id"])
        if "tags" in changes:
            changes["tags"] = _dedupe(changes["tags"])
        for key, value in changes.items():
            setattr(printer, key, value)
        _check_credentials(
            printer.connection_kind, printer.connection_secret_sealed is not None, printer.agent_id
        )
        printer.updated_at = utcnow()
        if moves:
            # Offline until its (new) agent reports it: nobody drives it meanwhile.
            await self.ctx.flush()  # the write lock, before the lifecycle writes
            await printers.set_status(
                self.ctx.session,
                printer,
                PrinterStatus.OFFLINE,
                reason="its connection or agent changed",
            )
        await self.ctx.commit()
        return printer_out(printer, current)

    def _seal(self, printer_id: str, secret: str | None) -> str | None:
        if secret is None:
            return None
        return self.ctx.box.seal(secret, printer_secret_purpose(printer_id))

    async def delete(self, printer_id: str) -> None:
        await self.ctx.begin_write()  # no claim slips in between the check and the delete
        printer = await self.get_row(printer_id)
        current = await current_job_of(self.ctx.session, printer.id)
        if current is not None or printer.status in _PRINTING:
            raise Problem(
                ErrorCode.PRINTER_BUSY,
                f"Printer '{printer_id}' is {printer.status}; cancel its job before deleting it.",
            )
        await self.repo.delete(printer)
        await self.ctx.commit()

    async def act(self, printer_id: str, data: PrinterActionIn) -> PrinterActionOut:
        action, session = data.action, self.ctx.session
        if action in _JOB_TRIGGERS:
            await self.ctx.begin_write()  # the job is read as the last writer left it
        printer = await self.get_row(printer_id)
        job, run = await self._job_on(printer) if action in _JOB_TRIGGERS else (None, None)
        if job is None:
            # Home, cooldown, or a printer busy with a job the farm did not start.
            _check_action(printer, action)
            command = self.life.command(
                session,
                org_id=printer.org_id,
                printer_id=printer.id,
                agent_id=printer.agent_id,
                action=CommandAction(action.value),
            )
            await self.ctx.commit()
            return _action_out(printer, action, command, None, CommandStatus.PENDING)
        try:
            applied = await self.life.apply(session, job, _JOB_TRIGGERS[action], run=run)
        except IllegalTransition as exc:
            raise Problem(
                ErrorCode.PRINTER_BUSY,
                f"Cannot {action.value} printer '{printer.id}': {exc.message}",
                param="action",
            ) from exc
        await self.ctx.commit()
        sent = applied.commands[0] if applied.commands else None
        # Asked while a copy is starting: the pause reaches the printer once it has started.
        waiting = (
            sent is None
            and action is PrinterAction.PAUSE
            and applied.step.job.phase is Phase.STARTING
        )
        status = CommandStatus.PENDING if waiting else CommandStatus.OK
        return _action_out(printer, action, sent, job.id, status)

    async def send_gcode(self, printer_id: str, data: GcodeIn) -> GcodeOut:
        """Record console G-code for the printer's agent: refused while the printer prints
        (or is paused, or busy): lines slipped into a print would spoil it."""
        printer = await self.get_row(printer_id)
        status = PrinterStatus(printer.status)
        if status is PrinterStatus.OFFLINE or printer.agent_id is None:
            raise Problem(ErrorCode.PRINTER_OFFLINE, f"Printer '{printer.id}' is not connected.")
        if status in (PrinterStatus.PRINTING, PrinterStatus.PAUSED, PrinterStatus.BUSY):
            raise Problem(
                ErrorCode.PRINTER_BUSY,
                f"Printer '{printer.id}' is {status.value}: G-code is sent only while it is "
                "idle (or in error).",
            )
        current = await current_job_of(self.ctx.session, printer.id)
        if current is not None:  # a copy starting on it: its status says idle still
            raise Problem(
                ErrorCode.PRINTER_BUSY,
                f"Printer '{printer.id}' is busy with job '{current}': G-code is sent only "
                "while it has no job.",
            )
        command = self.life.command(
            self.ctx.session,
            org_id=printer.org_id,
            printer_id=printer.id,
            agent_id=printer.agent_id,
            action=CommandAction.GCODE,
            gcode=list(data.lines),
        )
        await self.ctx.commit()
        return GcodeOut(
            id=command.id,
            printer_id=printer.id,
            lines=list(data.lines),
            status=command.status,
            replies=[],
            created_at=command.created_at,
            expires_at=command.expires_at,
        )

    async def _job_on(self, printer: Printer) -> tuple[Job | None, PrintRun | None]:
        """The printer's job: that of its active run, else, between copies, the job it
        printed last while that job still has copies to print (queued or held)."""
        session = self.ctx.session
        run = await active_run_of_printer(session, printer.id)
        if run is not None:
            return await session.get(Job, run.job_id), run
        last = await last_run_of(session, printer.id)
        if last is None or last.status != RunStatus.COMPLETED.value:
            return None, None  # nothing printed here last that has copies to go
        job = await session.get(Job, last.job_id)
        if job is None or JobStatus(job.status).is_final:
            return None, None
        if await active_run_of_job(session, job.id) is not None:
            return None, None  # its next copy is on another printer now
        return job, None


def _action_out(
    printer: Printer,
    action: PrinterAction,
    command: PrinterCommand | None,
    job_id: str | None,
    status: CommandStatus,
) -> PrinterActionOut:
    return PrinterActionOut(
        id=command.id if command is not None else None,
        printer_id=printer.id,
        job_id=job_id,
        action=action,
        status=command.status if command is not None else status.value,
        created_at=command.created_at if command is not None else utcnow(),
        expires_at=command.expires_at if command is not None else None,
    )


def _check_credentials(kind: str, has_secret: bool, agent_id: str | None) -> None:
    if kind == "octoprint" and not has_secret:
        raise invalid("An OctoPrint printer needs its 'api_key'.", param="api_key")
    if kind == "prusalink" and not has_secret:
        raise invalid(
            "A PrusaLink printer needs its 'api_key': 'username:password' from the printer's "
            "screen, or its API key.",
            param="api_key",
        )
    if kind == "bambu" and not has_secret:
        raise invalid(
            "A Bambu Lab printer needs its 'api_key': the LAN access code from the printer's "
            "screen (Settings → Network / LAN Only).",
            param="api_key",
        )
    if kind == "serial" and agent_id is None:
        raise invalid(
            "A serial printer needs the 'agent_id' of the agent it is plugged into.",
            param="agent_id",
        )


def _check_action(printer: Printer, action: PrinterAction) -> None:
    status = PrinterStatus(printer.status)
    if status is PrinterStatus.OFFLINE or printer.agent_id is None:
        raise Problem(ErrorCode.PRINTER_OFFLINE, f"Printer '{printer.id}' is not connected.")
    allowed: dict[PrinterAction, Sequence[PrinterStatus]] = {
        PrinterAction.PAUSE: (PrinterStatus.PRINTING,),
        PrinterAction.RESUME: (PrinterStatus.PAUSED,),
        PrinterAction.CANCEL: (PrinterStatus.PRINTING, PrinterStatus.PAUSED, PrinterStatus.BUSY),
        PrinterAction.HOME: (PrinterStatus.IDLE, PrinterStatus.ERROR),
        PrinterAction.COOLDOWN: (
            PrinterStatus.IDLE,
            PrinterStatus.ERROR,
            PrinterStatus.PAUSED,
            PrinterStatus.BUSY,
        ),
    }
    if status in allowed[action]:
        return
    if status in (PrinterStatus.PRINTING, PrinterStatus.PAUSED, PrinterStatus.BUSY):
        raise Problem(
            ErrorCode.PRINTER_BUSY,
            f"Cannot {action.value} printer '{printer.id}' while it is {status.value}.",
        )
    raise invalid(
        f"Cannot {action.value} printer '{printer.id}' while it is {status.value}.", param="action"
    )


def _dedupe(tags: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(tags))


def _has_tag(column: Any, tag: str, dialect: str) -> ColumnElement[bool]:
    """JSON-array membership, portable: PostgreSQL's jsonb `?`, SQLite's json_each."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import JSONB

        return column.cast(JSONB).has_key(tag)  # type: ignore[no-any-return]
    from sqlalchemy import exists, select

    each = func.json_each(column).table_valued("value")
    return exists(select(1).select_from(each).where(each.c.value == tag))
