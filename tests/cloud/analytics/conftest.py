"""The seeded farm (farm.py) for organization A (`owner`), beside organization B (`other`)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.cloud.analytics.farm import seed_farm
from tests.cloud.conftest import OrgClient, SessionRunner


@pytest.fixture
async def farm(owner: OrgClient, other: OrgClient, in_db: SessionRunner) -> OrgClient:
    async def seed(session: Any) -> None:
        await seed_farm(session, owner.org.org_id, other.org.org_id)

    await in_db(seed)
    return owner
