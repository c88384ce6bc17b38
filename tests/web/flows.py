"""Walking a customer to a given screen of the web tests' scenario."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from sandbox.driver import CustomerData, CustomerDriver, Page
from tests.web.conftest import APP, TARO

Client = TestClient[Any, Any]


async def to_identity(driver: CustomerDriver, c: CustomerData = TARO) -> Page:
    page = await driver.authorize(**APP)
    assert isinstance(page, Page)
    assert page.screen == "account"
    page = await driver.enter_account(c)
    assert isinstance(page, Page)
    assert page.screen == "identity"
    return page


async def to_confirm(driver: CustomerDriver, c: CustomerData = TARO) -> Page:
    await to_identity(driver, c)
    page = await driver.enter_identity(c)
    assert isinstance(page, Page)
    assert page.screen == "phone", page.text()[:300]
    page = await driver.go_to_confirm()
    assert isinstance(page, Page)
    assert page.screen == "confirm"
    return page


async def call(client: Client, phone: str, to: str = "0120-111-222") -> Any:
    response = await client.post("/_sandbox/calls", json={"from": phone, "to": to})
    return response.status, await response.json()


async def to_pin(client: Client, driver: CustomerDriver, c: CustomerData = TARO) -> Page:
    await to_confirm(driver, c)
    status, body = await call(client, c.phone)
    assert status == 200, body
    page = await driver.confirm()
    assert isinstance(page, Page)
    assert page.screen == "pin"
    return page


async def to_consent(driver: CustomerDriver, c: CustomerData = TARO) -> Page:
    """Screens ① to ⑤ (the call made with the sandbox's button): on screen ⑥."""
    await driver.authorize(**APP)
    await driver.enter_account(c)
    await driver.enter_identity(c)
    await driver.go_to_confirm()
    await driver.press_call_button()
    await driver.confirm()
    page = await driver.enter_pin(c.pin)
    assert isinstance(page, Page)
    assert page.screen == "consent", page.text()[:300]
    return page
