"""Lockout over HTTP: identity and PIN failures per account, the day-long lock, concurrency."""

from __future__ import annotations

import asyncio
from typing import Any

from sandbox.driver import CustomerDriver, Page
from sandbox.tenant.tenant import Tenant
from tests.web.bundled import (
    BANK,
    CALLBACK,
    HANAKO,
    LOCKED,
    LOCKED_NOW,
    OFF_HOURS,
    TARO,
    VENDOR,
    WRONG_IDENTITY,
    Client,
    MakeClient,
    back_to_app,
    bundled,
    outcome_of,
    page_of,
    scenario_client,
    set_clock,
    to_identity,
    to_pin,
    with_,
)
from tests.web.conftest import link_and_redeem, tenant_of

KEY = "001-1234567"  # taro's account: branch and number
WRONG_BIRTH = with_(TARO, birth_date="1980-01-02")


async def _identity(client: Client, data: Any = TARO) -> Page:
    """A fresh linkage up to screen ②, then 「次へ」 with ``data``."""
    driver = CustomerDriver(client, BANK)
    await to_identity(driver, TARO)
    return page_of(await driver.enter_identity(data))


async def _lockout(aiohttp_client: MakeClient) -> tuple[Tenant, Client]:
    client = await scenario_client(aiohttp_client, bundled("lockout"))
    return await tenant_of(client), client


# Identity (screen ②) ------------------------------------------------------------------


async def test_third_wrong_identity_locks_and_later_attempts_are_refused(
    aiohttp_client: MakeClient,
) -> None:
    sandbox, client = await _lockout(aiohttp_client)
    driver = CustomerDriver(client, BANK)
    await to_identity(driver, TARO)
    first = page_of(await driver.enter_identity(WRONG_BIRTH))
    second = page_of(await driver.enter_identity(with_(TARO, phone="090-0000-0000")))
    assert [first.error_message, second.error_message] == [WRONG_IDENTITY, WRONG_IDENTITY]
    third = page_of(await driver.enter_identity(WRONG_BIRTH))
    assert third.error_message == LOCKED_NOW
    assert third.status == 403
    outcome = await back_to_app(driver)
    assert (outcome.error, outcome.state) == ("access_denied", "st-42")
    assert outcome.redirect.startswith(CALLBACK)

    # The rest of the day: message 4, with the right data or the wrong one.
    for data in (TARO, WRONG_BIRTH, TARO):
        page = await _identity(client, data)
        assert page.error_message == LOCKED
        assert page.status == 403
        assert page.back_url is not None
    now = await sandbox.clock.now()
    assert await sandbox.lockout.failures("identity", KEY, now) == 3  # refused tries do not count


async def test_failures_are_counted_per_account_across_linkages(
    aiohttp_client: MakeClient,
) -> None:
    _, client = await _lockout(aiohttp_client)
    assert (await _identity(client, WRONG_BIRTH)).error_message == WRONG_IDENTITY
    assert (await _identity(client, WRONG_BIRTH)).error_message == WRONG_IDENTITY
    assert (await _identity(client, WRONG_BIRTH)).error_message == LOCKED_NOW
    # Another customer's account is not affected.
    driver = CustomerDriver(client, BANK)
    await to_identity(driver, HANAKO)
    assert page_of(await driver.enter_identity(HANAKO)).screen == "phone"


async def test_a_success_resets_the_count(aiohttp_client: MakeClient) -> None:
    _, client = await _lockout(aiohttp_client)
    for _ in range(2):
        assert (await _identity(client, WRONG_BIRTH)).error_message == WRONG_IDENTITY
    assert (await _identity(client, TARO)).screen == "phone"
    for _ in range(2):
        assert (await _identity(client, WRONG_BIRTH)).error_message == WRONG_IDENTITY


async def test_lock_lifts_at_midnight_tokyo_after_the_off_hours_minute(
    aiohttp_client: MakeClient,
) -> None:
    _, client = await _lockout(aiohttp_client)
    for _ in range(3):
        page = await _identity(client, WRONG_BIRTH)
    assert page.error_message == LOCKED_NOW

    await set_clock(client, "2026-11-25T23:59:59+09:00")
    assert (await _identity(client)).error_message == LOCKED
    waiting = CustomerDriver(client, BANK)
    await to_identity(waiting, TARO)

    # 00:00:00: the lock is gone, but 00:00-00:01 is off-hours.
    await set_clock(client, "2026-11-26T00:00:00+09:00")
    page = page_of(await waiting.enter_identity(TARO))
    assert page.error_message == OFF_HOURS
    assert page.status == 503
    assert page.screen == "identity"
    outcome = outcome_of(await CustomerDriver(client, BANK).authorize(**VENDOR))
    assert (outcome.error, outcome.state) == ("temporarily_unavailable", "st-42")

    # 00:01:00: the same customer goes on, and so does a new linkage.
    await set_clock(client, "2026-11-26T00:01:00+09:00")
    assert page_of(await waiting.enter_identity(TARO)).screen == "phone"
    assert (await _identity(client)).screen == "phone"


async def test_lock_counts_japanese_days_in_utc_terms(aiohttp_client: MakeClient) -> None:
    """Locked at 08:59 JST is 23:59 UTC the day before: the lock still holds all JST day."""
    _, client = await _lockout(aiohttp_client)
    await set_clock(client, "2026-11-24T23:59:00+00:00")  # 2026-11-25 08:59 JST
    for _ in range(3):
        page = await _identity(client, WRONG_BIRTH)
    assert page.error_message == LOCKED_NOW
    await set_clock(client, "2026-11-25T14:59:00+00:00")  # 23:59 JST, still the 25th
    assert (await _identity(client)).error_message == LOCKED
    await set_clock(client, "2026-11-25T15:01:00+00:00")  # 00:01 JST on the 26th
    assert (await _identity(client)).screen == "phone"


# PIN (screen ⑤) ---------------------------------------------------------------------


async def test_pin_failures_lock_linkage_even_for_the_right_pin(
    aiohttp_client: MakeClient,
) -> None:
    sandbox, client = await _lockout(aiohttp_client)
    first = CustomerDriver(client, BANK)
    await to_pin(first, TARO)
    second = CustomerDriver(await aiohttp_client(client.server), BANK)
    await to_pin(second, TARO)

    codes = [page_of(await first.enter_pin("9999")).error_code for _ in range(3)]
    assert codes == ["wrong_pin", "wrong_pin", "pin_locked_now"]
    assert first.page is not None
    assert first.page.error_message is not None
    assert first.page.error_message.startswith(LOCKED_NOW)
    assert "API連携認証のみ" in first.page.error_message
    assert (await back_to_app(first)).error == "access_denied"

    # A linkage already at screen ⑤ with the right PIN: refused.
    page = page_of(await second.enter_pin(TARO.pin))
    assert page.error_code == "pin_locked"
    assert page.error_message is not None
    assert page.error_message.startswith(LOCKED)
    assert page.screen != "consent"
    # A new linkage stops at screen ②, saying why.
    assert (await _identity(client)).error_code == "pin_locked"
    assert await sandbox.lockout.failures("pin", KEY, (await sandbox.clock.now())) == 3

    await set_clock(client, "2026-11-26T00:01:00+09:00")
    driver = CustomerDriver(client, BANK)
    await to_pin(driver, TARO)
    assert page_of(await driver.enter_pin(TARO.pin)).screen == "consent"


async def test_pin_lock_blocks_linkage_only_an_existing_token_still_reads(
    aiohttp_client: MakeClient,
) -> None:
    _, client = await _lockout(aiohttp_client)
    headers = await link_and_redeem(
        client,
        TARO,
        client_id="vendor-app",
        secret="vendor-secret-123",
        redirect_uri=CALLBACK,
        state="st-42",
    )

    driver = CustomerDriver(client, BANK)
    await to_pin(driver, TARO)
    for _ in range(3):
        page = page_of(await driver.enter_pin("0000"))
    assert page.error_code == "pin_locked_now"

    response = await client.get(f"/parasol/v1/banks/{BANK}/accounts", headers=headers)
    assert response.status == 200, await response.text()
    (account,) = (await response.json())["accounts"]
    assert account["balance"] == 523400


async def test_concurrent_wrong_pins_never_pass_the_limit(aiohttp_client: MakeClient) -> None:
    sandbox, first = await _lockout(aiohttp_client)

    async def at_pin() -> CustomerDriver:
        # One browser (cookie jar) per linkage, as 101 phones would be.
        driver = CustomerDriver(await aiohttp_client(first.server), BANK)
        await to_pin(driver, TARO)
        return driver

    drivers = list(await asyncio.gather(*(at_pin() for _ in range(101))))
    held_back = drivers.pop()

    results = await asyncio.gather(*(d.enter_pin("9999") for d in drivers))
    codes = [page_of(r).error_code for r in results]
    assert codes.count("pin_locked_now") == 1
    assert codes.count("wrong_pin") == 2
    assert codes.count("pin_locked") == 97
    limit = sandbox.lockout.limit("pin")
    assert limit == 3
    assert await sandbox.lockout.failures("pin", KEY, (await sandbox.clock.now())) == limit

    page = page_of(await held_back.enter_pin(TARO.pin))
    assert page.error_code == "pin_locked"
    assert page.screen != "consent"
    report = await (await first.get("/_sandbox/coverage")).json()
    assert report["served"]["pin_locked_now"]["total"] == 1
