"""What the demo logs when a part does not stop in time: which tasks still run, and where."""

from __future__ import annotations

import asyncio

from apf.demo.runner import describe_pending_tasks


async def _waits_on_an_event(event: asyncio.Event) -> None:
    await event.wait()


async def _calls_the_waiter(event: asyncio.Event) -> None:
    await _waits_on_an_event(event)


async def test_pending_tasks_are_named_with_the_line_they_wait_on() -> None:
    event = asyncio.Event()
    task = asyncio.create_task(_calls_the_waiter(event), name="stuck-part")
    await asyncio.sleep(0)  # let the task start and suspend on the event
    try:
        described = describe_pending_tasks()
    finally:
        event.set()
        await task
    # The innermost of our frames, not asyncio's own (Event.wait) nor the outer caller.
    line = _waits_on_an_event.__code__.co_firstlineno + 1
    assert f"stuck-part at {__file__}:{line}" in described


async def test_no_pending_tasks_is_said_plainly() -> None:
    assert describe_pending_tasks() == "none"
