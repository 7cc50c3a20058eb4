"""A plain serial client for the simulator tests: the pty opened with os.open, raw mode,
lines read through the event loop (the simulator runs on the same loop, so no blocking
reads). Every wait has a timeout; nothing sleeps to synchronise."""

from __future__ import annotations

import asyncio
import os
import re
import time
import tty
from collections import deque

from agent.sim.lineproto import checksum


def numbered(n: int, command: str) -> bytes:
    body = f"N{n} {command}"
    return f"{body}*{checksum(body)}\n".encode()


class PtyClient:
    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(self.fd)
        self._loop = asyncio.get_running_loop()
        self._lines: deque[tuple[float, str]] = deque()
        self._partial = bytearray()
        self._changed = asyncio.Event()
        self.error: OSError | None = None
        self.eof = False
        self._loop.add_reader(self.fd, self._on_readable)

    def _on_readable(self) -> None:
        try:
            data = os.read(self.fd, 65536)
        except BlockingIOError:
            return
        except OSError as exc:
            self.error = exc
            self._loop.remove_reader(self.fd)
            self._changed.set()
            return
        if not data:
            self.eof = True
            self._loop.remove_reader(self.fd)
            self._changed.set()
            return
        now = time.monotonic()
        self._partial += data
        *complete, rest = self._partial.split(b"\n")
        self._partial = bytearray(rest)
        for raw in complete:
            self._lines.append((now, raw.decode("latin-1")))
        self._changed.set()

    def write(self, data: bytes | str) -> float:
        raw = data.encode() if isinstance(data, str) else data
        os.write(self.fd, raw)
        return time.monotonic()

    def write_some(self, data: bytes) -> int:
        """One non-blocking write; raises BlockingIOError when the pty is full."""
        return os.write(self.fd, data)

    async def readline(self, timeout_s: float = 5.0) -> str:
        return (await self.readline_timed(timeout_s))[1]

    async def readline_timed(self, timeout_s: float = 5.0) -> tuple[float, str]:
        async with asyncio.timeout(timeout_s):
            while not self._lines:
                if self.error is not None or self.eof:
                    raise ConnectionError(f"port closed: {self.error or 'EOF'}")
                self._changed.clear()
                await self._changed.wait()
        return self._lines.popleft()

    async def until(self, pattern: str, timeout_s: float = 5.0) -> list[str]:
        """Lines up to and including the first that matches `pattern` (regex search)."""
        seen: list[str] = []
        regex = re.compile(pattern)
        async with asyncio.timeout(timeout_s):
            while True:
                line = await self.readline(timeout_s)
                seen.append(line)
                if regex.search(line):
                    return seen

    async def command(self, data: bytes | str, timeout_s: float = 5.0) -> list[str]:
        """Send, then collect the reply up to its `ok` line."""
        self.write(data)
        return await self.until(r"^ok\b", timeout_s)

    def pending(self) -> list[str]:
        return [line for _, line in self._lines]

    def close(self) -> None:
        if self.error is None and not self.eof:
            self._loop.remove_reader(self.fd)
        os.close(self.fd)


async def stream(
    client: PtyClient, commands: list[str], *, first_n: int = 1, timeout_s: float = 20.0
) -> list[int]:
    """A minimal one-line-in-flight host with Marlin-style resend handling; returns the
    line numbers it was asked to send again."""
    lines = {first_n + i: cmd for i, cmd in enumerate(commands)}
    last = first_n + len(commands) - 1
    n = first_n
    resends: list[int] = []
    async with asyncio.timeout(timeout_s):
        while n <= last:
            client.write(numbered(n, lines[n]))
            while True:
                line = await client.readline(timeout_s)
                if line.startswith("Resend:"):
                    n = int(line.split(":")[1])
                    resends.append(n)
                    await client.until(r"^ok", timeout_s)
                    break
                if line.startswith("ok"):
                    n += 1
                    break
    return resends
