"""The dashboard in a real Chromium against a real farm: the cloud (API, bridge, live feed)
on a free port, a real broker, a real agent and simulated printers (tests/integration/farm.py).

Each flow is what an operator does: sign in, watch the printers live, act on them, sign
out; a viewer's key; a phone's width. The Farm page's screenshots in docs/screenshots/ are
written here, from the same pages the flows check.
"""

from __future__ import annotations

import re

import pytest

from tests.dashboard.support import (
    DESKTOP,
    PHONE,
    SCREENSHOTS,
    SHOWN_WITHIN_MS,
    SPECS,
    api_key_of,
    base_url,
    card,
    shows_status,
    sign_in,
    submit,
    viewer_key,
)
from tests.integration.farm import Farm
from tests.support.browser import chromium

pytestmark = pytest.mark.slow


async def test_an_operator_signs_in_watches_a_job_live_pauses_resumes_and_signs_out(
    farm: Farm,
) -> None:
    key = api_key_of(farm)
    async with chromium() as browser:
        context = await browser.new_context(viewport=DESKTOP)
        page = await context.new_page()
        await sign_in(page, farm, key)
        # The key is gone from the page once exchanged for the cookie.
        assert key not in await page.content()
        assert key not in page.url
        cookies = {c["name"]: c for c in await context.cookies()}
        assert cookies["apf_session"]["httpOnly"] and cookies["apf_session"]["sameSite"] == "Strict"
        assert await page.locator('[data-testid="printer-card"]').count() == len(SPECS)
        await shows_status(page, farm, "Prusa-A-01", "Idle")
        await (
            page.locator("#live-status")
            .filter(has_text=re.compile("^Live$"))
            .wait_for(timeout=SHOWN_WITHIN_MS)
        )

        # A job queued through the API prints on the PLA printer: the card follows it live.
        job = await submit(farm, "bracket", "PLA", layers=40)
        prusa = card(page, farm, "Prusa-A-01")
        await shows_status(page, farm, "Prusa-A-01", "Printing")
        await prusa.get_by_text("bracket").first.wait_for(timeout=SHOWN_WITHIN_MS)
        # Progress and temperatures arrive with the agent's telemetry, not by reloading.
        started = re.compile(r"^[1-9]\d* %$")
        await (
            prusa.locator(".progress-text")
            .filter(has_text=started)
            .wait_for(timeout=SHOWN_WITHIN_MS)
        )
        await page.screenshot(path=str(SCREENSHOTS / "dashboard-farm-desktop.png"))

        await prusa.locator('[data-action="pause"]').click()
        await shows_status(page, farm, "Prusa-A-01", "Paused")
        await prusa.locator('[data-action="resume"]').click()
        await shows_status(page, farm, "Prusa-A-01", "Printing")

        # Cancel asks first; the dialog's Cancel keeps the job, its Confirm ends it.
        await prusa.locator('[data-action="cancel"]').click()
        dialog = page.locator("dialog[open]")
        await dialog.wait_for(timeout=SHOWN_WITHIN_MS)
        await dialog.get_by_test_id("dialog-dismiss").click()
        await shows_status(page, farm, "Prusa-A-01", "Printing")
        await prusa.locator('[data-action="cancel"]').click()
        await dialog.get_by_test_id("dialog-confirm").click()
        await shows_status(page, farm, "Prusa-A-01", "Idle")
        ended = await farm.json("GET", f"/v1/jobs/{job['id']}")
        assert ended["status"] == "cancelled"

        await page.get_by_test_id("sign-out").click()
        await page.get_by_label("API key").wait_for(timeout=SHOWN_WITHIN_MS)
        # Signed out for good: the farm asks for the key again, the old cookie opens nothing.
        await page.goto(base_url(farm) + "/farm")
        await page.get_by_label("API key").wait_for(timeout=SHOWN_WITHIN_MS)
        await context.close()


async def test_a_viewer_sees_the_farm_without_a_single_write_button(farm: Farm) -> None:
    key = await viewer_key(farm)
    async with chromium() as browser:
        page = await browser.new_page(viewport=DESKTOP)
        await sign_in(page, farm, key)
        await shows_status(page, farm, "Ender-B-02", "Idle")
        assert await page.locator("[data-action]").count() == 0
        # The API refuses its writes anyway, cookie and CSRF token or not.
        refused = await page.evaluate(
            """async (id) => {
                const session = await (await fetch('/dashboard/api/session')).json();
                const r = await fetch(`/v1/printers/${id}/actions`, {
                    method: 'POST', credentials: 'same-origin',
                    headers: {'Content-Type': 'application/json',
                              'X-CSRF-Token': session.csrf_token},
                    body: JSON.stringify({action: 'home'})});
                return [r.status, (await r.json()).error.code];
            }""",
            farm.printers["Ender-B-02"],
        )
        assert refused == [403, "insufficient_permissions"]


async def test_at_a_phones_width_the_farm_fits_and_its_buttons_work(farm: Farm) -> None:
    key = api_key_of(farm)
    async with chromium() as browser:
        page = await browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
        await sign_in(page, farm, key)
        await shows_status(page, farm, "Ender-B-02", "Idle")
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{overflow} px wider than the phone"
        await submit(farm, "clip", "PETG", layers=40)
        await shows_status(page, farm, "Ender-B-02", "Printing")
        ender = card(page, farm, "Ender-B-02")
        box = await ender.locator('[data-action="pause"]').bounding_box()
        assert box is not None and box["height"] >= 40 and box["x"] + box["width"] <= PHONE["width"]
        await page.screenshot(path=str(SCREENSHOTS / "dashboard-farm-phone.png"), full_page=False)
        await ender.locator('[data-action="pause"]').tap()
        await shows_status(page, farm, "Ender-B-02", "Paused")
