"""Fixtures: a running simulator and a plain client on its pty."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest

from agent.sim import SimConfig, SimulatedPrinter
from tests.agent.sim.client import PtyClient

SimFactory = Callable[..., AbstractAsyncContextManager[tuple[SimulatedPrinter, PtyClient]]]


@pytest.fixture
def make_sim() -> SimFactory:
    """`async with make_sim(dialect="prusa", baud=None) as (sim, client):`"""

    @asynccontextmanager
    async def factory(**fields: Any) -> AsyncIterator[tuple[SimulatedPrinter, PtyClient]]:
        fields.setdefault("baud", None)
        fields.setdefault("latency_s", 0.0)
        async with SimulatedPrinter(SimConfig(**fields)) as sim:
            client = PtyClient(sim.pty_path)
            try:
                yield sim, client
            finally:
                client.close()

    return factory
