"""Fixtures for web tests: a small scenario, an app and a customer driver."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypedDict

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from sandbox.driver import CustomerData, CustomerDriver, Outcome
from sandbox.scenario.loader import load_scenario_text
from sandbox.scenario.model import Scenario
from sandbox.settings import Settings
from sandbox.tenant.tenant import Tenant
from sandbox.web.app import REGISTRY, create_app

SCENARIO = """
name: web-tests
description: Two customers and two clients, frozen on a Wednesday morning.
bank:
  code: "2011"
  name: テスト信用組合
  auth_phone_number: "0120-111-222"
  branches:
    - {code: "001", name: 本店}
    - {code: "002", name: 前橋支店}
clock:
  start: "2026-11-25T10:00:00+09:00"
  frozen: true
clients:
  - client_id: app-1
    client_secret: secret-one-123
    name: テスト家計簿
    redirect_uris: ["https://app.example/callback"]
  - client_id: pkce-app
    client_secret: secret-two-456
    redirect_uris: ["https://pkce.example/cb"]
    pkce: required
customers:
  - id: taro
    name_kanji: データ 太郎
    name_kana: ﾃﾞｰﾀ ﾀﾛｳ
    birth_date: "1980-01-01"
    phone: "090-1234-5678"
    email: taro@example.jp
    accounts:
      - {branch: "001", type: ordinary, number: "1234567", pin: "1234", balance: 500000}
  - id: hanako
    name_kanji: 山田 花子
    name_kana: ﾔﾏﾀﾞ ﾊﾅｺ
    birth_date: "1990-05-20"
    phone: "027-123-4567"
    email: hanako@example.jp
    accounts:
      - {branch: "002", type: savings, number: "7654321", pin: "0000", balance: 10000}
      - {branch: "002", type: ordinary, number: "1111111", pin: "1111", balance: 1,
         cash_card: false}
      - {branch: "002", type: current, number: "2222222", pin: "2222", balance: 1}
"""

TARO = CustomerData(
    branch_code="001",
    account_number="1234567",
    pin="1234",
    name_kana="ﾃﾞｰﾀ ﾀﾛｳ",
    birth_date="1980-01-01",
    phone="09012345678",
    email="taro@example.jp",
)
HANAKO = CustomerData(
    branch_code="002",
    account_number="7654321",
    pin="0000",
    name_kana="ﾔﾏﾀﾞ ﾊﾅｺ",
    birth_date="1990-05-20",
    phone="0271234567",
    email="hanako@example.jp",
    account_type="savings",
)


class AuthorizeParams(TypedDict):
    """What the test app puts in its authorize URL (``CustomerDriver.authorize(**APP)``)."""

    client_id: str
    redirect_uri: str
    state: str


APP: AuthorizeParams = {
    "client_id": "app-1",
    "redirect_uri": "https://app.example/callback",
    "state": "xyz-123",
}
APP_SECRET = "secret-one-123"
BANK = "2011"

MakeClient = Callable[..., Awaitable[TestClient[Any, Any]]]


def make_scenario(extra_yaml: str = "", **replace: str) -> Scenario:
    """The test scenario, optionally with text replaced or appended."""
    text = SCENARIO
    for old, new in replace.items():
        text = text.replace(old, new)
    return load_scenario_text(text + extra_yaml, source="<test>")


def make_app(*scenarios: Scenario) -> Any:
    """The app serving ``scenarios`` on a fresh in-memory store."""
    return create_app(Settings(secret_key=b"k" * 32), scenarios=[(s, "<test>") for s in scenarios])


async def tenant_of(client: TestClient[web.Request, web.Application], bank: str = BANK) -> Tenant:
    """The state of ``bank`` in the app behind ``client``."""
    tenant = await client.app[REGISTRY].get(bank)
    assert tenant is not None, f"bank {bank} is not loaded"
    return tenant


@pytest.fixture
def scenario() -> Scenario:
    return make_scenario()


@pytest.fixture
async def client(aiohttp_client: MakeClient, scenario: Scenario) -> TestClient[Any, Any]:
    """The app on the test scenario (tests/conftest.py checks its responses against the spec)."""
    return await aiohttp_client(make_app(scenario))


@pytest.fixture
async def sandbox(client: TestClient[Any, Any]) -> Tenant:
    """The test bank's state behind ``client``."""
    return await tenant_of(client)


@pytest.fixture
def driver(client: TestClient[Any, Any]) -> CustomerDriver:
    return CustomerDriver(client, BANK)


async def link_and_redeem(
    client: TestClient[Any, Any],
    who: CustomerData,
    *,
    client_id: str = APP["client_id"],
    secret: str = APP_SECRET,
    redirect_uri: str = APP["redirect_uri"],
    bank: str = BANK,
    state: str = "s",
) -> dict[str, str]:
    """Walk the six screens, redeem the code (client_secret_post): Bearer headers.

    The client is the test scenario's ``app-1`` unless another is named.
    """
    tokens = await link_for_tokens(
        client,
        who,
        client_id=client_id,
        secret=secret,
        redirect_uri=redirect_uri,
        bank=bank,
        state=state,
    )
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def link_for_tokens(
    client: TestClient[Any, Any],
    who: CustomerData,
    *,
    client_id: str = APP["client_id"],
    secret: str = APP_SECRET,
    redirect_uri: str = APP["redirect_uri"],
    bank: str = BANK,
    state: str = "s",
) -> dict[str, Any]:
    """Walk the six screens, redeem the code (client_secret_post): the token response."""
    outcome = await CustomerDriver(client, bank).link(
        who, client_id=client_id, redirect_uri=redirect_uri, state=state
    )
    assert isinstance(outcome, Outcome), outcome
    assert outcome.code is not None, outcome
    response = await client.post(
        f"/parasol/v1/banks/{bank}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": outcome.code,
            "redirect_uri": redirect_uri,
            "client_id": client_id,
            "client_secret": secret,
        },
    )
    assert response.status == 200, await response.text()
    tokens: dict[str, Any] = await response.json()
    return tokens
