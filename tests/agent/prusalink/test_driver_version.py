"""The printer's firmware in the PrusaLink driver's snapshots, when PrusaLink learns it late.

Just after it starts, PrusaLink answers `/api/version` without the printer's firmware (it
has not read it over serial yet), and may report IDLE meanwhile. That timing cannot be
provoked on demand against the real PrusaLink, so a transport stands in for it here."""

from __future__ import annotations

import asyncio

import httpx

from agent.drivers.prusalink import PrusaLinkConfig, PrusaLinkDriver
from agent.drivers.prusalink.driver import VERSION_RETRY_POLLS
from shared.enums import PrinterStatus
from tests.support.drivers import Recorder, supervised

FIRMWARE_AFTER = 3  # /api/version answers with the firmware from its third reading on


def prusalink_learning_its_firmware() -> tuple[httpx.MockTransport, list[str], asyncio.Event]:
    asked: list[str] = []
    requested = asyncio.Event()

    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        asked.append(path)
        requested.set()
        if path == "/api/version":
            readings = asked.count(path)
            known = {"firmware": "3.14.1-8237"} if readings >= FIRMWARE_AFTER else {}
            return httpx.Response(200, json={"server": "0.8.1", **known})
        if path == "/api/v1/storage":
            local = {"path": "/local", "available": True, "read_only": False}
            return httpx.Response(200, json={"storage_list": [local]})
        if path == "/api/v1/status":
            printer = {"state": "IDLE", "temp_nozzle": 21.0, "temp_bed": 20.5}
            return httpx.Response(200, json={"printer": printer})
        return httpx.Response(404)

    return httpx.MockTransport(answer), asked, requested


async def test_the_firmware_is_asked_again_until_prusalink_knows_it() -> None:
    transport, asked, requested = prusalink_learning_its_firmware()
    config = PrusaLinkConfig(
        url="http://prusalink.test", username="maker", password="secret", poll_interval_s=0.01
    )
    recorder = Recorder()
    driver = PrusaLinkDriver(config, recorder, transport=transport)
    async with supervised(driver):
        idle = await recorder.wait_for(
            lambda: driver.snapshot if driver.snapshot.status is PrinterStatus.IDLE else None,
            10,
            "idle",
        )
        assert idle.firmware == "PrusaLink 0.8.1"  # not known yet, and said so
        known = "PrusaLink 0.8.1, firmware 3.14.1-8237"
        await recorder.wait_for(lambda: driver.snapshot.firmware == known, 10, "the firmware")
        polls_then = asked.count("/api/v1/status")
        async with asyncio.timeout(10):  # more polls, without another reading
            while asked.count("/api/v1/status") < polls_then + 3 * VERSION_RETRY_POLLS:
                requested.clear()
                await requested.wait()
    # Asked again every VERSION_RETRY_POLLS polls until known, then never again.
    assert asked.count("/api/version") == FIRMWARE_AFTER
    assert polls_then >= (FIRMWARE_AFTER - 1) * VERSION_RETRY_POLLS
