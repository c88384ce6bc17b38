"""Every documented error on demand: each bundled scenario, driven over HTTP to its message.

A vendor loads a bundled scenario, walks the screens like a customer and must see the
credit union's message word for word (shared/DOMAIN.md), the OAuth redirect the app gets,
and the served code in GET /_sandbox/coverage.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from sandbox.driver import CustomerData, CustomerDriver, Outcome, Page, read_page
from sandbox.errors import CATALOG
from sandbox.scenario.loader import bundled_scenario_text, load_scenario_text
from sandbox.settings import Settings
from sandbox.state import Registry, Sandbox
from sandbox.web.app import create_app
from tests.scenario.test_bundled import ERROR_SCENARIOS

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]

BANK = "2011"
CALLBACK = "https://vendor.example/callback"
VENDOR = {"client_id": "vendor-app", "redirect_uri": CALLBACK, "state": "st-42"}

# The bundled scenarios' customers (see the comments in sandbox/scenarios/*.yaml).
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


# Helpers (also used by test_lockout_web and test_service_hours_web) ------------------------


async def scenario_client(aiohttp_client: MakeClient, sandbox: Sandbox) -> Client:
    """A test client of an app serving ``sandbox`` alone."""
    registry = Registry()
    registry.put(sandbox)
    return await aiohttp_client(create_app(Settings(secret_key=b"k" * 32), registry=registry))


def bundled(name: str) -> Sandbox:
    """A fresh sandbox of the bundled scenario ``name``."""
    return Sandbox(load_scenario_text(bundled_scenario_text(name), source=f"{name}.yaml"))


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


# One flow per bundled scenario ----------------------------------------------------------


Flow = Callable[[Client], Awaitable[set[str]]]
FLOWS: dict[str, Flow] = {}


def flow(name: str) -> Callable[[Flow], Flow]:
    def register(fn: Flow) -> Flow:
        FLOWS[name] = fn
        return fn

    return register


@flow("wrong_account")
async def _wrong_account(client: Client) -> set[str]:
    for typed in (
        with_(TARO, account_number="7777777"),  # nobody's account
        with_(TARO, account_type="savings"),  # the right number, the wrong 科目
        CustomerData(  # jiro: no cash card
            branch_code="001",
            account_number="3456789",
            pin="3333",
            name_kana="ﾑｶｰﾄﾞ ｼﾞﾛｳ",
            birth_date="1975-03-03",
            phone="080-3456-7890",
            email="jiro.mucard@example.jp",
        ),
    ):
        driver = CustomerDriver(client, BANK)
        await to_identity(driver, typed)
        page = page_of(await driver.enter_identity(typed))
        assert page.error_message == WRONG_ACCOUNT
        assert page.status == 400
        assert page.screen == "account"  # re-enter from the card or passbook
    # The account is corrected on screen ① and the linkage goes on.
    page = page_of(await driver.enter_account(TARO))
    assert page.screen == "identity"
    assert page_of(await driver.enter_identity(TARO)).screen == "phone"
    return {"wrong_account"}


@flow("wrong_identity")
async def _wrong_identity(client: Client) -> set[str]:
    driver = CustomerDriver(client, BANK)
    await to_identity(driver, TARO)
    page = page_of(await driver.enter_identity(with_(TARO, birth_date="1980-01-02")))
    assert page.error_message == WRONG_IDENTITY
    assert page.status == 401
    assert page.screen == "identity"
    page = page_of(await driver.enter_identity(with_(TARO, phone="090-9999-9999")))
    assert page.error_message == WRONG_IDENTITY
    # The right data still gets through (2 failures < the limit of 3).
    assert page_of(await driver.enter_identity(TARO)).screen == "phone"
    return {"wrong_identity"}


@flow("lockout")
async def _lockout(client: Client) -> set[str]:
    driver = CustomerDriver(client, BANK)
    await to_identity(driver, TARO)
    wrong = with_(TARO, birth_date="1980-01-02")
    for _ in range(2):
        assert page_of(await driver.enter_identity(wrong)).error_message == WRONG_IDENTITY
    page = page_of(await driver.enter_identity(wrong))
    assert page.error_message == LOCKED_NOW
    assert page.status == 403
    outcome = await back_to_app(driver)
    assert outcome.redirect.startswith(CALLBACK + "?")
    assert outcome.error == "access_denied"
    assert outcome.state == "st-42"
    assert outcome.code is None
    return {"wrong_identity", "locked_now"}


@flow("locked_retry")
async def _locked_retry(client: Client) -> set[str]:
    # Taro: the scenario's rule holds the account locked; the right data changes nothing.
    driver = CustomerDriver(client, BANK)
    await to_identity(driver, TARO)
    page = page_of(await driver.enter_identity(TARO))
    assert page.error_message == LOCKED
    assert page.status == 403
    outcome = await back_to_app(driver)
    assert (outcome.error, outcome.state) == ("access_denied", "st-42")
    # Hanako: a real lock (limit 1), then message 4 on the next attempt with the right data.
    driver = CustomerDriver(client, BANK)
    await to_identity(driver, HANAKO)
    page = page_of(await driver.enter_identity(with_(HANAKO, birth_date="1990-02-03")))
    assert page.error_message == LOCKED_NOW
    driver = CustomerDriver(client, BANK)
    await to_identity(driver, HANAKO)
    page = page_of(await driver.enter_identity(HANAKO))
    assert page.error_message == LOCKED
    assert (await back_to_app(driver)).error == "access_denied"
    return {"locked", "locked_now"}


@flow("off_hours")
async def _off_hours(client: Client) -> set[str]:
    # The app opens the authorize URL at 23:55 on the eve of the 2nd Sunday: no screen.
    driver = CustomerDriver(client, BANK)
    outcome = outcome_of(await driver.authorize(**VENDOR))
    assert outcome.redirect.startswith(CALLBACK + "?")
    assert outcome.error == "temporarily_unavailable"
    assert outcome.state == "st-42"
    assert outcome.code is None
    # A customer who started before 23:50 sees the message on the next screen.
    await set_clock(client, "2026-11-07T23:49:00+09:00")
    page_of(await driver.authorize(**VENDOR))
    await set_clock(client, "2026-11-07T23:55:00+09:00")
    response = await post_screen(
        client,
        driver,
        branch_code="001",
        account_type="ordinary",
        account_number="1234567",
        next="1",
    )
    assert response.headers["Retry-After"] == str(7 * 3600 + 5 * 60)  # until Sunday 07:00
    page = await read(response)
    assert page.status == 503
    assert page.error_message == OFF_HOURS
    return {"off_hours"}


@flow("congestion")
async def _congestion(client: Client) -> set[str]:
    driver = CustomerDriver(client, BANK)
    await to_identity(driver, TARO)
    response = await post_screen(
        client,
        driver,
        name_kana=TARO.name_kana,
        birth_year="1980",
        birth_month="01",
        birth_day="01",
        phone=TARO.phone,
        email=TARO.email,
        email_confirm=TARO.email,
        next="1",
    )
    assert response.headers["Retry-After"] == "30"
    page = await read(response)
    assert page.status == 503
    assert page.error_message == CONGESTION
    assert page.screen == "identity"  # the customer may try again later
    # busy-app is turned away at the authorize endpoint.
    busy = CustomerDriver(client, BANK)
    outcome = outcome_of(
        await busy.authorize(
            client_id="busy-app", redirect_uri="https://busy.example/cb", state="b"
        )
    )
    assert outcome.redirect.startswith("https://busy.example/cb?")
    assert (outcome.error, outcome.error_description) == ("temporarily_unavailable", "congestion")
    assert outcome.state == "b"
    report = await coverage(client)
    assert served(report, "congestion", "busy-app") == 1
    return {"congestion"}


@flow("system_error")
async def _system_error(client: Client) -> set[str]:
    driver = CustomerDriver(client, BANK)
    await to_pin(driver, TARO)
    page = page_of(await driver.enter_pin(TARO.pin))
    assert page.error_message == SYSTEM_ERROR
    assert page.status == 500
    assert page.screen == "pin"
    return {"system_error"}


@flow("service_unavailable")
async def _service_unavailable(client: Client) -> set[str]:
    driver = CustomerDriver(client, BANK)
    page_of(await driver.authorize(**VENDOR))
    response = await post_screen(
        client, driver, branch_code="001", account_type="ordinary", account_number="1234567"
    )
    assert response.headers["Retry-After"] == "300"
    page = await read(response)
    assert page.status == 503
    assert page.error_message == SERVICE_UNAVAILABLE
    assert page.screen == "account"
    outcome = outcome_of(await driver.abort())  # 中止する still works
    assert (outcome.error, outcome.state) == ("access_denied", "st-42")
    return {"service_unavailable"}


@flow("phone_timeout")
async def _phone_timeout(client: Client) -> set[str]:
    driver = CustomerDriver(client, BANK)
    await to_confirm(driver, TARO)
    await advance_clock(client, 121)
    response = await client.post(
        "/_sandbox/calls", json={"from": "090-1234-5678", "to": "0120-86-3713"}
    )
    assert response.status == 409
    assert (await response.json())["outcome"] == "expired"
    page = page_of(await driver.confirm())
    assert page.error_message == CATALOG["phone_window_expired"].message
    assert "120秒" in (page.error_message or "")
    assert page.status == 400
    outcome = await back_to_app(driver)
    assert (outcome.error, outcome.state) == ("access_denied", "st-42")
    # At exactly 120 seconds a new linkage still goes through.
    driver = CustomerDriver(client, BANK)
    await to_confirm(driver, TARO)
    await advance_clock(client, 120)
    page_of(await driver.press_call_button())
    assert page_of(await driver.confirm()).screen == "pin"
    return {"phone_window_expired"}


@flow("pin_lockout")
async def _pin_lockout(client: Client) -> set[str]:
    driver = CustomerDriver(client, BANK)
    await to_pin(driver, TARO)
    for _ in range(2):
        page = page_of(await driver.enter_pin("9999"))
        assert page.error_code == "wrong_pin"
        assert page.status == 401
    page = page_of(await driver.enter_pin("9999"))
    assert page.error_code == "pin_locked_now"
    assert page.status == 403
    assert page.error_message is not None
    assert page.error_message.startswith(LOCKED_NOW)
    assert "API連携認証のみ" in page.error_message  # ATM and the rest are not limited
    assert (await back_to_app(driver)).error == "access_denied"
    # Any later linkage that day, even with the right data, stops at screen ②.
    driver = CustomerDriver(client, BANK)
    await to_identity(driver, TARO)
    page = page_of(await driver.enter_identity(TARO))
    assert page.error_code == "pin_locked"
    assert page.error_message is not None
    assert page.error_message.startswith(LOCKED)
    return {"wrong_pin", "pin_locked_now", "pin_locked"}


@pytest.mark.parametrize("name", sorted(FLOWS))
async def test_bundled_scenario_produces_its_error(aiohttp_client: MakeClient, name: str) -> None:
    client = await scenario_client(aiohttp_client, bundled(name))
    expected = await FLOWS[name](client)
    report = await coverage(client)
    for code in expected:
        assert served(report, code) >= 1, (code, report["served"])
    assert report["bank"] == BANK


def test_every_bundled_error_scenario_has_a_flow() -> None:
    assert set(FLOWS) == set(ERROR_SCENARIOS)


async def test_the_bundled_scenarios_together_serve_every_documented_error(
    aiohttp_client: MakeClient,
) -> None:
    seen: set[str] = set()
    for name, run in FLOWS.items():
        client = await scenario_client(aiohttp_client, bundled(name))
        await run(client)
        seen |= set((await coverage(client))["documented_served"])
    assert seen == set(DOCUMENTED)
    for code, message in DOCUMENTED.items():
        assert CATALOG[code].message == message, code  # the catalog is DOMAIN.md word for word


async def test_coverage_lists_missing_documented_errors_and_reset_clears_it(
    aiohttp_client: MakeClient,
) -> None:
    client = await scenario_client(aiohttp_client, bundled("wrong_identity"))
    report = await coverage(client)
    assert report["served"] == {}
    assert report["documented_missing"] == list(DOCUMENTED)
    await FLOWS["wrong_identity"](client)
    report = await coverage(client)
    assert report["served"]["wrong_identity"] == {"total": 2, "by_client": {"vendor-app": 2}}
    assert "wrong_identity" in report["documented_served"]
    assert "wrong_identity" not in report["documented_missing"]
    assert (await client.post("/_sandbox/reset")).status == 200
    assert (await coverage(client))["served"] == {}
