"""`apf agent scan` finds a printer on a pty by probing M115."""

from __future__ import annotations

import asyncio

import pytest

from agent.runtime.scan import config_snippet, scan_ports
from agent.sim import SimConfig, SimulatedPrinter
from apf.commands.scan_view import serial_table
from tests.support.render import rendered


async def test_scan_finds_the_simulated_printer_and_prints_a_snippet() -> None:
    async with SimulatedPrinter(SimConfig(dialect="prusa", baud=None)) as sim:
        results = await asyncio.to_thread(
            scan_ports, extra_ports=[sim.pty_path], bauds=[115200], timeout_s=5.0
        )
    found = [r for r in results if r.port.device == sim.pty_path]
    assert len(found) == 1
    result = found[0]
    assert result.baud == 115200
    assert result.firmware is not None and "prusa" in result.firmware.lower()
    assert result.profile == "prusa"
    assert sim.pty_path in rendered(serial_table(results), width=200)
    snippet = config_snippet(found)
    assert f'port = "{sim.pty_path}"' in snippet and 'profile = "prusa"' in snippet


async def test_scan_reports_a_port_that_does_not_answer(tmp_path: object) -> None:
    # A pty with nobody on the other side answers nothing.
    import os

    master, slave = os.openpty()
    try:
        path = os.ttyname(slave)
        results = await asyncio.to_thread(
            scan_ports, extra_ports=[path], bauds=[115200], timeout_s=0.5
        )
    finally:
        os.close(master)
        os.close(slave)
    (result,) = [r for r in results if r.port.device == path]
    assert result.firmware is None and result.error == "no M115 answer"


async def test_apf_agent_scan_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from apf.main import main

    async with SimulatedPrinter(SimConfig(dialect="marlin", baud=None)) as sim:
        argv = ["agent", "scan", "--port", sim.pty_path, "--baud", "250000", "--json"]
        assert await asyncio.to_thread(main, argv) == 0
    out = capsys.readouterr().out
    found = [r for r in json.loads(out) if r["port"]["device"] == sim.pty_path]
    assert found[0]["baud"] == 250000 and found[0]["profile"] == "marlin"
