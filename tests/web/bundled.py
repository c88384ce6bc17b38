"""Helpers of the tests that drive the bundled scenarios over HTTP: customers, messages, steps."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient

from sandbox.driver import CustomerData, CustomerDriver, Outcome, Page, read_page
from sandbox.scenario.bundled import bundled_scenario_text
from sandbox.scenario.loader import load_scenario_text
from sandbox.scenario.model import Scenario
from sandbox.settings import Settings
from sandbox.web.app import create_app

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]

BANK = "2011"
CALLBACK = "https://vendor.example/callback"
VENDOR = {"client_id": "vendor-app", "redirect_uri": CALLBACK, "state": "st-42"}

# The bundled scenarios' customers (see the comments in scenarios/*.yaml).
TARO = CustomerData(
    branch_code="001",
    account_number="1234567",
    pin="1234",
    name_kana="ﾃﾞｰﾀ ﾀﾛｳ",
    birth_date="1980-01-01",
    phone="090-1234-5678",
    email="taro.deta@example.jp",
)
HANAKO = CustomerData(
    branch_code="002",
    account_number="2345678",
    pin="2222",
    name_kana="ﾁｮｷﾝ ﾊﾅｺ",
    birth_date="1990-02-02",
    phone="027-212-3456",
    email="hanako.chokin@example.com",
    account_type="savings",
)

# shared/DOMAIN.md, word for word (typed out here, not read from the catalog).
WRONG_ACCOUNT = "ご指定の口座は、本サービスではお取り扱いできません。"
WRONG_IDENTITY = "本人認証情報が誤っています。本人認証項目をご確認のうえ、再度入力して下さい。"
LOCKED_NOW = "お取扱いができなくなりました。詳しくは本サービスのお問合せ窓口へご照会下さい。"
LOCKED = "ただ今お取扱いできません。詳しくは本サービスのお問合せ窓口へご照会下さい。"
OFF_HOURS = "この時間はサービスを行っておりません。ご了承下さい。"
CONGESTION = "ただ今受付が混雑しておりますので、しばらくしてからご利用下さい。"
SYSTEM_ERROR = (
    "調整のため連絡ができなくなりました。"
    "なお、お急ぎの場合は本サービスのお問合せ窓口へご照会下さい。"
)
SERVICE_UNAVAILABLE = (
    "ご指定のサービスはただ今お取扱いできません。"
    "なお、お急ぎの場合は本サービスのお問合せ窓口へご照会下さい。"
)
DOCUMENTED = {
    "wrong_account": WRONG_ACCOUNT,
    "wrong_identity": WRONG_IDENTITY,
    "locked_now": LOCKED_NOW,
    "locked": LOCKED,
    "off_hours": OFF_HOURS,
    "congestion": CONGESTION,
    "system_error": SYSTEM_ERROR,
    "service_unavailable": SERVICE_UNAVAILABLE,
}


def with_(c: CustomerData, **changes: str) -> CustomerData:
    """``c`` with some fields typed differently."""
    return CustomerData(**{**c.__dict__, **changes})


async def scenario_client(aiohttp_client: MakeClient, scenario: Scenario) -> Client:
    """A test client of an app serving ``scenario`` alone."""
    app = create_app(Settings(secret_key=b"k" * 32), scenarios=[(scenario, "<test>")])
    return await aiohttp_client(app)


def bundled(name: str) -> Scenario:
    """The bundled scenario ``name``, served as bank 2011 (each file has its own bank code so
    that all can be served together; these tests drive one at a time on one path)."""
    scenario = load_scenario_text(bundled_scenario_text(name), source=f"{name}.yaml")
    bank = scenario.bank.model_copy(update={"code": BANK})
    return scenario.model_copy(update={"bank": bank})


def page_of(result: Page | Outcome) -> Page:
    assert isinstance(result, Page), f"expected a screen, got a redirect: {result}"
    return result


def outcome_of(result: Page | Outcome) -> Outcome:
    assert isinstance(result, Outcome), f"expected the app's redirect, got {result.text()[:300]}"
    return result


async def post_screen(client: Client, driver: CustomerDriver, **fields: str) -> Any:
    """POST the driver's current form without following redirects; the raw response."""
    page = driver.page
    assert page is not None
    assert page.action is not None
    assert page.csrf_token is not None
    return await client.post(
        page.action, data={"csrf_token": page.csrf_token, **fields}, allow_redirects=False
    )


async def read(response: Any) -> Page:
    """The screen of a raw response (status kept)."""
    async with response:
        return read_page(response.status, str(response.url), await response.text())


async def set_clock(client: Client, moment: str) -> None:
    response = await client.post("/_sandbox/clock", json={"set": moment})
    assert response.status == 200, await response.text()


async def advance_clock(client: Client, seconds: float) -> None:
    response = await client.post("/_sandbox/clock", json={"advance_seconds": seconds})
    assert response.status == 200, await response.text()


async def coverage(client: Client) -> dict[str, Any]:
    response = await client.get("/_sandbox/coverage")
    assert response.status == 200
    body: dict[str, Any] = await response.json()
    return body


def served(report: dict[str, Any], code: str, client_id: str = "vendor-app") -> int:
    """How often ``code`` was served to ``client_id`` according to the coverage report."""
    entry = report["served"].get(code)
    return 0 if entry is None else int(entry["by_client"].get(client_id, 0))


async def to_identity(driver: CustomerDriver, c: CustomerData, **params: str) -> Page:
    """Authorize and fill screen ①; the customer stands at screen ②."""
    page_of(await driver.authorize(**(params or VENDOR)))
    page = page_of(await driver.enter_account(c))
    assert page.screen == "identity", page.text()[:300]
    return page


async def to_confirm(driver: CustomerDriver, c: CustomerData) -> Page:
    """Screens ① to ③; the customer stands at screen ④, the call not made yet."""
    await to_identity(driver, c)
    page = page_of(await driver.enter_identity(c))
    assert page.screen == "phone", page.text()[:300]
    page = page_of(await driver.go_to_confirm())
    assert page.screen == "confirm"
    return page


async def to_pin(driver: CustomerDriver, c: CustomerData) -> Page:
    """Screens ① to ④ with the sandbox call button; the customer stands at screen ⑤."""
    await to_confirm(driver, c)
    page_of(await driver.press_call_button())
    page = page_of(await driver.confirm())
    assert page.screen == "pin", page.text()[:300]
    return page


async def back_to_app(driver: CustomerDriver) -> Outcome:
    """「アプリに戻る」 on a terminal error page."""
    assert driver.page is not None
    assert driver.page.back_url is not None, "a terminal error offers the way back"
    assert driver.page.csrf_token is None, "a terminal error leaves no form to submit"
    return outcome_of(await driver.back_to_app())
