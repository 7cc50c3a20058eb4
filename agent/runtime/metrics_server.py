"""A tiny HTTP server on the agent's event loop for Prometheus: ``GET /metrics`` only.

On the loop rather than prometheus_client's threaded server because a scrape reads the
agent's live objects and its aiosqlite store, which belong to the loop. h11 parses the
request (sans-I/O, as the rest of the agent's protocols); every answer closes the
connection, which Prometheus handles fine. Bounded: a few connections at a time, a size cap
on the request head (h11's) and a deadline on each connection, so a stuck or hostile client
cannot pile up work on the loop that drives the printers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from types import TracebackType

import h11

log = logging.getLogger(__name__)

CONNECTION_TIMEOUT_S = 10.0
MAX_CONNECTIONS = 8
_READ_BYTES = 4096
_TEXT = "text/plain; charset=utf-8"

Render = Callable[[], Awaitable[bytes]]


class MetricsServer:
    """``async with MetricsServer(host, port, render, content_type) as server:`` listens
    until the block ends; ``server.port`` is the port bound (useful with port 0)."""

    def __init__(self, host: str, port: int, render: Render, content_type: str) -> None:
        self._host = host
        self._port = port
        self._render = render
        self._content_type = content_type
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[object]] = set()
        self.port = port

    async def __aenter__(self) -> MetricsServer:
        self._server = await asyncio.start_server(self._serve, self._host, self._port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("metrics: serving http://%s:%d/metrics", self._host, self.port)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        # Python 3.11's wait_closed does not wait for the connections: end them here.
        handlers = list(self._handlers)
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is None or len(self._handlers) >= MAX_CONNECTIONS:
            writer.close()
            return
        self._handlers.add(task)
        try:
            async with asyncio.timeout(CONNECTION_TIMEOUT_S):
                await self._answer(reader, writer)
        except (TimeoutError, OSError, h11.ProtocolError) as exc:
            log.debug("metrics: a scrape connection ended: %r", exc)
        finally:
            self._handlers.discard(task)
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = h11.Connection(h11.SERVER)
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await reader.read(_READ_BYTES))
                continue
            if isinstance(event, h11.Request):
                break
            return  # the client went away before asking anything
        status, body, content_type = await self._respond(event)
        headers = [
            ("content-type", content_type),
            ("content-length", str(len(body))),
            ("connection", "close"),
        ]
        if status == 405:
            headers.append(("allow", "GET"))
        writer.write(conn.send(h11.Response(status_code=status, headers=headers)) or b"")
        if event.method != b"HEAD":
            writer.write(conn.send(h11.Data(data=body)) or b"")
        writer.write(conn.send(h11.EndOfMessage()) or b"")
        await writer.drain()

    async def _respond(self, request: h11.Request) -> tuple[int, bytes, str]:
        path = request.target.split(b"?", 1)[0]
        if path != b"/metrics":
            return 404, b"not found: the metrics are at /metrics\n", _TEXT
        if request.method not in (b"GET", b"HEAD"):
            return 405, b"only GET\n", _TEXT
        try:
            body = await self._render()
        except Exception:
            # A failed scrape (a stuck database) is Prometheus's `up` going to 0, never more.
            log.exception("metrics: rendering a scrape failed")
            return 500, b"the metrics could not be read; see the agent's log\n", _TEXT
        return 200, body, self._content_type
