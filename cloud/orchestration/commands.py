"""Waiting, bounded, for an agent's answer to a printer action.

The reply may be consumed by another replica (shared subscriptions), so the answer is read
from the database, where every replica records it, not from this process's memory.
"""

from __future__ import annotations

import asyncio

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


async def wait_for_command(app: CloudContext, command_id: str, timeout_s: float) -> str:
    """The command's status once settled, or its current status when the time is up."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        async with app.sessions() as session:
            command = await session.get(PrinterCommand, command_id)
            status = CommandStatus(command.status) if command is not None else CommandStatus.EXPIRED
            error = command.error_code if command is not None else None
        if status.settled or loop.time() >= deadline:
            break
        await asyncio.sleep(POLL_INTERVAL_S)  # polling the row with a deadline
    if status is CommandStatus.FAILED:
        code = _agent_error(error)
        if code in (ErrorCode.UNKNOWN_PRINTER, ErrorCode.COMMAND_EXPIRED):
            code = ErrorCode.PRINTER_OFFLINE
        message = f"The printer's agent refused the action ({error})."
        if code is ErrorCode.INTERNAL_ERROR:  # a failure of the agent's, not the request's
            raise AgentFailure(code, message)
        raise Problem(code, message)
    if status is CommandStatus.EXPIRED:
        raise Problem(
            ErrorCode.PRINTER_OFFLINE,
            "The printer's agent did not answer before the action expired.",
        )
    return status.value
