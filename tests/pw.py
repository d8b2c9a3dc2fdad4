"""Debian's Chromium driven by Playwright's Python package (``executable_path``: no browser download), for
tests that click, type, go offline and look at pages as a phone or a desk would.

Screenshots go to tests/artifacts/ (kept by CI as artefacts, ignored by git).
"""

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, ViewportSize, sync_playwright

from tests.browser import require_chromium

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
PHONE: ViewportSize = {"width": 390, "height": 844}
DESK: ViewportSize = {"width": 1366, "height": 768}
_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="module")
def playwright_driver() -> Iterator[Playwright]:
    # Per module, not per session: while Playwright's sync API is open, the worker's main thread has an event
    # loop running, and any later test in the worker that calls asyncio.run or anyio.run would fail.
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def chromium(playwright_driver: Playwright) -> Iterator[Browser]:
    """One headless Chromium per test module; each test makes its own contexts (a phone each)."""
    browser = playwright_driver.chromium.launch(executable_path=require_chromium(), headless=True, args=_ARGS)
    try:
        yield browser
    finally:
        browser.close()


def phone_context(browser: Browser, base_url: str, *, lat: float = 32.0603, lon: float = 118.7969,
                  accuracy: float = 12.0, bypass_csp: bool = False) -> BrowserContext:
    """A phone of 390 x 844 CSS pixels in Chinese, with a position it is allowed to share. ``bypass_csp``: let
    a test inject a script (axe-core) into pages whose Content-Security-Policy allows none."""
    context = browser.new_context(
        base_url=base_url, viewport=PHONE, device_scale_factor=1, is_mobile=True, has_touch=True,
        locale="zh-CN", timezone_id="Asia/Shanghai",
        geolocation={"latitude": lat, "longitude": lon, "accuracy": accuracy}, permissions=["geolocation"],
        bypass_csp=bypass_csp,
    )
    context.set_default_timeout(15_000)
    return context


def desk_context(browser: Browser, base_url: str) -> BrowserContext:
    """A desk browser of 1366 x 768 in Chinese."""
    context = browser.new_context(base_url=base_url, viewport=DESK, locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(15_000)
    return context


def keep_screenshot(page: Page, name: str) -> Path:
    """A screenshot kept under tests/artifacts/ for a human to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def wait_until(page: Page, expression: str, timeout_s: float = 15.0) -> None:
    """Poll a JavaScript expression until it is truthy. Evaluated through DevTools, so it works under a
    Content-Security-Policy without 'unsafe-eval' (Page.wait_for_function evaluates strings with eval)."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout_s:.0f} s: {expression}")
        page.wait_for_timeout(100)
