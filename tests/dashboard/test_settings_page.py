"""The Settings page in a real Chromium against a real farm (tests/integration/farm.py): an
admin makes a read-only API key through the page, uses it, revokes it; invites someone, gets
the invitation's link once, and the invitee joins through it; renames the organization. A
viewer sees no write control. Both at a phone's width too."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.dashboard.support import (
    DESKTOP,
    PHONE,
    SCREENSHOTS,
    SHOWN_WITHIN_MS,
    api_key_of,
    base_url,
    sign_in,
    viewer_key,
)
from tests.integration.farm import Farm
from tests.support.browser import chromium

pytestmark = pytest.mark.slow

WRITE_CONTROLS = (
    '[data-testid="key-create"], [data-testid="invite-send"], [data-testid="org-save"], '
    '[data-action="revoke-key"], [data-action="revoke-invitation"], input[type="checkbox"]'
)


async def as_key(farm: Farm, key: str, method: str, url: str, **kw: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base_url(farm), timeout=30) as client:
        return await client.request(method, url, headers={"Authorization": f"Bearer {key}"}, **kw)


async def fits(page: Any) -> None:
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{overflow} px wider than the screen"


async def join(browser: Any, link: str, name: str) -> None:
    """Accept an invitation as its invitee does: the link in a fresh browser (no session)."""
    invitee = await browser.new_page(viewport=PHONE)
    await invitee.goto(link)
    await invitee.get_by_role("heading", name="Join an organization").wait_for()
    assert "#" not in invitee.url  # the token is taken off the address bar at once
    await invitee.get_by_label("Your name").fill(name)
    await invitee.screenshot(path=str(SCREENSHOTS / "dashboard-join-phone.png"), full_page=True)
    await invitee.get_by_test_id("join-accept").click()
    shown = invitee.get_by_test_id("join-key")
    await shown.wait_for(timeout=SHOWN_WITHIN_MS)
    key = await shown.input_value()
    assert key.startswith("apf_")
    assert "(viewer)" in await invitee.locator(".once-box", has=shown).inner_text()
    await fits(invitee)
    await invitee.get_by_test_id("join-continue").click()
    await invitee.wait_for_selector('[data-testid="printer-card"]', timeout=SHOWN_WITHIN_MS)
    assert invitee.url.endswith("/farm")
    # A viewer's key: the farm shows, no action is offered.
    assert await invitee.locator("[data-action]").count() == 0
    # The link works once.
    again = await browser.new_page(viewport=DESKTOP)
    await again.goto(link)
    await again.get_by_test_id("join-accept").click()
    await (
        again.get_by_test_id("join-error")
        .filter(has_text="already been accepted")
        .wait_for(timeout=SHOWN_WITHIN_MS)
    )
    await invitee.close()
    await again.close()


async def open_settings(page: Any) -> None:
    await page.get_by_role("link", name="Settings").click()
    await page.get_by_role("heading", name="Settings", level=1).wait_for()
    await page.get_by_test_id("user").first.wait_for(timeout=SHOWN_WITHIN_MS)


async def test_an_admin_makes_uses_and_revokes_a_key_and_invites_someone(farm: Farm) -> None:
    async with chromium() as browser:
        page = await browser.new_page(viewport=DESKTOP)
        await sign_in(page, farm, api_key_of(farm))
        await open_settings(page)
        keys = page.get_by_test_id("api-keys")
        own = keys.locator("tr", has_text="this browser's key")
        await own.wait_for(timeout=SHOWN_WITHIN_MS)

        # A read-only key: printers, read.
        await page.get_by_label("Name (optional)").fill("wall display")
        await page.get_by_test_id("scope-printers:read").check()
        await page.get_by_test_id("key-create").click()
        shown = page.get_by_test_id("new-key")
        await shown.wait_for(timeout=SHOWN_WITHIN_MS)
        key = await shown.input_value()
        assert key.startswith("apf_")
        box = page.locator(".once-box", has=shown)
        assert "not shown again" in await box.inner_text()
        assert await page.get_by_test_id("new-key-copy").is_visible()

        made = [
            k
            for k in (await farm.json("GET", "/v1/api-keys"))["data"]
            if k["name"] == "wall display"
        ]
        assert len(made) == 1 and made[0]["scopes"] == ["printers:read"]
        assert key.startswith(made[0]["prefix"]) and "key" not in made[0]
        row = keys.locator(f'[data-key-id="{made[0]["id"]}"]')
        await row.wait_for(timeout=SHOWN_WITHIN_MS)
        assert "printers: read" in await row.inner_text()
        assert (await as_key(farm, key, "GET", "/v1/printers")).status_code == 200
        write = await as_key(farm, key, "POST", "/v1/printers/x/actions", json={"action": "home"})
        assert write.status_code == 403, write.text

        # Revoke asks first: keeping it changes nothing, confirming ends the key at once.
        dialog = page.locator("dialog[open]")
        await row.locator('[data-action="revoke-key"]').click()
        await dialog.get_by_test_id("dialog-dismiss").click()
        await dialog.wait_for(state="detached")
        assert (await as_key(farm, key, "GET", "/v1/printers")).status_code == 200
        await row.locator('[data-action="revoke-key"]').click()
        assert "wall display" in await dialog.inner_text()
        await dialog.get_by_test_id("dialog-confirm").click()
        await page.get_by_test_id("key-result").filter(has_text="revoked").wait_for()
        refused = await as_key(farm, key, "GET", "/v1/printers")
        assert refused.status_code == 401, refused.text
        revoked = keys.locator(".revoked-keys")
        await revoked.locator("summary").click()
        listed = await revoked.locator(f'[data-key-id="{made[0]["id"]}"]').inner_text()
        assert "Revoked" in listed and "Never" not in listed  # its last use is shown

        # An invitation: its link once. The invitee opens it in a browser of their own,
        # names themselves, gets an API key once and is signed in with it.
        await page.get_by_label("Email").fill("ann@farm.test")
        await page.get_by_label("Role").select_option("viewer")
        await page.get_by_test_id("invite-send").click()
        link_field = page.get_by_test_id("invitation-link")
        await link_field.wait_for(timeout=SHOWN_WITHIN_MS)
        link = await link_field.input_value()
        assert link.startswith(f"{base_url(farm)}/join#token=inv_"), link
        token = link.partition("#token=")[2]
        assert "not shown again" in await page.locator(".once-box", has=link_field).inner_text()
        await join(browser, link, "Ann")

        # Another, listed as open until revoked; its link then finds nothing.
        await page.get_by_label("Email").fill("bob@farm.test")
        await page.get_by_test_id("invite-send").click()
        bobs = page.get_by_test_id("invitation").filter(has_text="bob@farm.test")
        await bobs.wait_for(timeout=SHOWN_WITHIN_MS)
        bob_link = await link_field.input_value()
        assert "ann@farm.test" not in await page.get_by_test_id("invitations").inner_text()
        await bobs.locator('[data-action="revoke-invitation"]').click()
        dialog = page.get_by_test_id("revoke-invitation-dialog")
        assert "bob@farm.test" in await dialog.inner_text()
        await dialog.get_by_test_id("dialog-confirm").click()
        await page.get_by_test_id("invite-result").filter(has_text="revoked").wait_for()
        await bobs.wait_for(state="detached", timeout=SHOWN_WITHIN_MS)
        assert (await farm.json("GET", "/v1/invitations"))["data"] == []
        late = await browser.new_page(viewport=DESKTOP)
        await late.goto(bob_link)
        await late.get_by_test_id("join-accept").click()
        await (
            late.get_by_test_id("join-error")
            .filter(has_text="No invitation")
            .wait_for(timeout=SHOWN_WITHIN_MS)
        )
        await late.close()

        # The organization: renamed through its form.
        # The organization: renamed through its form.
        await page.get_by_label("Name", exact=True).fill("Renamed farm")
        await page.get_by_test_id("org-save").click()
        await page.get_by_test_id("org-result").filter(has_text="Saved").wait_for()
        assert (await farm.json("GET", "/v1/organization"))["name"] == "Renamed farm"
        assert await page.get_by_test_id("org-name-shown").inner_text() == "Renamed farm"

        # Shown once: after a reload the secrets are gone from the page, the lists updated.
        await page.reload()
        await page.get_by_test_id("user").filter(has_text="ann@farm.test").wait_for()
        assert key not in await page.content() and token not in await page.content()
        await page.get_by_test_id("org-name-shown").filter(has_text="Renamed farm").wait_for()
        await keys.locator('[data-testid="api-key"]').first.wait_for()
        await page.screenshot(
            path=str(SCREENSHOTS / "dashboard-settings-desktop.png"), full_page=True
        )
        await page.set_viewport_size(PHONE)
        await fits(page)


async def test_a_viewer_sees_settings_without_any_write_control(farm: Farm) -> None:
    key = await viewer_key(farm)
    async with chromium() as browser:
        page = await browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
        await sign_in(page, farm, key)
        await open_settings(page)
        await page.get_by_test_id("org-name-shown").wait_for()
        assert await page.get_by_test_id("user").count() == 2  # the owner and the viewer
        assert await page.locator(WRITE_CONTROLS).count() == 0
        assert await page.locator("form").count() == 0
        section = page.get_by_test_id("section-api-keys")
        assert "admin scope" in await section.inner_text()
        # The open invitations are shown (there are none here), with nothing to revoke them.
        assert "No open invitations" in await page.get_by_test_id("section-users").inner_text()
        await fits(page)
