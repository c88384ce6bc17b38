"""What a vendor's own contract tests look like against the sandbox (pytest plugin fixtures).

Run with: pytest examples/   (the plugin is registered when the package is installed)
"""

from __future__ import annotations

import base64
from typing import TypedDict
from urllib.parse import quote_plus

import aiohttp

from sandbox.driver import CustomerDriver, Outcome, Page
from sandbox.pytest_plugin import RunningSandbox


class AuthorizeParams(TypedDict):
    """What the app puts in its authorize URL; typed, so ``link(c, **CLIENT)`` type-checks."""

    client_id: str
    redirect_uri: str
    state: str


CLIENT: AuthorizeParams = {
    "client_id": "demo-app",
    "redirect_uri": "http://127.0.0.1:8765/callback",
    "state": "vendor-state-1",
}
SECRET = "demo-secret-please-change"


def basic_auth(client_id: str, secret: str) -> str:
    """HTTP Basic client authentication (RFC 6749 2.3.1: form-encode, then base64)."""
    pair = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return "Basic " + base64.b64encode(pair).decode()


async def test_link_exchange_and_read_balance(
    sandbox_server: RunningSandbox, sandbox_customer: CustomerDriver
) -> None:
    """The app's whole happy path: linkage, code exchange, first data call."""
    taro = sandbox_server.customer("taro")  # the default scenario's documented customer
    outcome = await sandbox_customer.link(taro, **CLIENT)
    assert isinstance(outcome, Outcome), outcome
    assert outcome.state == CLIENT["state"]
    assert outcome.code is not None
    bank = f"{sandbox_server.url}/parasol/v1/banks/{sandbox_server.bank}"
    async with aiohttp.ClientSession() as http:
        token = await http.post(
            f"{bank}/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": outcome.code,
                "redirect_uri": CLIENT["redirect_uri"],
            },
            headers={"Authorization": basic_auth(CLIENT["client_id"], SECRET)},
        )
        assert token.status == 200
        access = (await token.json())["access_token"]
        accounts = await http.get(f"{bank}/accounts", headers={"Authorization": f"Bearer {access}"})
        assert accounts.status == 200
        body = await accounts.json()
        assert body["accounts"][0]["account_number"] == "1234567"


async def test_my_app_shows_the_wrong_identity_message(
    sandbox_server: RunningSandbox, sandbox_customer: CustomerDriver
) -> None:
    """The bank says 本人認証情報が誤っています… when the birth date is wrong."""
    wrong = sandbox_server.customer("taro").but(birth_date="1980-01-02")
    page = await sandbox_customer.link(wrong, **CLIENT)
    assert isinstance(page, Page)
    assert page.error_code == "wrong_identity"
    assert page.error_message == (
        "本人認証情報が誤っています。本人認証項目をご確認のうえ、再度入力して下さい。"
    )
