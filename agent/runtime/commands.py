"""Commands from the cloud: decode, deduplicate, refuse what must be refused, dispatch.

QoS 1 is at-least-once and the cloud re-sends a command until it sees the reply, so the
same command id can arrive many times (DESIGN.md). The ledger records each id before the
command runs; a repeat is answered with the stored reply (or ignored while the first
delivery is still running), never executed again. An expired command is refused with
``command_expired`` (MQTT 3.1.1 has no message expiry, and a persistent session can hand
over a command queued long ago, field notes §3.9). A payload that is not a command is
logged and dropped: the loop that reads the commands topic never stops on bad input.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import aiosqlite
import msgspec

from agent.runtime import convert
from agent.runtime.executor import CommandOutcome
from agent.runtime.ledger import Ledger, finish_command_in
from agent.runtime.reporter import Reporter
from agent.runtime.supervisor import PendingCommand, PrinterSupervisor
from shared.enums import ErrorCode
from shared.wire import Command, CommandReply, WireDecodeError, decode_command, encode

log = logging.getLogger(__name__)

_LOOSE = msgspec.json.Decoder(dict[str, object])
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")


def _loose_ids(payload: bytes) -> tuple[str | None, str | None]:
    """command_id and printer_id of a payload that failed strict decoding, if readable."""
    try:
        data = _LOOSE.decode(payload)
    except msgspec.DecodeError:
        return None, None
    cid, pid = data.get("command_id"), data.get("printer_id")
    ok_cid = cid if isinstance(cid, str) and 0 < len(cid) <= 64 else None
    ok_pid = pid if isinstance(pid, str) and _ID.match(pid) else None
    return ok_cid, ok_pid


class CommandDispatcher:
    def __init__(
        self,
        *,
        ledger: Ledger,
        reporter: Reporter,
        supervisor_of: Callable[[str], PrinterSupervisor | None],
        agent_id: str,
    ) -> None:
        self._ledger = ledger
        self._reporter = reporter
        self._supervisor_of = supervisor_of
        self._agent_id = agent_id

    async def handle(self, payload: bytes) -> None:
        try:
            command = decode_command(payload)
        except WireDecodeError as exc:
            await self._malformed(payload, exc)
            return
        cid = command.command_id
        known = await self._ledger.command(cid)
        if known is not None:
            if known.reply is None and self._is_running(known.printer_id, cid):
                log.info("command %s delivered again while still running; ignored", cid)
            elif known.reply is None:
                # Recorded but running nowhere: its printer was removed or its supervisor
                # restarted under it. Answer now, or the cloud would re-send it forever.
                log.warning("command %s was interrupted before it finished", cid)
                await self._send_reply(
                    cid,
                    command.printer_id,
                    ErrorCode.INTERNAL_ERROR,
                    "the command was interrupted before it finished (printer removed or "
                    "restarted); send a new command",
                )
            else:
                log.info("command %s delivered again: answering with the first reply", cid)
                await self._reporter.reply_again(known.reply)
            return
        if not await self._ledger.begin_command(
            cid, command.printer_id, command.expires_at.timestamp()
        ):
            return  # recorded between our look-up and now: the first delivery answers
        if command.expires_at <= convert.utc_now():
            log.warning("command %s expired at %s; refused", cid, command.expires_at.isoformat())
            await self._answer(
                command, ErrorCode.COMMAND_EXPIRED, f"command expired at {command.expires_at}"
            )
            return
        supervisor = self._supervisor_of(command.printer_id)
        if supervisor is None:
            log.warning("command %s is for unknown printer %s", cid, command.printer_id)
            await self._answer(
                command,
                ErrorCode.UNKNOWN_PRINTER,
                f"agent {self._agent_id} drives no printer {command.printer_id!r}",
            )
            return
        if not supervisor.submit(PendingCommand(command, self.finish)):
            await self._answer(
                command, ErrorCode.PRINTER_BUSY, "too many commands waiting for this printer"
            )

    def _is_running(self, printer_id: str, command_id: str) -> bool:
        supervisor = self._supervisor_of(printer_id)
        return supervisor is not None and supervisor.has_command(command_id)

    async def finish(self, command: Command, outcome: CommandOutcome) -> None:
        """Store the reply with the command id and queue it for the cloud, atomically."""
        error = None
        if not outcome.ok:
            error = outcome.error.code if outcome.error is not None else ErrorCode.INTERNAL_ERROR
        await self._send_reply(command.command_id, command.printer_id, error, outcome.message)

    async def _answer(self, command: Command, error: ErrorCode, message: str) -> None:
        await self._send_reply(command.command_id, command.printer_id, error, message)

    async def _send_reply(
        self, command_id: str, printer_id: str | None, error: ErrorCode | None, message: str | None
    ) -> None:
        reply = CommandReply(
            command_id=command_id,
            ok=error is None,
            ts=convert.utc_now(),
            printer_id=printer_id,
            error=error,
            message=message,
        )
        payload = encode(reply)

        async def store(db: aiosqlite.Connection) -> None:
            await finish_command_in(db, command_id, payload)

        await self._reporter.reply(reply, also=store)

    async def _malformed(self, payload: bytes, exc: WireDecodeError) -> None:
        cid, pid = _loose_ids(payload)
        if cid is None:
            log.warning("ignored a malformed command (%d bytes): %s", len(payload), exc.reason)
            return
        # A readable id: answer once, so the cloud stops re-sending what we cannot run
        # (e.g. a command type newer than this agent).
        log.warning("command %s is malformed: %s", cid, exc.reason)
        if await self._ledger.command(cid) is not None:
            return
        if await self._ledger.begin_command(cid, pid or "-", convert.utc_now().timestamp()):
            await self._send_reply(cid, pid, ErrorCode.INVALID_REQUEST, str(exc))

    async def answer_interrupted(self) -> int:
        """After a restart: answer every command that was running when the agent stopped."""
        records = await self._ledger.unfinished_commands()
        for record in records:
            log.warning("command %s was interrupted by the agent restart", record.command_id)
            await self._send_reply(
                record.command_id,
                record.printer_id,
                ErrorCode.INTERNAL_ERROR,
                "the agent restarted while carrying out this command",
            )
        return len(records)
