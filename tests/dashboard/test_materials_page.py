"""The Materials page in a real Chromium against a real farm (tests/integration/farm.py):
an operator adds a spool through the form and edits what is left on it, a spool under its
reorder threshold says Low, a viewer gets no write control, and the page fits a phone. Each
step is checked on the page and in the API."""

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
    submit,
    viewer_key,
)
from tests.integration.farm import Farm
from tests.support.browser import chromium

pytestmark = pytest.mark.slow


async def open_materials(page: Any, farm: Farm, key: str) -> None:
    await page.goto(base_url(farm) + "/materials")
    await page.get_by_label("API key").fill(key)
    await page.get_by_role("button", name="Sign in").click()
    # The farm's two spools (PLA Black on the Prusa, PETG Blue on the Ender) are listed.
    await page.get_by_test_id("spool").nth(1).wait_for(timeout=SHOWN_WITHIN_MS)


def spool_card(page: Any, material_id: str) -> Any:
    return page.locator(f'[data-material-id="{material_id}"]')


async def test_an_operator_adds_a_spool_then_edits_what_is_left(farm: Farm) -> None:
    async with chromium() as browser:
        page = await browser.new_page(viewport=DESKTOP)
        await open_materials(page, farm, api_key_of(farm))
        prusa = spool_card(page, farm.spools[farm.printers["Prusa-A-01"]])
        await prusa.get_by_text("Prusa-A-01").wait_for(timeout=SHOWN_WITHIN_MS)
        assert await prusa.get_by_test_id("spool-badge").count() == 0

        await page.get_by_test_id("add-spool").click()
        dialog = page.locator("dialog[open]")
        await dialog.get_by_label("Type").fill("ASA")
        await dialog.get_by_label("Brand").fill("Polymaker")
        await dialog.get_by_label("Colour").fill("Orange")
        await dialog.get_by_label("Spool weight (g)").fill("750")
        # More left than the spool holds: the API refuses, and says so by the field it names.
        await dialog.get_by_label("Remaining (g)").fill("900")
        await dialog.get_by_label("Cost per kg").fill("31.5")
        await dialog.get_by_label("Low at or under (g)").fill("200")
        await dialog.get_by_label("Printer").select_option(label="Ender-B-02")
        await dialog.get_by_test_id("spool-save").click()
        error = dialog.locator("#spool-remaining-error")
        await error.filter(has_text="cannot exceed").wait_for(timeout=SHOWN_WITHIN_MS)
        assert await dialog.get_by_label("Remaining (g)").get_attribute("aria-invalid") == "true"
        await dialog.get_by_label("Remaining (g)").fill("600")
        await dialog.get_by_test_id("spool-save").click()
        await dialog.wait_for(state="detached", timeout=SHOWN_WITHIN_MS)

        # In the API as entered, and on the page.
        listed = await farm.json("GET", "/v1/materials", params={"type": "ASA"})
        [created] = listed["data"]
        assert created["brand"] == "Polymaker" and created["color"] == "Orange"
        assert (created["spool_weight"], created["remaining_weight"]) == (750, 600)
        assert created["cost_per_kg"] == 31.5
        assert created["printer_id"] == farm.printers["Ender-B-02"]
        assert created["reorder_threshold"] == 200 and created["status"] == "active"
        asa = spool_card(page, created["id"])
        await asa.get_by_text("600 g of 750 g · 80 %").wait_for(timeout=SHOWN_WITHIN_MS)
        await asa.get_by_text("Ender-B-02").wait_for()
        await asa.get_by_text("31.5 per kg").wait_for()
        assert await asa.get_by_test_id("remaining-bar").get_attribute("value") == "600"

        # Edit what is left: the bar and the API follow (under its threshold now: Low); only
        # that field is sent.
        sent: list[Any] = []
        page.on(
            "request",
            lambda r: sent.append(r.post_data_json) if r.method == "PATCH" else None,
        )
        await asa.locator('[data-action="edit"]').click()
        await dialog.get_by_label("Remaining (g)").fill("150")
        await dialog.get_by_test_id("spool-save").click()
        await asa.get_by_text("150 g of 750 g · 20 %").wait_for(timeout=SHOWN_WITHIN_MS)
        assert await asa.get_by_test_id("remaining-bar").get_attribute("value") == "150"
        await asa.get_by_test_id("spool-badge").filter(has_text="Low").wait_for()
        assert sent == [{"remaining_weight": 150}]
        edited = await farm.json("GET", f"/v1/materials/{created['id']}")
        assert edited["remaining_weight"] == 150 and edited["status"] == "low"
        await page.screenshot(path=str(SCREENSHOTS / "dashboard-materials-desktop.png"))

        # Delete asks first; keeping it keeps it, confirming removes it here and in the API.
        await asa.locator('[data-action="delete"]').click()
        await page.locator("dialog[open]").get_by_test_id("dialog-dismiss").click()
        assert await asa.count() == 1
        await asa.locator('[data-action="delete"]').click()
        await page.locator("dialog[open]").get_by_test_id("dialog-confirm").click()
        await asa.wait_for(state="detached", timeout=SHOWN_WITHIN_MS)
        gone = await farm.api.get(f"/v1/materials/{created['id']}")
        assert gone.status_code == 404


async def test_a_spool_under_its_reorder_threshold_is_marked_low(farm: Farm) -> None:
    ender_spool = farm.spools[farm.printers["Ender-B-02"]]
    async with chromium() as browser:
        page = await browser.new_page(viewport=DESKTOP)
        await open_materials(page, farm, api_key_of(farm))
        ender = spool_card(page, ender_spool)
        await ender.locator('[data-action="edit"]').click()
        dialog = page.locator("dialog[open]")
        await dialog.get_by_label("Low at or under (g)").fill("250")
        await dialog.get_by_label("Remaining (g)").fill("200")
        await dialog.get_by_test_id("spool-save").click()
        badge = ender.get_by_test_id("spool-badge")
        await badge.filter(has_text=re.compile(r"\bLow$")).wait_for(timeout=SHOWN_WITHIN_MS)
        assert await ender.get_attribute("data-status") == "low"
        assert (await farm.json("GET", f"/v1/materials/{ender_spool}"))["status"] == "low"
        await page.get_by_test_id("summary").filter(has_text="1 low").wait_for()

        # A spool used up elsewhere (the API, as a finished print does) says Empty on refresh.
        await farm.json("PATCH", f"/v1/materials/{ender_spool}", json={"remaining_weight": 0})
        await page.reload()
        await badge.filter(has_text=re.compile(r"\bEmpty$")).wait_for(timeout=SHOWN_WITHIN_MS)


async def test_a_finished_print_lowers_its_spool_on_the_open_page(farm: Farm) -> None:
    prusa_spool = farm.spools[farm.printers["Prusa-A-01"]]
    async with chromium() as browser:
        page = await browser.new_page(viewport=DESKTOP)
        await open_materials(page, farm, api_key_of(farm))
        left = spool_card(page, prusa_spool).get_by_test_id("remaining-text")
        await left.filter(has_text="1,000 g of 1,000 g").wait_for(timeout=SHOWN_WITHIN_MS)
        job = await submit(farm, "washer", "PLA", layers=6)
        # No reload: the page loads the spools again after the job's end on the live feed.
        await left.filter(has_text=re.compile(r"^9\d\d(\.\d)? g of 1,000 g")).wait_for(
            timeout=SHOWN_WITHIN_MS
        )
        assert (await farm.json("GET", f"/v1/jobs/{job['id']}"))["status"] == "completed"
        spool = await farm.json("GET", f"/v1/materials/{prusa_spool}")
        assert 0 < spool["remaining_weight"] < 1000


async def test_a_viewer_sees_the_spools_without_a_write_control(farm: Farm) -> None:
    key = await viewer_key(farm)
    async with chromium() as browser:
        page = await browser.new_page(viewport=DESKTOP)
        await open_materials(page, farm, key)
        assert await page.get_by_test_id("add-spool").count() == 0
        assert await page.locator("[data-action]").count() == 0
        assert await page.locator("dialog").count() == 0
        await page.get_by_text("PETG").first.wait_for()


async def test_at_a_phones_width_the_materials_page_fits(farm: Farm) -> None:
    async with chromium() as browser:
        page = await browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
        await open_materials(page, farm, api_key_of(farm))
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{overflow} px wider than the phone"
        edit = page.locator('[data-action="edit"]').first
        box = await edit.bounding_box()
        assert box is not None and box["height"] >= 40
        # The form fits too.
        await page.get_by_test_id("add-spool").tap()
        dialog = page.locator("dialog[open]")
        await dialog.get_by_label("Type").wait_for()
        dialog_box = await dialog.bounding_box()
        assert dialog_box is not None and dialog_box["x"] >= 0
        assert dialog_box["x"] + dialog_box["width"] <= PHONE["width"]
