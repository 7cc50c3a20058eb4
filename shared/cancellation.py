"""A cancel that a library dropped, raised again.

On Python 3.11 `asyncio.wait_for` returns the awaited result when a cancel arrives just as
that result does, and the cancel is lost (CPython gh-86296; 3.12 rewrote wait_for). aiomqtt
waits for every publish and subscribe acknowledgement with it, so a task cancelled during a
publish (a bridge shutting down as it sends) could run on for ever. The request stays
counted on the task (`Task.cancelling()`), so checking right after such a call ends the task
as it was asked to.
"""

from __future__ import annotations

import asyncio


def raise_if_cancelled() -> None:
    """Raise `CancelledError` if the current task was asked to stop and is still running."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
