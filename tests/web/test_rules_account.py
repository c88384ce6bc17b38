"""A rule's when.account applies on every step and endpoint: ① as typed, the screens after
it, and on api and token the account linked to the grant (or to the code)."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from sandbox.driver import CustomerDriver, Outcome, Page
from tests.web.conftest import APP, APP_SECRET, BANK, HANAKO, TARO, link_and_redeem

Client = TestClient[Any, Any]
TARO_ACCOUNT = "001-1234567"


async def _arm(client: Client, on: str, error: str = "system_error") -> None:
    rule = {"on": on, "when": {"account": TARO_ACCOUNT}, "error": error}
    assert (await client.post("/_sandbox/rules", json=rule)).status == 201


async def test_on_api_the_grants_account_counts_also_on_the_account_list(
    client: Client,
) -> None:
    taro, hanako = await link_and_redeem(client, TARO), await link_and_redeem(client, HANAKO)
    await _arm(client, "api")
    path = f"/parasol/v1/banks/{BANK}/accounts"
    refused = await client.get(path, headers=taro)
    assert refused.status == 500
    assert (await refused.json())["error_code"] == "system_error"
    assert (await client.get(path, headers=hanako)).status == 200
    term = await client.get(f"/parasol/v1/banks/{BANK}/term_deposits", headers=taro)
    assert term.status == 500


async def test_on_token_the_codes_and_the_refresh_tokens_account_counts(
    client: Client,
) -> None:
    outcomes = {}
    for who in (TARO, HANAKO):
        outcome = await CustomerDriver(client, BANK).link(who, **APP)
        assert isinstance(outcome, Outcome)
        outcomes[who.account_number] = outcome.code
    await _arm(client, "token", "congestion")
    form = {
        "grant_type": "authorization_code",
        "redirect_uri": APP["redirect_uri"],
        "client_id": APP["client_id"],
        "client_secret": APP_SECRET,
    }
    token = f"/parasol/v1/banks/{BANK}/oauth/token"
    refused = await client.post(token, data={**form, "code": outcomes[TARO.account_number]})
    assert refused.status == 503
    assert (await refused.json())["error_code"] == "congestion"
    hanako = await client.post(token, data={**form, "code": outcomes[HANAKO.account_number]})
    assert hanako.status == 200
    refresh = {
        "grant_type": "refresh_token",
        "refresh_token": (await hanako.json())["refresh_token"],
        "client_id": APP["client_id"],
        "client_secret": APP_SECRET,
    }
    assert (await client.post(token, data=refresh)).status == 200


async def test_on_screen_one_the_account_being_entered_counts(client: Client) -> None:
    await _arm(client, "account", "congestion")
    driver = CustomerDriver(client, BANK)
    await driver.authorize(**APP)
    page = await driver.enter_account(TARO)
    assert isinstance(page, Page)
    assert page.error_code == "congestion"
    other = CustomerDriver(client, BANK)
    await other.authorize(**APP)
    page = await other.enter_account(HANAKO)
    assert isinstance(page, Page)
    assert page.screen == "identity"
