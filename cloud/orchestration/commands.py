"""Waiting, bounded, for an agent's answer to a printer action or to console G-code.

The reply may be consumed by another replica (shared subscriptions), so the answer is read
from the database, where every replica records it, not from this process's memory.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from cloud.context import CloudContext
from cloud.db.models import PrinterCommand
from cloud.lifecycle.states import CommandStatus
from cloud.problems import AgentFailure, Problem
from shared.enums import ErrorCode

POLL_INTERVAL_S = 0.05


def _agent_error(error: str | None) -> ErrorCode:
    try:
        return ErrorCode(error) if error else ErrorCode.INTERNAL_ERROR
    except ValueError:
        return ErrorCode.INTERNAL_ERROR


@dataclass(frozen=True, slots=True)
class _Settled:
    status: CommandStatus
    error: str | None
    reply: str | None


async def _poll(app: CloudContext, command_id: str, timeout_s: float) -> _Settled:
    """The command once settled, or as it is when the time is up."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        async with app.sessions() as session:
            command = await session.get(PrinterCommand, command_id)
            if command is None:
                return _Settled(CommandStatus.EXPIRED, None, None)
            settled = _Settled(CommandStatus(command.status), command.error_code, command.reply)
        if settled.status.settled or loop.time() >= deadline:
            return settled
        await asyncio.sleep(POLL_INTERVAL_S)  # polling the row with a deadline


def _raise_unless_done(settled: _Settled, what: str, detail: str | None = None) -> None:
    if settled.status is CommandStatus.FAILED:
        error = settled.error
        code = _agent_error(error)
        if code in (ErrorCode.UNKNOWN_PRINTER, ErrorCode.COMMAND_EXPIRED):
            code = ErrorCode.PRINTER_OFFLINE
        message = f"The printer's agent refused the {what} ({error})."
        if detail:
            message = f"{message[:-1]}: {detail}"
        if code is ErrorCode.INTERNAL_ERROR:  # a failure of the agent's, not the request's
            raise AgentFailure(code, message)
        raise Problem(code, message)
    if settled.status is CommandStatus.EXPIRED:
        raise Problem(
            ErrorCode.PRINTER_OFFLINE,
            f"The printer's agent did not answer before the {what} expired.",
        )


async def wait_for_command(app: CloudContext, command_id: str, timeout_s: float) -> str:
    """The command's status once settled, or its current status when the time is up."""
    settled = await _poll(app, command_id, timeout_s)
    _raise_unless_done(settled, "action")
    return settled.status.value


async def wait_for_gcode(
    app: CloudContext, command_id: str, timeout_s: float
) -> tuple[str, list[str]]:
    """A `gcode` command's status and the printer's reply lines once settled; its current
    status and no lines when the time is up. A refusal raises, with what the agent said."""
    settled = await _poll(app, command_id, timeout_s)
    _raise_unless_done(settled, "G-code", settled.reply)
    replies = settled.reply.split("\n") if settled.reply else []
    return settled.status.value, replies
