"""The Analytics page in a real Chromium against a real farm (tests/integration/farm.py): a
job the farm printed is counted in its figures and charts, the period lives in the URL and
changes the figures, and the page fits a phone."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.dashboard.support import (
    DESKTOP,
    PHONE,
    SCREENSHOTS,
    SHOWN_WITHIN_MS,
    api_key_of,
    base_url,
    sign_in,
    submit,
    viewer_key,
)
from tests.integration.farm import Farm
from tests.support.browser import chromium

pytestmark = pytest.mark.slow


async def printed(farm: Farm, name: str) -> Any:
    """A short job, printed to the end by the farm; the job as the API then holds it."""
    job = await submit(farm, name, "PLA", layers=2)

    async def done() -> Any:
        found = await farm.json("GET", f"/v1/jobs/{job['id']}")
        assert found["status"] not in ("failed", "cancelled"), found
        return found if found["status"] == "completed" else None

    return await farm.wait_for(done, timeout_s=60, what=f"job {name} completed")


async def figure(page: Any, name: str, text: str) -> None:
    """Wait until the figure tile `name` reads exactly `text`."""
    value = page.get_by_test_id(f"figure-{name}").locator("dd")
    await value.filter(has_text=re.compile(f"^{re.escape(text)}$")).wait_for(
        timeout=SHOWN_WITHIN_MS
    )


async def test_a_printed_job_is_counted_and_the_period_follows_the_url(farm: Farm) -> None:
    await printed(farm, "cube")
    fleet = (await farm.json("GET", "/v1/analytics/fleet"))["metrics"]
    assert fleet["jobs_completed"] == 1 and fleet["success_rate"] == 100.0
    prusa_id = farm.printers["Prusa-A-01"]
    await farm.json("PATCH", f"/v1/printers/{prusa_id}", json={"group": "shelf A"})
    async with chromium() as browser:
        page = await browser.new_page(viewport=DESKTOP)
        await sign_in(page, farm, api_key_of(farm))
        await page.get_by_role("link", name="Analytics").click()
        await page.get_by_role("heading", name="Analytics", level=1).wait_for()
        await figure(page, "jobs-completed", "1")
        await figure(page, "success-rate", "100 %")
        await figure(page, "active-printers", f"{fleet['active_printers']} of 2")

        # Prints by outcome: a drawing with a bar per outcome, each value as text.
        outcomes = page.get_by_test_id("chart-outcomes")
        drawing = outcomes.locator("svg[role=img]")
        label = await drawing.get_attribute("aria-label")
        assert label is not None and "1 completed, 0 failed, 0 cancelled" in label
        assert await outcomes.locator("rect.bar").count() == 3
        assert await outcomes.locator("rect.bar.completed").count() == 1
        values = await outcomes.locator("text.bar-value").all_text_contents()
        assert values == ["1", "0", "0"]
        assert "100 %" in await outcomes.locator("figcaption").inner_text()
        await page.screenshot(
            path=str(SCREENSHOTS / "dashboard-analytics-desktop.png"), full_page=True
        )
        # The same figures as a table, behind its toggle.
        await outcomes.get_by_text("Show the figures as a table").click()
        completed_row = outcomes.locator("table tbody tr").first
        assert await completed_row.locator("th, td").all_text_contents() == ["Completed", "1"]

        # Utilisation: the fleet's bar and one per printer. (The figures fall as the period,
        # which ends now, grows past the print: the test compares what printed, not values.)
        utilisation = page.get_by_test_id("chart-utilisation")
        assert await utilisation.locator("rect.bar").count() == 3
        names = await utilisation.locator("text.bar-label").all_text_contents()
        assert names == ["All printers", "Ender-B-02", "Prusa-A-01"]
        fleet_rate, ender, prusa = await utilisation.locator("text.bar-value").all_text_contents()
        assert re.fullmatch(r"\d+(\.\d)? %", fleet_rate) and fleet_rate != "0 %"
        assert ender == "0 %" and prusa != "0 %"  # the PLA job printed on the PLA printer

        # Jobs per day: today's column holds the completed job.
        days = page.get_by_test_id("chart-jobs-per-day")
        assert await days.locator("rect.bar.completed").count() == 1
        assert "1 completed" in (
            await days.locator("rect.bar.completed title").text_content() or ""
        )
        materials = page.get_by_test_id("chart-materials")
        used = (await farm.json("GET", "/v1/analytics/materials"))["data"]
        if any(row["consumed"] > 0 for row in used):
            assert "PLA" in " ".join(await materials.locator("text.bar-label").all_text_contents())
        else:
            await materials.get_by_text("No material was used in this period.").wait_for()

        # Another period: the URL says it, and a past week shows none of today's job.
        await page.get_by_label("Period", exact=True).select_option("30d")
        await page.wait_for_url(re.compile(r"/analytics\?period=30d$"))
        await figure(page, "jobs-completed", "1")
        # One group's printers: the group joins the URL; the other printer leaves the chart.
        await page.get_by_label("Group").select_option("shelf A")
        await page.wait_for_url(re.compile(r"/analytics\?period=30d&group=shelf\+A$"))
        labels = utilisation.locator("text.bar-label")
        await labels.filter(has_text="Group shelf A").wait_for(timeout=SHOWN_WITHIN_MS)
        assert await labels.all_text_contents() == ["Group shelf A", "Prusa-A-01"]
        await figure(page, "jobs-completed", "1")
        await figure(page, "active-printers", "1 of 1")
        await page.get_by_label("Period", exact=True).select_option("custom")
        await page.get_by_label("From (UTC)").fill("2020-01-01")
        await page.get_by_label("To (UTC, included)").fill("2020-01-07")
        await page.get_by_test_id("period-apply").click()
        await page.wait_for_url(
            re.compile(r"period=custom&from=2020-01-01&to=2020-01-07&group=shelf\+A$")
        )
        await figure(page, "jobs-completed", "0")
        await outcomes.get_by_text("No prints ended in this period.").wait_for()
        period = page.get_by_test_id("analytics-period")
        assert "2020-01-01 00:00 to 2020-01-07 23:59 UTC" in await period.inner_text()
        # A reload (or a bookmark) keeps the period.
        await page.reload()
        await figure(page, "jobs-completed", "0")
        assert await page.get_by_label("From (UTC)").input_value() == "2020-01-01"
        assert await page.get_by_label("Group").input_value() == "shelf A"
        back = await farm.json("GET", "/v1/analytics/jobs?from=2020-01-01&to=2020-01-07")
        assert back["metrics"]["total"] == 0


async def test_a_viewer_sees_the_charts_on_a_phone(farm: Farm) -> None:
    key = await viewer_key(farm)
    async with chromium() as browser:
        page = await browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
        await sign_in(page, farm, key)
        await page.goto(base_url(farm) + "/analytics?period=24h")
        await figure(page, "jobs-completed", "0")
        assert await page.get_by_label("Period", exact=True).input_value() == "24h"
        drawing = page.get_by_test_id("chart-utilisation").locator("svg[role=img]")
        await drawing.wait_for()
        box = await drawing.bounding_box()
        assert box is not None and box["x"] + box["width"] <= PHONE["width"]
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{overflow} px wider than the phone"
        # The drawing is made at the width it has: its text keeps a readable size.
        size = await page.locator("svg.chart-svg text.bar-label").first.evaluate(
            "t => t.getBoundingClientRect().height"
        )
        assert size >= 12
