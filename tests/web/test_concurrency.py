"""Races a vendor's client (or an attacker) can start: single-use codes and refresh tokens.

Each test fires its requests at once over HTTP against the real application on 127.0.0.1 and
checks that exactly one wins and what the server does about the losers.

The PIN race (100 parallel wrong PINs for one account, each linkage in its own browser, then
the right PIN) is ``test_concurrent_wrong_pins_never_pass_the_limit`` in
``tests/web/test_lockout_web.py``; the identity race on screen ② is here.
"""

from __future__ import annotations

import asyncio
import base64
from collections import Counter
from dataclasses import replace
from typing import Any

from aiohttp.test_utils import TestClient

from sandbox.driver import CustomerDriver, Outcome, Page
from sandbox.tenant.tenant import Tenant
from tests.web.conftest import APP, BANK, TARO, MakeClient
from tests.web.flows import to_consent

Client = TestClient[Any, Any]
BASE = f"/parasol/v1/banks/{BANK}"
REDIRECT = APP["redirect_uri"]
BASIC = {"Authorization": "Basic " + base64.b64encode(b"app-1:secret-one-123").decode()}


async def linked_code(driver: CustomerDriver) -> str:
    """An authorization code from a customer who walked the six screens."""
    outcome = await driver.link(
        TARO, client_id=APP["client_id"], redirect_uri=REDIRECT, state=APP["state"]
    )
    assert isinstance(outcome, Outcome), outcome.text()[:300]
    assert outcome.code is not None
    return outcome.code


async def post_token(client: Client, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
    response = await client.post(f"{BASE}/oauth/token", data=form, headers=BASIC)
    return response.status, await response.json()


async def accounts_status(client: Client, access_token: str) -> tuple[int, dict[str, Any]]:
    response = await client.get(
        f"{BASE}/accounts", headers={"Authorization": f"Bearer {access_token}"}
    )
    return response.status, await response.json()


async def introspect(client: Client, token: str) -> dict[str, Any]:
    response = await client.post(f"{BASE}/oauth/introspect", data={"token": token}, headers=BASIC)
    assert response.status == 200
    body: dict[str, Any] = await response.json()
    return body


async def test_fifty_parallel_redemptions_of_one_code(
    client: Client, driver: CustomerDriver
) -> None:
    code = await linked_code(driver)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}

    results = await asyncio.gather(*(post_token(client, form) for _ in range(50)))

    winners = [body for status, body in results if status == 200]
    losers = [(status, body["error"]) for status, body in results if status != 200]
    assert len(winners) == 1
    assert losers == [(400, "invalid_grant")] * 49
    # RFC 6749 4.1.2: a code redeemed twice revokes what the first redemption issued.
    tokens = winners[0]
    status, body = await accounts_status(client, tokens["access_token"])
    assert (status, body["error_code"]) == (401, "invalid_token")
    assert await introspect(client, tokens["access_token"]) == {"active": False}
    assert await introspect(client, tokens["refresh_token"]) == {"active": False}
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    status, body = await post_token(client, refresh)
    assert (status, body["error"]) == (400, "invalid_grant")
    # ...and the code stays burnt.
    status, body = await post_token(client, form)
    assert (status, body["error"]) == (400, "invalid_grant")


async def test_one_redemption_alone_keeps_its_tokens(
    client: Client, driver: CustomerDriver
) -> None:
    """The control case of the race above: without a second redemption nothing is revoked."""
    code = await linked_code(driver)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    status, tokens = await post_token(client, form)
    assert status == 200, tokens
    status, body = await accounts_status(client, tokens["access_token"])
    assert status == 200, body
    assert [a["account_number"] for a in body["accounts"]] == ["1234567"]


async def test_twenty_parallel_refreshes_of_one_refresh_token(
    client: Client, driver: CustomerDriver
) -> None:
    code = await linked_code(driver)
    status, tokens = await post_token(
        client, {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    )
    assert status == 200, tokens
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}

    results = await asyncio.gather(*(post_token(client, refresh) for _ in range(20)))

    winners = [body for status, body in results if status == 200]
    losers = [(status, body["error"]) for status, body in results if status != 200]
    assert len(winners) == 1
    assert losers == [(400, "invalid_grant")] * 19
    rotated = winners[0]
    assert rotated["refresh_token"] != tokens["refresh_token"]
    assert rotated["access_token"] != tokens["access_token"]
    # A rotated refresh token presented again is taken as theft: the whole grant is revoked,
    # the winner's fresh tokens included (OAuth 2.0 Security BCP 4.14).
    for token in (tokens["access_token"], rotated["access_token"]):
        status, body = await accounts_status(client, token)
        assert (status, body["error_code"]) == (401, "invalid_token")
    assert await introspect(client, rotated["refresh_token"]) == {"active": False}
    status, body = await post_token(
        client, {"grant_type": "refresh_token", "refresh_token": rotated["refresh_token"]}
    )
    assert (status, body["error"]) == (400, "invalid_grant")


async def test_parallel_wrong_identities_lock_the_account_exactly_once(
    client: Client, aiohttp_client: MakeClient, sandbox: Tenant
) -> None:
    """Screen ②: 30 browsers send a wrong birth date for one account at the same moment."""
    limit = sandbox.lockout.limit("identity")
    wrong = replace(TARO, birth_date="1980-01-02")

    async def at_identity() -> CustomerDriver:
        browser = CustomerDriver(await aiohttp_client(client.server), BANK)
        await browser.authorize(**APP)
        page = await browser.enter_account(TARO)
        assert isinstance(page, Page)
        assert page.screen == "identity", page.text()[:300]
        return browser

    browsers = list(await asyncio.gather(*(at_identity() for _ in range(31))))
    late = browsers.pop()

    pages = await asyncio.gather(*(b.enter_identity(wrong) for b in browsers))

    codes = Counter(page.error_code for page in pages if isinstance(page, Page))
    assert codes == {"wrong_identity": limit - 1, "locked_now": 1, "locked": 30 - limit}
    key = f"{TARO.branch_code}-{TARO.account_number}"
    assert await sandbox.lockout.failures("identity", key, await sandbox.clock.now()) == limit
    # The right birth date and phone afterwards: still locked for the day.
    page = await late.enter_identity(TARO)
    assert isinstance(page, Page)
    assert (page.status, page.error_code) == (403, "locked")
    assert page.screen != "phone"


async def test_twenty_parallel_approvals_issue_one_code(
    client: Client, driver: CustomerDriver
) -> None:
    """Screen ⑥: 許可する sent 20 times at once (a double click, a retry storm)."""
    await to_consent(driver)
    results = await asyncio.gather(*(driver.approve() for _ in range(20)))
    codes = [r.code for r in results if isinstance(r, Outcome) and r.code is not None]
    assert len(codes) == 1
    refused = [r for r in results if isinstance(r, Page)]
    assert len(refused) == 19
    assert {r.error_code for r in refused} <= {"invalid_form", "session_expired"}
    mails = await (await client.get("/_sandbox/outbox")).json()
    assert len(mails["mails"]) == 1  # one completion mail, for the one code
    status, _ = await post_token(
        client,
        {"grant_type": "authorization_code", "code": codes[0], "redirect_uri": REDIRECT},
    )
    assert status == 200
