"""What a printer reports loaded (a Bambu AMS's trays): stored by the snapshot apply, shown
by the API, and counted by the queue next to the printer's assigned spool."""

from __future__ import annotations

from datetime import timedelta

import msgspec
import pytest

from cloud.bridge.inbound import StateIn
from cloud.db.types import utcnow
from shared import wire
from shared.enums import PrinterStatus
from tests.cloud.api.test_jobs import make_job
from tests.cloud.conftest import OrgClient, SessionRunner
from tests.cloud.lifecycle.farm import Farm

AMS = [
    wire.LoadedMaterial(slot="AMS1 tray 1", type="PLA", color="#000000", remaining_pct=80.0),
    wire.LoadedMaterial(slot="AMS1 tray 2"),  # empty
    wire.LoadedMaterial(slot="AMS1 tray 3", type="PLA", color="#FF0000", remaining_pct=33.33),
    wire.LoadedMaterial(slot="external", type="TPU"),
]
SHOWN = [
    {"slot": "AMS1 tray 1", "type": "PLA", "color": "#000000", "remaining_pct": 80.0},
    {"slot": "AMS1 tray 2", "type": None, "color": None, "remaining_pct": None},
    {"slot": "AMS1 tray 3", "type": "PLA", "color": "#FF0000", "remaining_pct": 33.3},
    {"slot": "external", "type": "TPU", "color": None, "remaining_pct": None},
]


@pytest.fixture
async def farm(owner: OrgClient, in_db: SessionRunner) -> Farm:
    return await Farm.create(owner, in_db)


async def test_a_snapshot_stores_what_the_printer_reports_and_one_without_clears_it(
    farm: Farm,
) -> None:
    stamp = utcnow()
    await farm.state(PrinterStatus.IDLE, materials=AMS, ts=stamp)
    assert (await farm.printer())["reported_materials"] == SHOWN
    # A list page is built from raw columns, not the ORM: the same.
    r = await farm.owner.get("/v1/printers", params={"fields": "id,reported_materials"})
    assert r.json()["data"] == [{"id": farm.printer_id, "reported_materials": SHOWN}]
    # An older snapshot arriving late is not written, its materials neither.
    await farm.state(PrinterStatus.IDLE, ts=stamp - timedelta(seconds=1))
    assert (await farm.printer())["reported_materials"] == SHOWN
    # A snapshot of an agent that sends no materials (an older one) clears them.
    old_agent = msgspec.json.encode(farm.state_in(PrinterStatus.IDLE).state)
    assert b"materials" in old_agent
    old_agent = old_agent.replace(b',"materials":[]', b"")
    state = wire.decode_printer_state(old_agent)
    await farm.applier.apply_states([StateIn(farm.owner.org.org_id, farm.agent_id, state)])
    assert (await farm.printer())["reported_materials"] == []
    # And an empty list, once some were reported, too.
    await farm.state(PrinterStatus.IDLE, materials=AMS)
    await farm.state(PrinterStatus.IDLE, materials=[])
    assert (await farm.printer())["reported_materials"] == []


async def test_the_queue_places_a_job_on_a_reported_tray_of_its_material(farm: Farm) -> None:
    red = await make_job(farm.owner, material="PLA", material_color="#ff0000")
    tpu = await make_job(farm.owner, material="TPU")
    assert await farm.claim() == []  # only the assigned white PETG spool
    await farm.state(PrinterStatus.IDLE, materials=AMS)
    assert await farm.claim() == [red["id"]]
    await farm.event(wire.JobStartedEvent, job_id=red["id"])
    await farm.state(PrinterStatus.PRINTING, job_id=red["id"], materials=AMS)
    await farm.complete(red["id"])  # its snapshot reports nothing loaded any more
    assert await farm.claim() == []
    await farm.state(PrinterStatus.IDLE, materials=AMS)
    assert await farm.claim() == [tpu["id"]]  # the external spool
