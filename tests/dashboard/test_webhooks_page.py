"""The Webhooks page in a real Chromium against a real farm (tests/integration/farm.py),
with a real receiver on 127.0.0.1 (the farm's cloud allows private URLs, as an on-premise
farm does): an operator adds an endpoint, sees its secret once, sends a test that arrives
signed with that secret and shows in the delivery log, disables, edits and deletes it; a
viewer gets no write control; the page fits a phone. Each step is checked on the page and in
the API."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from autoprintfarm import webhooks
from cloud.webhooks.events import EVENT_NAMES, WILDCARDS
from tests.cloud.webhooks.receiver import WebhookReceiver
from tests.dashboard.support import (
    DESKTOP,
    PHONE,
    SCREENSHOTS,
    SHOWN_WITHIN_MS,
    api_key_of,
    base_url,
    viewer_key,
)
from tests.integration.farm import Farm
from tests.support.browser import chromium

FORM_JS = Path(__file__).resolve().parents[2] / "cloud/dashboard/static/webhooks-form.js"


def test_the_form_offers_exactly_the_event_names_the_api_accepts() -> None:
    offered = set(re.findall(r'"([a-z]+\.[a-z]+)"', FORM_JS.read_text()))
    families = set(re.findall(r'family: "([a-z]+)"', FORM_JS.read_text()))
    assert offered == set(EVENT_NAMES)
    assert {f"{family}.*" for family in families} == set(WILDCARDS)


async def open_webhooks(page: Any, farm: Farm, key: str) -> None:
    await page.goto(base_url(farm) + "/webhooks")
    await page.get_by_label("API key").fill(key)
    await page.get_by_role("button", name="Sign in").click()
    await (
        page.get_by_test_id("summary").filter(has_text="endpoint").wait_for(timeout=SHOWN_WITHIN_MS)
    )


def endpoint(page: Any, webhook_id: str) -> Any:
    return page.locator(f'[data-webhook-id="{webhook_id}"]')


@pytest.mark.slow
async def test_an_operator_adds_an_endpoint_and_its_test_arrives_signed(farm: Farm) -> None:
    async with WebhookReceiver() as receiver, chromium() as browser:
        context = await browser.new_context(viewport=DESKTOP)
        await context.grant_permissions(["clipboard-read", "clipboard-write"])
        page = await context.new_page()
        await open_webhooks(page, farm, api_key_of(farm))
        await page.get_by_test_id("summary").filter(has_text="No endpoints yet").wait_for()

        await page.get_by_test_id("add-webhook").click()
        form = page.locator("dialog[open]")
        await form.get_by_label("URL").fill(receiver.url())
        # No event ticked: the API refuses, and the page says so by the events.
        await form.get_by_test_id("webhook-save").click()
        refusal = form.locator("#webhook-events-error")
        await refusal.filter(has_text="at least one event").wait_for(timeout=SHOWN_WITHIN_MS)
        await form.get_by_label("Every job event (job.*)").check()
        await form.get_by_label("material.low").check()
        await form.get_by_test_id("webhook-save").click()

        # The secret, once, with a copy button and the warning.
        shown = page.get_by_test_id("webhook-secret")
        await shown.wait_for(timeout=SHOWN_WITHIN_MS)
        secret = await shown.input_value()
        assert secret.startswith("whsec_")
        secret_dialog = page.locator("dialog[open]")
        await secret_dialog.get_by_text("will not be shown again").wait_for()
        await secret_dialog.get_by_test_id("copy-secret").click()
        await secret_dialog.get_by_test_id("copy-result").filter(has_text="Copied").wait_for()
        assert await page.evaluate("navigator.clipboard.readText()") == secret
        await secret_dialog.get_by_test_id("secret-done").click()
        await secret_dialog.wait_for(state="detached")
        assert secret not in await page.content()

        [created] = (await farm.json("GET", "/v1/webhooks"))["data"]
        assert created["url"] == receiver.url()
        assert created["events"] == ["job.*", "material.low"] and created["enabled"]
        assert "secret" not in created
        card = endpoint(page, created["id"])
        await card.get_by_test_id("webhook-state").filter(has_text="Active").wait_for()

        # Send test: the answer on the card, the attempt in the log, a signed request received.
        await card.locator('[data-action="test"]').click()
        await (
            card.get_by_test_id("action-result")
            .filter(has_text="Test delivered: the receiver answered HTTP 200")
            .wait_for(timeout=SHOWN_WITHIN_MS)
        )
        rows = card.get_by_test_id("delivery")
        await rows.first.wait_for(timeout=SHOWN_WITHIN_MS)
        assert await rows.count() == 1
        first = rows.first
        assert await first.get_attribute("data-event") == "webhook.test"
        assert await first.get_attribute("data-success") == "true"
        await first.get_by_text("HTTP 200").wait_for()
        [request] = receiver.received
        event = webhooks.verify(request.body, request.headers, secret)
        assert event.type == "webhook.test"
        await page.screenshot(path=str(SCREENSHOTS / "dashboard-webhooks-desktop.png"))

        # A test sent elsewhere (the API) shows after the log's Refresh.
        await farm.json("POST", f"/v1/webhooks/{created['id']}/test")
        await card.get_by_test_id("log-refresh").click()
        await rows.nth(1).wait_for(timeout=SHOWN_WITHIN_MS)
        await card.get_by_test_id("log-status").filter(has_text="2 attempts").wait_for()

        # Disable, then edit the events: the API follows each.
        await card.locator('[data-action="toggle"]').click()
        await card.get_by_test_id("webhook-state").filter(has_text="Disabled").wait_for()
        assert not (await farm.json("GET", f"/v1/webhooks/{created['id']}"))["enabled"]
        await card.locator('[data-action="toggle"]').filter(has_text="Enable").click()
        await card.get_by_test_id("webhook-state").filter(has_text="Active").wait_for()
        await card.locator('[data-action="edit"]').click()
        await form.get_by_label("printer.offline").check()
        await form.get_by_label("material.low").uncheck()
        await form.get_by_test_id("webhook-save").click()
        await card.get_by_text("printer.offline").wait_for(timeout=SHOWN_WITHIN_MS)
        edited = await farm.json("GET", f"/v1/webhooks/{created['id']}")
        assert edited["events"] == ["job.*", "printer.offline"] and edited["enabled"]

        # Delete asks first.
        await card.locator('[data-action="delete"]').click()
        await page.locator("dialog[open]").get_by_test_id("dialog-dismiss").click()
        assert await card.count() == 1
        await card.locator('[data-action="delete"]').click()
        await page.locator("dialog[open]").get_by_test_id("dialog-confirm").click()
        await card.wait_for(state="detached", timeout=SHOWN_WITHIN_MS)
        assert (await farm.json("GET", "/v1/webhooks"))["data"] == []
        await context.close()


async def _endpoint_with_a_test(farm: Farm, receiver: WebhookReceiver) -> str:
    created = await farm.json(
        "POST", "/v1/webhooks", json={"url": receiver.url(), "events": ["printer.*"]}
    )
    await farm.json("POST", f"/v1/webhooks/{created['id']}/test")
    return str(created["id"])


@pytest.mark.slow
async def test_a_viewer_reads_endpoints_and_their_log_without_a_write_control(
    farm: Farm,
) -> None:
    async with WebhookReceiver() as receiver, chromium() as browser:
        webhook_id = await _endpoint_with_a_test(farm, receiver)
        page = await browser.new_page(viewport=DESKTOP)
        await open_webhooks(page, farm, await viewer_key(farm))
        card = endpoint(page, webhook_id)
        await card.get_by_text("Delivery log").click()
        await card.get_by_test_id("delivery").first.wait_for(timeout=SHOWN_WITHIN_MS)
        assert await page.get_by_test_id("add-webhook").count() == 0
        assert await page.locator("[data-action]").count() == 0
        assert await page.locator("dialog").count() == 0


@pytest.mark.slow
async def test_at_a_phones_width_the_webhooks_page_fits(farm: Farm) -> None:
    async with WebhookReceiver() as receiver, chromium() as browser:
        webhook_id = await _endpoint_with_a_test(farm, receiver)
        page = await browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
        await open_webhooks(page, farm, api_key_of(farm))
        card = endpoint(page, webhook_id)
        await card.get_by_text("Delivery log").tap()
        await card.get_by_test_id("delivery").first.wait_for(timeout=SHOWN_WITHIN_MS)
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{overflow} px wider than the phone"
        box = await card.locator('[data-action="test"]').bounding_box()
        assert box is not None and box["height"] >= 40
        await page.get_by_test_id("add-webhook").tap()
        form = page.locator("dialog[open]")
        await form.get_by_label("URL").wait_for()
        form_box = await form.bounding_box()
        assert form_box is not None and form_box["x"] >= 0
        assert form_box["x"] + form_box["width"] <= PHONE["width"]
