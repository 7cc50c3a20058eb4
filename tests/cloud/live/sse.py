"""A Server-Sent Events reader for tests: parses a streamed `text/event-stream` response
(the WHATWG EventSource rules the browser applies), with a deadline on every read."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass(frozen=True)
class SseEvent:
    event: str
    data: str
    id: str | None
    retry: int | None
    # time.perf_counter() when its blank line (the end of the event) was read.
    received_at: float

    def json(self) -> Any:
        return json.loads(self.data)


@dataclass
class SseReader:
    response: httpx.Response
    comments: list[str] = field(default_factory=list)
    _lines: AsyncIterator[str] | None = None

    async def next(self, timeout_s: float = 5.0) -> SseEvent:
        """The next event (comments are collected in `comments`)."""
        return await asyncio.wait_for(self._read_event(), timeout_s)

    async def next_of(self, *events: str, timeout_s: float = 5.0) -> SseEvent:
        """The next event named one of `events`, skipping others, within one deadline."""

        async def read() -> SseEvent:
            while True:
                got = await self._read_event()
                if got.event in events:
                    return got

        return await asyncio.wait_for(read(), timeout_s)

    async def _read_event(self) -> SseEvent:
        if self._lines is None:
            self._lines = self.response.aiter_lines()
        name: str = "message"
        event_id: str | None = None
        retry: int | None = None
        data: list[str] = []
        async for line in self._lines:
            if line == "":
                if data or retry is not None:
                    return SseEvent(name, "\n".join(data), event_id, retry, time.perf_counter())
                continue  # a block of comments only dispatches nothing
            if line.startswith(":"):
                self.comments.append(line[1:].strip())
                continue
            key, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if key == "event":
                name = value
            elif key == "data":
                data.append(value)
            elif key == "id":
                event_id = value
            elif key == "retry":
                retry = int(value)
        raise EOFError("the stream ended")
