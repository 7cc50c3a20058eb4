"""The Printer page in a real Chromium against a real farm (tests/integration/farm.py): opened
from its Farm card, its details and status live, a temperature chart from the cloud's history
and the live telemetry, its job history, and for an admin the G-code console answered by the
simulated printer; a viewer's page has no write control; a phone's width.

Its screenshots in docs/screenshots/ are written here, from the same pages the flows check.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from tests.dashboard.support import (
    DESKTOP,
    PHONE,
    SCREENSHOTS,
    SHOWN_WITHIN_MS,
    api_key_of,
    card,
    sign_in,
    submit,
    viewer_key,
)
from tests.integration.farm import Farm
from tests.support.browser import chromium

pytestmark = pytest.mark.slow

PRUSA = "Prusa-A-01"


async def open_printer(page: Any, farm: Farm, name: str) -> Any:
    """From the Farm, as a user does: the card's name is the link to the printer's page."""
    await card(page, farm, name).get_by_role("link", name=name).click()
    await page.wait_for_url(re.compile(rf"/printers/{farm.printers[name]}$"))
    await page.get_by_role("heading", level=1, name=name).wait_for(timeout=SHOWN_WITHIN_MS)
    return page.get_by_test_id("printer-status")


async def chart_points(page: Any, series: str = "hotend") -> int:
    lines = page.locator(f'polyline[data-series="{series}"]')
    points = 0
    for n in range(await lines.count()):
        points += len((await lines.nth(n).get_attribute("points") or "").split())
    return points


async def chart_has_points(page: Any, at_least: int) -> int:
    """The chart's hotend line, polled with a deadline (the page's CSP rules out
    wait_for_function): the history the cloud kept, then ~1 Hz telemetry."""
    deadline = asyncio.get_running_loop().time() + SHOWN_WITHIN_MS / 1000
    while (points := await chart_points(page)) < at_least:
        assert asyncio.get_running_loop().time() < deadline, f"{points} points only"
        await asyncio.sleep(0.2)
    return points


async def shows(locator: Any, text: str | re.Pattern[str]) -> None:
    await locator.filter(has_text=text).first.wait_for(timeout=SHOWN_WITHIN_MS)


async def test_an_admin_follows_a_printer_its_chart_its_jobs_and_its_console(farm: Farm) -> None:
    printer_id = farm.printers[PRUSA]
    async with chromium() as browser:
        page = await browser.new_page(viewport=DESKTOP)
        await sign_in(page, farm, api_key_of(farm))
        status = await open_printer(page, farm, PRUSA)
        await shows(status.get_by_test_id("status"), "Idle")

        details = page.get_by_test_id("printer-details")
        await shows(details.get_by_test_id("detail-connection"), re.compile(r"^serial · serial://"))
        await shows(details.get_by_test_id("detail-agent"), "e2e-agent (online)")
        await shows(details.get_by_test_id("detail-firmware"), re.compile(r"\w"))
        await shows(details.get_by_test_id("assigned-spools"), "PLA · Black · 1000 of 1000 g left")
        # Never a key: the API has none to give, and the page shows none.
        assert "api_key" not in (await details.inner_text()).lower()

        # The chart: what the cloud recorded before the page opened, then live points.
        first = await chart_has_points(page, 3)
        await chart_has_points(page, first + 2)
        legend = page.locator(".temp-legend")
        await shows(legend, re.compile(r"Hotend: \d+(\.\d)? °C"))
        label = await page.get_by_test_id("temp-chart").locator("desc").text_content()
        assert label and label.startswith("The last 30 minutes")

        # A short job: the page follows it live, and it joins the job history once done.
        job = await submit(farm, "hook", "PLA", layers=2)
        await shows(status.get_by_test_id("status"), "Printing")
        await shows(status.locator(".job-name"), "hook")
        await shows(status.get_by_test_id("status"), "Idle")
        row = page.locator(f'[data-testid="job-row"][data-job-id="{job["id"]}"]')
        await shows(row, "completed")
        done = await farm.json("GET", "/v1/jobs", params={"printer_id": printer_id})
        assert [(j["id"], j["status"]) for j in done["data"]] == [(job["id"], "completed")]

        # The console: Enter sends, the printer's answer is appended, Up recalls the line.
        console = page.get_by_test_id("gcode-console")
        field = console.get_by_label("G-code", exact=True)
        await field.fill("M105")
        await field.press("Enter")
        log = console.get_by_role("log")
        await shows(log.locator(".console-entry.command"), "M105")
        await shows(log.locator(".console-entry.reply"), "T:")
        assert await field.input_value() == ""
        await field.press("ArrowUp")
        assert await field.input_value() == "M105"
        # A line the API refuses says why, where it was typed.
        await field.fill("M105 *")
        await console.get_by_role("button", name="Send").click()
        await shows(console.locator("#gcode-error"), "without *")
        # Cooled down by now, as the live telemetry says (the target known: "off").
        await shows(status.get_by_test_id("temp-hotend"), "(off)")
        await page.screenshot(
            path=str(SCREENSHOTS / "dashboard-printer-desktop.png"), full_page=True
        )


async def test_a_viewer_sees_the_printer_without_actions_or_console(farm: Farm) -> None:
    key = await viewer_key(farm)
    async with chromium() as browser:
        page = await browser.new_page(viewport=DESKTOP)
        await sign_in(page, farm, key)
        status = await open_printer(page, farm, "Ender-B-02")
        await shows(status.get_by_test_id("status"), "Idle")
        await chart_has_points(page, 1)
        assert await page.locator("[data-action]").count() == 0
        assert await page.get_by_test_id("gcode-console").count() == 0
        assert await page.get_by_label("G-code", exact=True).count() == 0
        # The API refuses a viewer's G-code anyway, cookie and CSRF token or not.
        refused = await page.evaluate(
            """async (id) => {
                const session = await (await fetch('/dashboard/api/session')).json();
                const r = await fetch(`/v1/printers/${id}/gcode`, {
                    method: 'POST', credentials: 'same-origin',
                    headers: {'Content-Type': 'application/json',
                              'X-CSRF-Token': session.csrf_token},
                    body: JSON.stringify({lines: ['M105']})});
                return [r.status, (await r.json()).error.code];
            }""",
            farm.printers["Ender-B-02"],
        )
        assert refused == [403, "insufficient_permissions"]


async def test_at_a_phones_width_the_printer_page_fits(farm: Farm) -> None:
    async with chromium() as browser:
        page = await browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
        await sign_in(page, farm, api_key_of(farm))
        status = await open_printer(page, farm, "Ender-B-02")
        await shows(status.get_by_test_id("status"), "Idle")
        await chart_has_points(page, 3)
        await shows(page.get_by_test_id("jobs-summary"), "No job has run on this printer yet.")
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{overflow} px wider than the phone"
        for control in (
            status.locator('[data-action="home"]'),
            page.get_by_label("G-code", exact=True),
            page.get_by_test_id("gcode-send"),
        ):
            box = await control.bounding_box()
            assert box is not None and box["height"] >= 40
            assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        await page.screenshot(path=str(SCREENSHOTS / "dashboard-printer-phone.png"), full_page=True)
        await status.locator('[data-action="home"]').tap()
        await shows(status.get_by_test_id("action-result"), re.compile(r"^Home: (done|sent)"))
