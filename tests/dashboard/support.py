"""What the dashboard's browser tests share: a farm to look at, and how an operator signs in
and reads a printer's card (tests/support/browser.py starts Chromium)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from apf.demo.samples import SampleJob, sample_gcode
from shared.enums import Priority
from tests.integration.farm import Farm, PrinterSpec

if TYPE_CHECKING:
    from playwright.async_api import ViewportSize

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
SPECS = [
    PrinterSpec("Prusa-A-01", "prusa", "PLA", "Black"),
    PrinterSpec("Ender-B-02", "marlin", "PETG", "Blue"),
]
# Generous for a loaded machine; each wait ends as soon as the page shows the state.
SHOWN_WITHIN_MS = 30_000


def api_key_of(farm: Farm) -> str:
    return str(farm.api.headers["Authorization"]).removeprefix("Bearer ")


async def submit(farm: Farm, name: str, material: str, layers: int) -> Any:
    job = SampleJob(name, material, Priority.NORMAL, layers)
    return await farm.json(
        "POST",
        "/v1/jobs",
        files={"file": (f"{name}.gcode", sample_gcode(job), "text/x.gcode")},
        data={"name": name, "priority": "normal", "material": material},
    )


async def viewer_key(farm: Farm) -> str:
    invited = await farm.json(
        "POST", "/v1/users/invite", json={"email": "viewer@farm.test", "role": "viewer"}
    )
    accepted = await farm.api.post(
        "/v1/invitations/accept", json={"token": invited["token"], "name": "Viewer"}
    )
    assert accepted.status_code < 300, accepted.text
    return str(accepted.json()["api_key"]["key"])


def base_url(farm: Farm) -> str:
    return str(farm.api.base_url).rstrip("/")


async def sign_in(page: Any, farm: Farm, key: str, path: str = "/farm") -> None:
    await page.goto(base_url(farm) + path)
    await page.get_by_label("API key").fill(key)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_selector('[data-testid="printer-card"]', timeout=SHOWN_WITHIN_MS)


def card(page: Any, farm: Farm, name: str) -> Any:
    return page.locator(f'[data-printer-id="{farm.printers[name]}"]')


async def shows_status(page: Any, farm: Farm, name: str, label: str) -> None:
    status = card(page, farm, name).get_by_test_id("status")
    await status.filter(has_text=label).wait_for(timeout=SHOWN_WITHIN_MS)
