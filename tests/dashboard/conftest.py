"""The farm the dashboard's browser tests look at: the cloud with its bridge and live feed, a
real broker, a real agent and two simulated printers (tests/integration/farm.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.dashboard.support import SPECS
from tests.integration.farm import Farm, running_farm
from tests.support.broker import TestBroker


@pytest.fixture
async def farm(mqtt_broker: TestBroker, tmp_path: Path) -> AsyncIterator[Farm]:
    async with running_farm(mqtt_broker, tmp_path, SPECS, sim_baud=115_200) as running:
        yield running
