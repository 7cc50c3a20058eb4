"""The Queue page in a real Chromium against a real farm (tests/dashboard/conftest.py): a
chosen file is analysed before it is queued, then prints; a dropped file that is not G-code
is refused with its reason; a queued job's priority, its cancel through the dialog and its
re-queue; a viewer's key; a phone's width. The page's screenshots in docs/screenshots/ are
written here."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest

from apf.demo.samples import SampleJob, sample_gcode
from shared.enums import Priority
from tests.dashboard.support import (
    DESKTOP,
    PHONE,
    SCREENSHOTS,
    SHOWN_WITHIN_MS,
    api_key_of,
    sign_in,
    submit,
    viewer_key,
)
from tests.integration.farm import Farm
from tests.support.browser import chromium

if TYPE_CHECKING:
    from playwright.async_api import FilePayload

pytestmark = pytest.mark.slow


def gcode_file(name: str, material: str, layers: int) -> FilePayload:
    data = sample_gcode(SampleJob(name, material, Priority.NORMAL, layers))
    return {"name": f"{name}.gcode", "mimeType": "text/x.gcode", "buffer": data}


async def open_queue(page: Any, farm: Farm, key: str) -> None:
    """Sign in (on the Farm), then go to the Queue as a user does: by its link."""
    await sign_in(page, farm, key)
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Queue").click()
    await page.get_by_role("heading", name="Queue", level=1).wait_for(timeout=SHOWN_WITHIN_MS)
    await page.get_by_test_id("summary").filter(has_text=" job").wait_for(timeout=SHOWN_WITHIN_MS)


def row(page: Any, name: str) -> Any:
    return page.get_by_test_id("job-row").filter(
        has=page.get_by_test_id("job-name").filter(has_text=re.compile(f"^{name}$"))
    )


async def show_tab(page: Any, label: str) -> None:
    await page.get_by_test_id("status-tabs").get_by_role("button", name=re.compile(label)).click()


async def jobs_named(farm: Farm, name: str) -> list[dict[str, Any]]:
    listed = await farm.json("GET", "/v1/jobs", params={"per_page": 100})
    return [job for job in listed["data"] if job["name"] == name]


async def test_a_chosen_file_is_analysed_then_queued_and_prints(farm: Farm) -> None:
    async with chromium() as browser:
        page = await browser.new_page(viewport=DESKTOP)
        await open_queue(page, farm, api_key_of(farm))
        # Long enough to be seen printing on a loaded machine's page, short enough to finish.
        await page.get_by_test_id("file-input").set_input_files(gcode_file("cube", "PLA", 20))
        # The analysis comes first: a time and grams, the form filled from it.
        analysis = page.get_by_test_id("analysis")
        await (
            analysis.get_by_test_id("analysis-time")
            .filter(has_text=re.compile(r"\d+ min \(the slicer's estimate\)"))
            .wait_for(timeout=SHOWN_WITHIN_MS)
        )
        assert re.search(
            r"\d+\.\d g", await analysis.get_by_test_id("analysis-filament").inner_text()
        )
        assert await page.get_by_label("Name").input_value() == "cube"
        assert await page.get_by_label("Material type").input_value() == "PLA"
        assert await jobs_named(farm, "cube") == []  # analysed, not queued
        await page.get_by_label("Copies").fill("1")
        await page.get_by_role("button", name="Queue it").click()
        await (
            page.get_by_test_id("upload-status")
            .filter(has_text="Queued “cube”.")
            .wait_for(timeout=SHOWN_WITHIN_MS)
        )
        (job,) = await jobs_named(farm, "cube")
        assert (job["priority"], job["material"]["type"], job["copies"]) == ("normal", "PLA", 1)
        assert job["estimated_duration"] and job["material"]["estimated_usage"]
        # Created queued; an idle PLA printer may have taken it already.
        assert job["status"] in ("queued", "assigned", "printing"), job["status"]
        # A printer is idle with PLA: the job leaves the queue, prints and completes; the
        # page follows the job's events without a reload.
        await show_tab(page, "Printing")
        await row(page, "cube").wait_for(timeout=SHOWN_WITHIN_MS)
        await show_tab(page, "Completed")
        done = row(page, "cube")
        await done.wait_for(timeout=SHOWN_WITHIN_MS)
        assert await done.get_attribute("data-status") == "completed"
        ended = await farm.json("GET", f"/v1/jobs/{job['id']}")
        assert (ended["status"], ended["printer_id"]) == ("completed", farm.printers["Prusa-A-01"])
        assert "Prusa-A-01" in await done.inner_text()
        assert "status=completed" in page.url


async def test_a_dropped_file_that_is_not_gcode_shows_why_and_queues_nothing(farm: Farm) -> None:
    async with chromium() as browser:
        page = await browser.new_page(viewport=DESKTOP)
        await open_queue(page, farm, api_key_of(farm))
        # Dropped on the zone, as from a file manager.
        dropped = await page.evaluate_handle(
            """() => {
                const data = new DataTransfer();
                data.items.add(new File(['milk\\neggs\\n'], 'notes.gcode', {type: 'text/plain'}));
                return data;
            }"""
        )
        await page.get_by_test_id("drop-zone").dispatch_event("drop", {"dataTransfer": dropped})
        refused = page.get_by_test_id("file-invalid")
        await refused.filter(has_text="no motion commands").wait_for(timeout=SHOWN_WITHIN_MS)
        assert "notes.gcode cannot be queued" in await refused.inner_text()
        assert await page.get_by_role("button", name="Queue it").is_hidden()
        listed = await farm.json("GET", "/v1/jobs")
        assert listed["pagination"]["total"] == 0


async def test_priority_cancel_and_requeue_of_waiting_jobs(farm: Farm) -> None:
    await farm.stop_agent()  # no printer takes a job: both stay queued
    first = await submit(farm, "bracket", "PLA", layers=5)
    second = await submit(farm, "clip", "PETG", layers=5)
    async with chromium() as browser:
        page = await browser.new_page(viewport=DESKTOP)
        await open_queue(page, farm, api_key_of(farm))
        rows = page.get_by_test_id("job-row")
        await row(page, "clip").wait_for(timeout=SHOWN_WITHIN_MS)
        assert await rows.get_by_test_id("job-name").all_inner_texts() == ["bracket", "clip"]

        # Urgent goes first: the list shows the queue's order, the API holds the priority.
        await row(page, "clip").get_by_label("Priority of clip").select_option("urgent")
        await (
            page.get_by_test_id("last-action")
            .filter(has_text="now urgent")
            .wait_for(timeout=SHOWN_WITHIN_MS)
        )
        assert (await farm.json("GET", f"/v1/jobs/{second['id']}"))["priority"] == "urgent"
        await rows.first.filter(has_text="clip").wait_for(timeout=SHOWN_WITHIN_MS)

        # A file analysed on the side, for the screenshot: the page as an operator sees it.
        await page.get_by_test_id("file-input").set_input_files(gcode_file("hinge", "PLA", 5))
        await page.get_by_test_id("analysis").wait_for(timeout=SHOWN_WITHIN_MS)
        await page.screenshot(path=str(SCREENSHOTS / "dashboard-queue-desktop.png"), full_page=True)
        await page.get_by_role("button", name="Discard").click()

        # Cancel asks first: "Keep the job" keeps it, "Cancel the job" cancels it.
        await row(page, "bracket").get_by_role("button", name="Cancel").click()
        dialog = page.locator("dialog[open]")
        await dialog.get_by_test_id("dialog-dismiss").click()
        assert (await farm.json("GET", f"/v1/jobs/{first['id']}"))["status"] == "queued"
        await row(page, "bracket").get_by_role("button", name="Cancel").click()
        await dialog.get_by_test_id("dialog-confirm").click()
        await row(page, "bracket").wait_for(state="detached", timeout=SHOWN_WITHIN_MS)
        assert (await farm.json("GET", f"/v1/jobs/{first['id']}"))["status"] == "cancelled"

        # Re-queue: a new job from the same stored file, the cancelled one kept as it was.
        await show_tab(page, "Cancelled")
        await row(page, "bracket").get_by_role("button", name="Re-queue").click()
        await (
            page.get_by_test_id("last-action")
            .filter(has_text="Queued again")
            .wait_for(timeout=SHOWN_WITHIN_MS)
        )
        again = [j for j in await jobs_named(farm, "bracket") if j["id"] != first["id"]]
        assert [(j["status"], j["file_url"], j["material"]["type"]) for j in again] == [
            ("queued", first["file_url"], "PLA")
        ]
        await show_tab(page, "Queued")
        await row(page, "bracket").wait_for(timeout=SHOWN_WITHIN_MS)


async def test_a_viewer_sees_the_queue_without_a_write_control(farm: Farm) -> None:
    await farm.stop_agent()
    await submit(farm, "bracket", "PLA", layers=5)
    key = await viewer_key(farm)
    async with chromium() as browser:
        page = await browser.new_page(viewport=DESKTOP)
        await open_queue(page, farm, key)
        await row(page, "bracket").wait_for(timeout=SHOWN_WITHIN_MS)
        assert await page.get_by_test_id("drop-zone").count() == 0
        assert await page.get_by_test_id("file-input").count() == 0
        assert await page.locator("main [data-action]").count() == 0
        assert await page.locator("main select").count() == 0
        assert "Normal" in await row(page, "bracket").inner_text()


async def test_at_a_phones_width_the_queue_fits(farm: Farm) -> None:
    await farm.stop_agent()
    await submit(farm, "bracket-with-a-rather-long-name-for-a-phone", "PLA", layers=5)
    await submit(farm, "clip", "PETG", layers=5)
    async with chromium() as browser:
        page = await browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
        await open_queue(page, farm, api_key_of(farm))
        await row(page, "clip").wait_for(timeout=SHOWN_WITHIN_MS)
        await page.evaluate("document.getElementById('queue-jobs-title').scrollIntoView()")
        await page.screenshot(path=str(SCREENSHOTS / "dashboard-queue-phone.png"), full_page=False)
        await page.get_by_test_id("file-input").set_input_files(gcode_file("hinge", "PLA", 5))
        await page.get_by_test_id("analysis").wait_for(timeout=SHOWN_WITHIN_MS)
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{overflow} px wider than the phone"
        cancel = row(page, "clip").get_by_role("button", name="Cancel")
        box = await cancel.bounding_box()
        assert box is not None and box["height"] >= 40 and box["x"] + box["width"] <= PHONE["width"]
        await page.get_by_role("button", name="Queue it").tap()
        await (
            page.get_by_test_id("upload-status")
            .filter(has_text="Queued “hinge”.")
            .wait_for(timeout=SHOWN_WITHIN_MS)
        )
        await row(page, "hinge").wait_for(timeout=SHOWN_WITHIN_MS)
        assert len(await jobs_named(farm, "hinge")) == 1
