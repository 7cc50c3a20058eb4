"""Printers from the cloud's retained config, merged with local ones, applied live."""

from __future__ import annotations

from pathlib import Path

import msgspec

from shared.enums import ErrorCode
from shared.wire import (
    DesiredConfig,
    PrinterConfig,
    SerialConnection,
    decode_agent_status,
    decode_printer_state,
    encode,
)
from shared.wire.topics import config_topic
from tests.agent.runtime.cloud import CloudStandIn, home
from tests.agent.runtime.harness import ORG, agent_config, running_agent, serial_printer
from tests.support.broker import TestBroker

AGENT = "agt_cfg"


def desired(revision: int, *printer_ids: str, port: str = "/dev/apf-test-none") -> DesiredConfig:
    return DesiredConfig(
        agent_id=AGENT,
        revision=revision,
        printers=[
            PrinterConfig(
                printer_id=pid, name=pid, connection=SerialConnection(port=f"{port}-{pid}")
            )
            for pid in printer_ids
        ],
    )


async def test_config_changes_apply_without_restart_and_survive_one(
    mqtt_broker: TestBroker, tmp_path: Path
) -> None:
    local = serial_printer("prt_local", str(tmp_path / "tty-local"))
    config = agent_config(mqtt_broker.url, tmp_path, agent_id=AGENT, printers=[local])
    async with (
        CloudStandIn(mqtt_broker.url, ORG, AGENT) as cloud,
        running_agent(config) as agent,
    ):
        await cloud.desired(desired(1, "prt_cloud", "prt_local"))
        await cloud.wait_for(lambda: cloud.on("printers/prt_cloud/state"))
        state = decode_printer_state(cloud.on("printers/prt_cloud/state")[-1].payload)
        assert state.connected is False
        # The local file wins for a printer both name.
        local_sup = agent.supervisor("prt_local")
        assert local_sup is not None
        assert isinstance(local_sup.printer.connection, SerialConnection)
        assert local_sup.printer.connection.port == str(tmp_path / "tty-local")
        await cloud.wait_for(
            lambda: any(
                decode_agent_status(m.payload).printer_ids == ["prt_cloud", "prt_local"]
                for m in cloud.on("status")
            )
        )
        await cloud.command(home("h1", "prt_cloud"))
        assert (await cloud.wait_reply("h1")).error == ErrorCode.PRINTER_OFFLINE

        await cloud.desired(desired(2))
        await cloud.wait_for(
            lambda: (
                "removed"
                in (
                    decode_printer_state(cloud.on("printers/prt_cloud/state")[-1].payload).message
                    or ""
                )
            )
        )
        await cloud.command(home("h2", "prt_cloud"))
        assert (await cloud.wait_reply("h2")).error == ErrorCode.UNKNOWN_PRINTER
        assert agent.supervisor("prt_local") is not None

        # A stale revision is ignored; a newer one brings the printer back.
        await cloud.desired(desired(1, "prt_cloud"))
        await cloud.command(home("h3", "prt_cloud"))
        assert (await cloud.wait_reply("h3")).error == ErrorCode.UNKNOWN_PRINTER
        await cloud.desired(desired(3, "prt_cloud"))
        await cloud.command(home("h4", "prt_cloud"))
        assert (await cloud.wait_reply("h4")).error == ErrorCode.PRINTER_OFFLINE

    # Restarted while the broker is down: the last desired config still drives printers.
    if mqtt_broker.supports_restart:
        mqtt_broker.stop()
        async with running_agent(config, connected=False) as agent:
            assert agent.supervisor("prt_cloud") is not None
            assert agent.supervisor("prt_local") is not None
        mqtt_broker.start()


async def test_a_printer_of_a_newer_cloud_is_left_out_and_the_others_are_driven(
    mqtt_broker: TestBroker, tmp_path: Path
) -> None:
    config = agent_config(mqtt_broker.url, tmp_path, agent_id=AGENT)
    raw = msgspec.json.decode(encode(desired(1, "prt_known")))
    raw["printers"].append(
        {"printer_id": "prt_later", "name": "later", "connection": {"kind": "duet"}}
    )
    async with (
        CloudStandIn(mqtt_broker.url, ORG, AGENT) as cloud,
        running_agent(config) as agent,
    ):
        await cloud.publish(config_topic(ORG, AGENT), msgspec.json.encode(raw), retain=True)
        await cloud.wait_for(lambda: cloud.on("printers/prt_known/state"))
        assert agent.supervisor("prt_known") is not None
        assert agent.supervisor("prt_later") is None
        await cloud.command(home("h1", "prt_later"))
        assert (await cloud.wait_reply("h1")).error == ErrorCode.UNKNOWN_PRINTER
        # Its retained state tells the dashboards why it stays offline.
        await cloud.wait_for(lambda: cloud.on("printers/prt_later/state"))
        state = decode_printer_state(cloud.on("printers/prt_later/state")[-1].payload)
        assert state.status == "offline" and state.connected is False
        assert "cannot drive this printer" in (state.message or "")
        assert "duet" in (state.message or "")
