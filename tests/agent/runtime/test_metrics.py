"""The agent's /metrics: what a reading renders to, and the small HTTP server serving it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace

import httpx
from prometheus_client.parser import text_string_to_metric_families

from agent.drivers.base import LinkCounts
from agent.runtime.metrics import CONTENT_TYPE, SERIES, PrinterReading, Reading, render
from agent.runtime.metrics_server import MetricsServer
from agent.sync.outbox import Backlog
from shared.enums import PrinterStatus


def samples(text: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text.decode())
        for s in family.samples
    }


BASE = Reading(
    printers=[
        PrinterReading("prt_s", PrinterStatus.PRINTING, LinkCounts(1200, 3, 1)),
        PrinterReading("prt_o", PrinterStatus.OFFLINE, None),
    ],
    mqtt_connected=True,
    outbox=Backlog(rows=0, oldest_created_at=None),
    now_s=1000.0,
)


def test_a_reading_renders_every_series_of_the_contract() -> None:
    text = render(replace(BASE, outbox=Backlog(rows=4, oldest_created_at=940.0)))
    got = samples(text)
    assert got[("apf_agent_lines_sent_total", (("printer", "prt_s"),))] == 1200
    assert got[("apf_agent_resends_total", (("printer", "prt_s"),))] == 3
    assert got[("apf_agent_timeouts_total", (("printer", "prt_s"),))] == 1
    assert got[("apf_agent_outbox_depth", ())] == 4
    assert got[("apf_agent_outbox_oldest_age_seconds", ())] == 60.0
    assert got[("apf_agent_mqtt_connected", ())] == 1
    names = {name for name, _ in got}
    assert set(SERIES) <= names
    # The process collector is part of every scrape.
    assert {"process_cpu_seconds_total", "process_resident_memory_bytes"} <= names


def test_the_status_gauge_is_one_for_the_current_status_only() -> None:
    got = samples(render(BASE))
    for printer, current in (("prt_s", "printing"), ("prt_o", "offline")):
        row = {
            status.value: got[
                ("apf_agent_printer_status", (("printer", printer), ("status", status.value)))
            ]
            for status in PrinterStatus
        }
        assert row == {status.value: float(status.value == current) for status in PrinterStatus}


def test_printers_without_a_serial_link_have_no_link_counters() -> None:
    got = samples(render(BASE))
    assert ("apf_agent_lines_sent_total", (("printer", "prt_o"),)) not in got


def test_an_empty_outbox_and_a_clock_stepped_back_give_age_zero() -> None:
    assert samples(render(BASE))[("apf_agent_outbox_oldest_age_seconds", ())] == 0
    stepped = replace(BASE, outbox=Backlog(rows=1, oldest_created_at=1005.0))
    assert samples(render(stepped))[("apf_agent_outbox_oldest_age_seconds", ())] == 0
    offline = samples(render(replace(BASE, mqtt_connected=False)))
    assert offline[("apf_agent_mqtt_connected", ())] == 0


@asynccontextmanager
async def server(render_body: Callable[[], Awaitable[bytes]]) -> AsyncIterator[httpx.AsyncClient]:
    async with MetricsServer("127.0.0.1", 0, render_body, CONTENT_TYPE) as running:
        base = f"http://127.0.0.1:{running.port}"
        async with httpx.AsyncClient(base_url=base, timeout=5) as client:
            yield client


async def test_the_server_answers_get_metrics_and_nothing_else() -> None:
    async def body() -> bytes:
        return render(BASE)

    async with server(body) as client:
        response = await client.get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"] == CONTENT_TYPE
        assert "apf_agent_mqtt_connected 1.0" in response.text
        assert (await client.head("/metrics")).status_code == 200
        assert (await client.get("/")).status_code == 404
        refused = await client.post("/metrics", content=b"x")
        assert (refused.status_code, refused.headers["allow"]) == (405, "GET")


async def test_a_failing_scrape_is_a_500_and_the_server_goes_on() -> None:
    calls = 0

    async def flaky() -> bytes:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError("disk I/O error")
        return b"ok\n"

    async with server(flaky) as client:
        assert (await client.get("/metrics")).status_code == 500
        assert (await client.get("/metrics")).text == "ok\n"
