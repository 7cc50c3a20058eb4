"""The states of a print run and of a printer command (a job's are `shared.enums.JobStatus`,
which the API and the SDKs share)."""

from __future__ import annotations

from enum import StrEnum

from shared.enums import PrinterAction


class RunStatus(StrEnum):
    """One copy of a job on one printer (the `prints` table)."""

    ASSIGNED = "assigned"  # the start is on its way to the agent
    PRINTING = "printing"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    REFUSED = "refused"  # the agent refused the start, or never answered it

    @property
    def active(self) -> bool:
        """An active run holds its printer: at most one per printer (a unique index)."""
        return self in RUN_ACTIVE


RUN_ACTIVE = frozenset({RunStatus.ASSIGNED, RunStatus.PRINTING, RunStatus.PAUSED})


class CommandStatus(StrEnum):
    """A command for an agent (the `printer_commands` table)."""

    PENDING = "pending"  # not yet published
    SENT = "sent"  # published, no reply yet (published again until one comes)
    OK = "ok"
    FAILED = "failed"
    EXPIRED = "expired"

    @property
    def settled(self) -> bool:
        return self in COMMAND_SETTLED


COMMAND_SETTLED = frozenset({CommandStatus.OK, CommandStatus.FAILED, CommandStatus.EXPIRED})

# What a command may become: published (again), answered, or expired unanswered. An `ok`
# straight from pending: the agent's `job.started` proves a start arrived even when its
# reply was lost. A settled command stays as it is (a late second reply changes nothing).
COMMAND_NEXT: dict[CommandStatus, frozenset[CommandStatus]] = {
    CommandStatus.PENDING: frozenset(
        {CommandStatus.SENT, CommandStatus.OK, CommandStatus.FAILED, CommandStatus.EXPIRED}
    ),
    CommandStatus.SENT: frozenset(
        {CommandStatus.SENT, CommandStatus.OK, CommandStatus.FAILED, CommandStatus.EXPIRED}
    ),
}


def command_may_become(current: CommandStatus, new: CommandStatus) -> bool:
    return new in COMMAND_NEXT.get(current, frozenset())


class CommandAction(StrEnum):
    """What a command asks: start a copy, or one of the printer actions of the API."""

    START_JOB = "start_job"
    PAUSE = PrinterAction.PAUSE.value
    RESUME = PrinterAction.RESUME.value
    CANCEL = PrinterAction.CANCEL.value
    HOME = PrinterAction.HOME.value
    COOLDOWN = PrinterAction.COOLDOWN.value
    # Raw G-code lines from the API's console (`POST /v1/printers/{id}/gcode`, admin only).
    GCODE = "gcode"
