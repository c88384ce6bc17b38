"""POST /_sandbox/links: a real single-use code (or tokens) without walking the screens."""

from __future__ import annotations

import dataclasses
from typing import Any

from aiohttp.test_utils import TestClient

from sandbox.domain.oauth import pkce
from sandbox.driver import CustomerDriver, Page
from tests.web.conftest import APP, APP_SECRET, BANK, TARO

Client = TestClient[Any, Any]
TOKEN = f"/parasol/v1/banks/{BANK}/oauth/token"
ACCOUNTS = f"/parasol/v1/banks/{BANK}/accounts"


async def _link(client: Client, **body: Any) -> Any:
    return await client.post("/_sandbox/links", json={"client_id": "app-1", **body})


async def _redeem(client: Client, code: str, **extra: str) -> Any:
    return await client.post(
        TOKEN,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": APP["redirect_uri"],
            "client_id": "app-1",
            "client_secret": APP_SECRET,
            **extra,
        },
    )


async def test_a_link_for_a_customer_gives_a_single_use_code(client: Client) -> None:
    response = await _link(client, customer="taro", state="abc")
    assert response.status == 201
    body = await response.json()
    assert body["redirect_uri"] == APP["redirect_uri"]
    assert body["state"] == "abc"
    assert body["expires_in"] == 60
    assert body["account_ref"] == "001-ordinary-1234567"
    redeemed = await _redeem(client, body["code"])
    assert redeemed.status == 200
    token = (await redeemed.json())["access_token"]
    accounts = await client.get(ACCOUNTS, headers={"Authorization": f"Bearer {token}"})
    assert [a["account_id"] for a in (await accounts.json())["accounts"]] == [body["account_id"]]
    again = await _redeem(client, body["code"])
    assert again.status == 400
    assert (await again.json())["error"] == "invalid_grant"


async def test_tokens_true_answers_a_token_response(client: Client) -> None:
    response = await _link(client, account_id="001-ordinary-1234567", tokens=True)
    assert response.status == 201
    body = await response.json()
    assert body["token_type"] == "Bearer"
    assert "code" not in body
    accounts = await client.get(
        ACCOUNTS, headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert accounts.status == 200
    rotated = await client.post(
        TOKEN,
        data={
            "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"],
            "client_id": "app-1",
            "client_secret": APP_SECRET,
        },
    )
    assert rotated.status == 200


async def test_an_account_by_id_or_by_branch_and_number(client: Client) -> None:
    by_number = await _link(
        client, branch_code="002", account_type="savings", account_number="7654321"
    )
    assert by_number.status == 201
    account_id = (await by_number.json())["account_id"]
    by_id = await _link(client, account_id=account_id)
    assert by_id.status == 201
    assert (await by_id.json())["customer_id"] == "hanako"


async def test_pkce_is_required_where_the_client_requires_it(client: Client) -> None:
    pkce_app = {"client_id": "pkce-app", "customer": "taro"}
    refused = await client.post("/_sandbox/links", json=pkce_app)
    assert refused.status == 422
    assert (await refused.json())["error"] == "pkce_required"
    verifier = "v" * 50
    made = await client.post(
        "/_sandbox/links", json={**pkce_app, "code_challenge": pkce.s256(verifier)}
    )
    assert made.status == 201
    code = (await made.json())["code"]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": "https://pkce.example/cb",
        "client_id": "pkce-app",
        "client_secret": "secret-two-456",
    }
    without = await client.post(TOKEN, data=form)
    assert without.status == 400
    made = await client.post(
        "/_sandbox/links", json={**pkce_app, "code_challenge": pkce.s256(verifier)}
    )
    form["code"] = (await made.json())["code"]
    assert (await client.post(TOKEN, data={**form, "code_verifier": verifier})).status == 200


async def test_what_the_bank_would_refuse_is_refused(client: Client) -> None:
    cases = [
        ({"client_id": "nobody", "customer": "taro"}, 404, "unknown_client"),
        (
            {"customer": "taro", "redirect_uri": "https://app.example/other"},
            422,
            "invalid_redirect_uri",
        ),
        ({"customer": "nobody"}, 404, "unknown_customer"),
        (
            {"branch_code": "002", "account_type": "ordinary", "account_number": "1111111"},
            422,
            "wrong_account",
        ),  # no cash card
        ({"account_id": "001-ordinary-0000000"}, 404, "account_not_found"),
        ({}, 400, "invalid_request"),
        ({"customer": "taro", "account_id": "001-ordinary-1234567"}, 400, "invalid_request"),
        ({"customer": "taro", "tokens": "yes"}, 400, "invalid_request"),
    ]
    for extra, status, error in cases:
        response = await client.post("/_sandbox/links", json={"client_id": "app-1", **extra})
        assert response.status == status, (extra, await response.text())
        assert (await response.json())["error"] == error, extra


async def test_a_locked_account_cannot_be_linked(client: Client) -> None:
    driver = CustomerDriver(client, BANK)
    wrong = dataclasses.replace(TARO, birth_date="1999-09-09")
    page: Any = None
    for _ in range(3):
        await driver.authorize(**APP)
        await driver.enter_account(TARO)
        page = await driver.enter_identity(wrong)
    assert isinstance(page, Page)
    assert page.error_code == "locked_now"
    refused = await _link(client, customer="taro")
    assert refused.status == 409
    assert (await refused.json())["error"] == "locked"


async def test_a_link_is_journaled_mailed_and_counted(client: Client) -> None:
    assert (await _link(client, customer="taro")).status == 201
    entries = (await (await client.get("/_sandbox/journal")).json())["entries"]
    (entry,) = [e for e in entries if e["path"] == "/_sandbox/links"]
    assert entry["status"] == 201
    assert entry["client_id"] == "app-1"
    mails = (await (await client.get("/_sandbox/outbox")).json())["mails"]
    assert [m["to"] for m in mails] == ["taro@example.jp"]
    metrics = await (await client.get("/metrics")).text()
    assert 'sandbox_linkages_finished_total{bank="2011",outcome="approved"} 1.0' in metrics
