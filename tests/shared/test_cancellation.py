"""A cancel that `asyncio.wait_for` dropped (Python 3.11) is raised again by the check."""

from __future__ import annotations

import asyncio
import sys

import pytest

from shared.cancellation import raise_if_cancelled


async def _acknowledged_then_checked(ack: asyncio.Event, checked: list[bool]) -> None:
    # What aiomqtt does for a publish: wait for the acknowledgement with wait_for.
    await asyncio.wait_for(ack.wait(), 5)
    checked.append(True)
    raise_if_cancelled()
    checked.append(False)  # never: the task was asked to stop


async def test_a_cancel_that_comes_with_the_result_still_stops_the_task() -> None:
    ack, checked = asyncio.Event(), list[bool]()
    task = asyncio.create_task(_acknowledged_then_checked(ack, checked))
    await asyncio.sleep(0)  # one turn of the event loop: the task is now waiting
    ack.set()
    task.cancel()  # in the same turn as the acknowledgement
    with pytest.raises(asyncio.CancelledError):
        await task
    if sys.version_info < (3, 12):
        assert checked == [True]  # wait_for returned the acknowledgement; the check raised
    else:
        assert checked == []  # wait_for itself raised


async def test_no_cancel_no_raise() -> None:
    raise_if_cancelled()
