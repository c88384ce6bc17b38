"""Every documented error on demand: each bundled scenario, driven over HTTP to its message.

A vendor loads a bundled scenario, walks the screens like a customer and must see the
credit union's message word for word (shared/DOMAIN.md), the OAuth redirect the app gets,
and the served code in GET /_sandbox/coverage.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from sandbox.driver import CustomerData, CustomerDriver
from sandbox.errors import CATALOG
from tests.scenario.bundled_cases import ERROR_SCENARIOS
from tests.web.bundled import (
    BANK,
    CALLBACK,
    CONGESTION,
    DOCUMENTED,
    HANAKO,
    LOCKED,
    LOCKED_NOW,
    OFF_HOURS,
    SERVICE_UNAVAILABLE,
    SYSTEM_ERROR,
    TARO,
    VENDOR,
    WRONG_ACCOUNT,
    WRONG_IDENTITY,
    Client,
    MakeClient,
    advance_clock,
    back_to_app,
    bundled,
    coverage,
    outcome_of,
    page_of,
    post_screen,
    read,
    scenario_client,
    served,
    set_clock,
    to_confirm,
    to_identity,
    to_pin,
    with_,
)

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
