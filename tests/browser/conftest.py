"""Fixtures for the browser tests: Debian's Chromium driven by Playwright, a frozen scenario.

The sandbox itself comes from the project's pytest plugin (``sandbox_server``); this file
only picks the scenario, launches the browser and opens a phone-sized page.

No Chromium (or no Playwright): the tests skip with the reason, except under CI (``CI`` set),
where they fail, so a CI machine cannot pass without running them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from sandbox.scenario.loader import load_scenario_text
from sandbox.scenario.model import Scenario

try:
    from playwright.async_api import Browser, Page, Route, async_playwright
except ImportError:  # the `chromium` fixture skips (or, under CI, fails) and says why
    HAS_PLAYWRIGHT = False
else:
    HAS_PLAYWRIGHT = True

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "screenshots"
DOCS = ROOT / "docs" / "screenshots"
CHROMIUM = os.environ.get("SANDBOX_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
APP_HOST = "https://app.example"
REDIRECT_URI = f"{APP_HOST}/callback"
BANK = "2011"

# The tutorial's data (README), with the clock frozen on an open Wednesday morning.
SCENARIO = """
name: browser-tests
description: The README tutorial's bank and customer, frozen on a Wednesday morning.
bank:
  code: "2011"
  name: ぐんまみらい信用組合
  auth_phone_number: "0120-86-3713"
  branches:
    - {code: "001", name: 本店営業部}
    - {code: "002", name: 前橋支店}
  policy:
    identity_attempt_limit: 3
    pin_attempt_limit: 3
    phone_window_seconds: 120
clock:
  start: "2026-11-25T10:00:00+09:00"
  frozen: true
clients:
  - client_id: demo-app
    client_secret: demo-secret-please-change
    name: デモ家計簿アプリ
    redirect_uris: ["https://app.example/callback"]
customers:
  - id: taro
    name_kanji: 出田 太郎
    name_kana: ﾃﾞｰﾀ ﾀﾛｳ
    birth_date: "1980-01-01"
    phone: "090-1234-5678"
    email: taro.deta@example.jp
    accounts:
      - {branch: "001", type: ordinary, number: "1234567", pin: "1234", balance: 523400}
"""


def _unavailable(reason: str) -> NoReturn:
    """Skip locally; fail under CI, where the browser must be there."""
    if os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail(f"browser tests cannot run under CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def sandbox_scenario() -> Scenario:
    """Overrides the plugin's fixture: ``sandbox_server`` runs this scenario."""
    return load_scenario_text(SCENARIO, source="<browser tests>")


@pytest.fixture
def chromium() -> str:
    """Chromium's path; skips (or fails under CI) when it or Playwright is missing."""
    if not HAS_PLAYWRIGHT:
        _unavailable("playwright is not installed (pip install -e '.[test]')")
    found = CHROMIUM if os.path.isfile(CHROMIUM) else shutil.which(CHROMIUM)
    if not found:
        _unavailable(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    return found


@pytest.fixture
async def browser(chromium: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=chromium, args=CHROMIUM_ARGS, timeout=30_000
        )
        try:
            yield launched
        finally:
            await launched.close()


async def _app_page(route: Route) -> None:
    """The app's redirect_uri, served without touching the network."""
    await route.fulfill(
        status=200,
        content_type="text/html; charset=utf-8",
        body="<!doctype html><html lang='ja'><title>app</title><h1>アプリに戻りました</h1>",
    )


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A phone-sized Japanese page; the app's host is answered locally."""
    context = await browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="ja-JP",
        timezone_id="Asia/Tokyo",
    )
    context.set_default_timeout(10_000)
    await context.route(f"{APP_HOST}/**", _app_page)
    opened = await context.new_page()
    try:
        yield opened
    finally:
        await context.close()


class Screenshots:
    """Saves a screen under artifacts/screenshots/ (every run, device pixels); with
    UPDATE_SCREENSHOTS=1 also refreshes the committed copy in docs/screenshots/."""

    def __init__(self, update_docs: bool) -> None:
        self.update_docs = update_docs
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        if update_docs:
            DOCS.mkdir(parents=True, exist_ok=True)

    async def __call__(self, page: Page, name: str, *, full_page: bool = True) -> Path:
        options: dict[str, Any] = {"full_page": full_page, "animations": "disabled"}
        # Blur the focus ring and caret so the images do not depend on timing.
        await page.evaluate("document.activeElement && document.activeElement.blur()")
        path = ARTIFACTS / f"{name}.png"
        await page.screenshot(path=path, caret="hide", **options)
        if self.update_docs:
            # CSS pixels (390 wide) keep the committed images small; the README shows them
            # at a third of a page's width anyway.
            await page.screenshot(path=DOCS / f"{name}.png", caret="hide", scale="css", **options)
        return path


@pytest.fixture
def screenshot() -> Screenshots:
    return Screenshots(os.environ.get("UPDATE_SCREENSHOTS") == "1")
