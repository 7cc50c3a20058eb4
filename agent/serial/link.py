"""The thin async shell: a `SerialPort` and a `HostProtocol` joined on the event loop.

Bytes are handled inside the reader callback (receive, dispatch events, send what the window
allows) with no task switch per line, which keeps the host's CPU per line low. One ticker
task per link drives the protocol's timeouts and notices a port whose device node vanished.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from types import TracebackType

from agent.serial.events import NEED_DATA, Event, RemoteProtocolError
from agent.serial.protocol import HostProtocol
from agent.serial.transport import SerialPort

log = logging.getLogger(__name__)

_TICK_S = 0.1
_MIN_SLEEP_S = 0.005
# Checking the device node is a stat() call; once in a while is enough to meet "offline
# within 2 s" even for a driver that never reports EIO.
_PATH_CHECK_S = 0.5


class SerialLink:
    """``async with SerialLink(port, protocol, on_event) as link:`` — closes the port on exit.

    `on_event` runs synchronously for every protocol event; it may queue more commands,
    which `flush()` then sends. `closed` is set, with `close_reason`, when the link ends.
    """

    def __init__(
        self,
        port: SerialPort,
        protocol: HostProtocol,
        on_event: Callable[[Event], None],
        *,
        before_send: Callable[[], None] | None = None,
        on_tick: Callable[[float], None] | None = None,
        on_close: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.port = port
        self.protocol = protocol
        self._on_event = on_event
        self._before_send = before_send
        self._on_tick = on_tick
        self._on_close = on_close
        self._clock = clock
        self.closed = asyncio.Event()
        self.close_reason = ""
        self._ticker: asyncio.Task[None] | None = None

    async def __aenter__(self) -> SerialLink:
        self.port.start(self._on_data, self._on_lost)
        self._ticker = asyncio.create_task(self._tick(), name=f"serial-tick {self.port.path}")
        self.flush()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close("the host closed the connection")
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None

    def replace_protocol(self, protocol: HostProtocol) -> None:
        """Swap in the detected firmware's protocol (its hello resets the numbering)."""
        self.protocol = protocol
        self.flush()

    def flush(self) -> None:
        if self.closed.is_set():
            return
        if self._before_send is not None:
            self._before_send()
        data = self.protocol.data_to_send(self._clock())
        if data:
            self.port.write(data)

    def close(self, reason: str) -> None:
        if self.closed.is_set():
            return
        self.close_reason = reason
        self.closed.set()
        self.port.close()
        if self._on_close is not None:
            self._on_close(reason)

    def _on_data(self, data: bytes) -> None:
        self.protocol.receive_data(data, self._clock())
        self._dispatch()
        self.flush()

    def _dispatch(self) -> None:
        protocol = self.protocol
        on_event = self._on_event
        try:
            while (event := protocol.next_event()) is not NEED_DATA:
                on_event(event)
        except RemoteProtocolError as exc:
            self.close(str(exc))

    def _on_lost(self, reason: str) -> None:
        self.close(reason)

    async def _tick(self) -> None:
        next_path_check_s = 0.0
        while not self.closed.is_set():
            # Wake at the protocol's deadline when it is nearer than the regular tick.
            deadline_s = self.protocol.next_deadline_s()
            sleep_s = _TICK_S
            if deadline_s is not None:
                sleep_s = min(_TICK_S, max(_MIN_SLEEP_S, deadline_s - self._clock()))
            await asyncio.sleep(sleep_s)
            now_s = self._clock()
            if now_s >= next_path_check_s:
                next_path_check_s = now_s + _PATH_CHECK_S
                if not self.port.path_exists():
                    self.close(f"{self.port.path}: port vanished (USB unplugged?)")
                    return
            deadline_s = self.protocol.next_deadline_s()
            if deadline_s is not None and now_s >= deadline_s:
                self.protocol.on_timeout(now_s)
                self._dispatch()
            if self._on_tick is not None:
                self._on_tick(now_s)
            self.flush()
