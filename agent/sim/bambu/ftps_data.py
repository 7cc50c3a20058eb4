"""Passive FTPS data connections (one TLS listener per PASV/EPSV, one connection each)
and the transfers over them.

Data connections are TLS from their first byte with the control connection's context
(PROT P). A transfer must end with a TLS close_notify: Python's ftplib calls `unwrap()`
after every transfer and reports "unexpected EOF" without one (README fact 10, from
bambu-rs docs/protocol.md §Emulating). asyncio's TLS transport sends close_notify on
`close()` and then waits for the peer's, so `close_stream` is all a transfer needs.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger(__name__)

# Uploads can be 100+ MB: files move in chunks, never whole.
CHUNK_BYTES = 64 * 1024
HANDSHAKE_TIMEOUT_S = 10.0
# How long a closing TLS stream waits for the peer's close_notify before dropping TCP.
CLOSE_TIMEOUT_S = 5.0

Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]
Transfer = Callable[[Stream], Awaitable[None]]


async def close_stream(writer: asyncio.StreamWriter, timeout_s: float = CLOSE_TIMEOUT_S) -> None:
    """Close a stream, TLS close_notify first; never raises, never waits past `timeout_s`."""
    writer.close()
    try:
        async with asyncio.timeout(timeout_s):
            await writer.wait_closed()
    except (TimeoutError, OSError):
        # The peer left without its close_notify or vanished: nothing more to say to it.
        writer.transport.abort()
    except asyncio.CancelledError:
        writer.transport.abort()  # stopping: leave no transport half-closed behind
        raise


class PassiveListener:
    """Listens on `host`, ephemeral port, for one data connection from `peer_host`.

    `accept()` waits for it (the TLS handshake included); `close()` stops listening and
    drops a connection nobody took. Connections from other hosts are refused, so nobody
    else on the network can race the client to its data port.
    """

    def __init__(self, ssl_context: ssl.SSLContext, host: str, peer_host: str) -> None:
        self._ssl = ssl_context
        self._host = host
        self._peer_host = peer_host
        self._server: asyncio.Server | None = None
        self._accepted: asyncio.Future[Stream] = asyncio.get_running_loop().create_future()
        self._taken = False
        # Whether the data connection resumed the control connection's TLS session, as
        # the clients written against real printers make it do.
        self.session_reused = False

    async def open(self) -> int:
        """Start listening; the port the client should connect to."""
        self._server = await asyncio.start_server(
            self._on_connect,
            self._host,
            0,
            ssl=self._ssl,
            ssl_handshake_timeout=HANDSHAKE_TIMEOUT_S,
            ssl_shutdown_timeout=CLOSE_TIMEOUT_S,
        )
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def accept(self, timeout_s: float) -> Stream:
        """The data connection, now the caller's to close; TimeoutError when none arrives
        within `timeout_s`. Listening stops either way."""
        try:
            async with asyncio.timeout(timeout_s):
                stream = await self._accepted
        finally:
            self._stop_listening()
        self._taken = True
        return stream

    async def close(self) -> None:
        """Stop listening and drop a connection that arrived but was never taken."""
        self._stop_listening()
        if not self._accepted.done():
            self._accepted.cancel()
        elif not self._accepted.cancelled() and not self._taken:
            _, writer = self._accepted.result()
            await close_stream(writer)

    def _stop_listening(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        # A cancelled future is done too: a handshake that finishes after a timeout or
        # close() lands here and is dropped.
        if self._accepted.done() or not peer or peer[0] != self._peer_host:
            log.debug("refusing a data connection from %s", peer)
            writer.transport.abort()
            return
        ssl_object = writer.get_extra_info("ssl_object")
        self.session_reused = bool(ssl_object is not None and ssl_object.session_reused)
        self._accepted.set_result((reader, writer))


def send_bytes(payload: bytes, timeout_s: float) -> Transfer:
    """A transfer that sends `payload` (a listing)."""

    async def send(stream: Stream) -> None:
        stream[1].write(payload)
        async with asyncio.timeout(timeout_s):
            await stream[1].drain()

    return send


def send_file(source: BinaryIO, timeout_s: float) -> Transfer:
    """A transfer that sends an open file chunk by chunk; a stall of `timeout_s` ends it."""

    async def send(stream: Stream) -> None:
        while chunk := source.read(CHUNK_BYTES):
            stream[1].write(chunk)
            async with asyncio.timeout(timeout_s):
                await stream[1].drain()

    return send


class Receiver:
    """Writes one STOR's data to `target` in chunks; past `room` bytes it stops writing
    and reads the rest to its end, so the client still gets its 552 on the control
    connection instead of a broken pipe."""

    def __init__(self, target: Path, room: int | None, timeout_s: float) -> None:
        self.target = target
        self.room = room
        self.timeout_s = timeout_s
        self.received = 0
        self.opened = False
        self.overflowed = False
        self.complete = False

    async def run(self, stream: Stream) -> None:
        reader = stream[0]
        with self.target.open("wb") as sink:
            self.opened = True
            while chunk := await self._read(reader):
                self.received += len(chunk)
                if self.room is not None and self.received > self.room:
                    self.overflowed = True
                    break
                sink.write(chunk)
        if self.overflowed:
            self.target.unlink(missing_ok=True)
            while await self._read(reader):
                pass
        else:
            self.complete = True

    def discard_unless_complete(self) -> None:
        # No partial file on the card after a full card, a timeout or a dropped connection.
        if self.opened and not self.complete:
            self.target.unlink(missing_ok=True)

    async def _read(self, reader: asyncio.StreamReader) -> bytes:
        async with asyncio.timeout(self.timeout_s):
            return await reader.read(CHUNK_BYTES)
