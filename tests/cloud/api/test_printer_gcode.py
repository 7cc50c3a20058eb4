"""`POST /v1/printers/{id}/gcode`: admin keys only, validated, refused while the printer
prints, recorded for the agent; with a bridge and a scripted agent, the printer's reply lines
come back in the answer (the real agent and a simulated printer:
tests/integration/test_gcode_console.py)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from cloud.db.models import PrinterCommand
from cloud.orchestration.db import writing
from cloud.services.admin import add_api_key
from shared import wire
from shared.enums import AgentState, ErrorCode, PrinterStatus
from tests.cloud.api.test_printers import make_agent, make_printer, set_status
from tests.cloud.bridge.agent_double import agent_double
from tests.cloud.bridge.test_bridge import eventually, running_bridge, setup_farm, upload_job
from tests.cloud.conftest import OrgClient, SessionRunner, assert_error
from tests.support.broker import TestBroker


def url(printer_id: str) -> str:
    return f"/v1/printers/{printer_id}/gcode"


async def idle_printer(owner: OrgClient, in_db: SessionRunner) -> str:
    printer = await make_printer(owner, agent_id=await make_agent(owner))
    await set_status(in_db, printer["id"], "idle")
    return str(printer["id"])


async def commands(in_db: SessionRunner) -> list[PrinterCommand]:
    async def run(session: Any) -> list[PrinterCommand]:
        return list((await session.execute(select(PrinterCommand))).scalars())

    return list(await in_db(run))


async def test_gcode_is_recorded_for_the_agent(owner: OrgClient, in_db: SessionRunner) -> None:
    printer_id = await idle_printer(owner, in_db)
    r = await owner.post(url(printer_id), json={"lines": ["M105", "G28 X ; home X"]})
    # No bridge in this process: recorded, delivered once one runs.
    assert r.status_code == 202, r.text
    out = r.json()
    assert out["id"].startswith("cmd_")
    assert (out["printer_id"], out["status"], out["replies"]) == (printer_id, "pending", [])
    assert out["lines"] == ["M105", "G28 X ; home X"]
    (row,) = await commands(in_db)
    assert (row.id, row.action, row.gcode, row.reply) == (
        out["id"],
        "gcode",
        ["M105", "G28 X ; home X"],
        None,
    )
    # Typed by someone waiting for it: it expires after a minute, not five.
    assert row.expires_at - row.created_at == timedelta(seconds=60)


async def test_only_admin_keys_and_only_the_callers_printers(
    owner: OrgClient, other: OrgClient, in_db: SessionRunner
) -> None:
    printer_id = await idle_printer(owner, in_db)
    async with writing(owner.api.app.state["ctx"]) as session:
        operator = await add_api_key(
            session, owner.org, name="op", scopes=["printers:read", "printers:write"]
        )
    r = await owner.post(
        url(printer_id),
        json={"lines": ["M105"]},
        headers={"Authorization": f"Bearer {operator}"},
    )
    assert_error(r, 403, "insufficient_permissions")
    assert "admin" in r.json()["error"]["message"]
    # Another organization's printer is a missing one.
    assert_error(
        await other.post(url(printer_id), json={"lines": ["M105"]}), 404, "resource_not_found"
    )
    assert_error(
        await owner.post(url("prt_nope"), json={"lines": ["M105"]}), 404, "resource_not_found"
    )
    assert await commands(in_db) == []


@pytest.mark.parametrize(
    "body",
    [
        {"lines": []},
        {"lines": ["M105"] * 51},
        {"lines": ["M117 " + "x" * 92]},  # 97 characters
        {"lines": [""]},
        {"lines": ["   "]},
        {"lines": ["M117 café"]},
        {"lines": ["M105\nM112"]},
        {"lines": ["M105*47"]},
        {"lines": ["M105"], "wait": True},
        {"lines": "M105"},
        {},
    ],
)
async def test_bodies_out_of_bounds_are_refused(
    owner: OrgClient, in_db: SessionRunner, body: dict[str, Any]
) -> None:
    printer_id = await idle_printer(owner, in_db)
    assert_error(await owner.post(url(printer_id), json=body), 400, "invalid_request")
    assert await commands(in_db) == []


async def test_the_bounds_themselves_are_accepted(owner: OrgClient, in_db: SessionRunner) -> None:
    printer_id = await idle_printer(owner, in_db)
    r = await owner.post(url(printer_id), json={"lines": ["M117 " + "x" * 91] * 50})
    assert r.status_code == 202, r.text


async def test_refused_while_the_printer_is_busy_or_away(
    owner: OrgClient, in_db: SessionRunner
) -> None:
    printer = await make_printer(owner, agent_id=await make_agent(owner))
    assert_error(
        await owner.post(url(printer["id"]), json={"lines": ["M105"]}), 409, "printer_offline"
    )
    for status in ("printing", "paused", "busy"):
        await set_status(in_db, printer["id"], status)
        r = await owner.post(url(printer["id"]), json={"lines": ["M105"]})
        assert_error(r, 409, "printer_busy")
        assert status in r.json()["error"]["message"]
    # An agent-less printer (OctoPrint reached by the cloud) has nobody to send it.
    direct = await make_printer(owner, name="direct")
    await set_status(in_db, direct["id"], "idle")
    assert_error(
        await owner.post(url(direct["id"]), json={"lines": ["M105"]}), 409, "printer_offline"
    )
    # In error it may be sent (an M999 to recover, an M105 to look).
    await set_status(in_db, printer["id"], "error")
    assert (await owner.post(url(printer["id"]), json={"lines": ["M105"]})).status_code == 202


async def test_refused_while_a_copy_starts_on_the_printer(
    owner: OrgClient, in_db: SessionRunner, run_copy: Any
) -> None:
    printer_id = await idle_printer(owner, in_db)
    job = await upload_job(owner, printer_id=printer_id)
    await run_copy(job["id"], printer_id, started=False)  # assigned: its status says idle
    r = await owner.post(url(printer_id), json={"lines": ["M105"]})
    assert_error(r, 409, "printer_busy")
    assert job["id"] in r.json()["error"]["message"]


async def test_the_printers_reply_comes_back_through_the_bridge(
    owner: OrgClient, mqtt_broker: TestBroker
) -> None:
    agent_id, printer_id, _ = await setup_farm(owner)
    async with (
        running_bridge(owner, mqtt_broker),
        agent_double(mqtt_broker, owner.org.org_id, agent_id) as agent,
    ):
        await agent.status(AgentState.ONLINE, session=1)
        await agent.state(printer_id, PrinterStatus.IDLE)

        async def idle() -> bool:
            printer = (await owner.get(f"/v1/printers/{printer_id}")).json()
            return bool(printer["status"] == "idle")

        await eventually(idle)

        # The agent runs it and answers with the printer's lines.
        call = asyncio.create_task(owner.post(url(printer_id), json={"lines": ["M105"]}))
        command = await agent.next_command()
        assert isinstance(command, wire.RawGcode)
        assert (command.printer_id, command.lines) == (printer_id, ["M105"])
        await agent.reply(
            command.command_id, printer_id, message="T:210.0 /210.0 B:60.0 /60.0 @:0 B@:0"
        )
        response = await call
        assert response.status_code == 200, response.text
        out = response.json()
        assert (out["status"], out["replies"]) == ("ok", ["T:210.0 /210.0 B:60.0 /60.0 @:0 B@:0"])

        # The agent refuses a line: its code, and what it said, reach the caller.
        call = asyncio.create_task(owner.post(url(printer_id), json={"lines": ["M999 X"]}))
        command = await agent.next_command()
        await agent.reply(
            command.command_id,
            printer_id,
            ok=False,
            error=ErrorCode.INVALID_REQUEST,
            message="unknown command: 'M999 X'",
        )
        response = await call
        assert_error(response, 400, "invalid_request")
        assert "unknown command: 'M999 X'" in response.json()["error"]["message"]
