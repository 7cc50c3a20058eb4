"""A real HTTP/1.1 webhook receiver on 127.0.0.1 with keep-alive, for tests and the benchmark.

`status_for(path)` decides each answer (tests flip an endpoint between down and up);
`stop()`/`start()` close and reopen the listener on the same port (connection refused in
between). Every request is recorded; `wait_for(predicate, timeout_s)` waits on a condition
that is re-checked whenever a request arrives (no polling, no sleeps).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

from tests.cloud.net.httpserver import _read_request

IO_TIMEOUT_S = 10.0


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int


@dataclass
class WebhookReceiver:
    status_for: Callable[[str], int] = field(default=lambda _path: 200)
    extra_headers: dict[str, str] = field(default_factory=dict)
    record: bool = True
    port: int = 0
    received: list[Received] = field(default_factory=list)
    count: int = 0

    def __post_init__(self) -> None:
        self._server: asyncio.Server | None = None
        self._changed = asyncio.Condition()
        self._conns: set[asyncio.Task[None]] = set()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._handle, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Close the listener and every open connection: the receiver is down."""
        if self._server is None:
            return
        self._server.close()
        for task in list(self._conns):
            task.cancel()
        async with asyncio.timeout(IO_TIMEOUT_S):
            await self._server.wait_closed()
            if self._conns:
                await asyncio.wait(set(self._conns))
        self._server = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def at(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    async def wait_for(self, predicate: Callable[[], bool], timeout_s: float = 20.0) -> None:
        async with asyncio.timeout(timeout_s), self._changed:
            await self._changed.wait_for(predicate)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._conns.add(task)
        try:
            while True:
                async with asyncio.timeout(IO_TIMEOUT_S):
                    seen = await _read_request(reader)
                status = self.status_for(seen.path)
                extra = "".join(f"{k}: {v}\r\n" for k, v in self.extra_headers.items())
                writer.write(
                    f"HTTP/1.1 {status} X\r\nContent-Length: 2\r\n{extra}\r\nok".encode("latin-1")
                )
                await writer.drain()
                self.count += 1
                if self.record:
                    self.received.append(Received(seen.path, seen.headers, seen.body, status))
                async with self._changed:
                    self._changed.notify_all()
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError, ValueError):
            pass  # the client closed the connection (or sent garbage): done with it
        finally:
            self._conns.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
