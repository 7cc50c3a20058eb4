"""Debian's Chromium, headless, driven by Playwright for Python (its own browser download
cannot reach the network here, and is never used).

The flags keep Chromium on loopback: no background services, no component updates, and a
host resolver that knows no name but the loopback addresses, so a page that asked for a
CDN would fail the test instead of reaching out.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.async_api import Browser

CHROMIUM_FLAGS = [
    "--no-sandbox",  # as root on the test machines
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
]


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("needs Debian's chromium (scripts/test installs it with apt as root)")
    return found


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        pytest.skip("needs playwright (the dev extra: scripts/bootstrap all,dev)")
    executable = chromium_path()
    async with async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            await browser.close()
