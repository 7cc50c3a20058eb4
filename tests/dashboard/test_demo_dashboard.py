"""What a new user does with the demo: open its `Dashboard URL:` line in a browser, sign in
with its `API key:` line, and watch the demo's printers print, live."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.browser import chromium

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


def header_lines(demo: subprocess.Popen[str], wanted: tuple[str, ...]) -> dict[str, str]:
    """The demo's header lines come first, then its live view."""
    assert demo.stdout is not None
    seen: dict[str, str] = {}
    for line in demo.stdout:
        key, sep, value = line.partition(": ")
        if sep and key in wanted:
            seen[key] = value.strip()
        if len(seen) == len(wanted):
            return seen
    raise AssertionError(f"the demo ended before printing {wanted}: {seen}")


@pytest.fixture
def demo_lines(tmp_path: Path) -> Iterator[dict[str, str]]:
    """`apf demo` running, with its `Dashboard URL:` and `API key:` lines."""
    demo = subprocess.Popen(
        [sys.executable, "-m", "apf", "demo", "--port", "0", "--data-dir", str(tmp_path / "d")],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        yield header_lines(demo, ("Dashboard URL", "API key"))
    finally:
        demo.send_signal(signal.SIGTERM)
        demo.wait(timeout=60)


async def test_the_demos_dashboard_line_shows_its_printers_printing_live(
    demo_lines: dict[str, str],
) -> None:
    assert demo_lines["Dashboard URL"].startswith("http://127.0.0.1:")
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1280, "height": 800})
        await page.goto(demo_lines["Dashboard URL"])
        await page.get_by_label("API key").fill(demo_lines["API key"])
        await page.get_by_role("button", name="Sign in").click()
        cards = page.locator('[data-testid="printer-card"]')
        await cards.first.wait_for(timeout=30_000)
        assert await cards.count() == 3
        # The sample jobs start on their own: a card turns to Printing without a reload.
        printing = page.get_by_test_id("status").filter(has_text="Printing")
        await printing.first.wait_for(timeout=60_000)
        await page.locator("#live-status").filter(has_text="Live").wait_for(timeout=30_000)
