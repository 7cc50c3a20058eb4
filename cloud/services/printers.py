"""Printer rules: connection validation, quotas, busy checks, recording actions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, func

from cloud.api.listing import PageRequest
from cloud.db.models import Printer, PrinterCommand
from cloud.db.rows import json_list, utc
from cloud.db.types import utcnow
from cloud.ids import IdPrefix, new_id
from cloud.problems import Problem, invalid, not_found
from cloud.repositories.base import OrgRepository
from cloud.schemas.printers import (
    PrinterActionIn,
    PrinterActionOut,
    PrinterCreate,
    PrinterOut,
    PrinterPatch,
    Temperatures,
)
from cloud.services import quotas
from cloud.services.connections import display_url, origin, parse_connection
from cloud.services.context import ServiceContext
from cloud.services.printer_secrets import printer_secret_purpose
from shared.enums import ErrorCode, PrinterAction, PrinterStatus

# A command the agent has not answered within this time is expired by the delivery loop.
COMMAND_TTL = timedelta(minutes=5)
_ACTIVE = (PrinterStatus.PRINTING.value, PrinterStatus.PAUSED.value)
SORTABLE = ("name", "status", "group", "created_at", "updated_at")


# What a response needs, in the order `_printer_from_values` unpacks.
_OUT_COLUMNS = (
    "id",
    "name",
    "status",
    "model",
    "firmware",
    "hotend_c",
    "bed_c",
    "current_job_id",
    "progress",
    "group",
    "tags",
    "agent_id",
    "connection_kind",
    "connection_url",
    "connection_secret_sealed",
    "created_at",
    "updated_at",
)


def printer_out(printer: Printer) -> PrinterOut:
    return _printer_from_values(tuple(getattr(printer, name) for name in _OUT_COLUMNS))


def _printer_from_values(values: Sequence[Any]) -> PrinterOut:
    """From `_OUT_COLUMNS` values, raw (a list row) or processed (an ORM object).

    Plain values (no enum lookups, no URL parsing unless the URL carries credentials): this
    runs 100 times per list page. msgspec encodes a str where PrinterStatus is typed.
    """
    (id_, name, status, model, firmware, hotend, bed, job, progress, group, tags, agent_id,
     kind, url, sealed_secret, created_at, updated_at) = values  # fmt: skip
    return PrinterOut(
        id=id_,
        name=name,
        status=status,
        model=model,
        firmware=firmware,
        temperatures=Temperatures(hotend=hotend, bed=bed),
        current_job=job,
        progress=progress,
        group=group,
        tags=json_list(tags),
        agent_id=agent_id,
        connection_type=kind,
        connection_url=display_url(url) if "@" in url else url,
        has_api_key=sealed_secret is not None,
        created_at=utc(created_at),
        updated_at=utc(updated_at),
    )


class PrinterService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        t = Printer.__table__.c  # type: ignore[attr-defined]
        self.repo = OrgRepository(
            Printer, ctx.session, ctx.org_id, {k: t[k] for k in SORTABLE}, reader=ctx.reader
        )

    async def get_row(self, printer_id: str, *, param: str = "id") -> Printer:
        printer = await self.repo.get(printer_id)
        if printer is None:
            raise not_found("printer", printer_id, param=param)
        return printer

    async def get(self, printer_id: str) -> PrinterOut:
        return printer_out(await self.get_row(printer_id))

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
        rows, total = await self.repo.page(filters, req, raw=_OUT_COLUMNS, equal=equal)
        return [_printer_from_values(r) for r in rows], total

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
            if conn.kind == "octoprint"
            else None,
            group=data.group,
            tags=_dedupe(data.tags),
        )
        self.repo.add(printer)
        await self.ctx.commit()
        return printer_out(printer)

    async def patch(self, printer_id: str, data: PrinterPatch) -> PrinterOut:
        printer = await self.get_row(printer_id)
        changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
        new_key = changes.pop("api_key", msgspec.UNSET)
        if "connection_url" in changes:
            conn = parse_connection(changes.pop("connection_url"))
            if conn.kind == "serial":
                printer.connection_secret_sealed = None
            elif new_key is msgspec.UNSET and origin(conn.url) != origin(printer.connection_url):
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
                self._seal(printer.id, new_key) if printer.connection_kind == "octoprint" else None
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
        await self.ctx.commit()
        return printer_out(printer)

    def _seal(self, printer_id: str, secret: str | None) -> str | None:
        if secret is None:
            return None
        return self.ctx.box.seal(secret, printer_secret_purpose(printer_id))

    async def delete(self, printer_id: str) -> None:
        printer = await self.get_row(printer_id)
        if printer.status in _ACTIVE or printer.current_job_id is not None:
            raise Problem(
                ErrorCode.PRINTER_BUSY,
                f"Printer '{printer_id}' is {printer.status}; cancel its job before deleting it.",
            )
        await self.repo.delete(printer)
        await self.ctx.commit()

    async def act(self, printer_id: str, data: PrinterActionIn) -> PrinterActionOut:
        printer = await self.get_row(printer_id)
        _check_action(printer, data.action)
        now = utcnow()
        command = PrinterCommand(
            id=new_id(IdPrefix.COMMAND),
            org_id=self.ctx.org_id,
            printer_id=printer.id,
            agent_id=printer.agent_id,
            action=data.action.value,
            status="pending",
            created_at=now,
            updated_at=now,
            expires_at=now + COMMAND_TTL,
        )
        self.ctx.session.add(command)
        await self.ctx.commit()
        return PrinterActionOut(
            id=command.id,
            printer_id=printer.id,
            action=data.action,
            status=command.status,
            created_at=command.created_at,
            expires_at=command.expires_at,
        )


def _check_credentials(kind: str, has_secret: bool, agent_id: str | None) -> None:
    if kind == "octoprint" and not has_secret:
        raise invalid("An OctoPrint printer needs its 'api_key'.", param="api_key")
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
