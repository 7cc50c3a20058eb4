"""What `SerialDriver` needs around commands sent outside a file: waiting for their `ok`
with the printer's replies, and turning temperature reports into `Temperatures`."""

from __future__ import annotations

import asyncio

from agent.drivers.base import PrinterOfflineError, Temperatures
from agent.serial.link import SerialLink


class CommandReplies:
    """Commands awaiting their last `ok`, each batch with the text the printer said meanwhile.

    The protocol numbers every command with a ticket and reports `Ok(ticket, text)`; a batch
    is done when the ok of its last command arrives (oks come in order).
    """

    def __init__(self) -> None:
        self._pending: dict[int, asyncio.Future[None]] = {}
        self._replies: list[list[str]] = []

    async def run(self, link: SerialLink, commands: list[str], timeout_s: float) -> list[str]:
        """Send `commands`, wait for the last one's ok; the replies seen meanwhile."""
        if not commands:
            return []
        tickets = [link.protocol.send(command) for command in commands]
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        replies: list[str] = []
        self._pending[tickets[-1]] = future
        self._replies.append(replies)
        link.flush()
        try:
            async with asyncio.timeout(timeout_s):
                await future
        finally:
            self._pending.pop(tickets[-1], None)
            self._replies.remove(replies)
        return replies

    def text(self, text: str) -> None:
        """A line from the printer: every batch still waiting gets it."""
        for replies in self._replies:
            replies.append(text)

    def ok(self, ticket: int, text: str) -> None:
        if text:
            self.text(text)
        future = self._pending.pop(ticket, None)
        if future is not None and not future.done():
            future.set_result(None)

    def fail_all(self, reason: str) -> None:
        """The link closed: every waiter gets `PrinterOfflineError(reason)`."""
        for future in self._pending.values():
            if not future.done():
                future.set_exception(PrinterOfflineError(reason))
        self._pending.clear()


def temperatures(readings: dict[str, tuple[float, float | None]]) -> Temperatures:
    """A `Temperature` event's readings ("T", "T0", "T1", "B", "C" …) as `Temperatures`."""
    hotend = readings.get("T") or readings.get("T0")
    bed = readings.get("B")
    chamber = readings.get("C")
    extra = {k: v for k, v in readings.items() if k[0] == "T" and k not in ("T", "T0")}
    return Temperatures(
        hotend_c=hotend[0] if hotend else None,
        hotend_target_c=hotend[1] if hotend else None,
        bed_c=bed[0] if bed else None,
        bed_target_c=bed[1] if bed else None,
        chamber_c=chamber[0] if chamber else None,
        chamber_target_c=chamber[1] if chamber else None,
        extra_tools={k: (v[0], v[1]) for k, v in extra.items()},
    )
