"""The bridge against a real broker and the real API: a scripted agent drives it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from cloud.bridge.lifespan import attached
from cloud.bridge.service import Bridge, BridgeSettings
from cloud.db.models import Event
from shared import wire
from shared.enums import AgentState, ErrorCode, PrinterStatus
from tests.cloud.bridge.agent_double import agent_double
from tests.cloud.conftest import OrgClient, SessionRunner, assert_error
from tests.support.broker import TestBroker

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "gcode_samples" / "prusaslicer.gcode"


async def eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 15) -> None:
    """Wait until ``check()`` holds (polling a condition with a deadline)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def running_bridge(
    owner: OrgClient, broker: TestBroker, *, client_id: str = "cloud-under-test"
) -> AsyncIterator[Bridge]:
    bridge = Bridge(
        owner.api.app.state["ctx"], BridgeSettings(mqtt_url=broker.url, client_id=client_id)
    )
    async with attached(owner.api.app.state["ctx"], bridge):  # as the app's lifespan does
        await bridge.link.wait_connected(10)
        yield bridge


async def setup_farm(owner: OrgClient) -> tuple[str, str, str]:
    r = await owner.post("/v1/agents", json={"name": "pi-1"})
    assert r.status_code == 201, r.text
    agent_id = r.json()["agent"]["id"]
    r = await owner.post(
        "/v1/printers",
        json={
            "name": "mk4-1",
            "connection_url": "serial:///dev/ttyACM0?baud=115200&profile=prusa",
            "agent_id": agent_id,
            "model": "Prusa MK4",
        },
    )
    assert r.status_code == 201, r.text
    printer_id = r.json()["id"]
    r = await owner.post(
        "/v1/materials",
        json={
            "type": "PETG",
            "color": "Black",
            "spool_weight": 1000,
            "remaining_weight": 100,
            "reorder_threshold": 98,
            "printer_id": printer_id,
        },
    )
    assert r.status_code == 201, r.text
    return agent_id, printer_id, r.json()["id"]


async def upload_job(owner: OrgClient, **fields: str) -> dict[str, Any]:
    r = await owner.post(
        "/v1/jobs", files={"file": ("part.gcode", SAMPLE.read_bytes())}, data=fields
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def event_types(in_db: SessionRunner) -> list[str]:
    async def run(session: Any) -> list[str]:
        rows = await session.execute(select(col(Event.type)).order_by(col(Event.created_at)))
        return list(rows.scalars())

    return list(await in_db(run))


async def test_a_job_runs_through_the_bridge_exactly_once(
    owner: OrgClient, mqtt_broker: TestBroker, in_db: SessionRunner
) -> None:
    agent_id, printer_id, material_id = await setup_farm(owner)
    job = await upload_job(owner, material="PETG", priority="high")
    async with (
        running_bridge(owner, mqtt_broker),
        agent_double(mqtt_broker, owner.org.org_id, agent_id) as agent,
    ):
        config = await agent.next_config()
        assert [p.printer_id for p in config.printers] == [printer_id]
        connection = config.printers[0].connection
        assert connection == wire.SerialConnection(
            port="/dev/ttyACM0", baud=115200, profile="prusa"
        )
        await agent.status(AgentState.ONLINE, session=1)
        await agent.state(printer_id, PrinterStatus.IDLE)

        start = await agent.next_command()
        assert isinstance(start, wire.StartJob)
        assert (start.job_id, start.printer_id) == (job["id"], printer_id)
        assert "signature=" in start.file_url
        r = await owner.get(f"/v1/jobs/{job['id']}")
        assert r.json()["status"] == "assigned"

        await agent.reply(start.command_id, printer_id)
        await agent.send_event(agent.next_event(wire.JobStartedEvent, printer_id, job_id=job["id"]))
        await agent.state(printer_id, PrinterStatus.PRINTING, job_id=job["id"], progress=40.0)

        async def printing_at_40() -> bool:
            body = (await owner.get(f"/v1/jobs/{job['id']}")).json()
            return bool(body["status"] == "printing" and body["progress"] == 40.0)

        await eventually(printing_at_40)
        # Between snapshots, telemetry moves progress and temperatures (not the status).
        await agent.telemetry(printer_id, job["id"], 55.5)

        async def printing_at_55() -> bool:
            body = (await owner.get(f"/v1/jobs/{job['id']}")).json()
            printer = (await owner.get(f"/v1/printers/{printer_id}")).json()
            return bool(
                body["progress"] == 55.5
                and printer["progress"] == 55.5
                and printer["temperatures"]["hotend"] == 215.5
                and printer["status"] == "printing"
            )

        await eventually(printing_at_55)
        printer = (await owner.get(f"/v1/printers/{printer_id}")).json()
        assert printer["status"] == "printing"
        assert printer["current_job"] == job["id"]

        done = agent.next_event(
            wire.JobCompletedEvent,
            printer_id,
            job_id=job["id"],
            duration_s=3723.0,
            filament_used_mm=1234.56,
        )
        await agent.send_event(done)
        await agent.send_event(done)  # QoS 1 redelivery / outbox replay
        await agent.state(printer_id, PrinterStatus.IDLE)

        async def completed() -> bool:
            return bool((await owner.get(f"/v1/jobs/{job['id']}")).json()["status"] == "completed")

        await eventually(completed)

    body = (await owner.get(f"/v1/jobs/{job['id']}")).json()
    assert body["progress"] == 100.0
    assert body["elapsed_time"] == 3723
    spool = (await owner.get(f"/v1/materials/{material_id}")).json()
    # 1234.56 mm at the file's own 3.77 g per 1234.56 mm: 3.77 g off a 100 g spool, 96.23 g
    # stored, shown to a tenth (docs/api.md, "Numbers").
    assert spool["remaining_weight"] == 96.2
    assert spool["status"] == "low"
    printer = (await owner.get(f"/v1/printers/{printer_id}")).json()
    assert printer["current_job"] is None
    types = await event_types(in_db)
    assert types.count("job.started") == 1
    assert types.count("job.completed") == 1
    assert types.count("material.low") == 1


async def test_refused_start_returns_the_job_to_the_queue_and_a_bad_file_fails_it(
    owner: OrgClient, mqtt_broker: TestBroker
) -> None:
    agent_id, printer_id, _ = await setup_farm(owner)
    job = await upload_job(owner)
    async with (
        running_bridge(owner, mqtt_broker),
        agent_double(mqtt_broker, owner.org.org_id, agent_id) as agent,
    ):
        await agent.status(AgentState.ONLINE, session=1)
        await agent.state(printer_id, PrinterStatus.IDLE)
        first = await agent.next_command()
        assert isinstance(first, wire.StartJob)
        await agent.reply(
            first.command_id, printer_id, ok=False, error=ErrorCode.PRINTER_BUSY, message="busy"
        )
        # Back in the queue, and offered again (a new command for the same job).
        second = await agent.next_command()
        assert isinstance(second, wire.StartJob)
        assert second.job_id == job["id"] and second.command_id != first.command_id
        await agent.reply(
            second.command_id,
            printer_id,
            ok=False,
            error=ErrorCode.FILE_INVALID,
            message="sha256 mismatch",
        )

        async def failed() -> bool:
            return bool((await owner.get(f"/v1/jobs/{job['id']}")).json()["status"] == "failed")

        await eventually(failed)


async def test_stale_will_is_ignored_and_offline_agent_takes_its_printers_offline(
    owner: OrgClient, mqtt_broker: TestBroker
) -> None:
    agent_id, printer_id, _ = await setup_farm(owner)
    async with (
        running_bridge(owner, mqtt_broker),
        agent_double(mqtt_broker, owner.org.org_id, agent_id) as agent,
    ):
        await agent.status(AgentState.ONLINE, session=5)
        await agent.state(printer_id, PrinterStatus.IDLE)

        async def printer_is(status: str) -> bool:
            return bool((await owner.get(f"/v1/printers/{printer_id}")).json()["status"] == status)

        await eventually(lambda: printer_is("idle"))
        await agent.status(AgentState.OFFLINE, session=4)  # the Will of an older connection
        await agent.status(AgentState.ONLINE, session=5)  # a marker we can wait for
        await eventually(lambda: printer_is("idle"))
        agent_body = (await owner.get(f"/v1/agents/{agent_id}")).json()
        assert agent_body["state"] == "online"
        await agent.status(AgentState.OFFLINE, session=5)
        await eventually(lambda: printer_is("offline"))


async def test_what_a_printer_reports_loaded_is_shown_until_a_state_without_it(
    owner: OrgClient, mqtt_broker: TestBroker
) -> None:
    agent_id, printer_id, _ = await setup_farm(owner)
    tray = wire.LoadedMaterial(slot="AMS1 tray 2", type="PLA", color="#FF0000", remaining_pct=60)
    async with (
        running_bridge(owner, mqtt_broker),
        agent_double(mqtt_broker, owner.org.org_id, agent_id) as agent,
    ):
        await agent.status(AgentState.ONLINE, session=1)
        await agent.state(printer_id, PrinterStatus.IDLE, materials=[tray])

        async def shown(materials: list[dict[str, Any]]) -> bool:
            r = await owner.get(f"/v1/printers/{printer_id}")
            return bool(r.json()["reported_materials"] == materials)

        await eventually(
            lambda: shown(
                [{"slot": "AMS1 tray 2", "type": "PLA", "color": "#FF0000", "remaining_pct": 60.0}]
            )
        )
        await agent.state(printer_id, PrinterStatus.IDLE)  # nothing loaded, or cannot tell
        await eventually(lambda: shown([]))


async def test_foreign_and_malformed_messages_change_nothing_and_do_not_stop_the_bridge(
    owner: OrgClient, mqtt_broker: TestBroker, in_db: SessionRunner
) -> None:
    agent_id, printer_id, _ = await setup_farm(owner)
    other = await owner.api.new_org("intruder")
    async with (
        running_bridge(owner, mqtt_broker),
        agent_double(mqtt_broker, owner.org.org_id, agent_id) as agent,
        agent_double(mqtt_broker, other.org_id, agent_id) as impostor,
    ):
        await agent.client.publish(
            wire.events_topic(owner.org.org_id, agent_id), b"{garbage", qos=1
        )
        # The same agent id under another organization's root: not this agent.
        await impostor.status(AgentState.ONLINE, session=1)
        await impostor.state(printer_id, PrinterStatus.PRINTING)
        await agent.status(AgentState.ONLINE, session=1)
        await agent.state(printer_id, PrinterStatus.IDLE)

        async def idle() -> bool:
            return bool((await owner.get(f"/v1/printers/{printer_id}")).json()["status"] == "idle")

        await eventually(idle)

    async def logged(session: Any) -> list[tuple[str, str | None]]:
        stmt = select(col(Event.type), col(Event.resource_id))
        rows = (await session.execute(stmt)).all()
        return [tuple(row) for row in rows]

    # The garbage and the impostor logged nothing; the real agent's printer came online.
    assert await in_db(logged) == [("printer.online", printer_id)]


async def test_printer_actions_round_trip_to_the_agent(
    owner: OrgClient, mqtt_broker: TestBroker
) -> None:
    agent_id, printer_id, _ = await setup_farm(owner)
    url = f"/v1/printers/{printer_id}/actions"
    async with (
        running_bridge(owner, mqtt_broker),
        agent_double(mqtt_broker, owner.org.org_id, agent_id) as agent,
    ):
        await agent.status(AgentState.ONLINE, session=1)
        await agent.state(printer_id, PrinterStatus.PRINTING)

        async def printing() -> bool:
            return bool(
                (await owner.get(f"/v1/printers/{printer_id}")).json()["status"] == "printing"
            )

        await eventually(printing)

        # The agent does it: 200 with status ok.
        call = asyncio.create_task(owner.post(url, json={"action": "pause"}))
        command = await agent.next_command()
        assert isinstance(command, wire.PauseJob) and command.printer_id == printer_id
        await agent.reply(command.command_id, printer_id)
        response = await call
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "ok"

        # The agent refuses: its error code reaches the caller.
        call = asyncio.create_task(owner.post(url, json={"action": "cancel"}))
        command = await agent.next_command()
        assert isinstance(command, wire.CancelJob)
        await agent.reply(
            command.command_id,
            printer_id,
            ok=False,
            error=ErrorCode.PRINTER_BUSY,
            message="already cancelling",
        )
        response = await call
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "printer_busy"

        # Refused before it leaves the cloud: home while printing.
        response = await owner.post(url, json={"action": "home"})
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "printer_busy"

        # The agent goes away: its printers are offline, actions say so.
        await agent.status(AgentState.OFFLINE, session=1)

        async def offline() -> bool:
            return bool(
                (await owner.get(f"/v1/printers/{printer_id}")).json()["status"] == "offline"
            )

        await eventually(offline)
        response = await owner.post(url, json={"action": "cooldown"})
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "printer_offline"


async def test_a_moonraker_printer_reaches_its_agent_as_an_http_url_with_its_key(
    owner: OrgClient, mqtt_broker: TestBroker
) -> None:
    r = await owner.post("/v1/agents", json={"name": "pi-1"})
    agent_id = r.json()["agent"]["id"]
    printers = {}
    for name, url, key in [
        ("voron", "moonraker://voron.local", "MR-KEY"),
        ("k1", "moonraker://192.168.1.20:7130/mr", None),
        ("proxied", "moonrakers://printers.example", None),
    ]:
        body = {"name": name, "connection_url": url, "agent_id": agent_id}
        r = await owner.post("/v1/printers", json=body | ({"api_key": key} if key else {}))
        assert r.status_code == 201, r.text
        assert r.json()["connection_type"] == "moonraker"
        assert r.json()["has_api_key"] is (key is not None)
        printers[r.json()["id"]] = name
    async with (
        running_bridge(owner, mqtt_broker),
        agent_double(mqtt_broker, owner.org.org_id, agent_id) as agent,
    ):
        config = await agent.next_config()
    got = {printers[p.printer_id]: p.connection for p in config.printers}
    assert got == {
        "voron": wire.MoonrakerConnection(url="http://voron.local:7125", api_key="MR-KEY"),
        "k1": wire.MoonrakerConnection(url="http://192.168.1.20:7130/mr", api_key=None),
        "proxied": wire.MoonrakerConnection(url="https://printers.example:443", api_key=None),
    }


async def test_a_prusalink_printer_reaches_its_agent_with_digest_credentials_or_a_key(
    owner: OrgClient, mqtt_broker: TestBroker
) -> None:
    r = await owner.post("/v1/agents", json={"name": "pi-1"})
    agent_id = r.json()["agent"]["id"]
    printers = {}
    for name, url, secret in [
        ("mk4", "prusalink://192.168.1.30", "maker:s3cret:with-colon"),
        ("mini", "prusalink://mini.local:8080", "API-KEY-1"),
    ]:
        body = {"name": name, "connection_url": url, "agent_id": agent_id, "api_key": secret}
        r = await owner.post("/v1/printers", json=body)
        assert r.status_code == 201, r.text
        assert r.json()["connection_type"] == "prusalink" and r.json()["has_api_key"]
        printers[r.json()["id"]] = name
    r = await owner.post(
        "/v1/printers",
        json={"name": "nokey", "connection_url": "prusalink://x.local", "agent_id": agent_id},
    )
    assert_error(r, 400, "invalid_request", "api_key")
    async with (
        running_bridge(owner, mqtt_broker),
        agent_double(mqtt_broker, owner.org.org_id, agent_id) as agent,
    ):
        config = await agent.next_config()
    got = {printers[p.printer_id]: p.connection for p in config.printers}
    assert got == {
        "mk4": wire.PrusaLinkConnection(
            url="http://192.168.1.30:80", username="maker", password="s3cret:with-colon"
        ),
        "mini": wire.PrusaLinkConnection(url="http://mini.local:8080", api_key="API-KEY-1"),
    }


async def test_a_bambu_printer_reaches_its_agent_with_its_address_and_access_code(
    owner: OrgClient, mqtt_broker: TestBroker
) -> None:
    r = await owner.post("/v1/agents", json={"name": "pi-1"})
    agent_id = r.json()["agent"]["id"]
    printers = {}
    pinned = "&ftps_port=10990&fingerprint=" + ":".join(["AB"] * 32)
    for name, url, code in [
        ("x1c", "bambu://192.168.1.40?serial=00M09A350100123", "ab12CD34"),
        ("p1s", f"bambu://p1s.local:18883?serial=01P00A123456789{pinned}", "87654321"),
    ]:
        body = {"name": name, "connection_url": url, "agent_id": agent_id, "api_key": code}
        r = await owner.post("/v1/printers", json=body)
        assert r.status_code == 201, r.text
        assert r.json()["connection_type"] == "bambu" and r.json()["has_api_key"]
        printers[r.json()["id"]] = name
    async with (
        running_bridge(owner, mqtt_broker),
        agent_double(mqtt_broker, owner.org.org_id, agent_id) as agent,
    ):
        config = await agent.next_config()
    got = {printers[p.printer_id]: p.connection for p in config.printers}
    assert got == {
        "x1c": wire.BambuConnection(
            host="192.168.1.40", serial="00M09A350100123", access_code="ab12CD34"
        ),
        "p1s": wire.BambuConnection(
            host="p1s.local",
            serial="01P00A123456789",
            access_code="87654321",
            mqtt_port=18883,
            ftps_port=10990,
            fingerprint="ab" * 32,
        ),
    }
