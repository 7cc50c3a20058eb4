"""A tiny real HTTP/1.1 server on 127.0.0.1 (optionally TLS) for the outbound-HTTP tests.

Each route answers one fixed way; the server records every request it saw (path, headers,
body) so tests can assert what actually went over the wire, e.g. the Host header.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

IO_TIMEOUT_S = 5.0


@dataclass
class SeenRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Route:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    #: When set, the body is sent in chunks (Transfer-Encoding: chunked) from this generator.
    chunks: Callable[[], AsyncIterator[bytes]] | None = None
    #: Never answer: hold the connection until the server closes.
    hang: bool = False


class LoopbackHTTPServer:
    def __init__(
        self,
        routes: dict[str, Route],
        *,
        ssl_context: ssl.SSLContext | None = None,
        host: str = "127.0.0.1",
    ):
        self.routes = routes
        self.host = host
        self.requests: list[SeenRequest] = []
        self.request_seen = asyncio.Event()
        self._ssl = ssl_context
        self._server: asyncio.Server | None = None
        self._closing = asyncio.Event()
        self._writers: set[asyncio.StreamWriter] = set()
        self._all_closed = asyncio.Event()
        self._all_closed.set()
        self.port = 0

    @property
    def base(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self._ssl else 'http'}://{host}:{self.port}"

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._handle, self.host, 0, ssl=self._ssl)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closing.set()
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        async with asyncio.timeout(IO_TIMEOUT_S):
            await self._server.wait_closed()
            await self._all_closed.wait()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        self._all_closed.clear()
        try:
            async with asyncio.timeout(IO_TIMEOUT_S):
                seen = await _read_request(reader)
            self.requests.append(seen)
            self.request_seen.set()
            route = self.routes.get(seen.path.split("?", 1)[0], Route(status=404))
            if route.hang:
                await self._closing.wait()
                return
            await _respond(writer, route)
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError, ssl.SSLError):
            pass  # the client went away or failed its handshake: nothing to answer
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, ssl.SSLError):
                await writer.wait_closed()
            self._writers.discard(writer)
            if not self._writers:
                self._all_closed.set()


async def _read_request(reader: asyncio.StreamReader) -> SeenRequest:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _version = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    return SeenRequest(method, path, headers, body)


async def _respond(writer: asyncio.StreamWriter, route: Route) -> None:
    headers = {"Connection": "close", **route.headers}
    if route.chunks is not None:
        headers["Transfer-Encoding"] = "chunked"
    else:
        headers.setdefault("Content-Length", str(len(route.body)))
    head = f"HTTP/1.1 {route.status} X\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    writer.write(head.encode("latin-1") + b"\r\n")
    if route.chunks is None:
        writer.write(route.body)
        await writer.drain()
        return
    async for chunk in route.chunks():
        writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        await writer.drain()
    writer.write(b"0\r\n\r\n")
    await writer.drain()
