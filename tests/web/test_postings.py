"""Statement lines on demand: listed in YAML, or posted now; balances stay consistent."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.web.conftest import BANK, TARO, MakeClient, link_and_redeem, make_app, make_scenario

Client = TestClient[Any, Any]
TARO_LINE = '- {branch: "001", type: ordinary, number: "1234567", pin: "1234", balance: 500000}'
LISTED = """- branch: "001"
        type: ordinary
        number: "1234567"
        pin: "1234"
        balance: 500000
        transactions:
          - {date: "2026-11-20", time: "09:30", type: deposit, amount: 12345,
             description: フリコミ テスト}
          - {date: "2026-11-26", type: withdrawal, amount: 1000, description: ｶｰﾄﾞ ﾃｽﾄ}"""
BASE = f"/parasol/v1/banks/{BANK}"


def _chain_holds(lines: list[dict[str, Any]]) -> None:
    for before, after in itertools.pairwise(lines):
        signed = after["amount"] if after["transaction_type"] == "deposit" else -after["amount"]
        assert after["balance_after"] == before["balance_after"] + signed, after


async def _statement(client: Client, headers: dict[str, str]) -> tuple[int, list[Any], str]:
    accounts = await (await client.get(f"{BASE}/accounts", headers=headers)).json()
    account = accounts["accounts"][0]
    url = f"{BASE}/accounts/{account['account_id']}/transactions"
    page = await (await client.get(url, params={"limit": "500"}, headers=headers)).json()
    return account["balance"], page["transactions"], account["account_id"]


@pytest.fixture
async def listed(aiohttp_client: MakeClient) -> Client:
    scenario = make_scenario(**{TARO_LINE: LISTED})
    return await aiohttp_client(make_app(scenario))


async def test_listed_lines_join_the_statement_with_consistent_balances(listed: Client) -> None:
    headers = await link_and_redeem(listed, TARO)
    balance, lines, _ = await _statement(listed, headers)
    assert balance == 500000  # the start's balance includes the line of the 20th
    (line,) = [t for t in lines if t["amount"] == 12345]
    assert line["description"] == "ﾌﾘｺﾐ ﾃｽﾄ"  # 摘要 in half-width kana
    assert line["transaction_date"] == "2026-11-20"
    assert not [t for t in lines if t["amount"] == 1000]  # the 26th has not come yet
    _chain_holds(lines)
    assert lines[-1]["balance_after"] == balance
    # A day later the withdrawal of the 26th is posted and the balance follows.
    moved = await listed.post("/_sandbox/clock", json={"advance_seconds": 86400})
    assert moved.status == 200
    headers = await link_and_redeem(listed, TARO)  # the first token has expired by then
    balance, lines, _ = await _statement(listed, headers)
    assert [t["description"] for t in lines if t["amount"] == 1000] == ["ｶｰﾄﾞ ﾃｽﾄ"]
    _chain_holds(lines)
    assert lines[-1]["balance_after"] == balance


async def test_a_line_posted_now_moves_the_balance(client: Client) -> None:
    headers = await link_and_redeem(client, TARO)
    before, _, account_id = await _statement(client, headers)
    posted = await client.post(
        f"/_sandbox/accounts/{account_id}/transactions",
        json={"type": "deposit", "amount": 5000, "description": "ﾃｽﾄ ﾆｭｳｷﾝ"},
    )
    assert posted.status == 201, await posted.text()
    body = await posted.json()
    assert body["balance"] == before + 5000
    assert body["transaction"]["balance_after"] == before + 5000
    balance, lines, _ = await _statement(client, headers)
    assert balance == before + 5000
    assert lines[-1]["description"] == "ﾃｽﾄ ﾆｭｳｷﾝ"
    assert lines[-1]["transaction_id"] == body["transaction"]["transaction_id"]
    _chain_holds(lines)
    out = await client.post(
        f"/_sandbox/accounts/{account_id}/transactions",
        json={"type": "withdrawal", "amount": 2000, "description": "ATM"},
    )
    assert out.status == 201
    assert (await _statement(client, headers))[0] == before + 3000


async def test_what_a_bank_would_refuse_is_refused(client: Client) -> None:
    url = "/_sandbox/accounts/001-ordinary-1234567/transactions"
    too_much = await client.post(
        url, json={"type": "withdrawal", "amount": 10**9, "description": "x"}
    )
    assert too_much.status == 409
    assert (await too_much.json())["error"] == "insufficient_balance"
    for body in (
        {"type": "gift", "amount": 1, "description": "x"},
        {"type": "deposit", "amount": 0, "description": "x"},
        {"type": "deposit", "amount": 1.5, "description": "x"},
        {"type": "deposit", "amount": 1, "description": ""},
    ):
        assert (await client.post(url, json=body)).status == 422, body
    assert (await client.post(url, json={"type": "deposit", "colour": 1})).status == 400
    unknown = await client.post(
        "/_sandbox/accounts/001-ordinary-0000000/transactions",
        json={"type": "deposit", "amount": 1, "description": "x"},
    )
    assert unknown.status == 404


async def test_a_posted_line_leaves_the_statement_with_the_held_period(client: Client) -> None:
    headers = await link_and_redeem(client, TARO)
    _, _, account_id = await _statement(client, headers)
    url = f"/_sandbox/accounts/{account_id}/transactions"
    posted = await client.post(url, json={"type": "deposit", "amount": 777, "description": "x"})
    assert posted.status == 201
    await client.post("/_sandbox/clock", json={"advance_seconds": 120 * 86400})
    fresh = await link_and_redeem(client, TARO)  # the old token's access has expired
    balance, lines, _ = await _statement(client, fresh)
    assert not [t for t in lines if t["amount"] == 777]
    _chain_holds(lines)
    assert lines[-1]["balance_after"] == balance


async def test_reset_forgets_posted_lines(client: Client) -> None:
    url = "/_sandbox/accounts/001-ordinary-1234567/transactions"
    body = {"type": "deposit", "amount": 4321, "description": "x"}
    assert (await client.post(url, json=body)).status == 201
    assert (await client.post("/_sandbox/reset")).status == 200
    headers = await link_and_redeem(client, TARO)
    _, lines, _ = await _statement(client, headers)
    assert not [t for t in lines if t["amount"] == 4321]
