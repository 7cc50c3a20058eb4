"""Running a driver the way the agent's supervisor does, and waiting on what it reports."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

from agent.drivers.base import ConnectionLostError, Driver, DriverEvent

T = TypeVar("T")
E = TypeVar("E")


class Recorder:
    """The driver's listener: keeps every event and wakes waiters on each one."""

    def __init__(self) -> None:
        self.events: list[DriverEvent] = []
        self._changed = asyncio.Event()

    def __call__(self, event: DriverEvent) -> None:
        self.events.append(event)
        self._changed.set()

    def of(self, kind: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)]

    async def wait_for(self, predicate: Callable[[], T | None], timeout_s: float, what: str) -> T:
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    self._changed.clear()
                    result = predicate()
                    if result:
                        return result
                    await self._changed.wait()
        except TimeoutError:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}") from None

    async def wait_event(self, kind: type[E], timeout_s: float) -> E:
        def found() -> E | None:
            matches = self.of(kind)
            return matches[0] if matches else None

        return await self.wait_for(found, timeout_s, kind.__name__)


async def eventually(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll a condition that no driver event signals (e.g. the socket being up)."""
    try:
        async with asyncio.timeout(timeout_s):
            while not predicate():  # noqa: ASYNC110 (no event signals these conditions)
                await asyncio.sleep(0.05)  # polling a condition with a deadline
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout_s}s waiting for {what}") from None


@contextlib.asynccontextmanager
async def supervised(driver: Driver, retry_s: float = 0.3) -> AsyncIterator[list[str]]:
    """Run `driver.run()` and restart it after ConnectionLostError, like the supervisor.

    Yields the list of ConnectionLostError messages seen, for tests that expect them.
    """
    losses: list[str] = []

    async def supervise() -> None:
        while True:
            try:
                await driver.run()
            except ConnectionLostError as exc:
                losses.append(str(exc))
            await asyncio.sleep(retry_s)  # the supervisor's backoff, not synchronisation

    task = asyncio.create_task(supervise(), name="driver")
    try:
        yield losses
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
