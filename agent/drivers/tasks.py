"""Running a driver's loops together: the first one to end ends them all."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


async def until_first_failure(*coros: Coroutine[Any, Any, None]) -> None:
    """Run the coroutines as tasks until one ends; cancel the rest, re-raise its error."""
    tasks = [asyncio.create_task(coro) for coro in coros]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
