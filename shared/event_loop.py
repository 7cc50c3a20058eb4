"""Run a command's main coroutine on uvloop where it is installed, else on asyncio's loop.

uvloop costs less CPU per wake-up, and the agent wakes up once per `ok` from every printer it
streams to (docs/serial.md, "Performance"). It is optional: without it (Windows, or a Pi
image without the wheel) everything runs on asyncio's own loop. `APF_EVENT_LOOP=asyncio`
picks asyncio's loop even when uvloop is installed, to tell a loop problem from ours.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

ENV_VAR = "APF_EVENT_LOOP"
CHOICES = ("auto", "uvloop", "asyncio")


class EventLoopChoiceError(ValueError):
    """The environment asks for a loop that is unknown or not installed."""


def chosen_loop() -> str:
    """What `run` will use, "uvloop" or "asyncio", from `APF_EVENT_LOOP` and what is installed."""
    wanted = os.environ.get(ENV_VAR, "auto").strip().lower() or "auto"
    if wanted not in CHOICES:
        raise EventLoopChoiceError(f"{ENV_VAR}={wanted!r}: expected one of {', '.join(CHOICES)}")
    installed = importlib.util.find_spec("uvloop") is not None
    if wanted == "uvloop" and not installed:
        raise EventLoopChoiceError(f"{ENV_VAR}=uvloop, but uvloop is not installed")
    if wanted == "asyncio" or not installed:
        return "asyncio"
    return "uvloop"


def run(main: Coroutine[Any, Any, T]) -> T:
    """Like `asyncio.run`, on the loop `chosen_loop` names."""
    try:
        factory = _loop_factory(chosen_loop())
    except EventLoopChoiceError:
        main.close()  # never awaited: say so quietly instead of a RuntimeWarning
        raise
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)


def _loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    if name == "asyncio":
        return None  # asyncio.Runner's default
    import uvloop

    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory
