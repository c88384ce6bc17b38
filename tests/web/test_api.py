"""The bank data API as a vendor's client sees it, checked against openapi.yaml."""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import replace
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from sandbox.clock import parse_iso
from sandbox.domain.bank import AccountType
from sandbox.domain.ledger import time_deposit_interest
from sandbox.domain.oauth.errors import BearerError
from sandbox.driver import CustomerData, CustomerDriver, Page
from sandbox.errors import CATALOG
from sandbox.scenario.model import RuleModel, Scenario
from sandbox.tenant.tenant import Tenant
from sandbox.web.app import REGISTRY
from sandbox.web.docs import SPEC_PATH
from tests.web.conftest import (
    APP,
    BANK,
    TARO,
    MakeClient,
    link_and_redeem,
    make_app,
    make_scenario,
    tenant_of,
)
from tests.web.customers import JIRO, JIRO_REFS

BASE = "/parasol/v1/banks/2011"
REDIRECT = "https://app.example/callback"
SPEC = OpenAPI.from_dict(yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8")))


def aid(ref: str, bank: str = "2011") -> str:
    return hashlib.sha256(f"{bank}:{ref}".encode()).hexdigest()[:20]


async def issue_token(sandbox: Tenant, customer: str, refs: tuple[str, ...]) -> str:
    """An access token as if the customer had gone through the linkage screens."""
    now = await sandbox.clock.now()
    request = sandbox.oauth.validate_authorize(
        {"response_type": "code", "client_id": "app-1", "redirect_uri": REDIRECT}
    )
    code = await sandbox.oauth.issue_code(request, customer, refs, now)
    client = sandbox.oauth.client("app-1")
    assert client is not None
    tokens = await sandbox.oauth.exchange_code(client, code, REDIRECT, None, now)
    return str(tokens["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def checked(response: ClientResponse) -> Any:
    """The JSON body, after checking the response against the OpenAPI spec."""
    body = await response.read()
    url = urlsplit(str(response.url))
    request = MockRequest(
        "http://127.0.0.1:8080",
        response.method.lower(),
        url.path,
        args=dict(response.url.query),
    )
    mock = MockResponse(
        body,
        status_code=response.status,
        headers=dict(response.headers),
        content_type=response.content_type,
    )
    SPEC.validate_response(request, mock)
    assert response.headers["Cache-Control"] == "no-store"
    return await response.json()


@pytest.fixture
def scenario() -> Scenario:
    return make_scenario(JIRO)


@pytest.fixture
async def token(sandbox: Tenant) -> str:
    return await issue_token(sandbox, "jiro", JIRO_REFS)


@pytest.fixture
def headers(token: str) -> dict[str, str]:
    return bearer(token)


async def test_accounts_lists_linked_accounts_with_balances(
    client: TestClient[Any, Any], headers: dict[str, str]
) -> None:
    response = await client.get(f"{BASE}/accounts", headers=headers)
    assert response.status == 200
    body = await checked(response)
    assert body["base_date_time"] == "2026-11-25T10:00:00+09:00"
    first, second = body["accounts"]
    assert first == {
        "account_id": aid("001-ordinary-3333333"),
        "branch_code": "001",
        "branch_name": "本店",
        "account_type_code": "01",
        "account_type_name": "普通",
        "account_number": "3333333",
        "account_name_kana": "ｽｽﾞｷ ｼﾞﾛｳ",
        "currency_code": "JPY",
        "balance": 800000,
        "withdrawable_amount": 800000,
        "base_date": "2026-11-25",
        "base_time": "10:00:00+09:00",
    }
    assert (second["account_type_code"], second["account_type_name"]) == ("04", "貯蓄")
    assert second["branch_name"] == "前橋支店"
    assert second["balance"] == 250000


async def test_account_ids_survive_reset(
    client: TestClient[Any, Any], sandbox: Tenant, headers: dict[str, str]
) -> None:
    before = await (await client.get(f"{BASE}/accounts", headers=headers)).json()
    sandbox = await client.app[REGISTRY].reset(BANK)
    fresh = bearer(await issue_token(sandbox, "jiro", JIRO_REFS))
    after = await (await client.get(f"{BASE}/accounts", headers=fresh)).json()
    assert [a["account_id"] for a in after["accounts"]] == [
        a["account_id"] for a in before["accounts"]
    ]


async def test_one_account_and_foreign_ids_are_not_found(
    client: TestClient[Any, Any], headers: dict[str, str]
) -> None:
    own = aid("002-savings-4444444")
    response = await client.get(f"{BASE}/accounts/{own}", headers=headers)
    body = await checked(response)
    assert (body["account_id"], body["balance"]) == (own, 250000)
    for other in [aid("001-ordinary-1234567"), "001-ordinary-3333333", "x" * 300, "%E3%81%82"]:
        response = await client.get(f"{BASE}/accounts/{other}", headers=headers)
        assert response.status == 404
        body = await checked(response)
        assert body["error_code"] == "account_not_found"
        assert body["error_message"] == CATALOG["account_not_found"].message


async def test_balance_moves_with_the_clock_and_matches_the_statement(
    client: TestClient[Any, Any], sandbox: Tenant, headers: dict[str, str]
) -> None:
    acc = aid("001-ordinary-3333333")
    for days in [0, 3, 17, 40]:
        if days:
            sandbox = await client.app[REGISTRY].reset(BANK)
        await sandbox.clock.set(parse_iso("2026-11-25T10:00:00") + timedelta(days=days))
        if days:
            headers = bearer(await issue_token(sandbox, "jiro", JIRO_REFS))
        accounts = await checked(await client.get(f"{BASE}/accounts", headers=headers))
        page = await checked(
            await client.get(f"{BASE}/accounts/{acc}/transactions?limit=500", headers=headers)
        )
        assert page["next_cursor"] is None
        lines = page["transactions"]
        assert lines, "three months of an active account are never empty"
        assert lines[-1]["balance_after"] == accounts["accounts"][0]["balance"]
        assert page["date_to"] == accounts["accounts"][0]["base_date"]


async def test_statement_is_ascending_and_consistent(
    client: TestClient[Any, Any], headers: dict[str, str]
) -> None:
    acc = aid("001-ordinary-3333333")
    page = await checked(
        await client.get(f"{BASE}/accounts/{acc}/transactions?limit=500", headers=headers)
    )
    lines = page["transactions"]
    assert page["count"] == len(lines)
    assert page["account_id"] == acc
    assert page["date_to"] == "2026-11-25"
    dates = [line["transaction_date"] for line in lines]
    assert dates == sorted(dates)
    assert page["date_from"] <= dates[0]
    assert len({line["transaction_id"] for line in lines}) == len(lines)
    for before, line in itertools.pairwise(lines):
        sign = 1 if line["transaction_type"] == "deposit" else -1
        assert line["balance_after"] == before["balance_after"] + sign * line["amount"]


async def test_statement_pages_join_up(
    client: TestClient[Any, Any], headers: dict[str, str]
) -> None:
    url = f"{BASE}/accounts/{aid('001-ordinary-3333333')}/transactions"
    whole = await checked(await client.get(url, params={"limit": "500"}, headers=headers))
    collected: list[dict[str, Any]] = []
    params = {"date_from": whole["date_from"], "limit": "7"}
    for _ in range(100):
        page = await checked(await client.get(url, params=params, headers=headers))
        assert page["count"] <= 7
        collected += page["transactions"]
        if page["next_cursor"] is None:
            break
        params = {"cursor": page["next_cursor"], "limit": "7"}
    assert collected == whole["transactions"]


async def test_explicit_range(client: TestClient[Any, Any], headers: dict[str, str]) -> None:
    url = f"{BASE}/accounts/{aid('001-ordinary-3333333')}/transactions"
    params = {"date_from": "2026-10-01", "date_to": "2026-10-31", "limit": "500"}
    page = await checked(await client.get(url, params=params, headers=headers))
    assert (page["date_from"], page["date_to"]) == ("2026-10-01", "2026-10-31")
    assert page["transactions"]
    assert all("2026-10-01" <= t["transaction_date"] <= "2026-10-31" for t in page["transactions"])


@pytest.mark.parametrize(
    ("query", "code", "needle"),
    [
        ("date_from=2026/11/01", "invalid_parameter", "YYYY-MM-DD"),
        ("date_from=2026-13-01", "invalid_parameter", "calendar date"),
        ("date_from=2026-11-20&date_to=2026-11-01", "invalid_parameter", "after date_to"),
        ("date_from=2026-11-26", "invalid_parameter", "future"),
        ("date_from=2026-11-01&sort=desc", "invalid_parameter", "unknown query parameter"),
        ("date_from=2026-11-01&date_from=2026-11-02", "invalid_parameter", "more than once"),
        ("limit=0", "invalid_parameter", "limit"),
        ("cursor=zzz", "invalid_parameter", "cursor"),
        ("date_from=2026-08-24", "period_out_of_range", "held from 2026-08-25"),
        ("date_from=2025-01-01&date_to=2025-01-31", "period_out_of_range", "held from"),
    ],
)
async def test_bad_statement_queries_are_400_with_detail(
    client: TestClient[Any, Any], headers: dict[str, str], query: str, code: str, needle: str
) -> None:
    url = f"{BASE}/accounts/{aid('001-ordinary-3333333')}/transactions?{query}"
    response = await client.get(url, headers=headers)
    assert response.status == 400
    body = await checked(response)
    assert body["error_code"] == code
    assert body["error_message"] == CATALOG[code].message
    assert needle in body["detail"]


async def test_whole_held_period_in_one_request(
    client: TestClient[Any, Any], headers: dict[str, str]
) -> None:
    url = f"{BASE}/accounts/{aid('001-ordinary-3333333')}/transactions"
    response = await client.get(
        f"{url}?date_from=2026-08-25&date_to=2026-11-25&limit=500", headers=headers
    )
    assert response.status == 200
    body = await checked(response)
    assert body["transactions"]
    assert body["transactions"][0]["transaction_date"] >= "2026-08-25"


async def test_range_longer_than_policy_is_refused(aiohttp_client: Any) -> None:
    short = make_scenario(
        JIRO, **{"  branches:": "  policy: {max_statement_days: 31}\n  branches:"}
    )
    client = await aiohttp_client(make_app(short))
    token = await issue_token(await tenant_of(client), "jiro", JIRO_REFS)
    url = f"{BASE}/accounts/{aid('001-ordinary-3333333')}/transactions"
    response = await client.get(
        f"{url}?date_from=2026-10-01&date_to=2026-11-25", headers=bearer(token)
    )
    assert response.status == 400
    body = await checked(response)
    assert body["error_code"] == "invalid_parameter"
    assert "31 days" in body["detail"]


async def test_term_deposits_of_linked_accounts(
    client: TestClient[Any, Any], headers: dict[str, str]
) -> None:
    body = await checked(await client.get(f"{BASE}/term_deposits", headers=headers))
    assert body["count"] == 2
    first, second = body["term_deposits"]
    assert first["account_id"] == aid("001-ordinary-3333333")
    assert second["account_id"] == aid("002-savings-4444444")
    assert (second["kind"], second["certificate_number"]) == ("大口定期", "2002")
    assert first["interest_at_maturity"] == time_deposit_interest(
        1_000_000, 0.2, parse_iso("2026-04-01").date(), parse_iso("2027-04-01").date()
    )
    assert 0 < first["interest_at_maturity"] < 1_000_000 * 0.002


async def test_only_consented_accounts_are_visible(
    client: TestClient[Any, Any], sandbox: Tenant
) -> None:
    headers = bearer(await issue_token(sandbox, "jiro", JIRO_REFS[1:]))
    body = await checked(await client.get(f"{BASE}/accounts", headers=headers))
    assert [a["account_number"] for a in body["accounts"]] == ["4444444"]
    deposits = await checked(await client.get(f"{BASE}/term_deposits", headers=headers))
    assert [d["certificate_number"] for d in deposits["term_deposits"]] == ["2002"]
    response = await client.get(f"{BASE}/accounts/{aid(JIRO_REFS[0])}", headers=headers)
    assert response.status == 404


# --- authentication -------------------------------------------------------------------


async def test_missing_token_is_401_with_bare_challenge(client: TestClient[Any, Any]) -> None:
    response = await client.get(f"{BASE}/accounts")
    assert response.status == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="')
    assert "error=" not in challenge
    body = await checked(response)
    assert body["error_code"] == "invalid_token"


@pytest.mark.parametrize(
    "value",
    ["Bearer nope", "Bearer ", "Basic YWJjOmRlZg==", "bearer", "Bearer a b", "Bearer ｱｲｳ"],
)
async def test_bad_tokens_are_401_invalid_token(client: TestClient[Any, Any], value: str) -> None:
    response = await client.get(f"{BASE}/term_deposits", headers={"Authorization": value})
    assert response.status == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert (await checked(response))["error_code"] == "invalid_token"


@pytest.mark.parametrize("length", [40, 300])
async def test_a_header_is_judged_alike_each_time_and_at_any_length(
    client: TestClient[Any, Any], token: str, length: int
) -> None:
    """Well-formed but unknown: invalid_token; malformed: the same with "Malformed"; two
    headers: malformed. The same each time it is sent (the parsed headers are remembered
    up to 256 characters; longer ones are read every time)."""
    unknown = {"Authorization": "Bearer " + "u" * length}
    malformed = {"Authorization": "Bearer " + "u" * length + " x"}
    for _ in range(2):
        for headers, says_malformed in ((unknown, False), (malformed, True)):
            response = await client.get(f"{BASE}/accounts", headers=headers)
            assert response.status == 401
            challenge = response.headers["WWW-Authenticate"]
            assert 'error="invalid_token"' in challenge
            assert ("Malformed Bearer token" in challenge) is says_malformed
    twice = [("Authorization", f"Bearer {token}"), ("Authorization", f"Bearer {token}")]
    response = await client.get(f"{BASE}/accounts", headers=twice)
    assert "Malformed Bearer token" in response.headers["WWW-Authenticate"]
    response = await client.get(f"{BASE}/accounts", headers={"Authorization": f"Bearer {token}"})
    assert response.status == 200


async def test_scheme_is_case_insensitive(client: TestClient[Any, Any], token: str) -> None:
    response = await client.get(f"{BASE}/accounts", headers={"Authorization": f"bearer {token}"})
    assert response.status == 200


async def test_expired_token_then_reauth_required(
    client: TestClient[Any, Any], sandbox: Tenant, headers: dict[str, str]
) -> None:
    policy = sandbox.scenario.bank.policy
    await sandbox.clock.advance(policy.access_token_ttl_seconds + 1)
    response = await client.get(f"{BASE}/accounts", headers=headers)
    assert response.status == 401
    assert (await checked(response))["error_code"] == "invalid_token"
    await sandbox.clock.advance(policy.reauth_period_days * 86400)
    if sandbox.calendar.closed_window(await sandbox.clock.now()) is not None:
        await sandbox.clock.advance(6 * 3600)
    response = await client.get(f"{BASE}/accounts", headers=headers)
    assert response.status == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    body = await checked(response)
    assert body["error_code"] == "reauth_required"
    assert body["error_message"] == CATALOG["reauth_required"].message


async def test_insufficient_scope_is_403(
    client: TestClient[Any, Any], sandbox: Tenant, headers: dict[str, str], monkeypatch: Any
) -> None:
    async def refuse(*_: object, **__: object) -> None:
        raise BearerError("insufficient_scope")

    monkeypatch.setattr(sandbox.oauth, "authenticate_bearer", refuse)
    response = await client.get(f"{BASE}/accounts", headers=headers)
    assert response.status == 403
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    assert (await checked(response))["error_code"] == "insufficient_scope"


async def test_revoked_token_is_401(
    client: TestClient[Any, Any], sandbox: Tenant, token: str
) -> None:
    app_client = sandbox.oauth.client("app-1")
    assert app_client is not None
    await sandbox.oauth.revoke(app_client, token, "access_token", await sandbox.clock.now())
    response = await client.get(f"{BASE}/accounts", headers=bearer(token))
    assert response.status == 401


async def test_unknown_bank_is_404(client: TestClient[Any, Any], headers: dict[str, str]) -> None:
    for bank in ["9999", "abc", "２０１１"]:
        response = await client.get(f"/parasol/v1/banks/{bank}/accounts", headers=headers)
        assert response.status == 404
        assert (await checked(response))["error_code"] == "not_found"


# --- service hours and rules ----------------------------------------------------------


async def test_off_hours_is_503_with_retry_after(
    client: TestClient[Any, Any], sandbox: Tenant, headers: dict[str, str]
) -> None:
    await sandbox.clock.set(parse_iso("2026-11-25T23:59:59"))
    await sandbox.clock.advance(31)  # 00:00:30, inside the daily 00:00 window
    now = await sandbox.clock.now()
    assert sandbox.calendar.closed_window(now) is not None
    url = f"{BASE}/accounts/{aid(JIRO_REFS[0])}/transactions"
    response = await client.get(url, headers=headers)
    assert response.status == 503
    assert response.headers["Retry-After"] == str(sandbox.calendar.retry_after_seconds(now))
    body = await checked(response)
    assert body == {
        "error_code": "off_hours",
        "error_message": "この時間はサービスを行っておりません。ご了承下さい。",
        "detail": "outside service hours",
    }


async def test_rule_injects_congestion_on_transactions_once(
    client: TestClient[Any, Any], sandbox: Tenant, headers: dict[str, str]
) -> None:
    await sandbox.rules.add(
        RuleModel.model_validate(
            {"on": "api", "when": {"endpoint": "transactions"}, "error": "congestion", "times": 1}
        )
    )
    url = f"{BASE}/accounts/{aid(JIRO_REFS[0])}/transactions"
    assert (await client.get(f"{BASE}/accounts", headers=headers)).status == 200
    response = await client.get(url, headers=headers)
    assert response.status == 503
    assert response.headers["Retry-After"] == "30"
    assert (await checked(response))["error_code"] == "congestion"
    assert (await client.get(url, headers=headers)).status == 200
    served = (await sandbox.coverage())["served"]
    assert served["congestion"]["by_client"] == {"app-1": 1}


async def test_rule_on_one_account_and_malformed_fault(
    client: TestClient[Any, Any], sandbox: Tenant, headers: dict[str, str]
) -> None:
    await sandbox.rules.add(
        RuleModel.model_validate(
            {"on": "api", "when": {"account": "002-4444444"}, "error": "system_error"}
        )
    )
    await sandbox.rules.add(
        RuleModel.model_validate(
            {"on": "api", "when": {"endpoint": "term_deposits"}, "fault": {"malformed": True}}
        )
    )
    first = await client.get(f"{BASE}/accounts/{aid(JIRO_REFS[0])}", headers=headers)
    assert first.status == 200
    second = await client.get(f"{BASE}/accounts/{aid(JIRO_REFS[1])}", headers=headers)
    assert second.status == 500
    assert (await checked(second))["error_code"] == "system_error"
    broken = await client.get(f"{BASE}/term_deposits", headers=headers)
    assert broken.status == 200
    with pytest.raises(ValueError, match=r".+"):
        await broken.json()


# --- 移管 -------------------------------------------------------------------------------


async def test_transfer_moves_account_and_old_tokens_hear_account_transferred(
    client: TestClient[Any, Any], sandbox: Tenant, headers: dict[str, str]
) -> None:
    before = await checked(
        await client.get(f"{BASE}/accounts/{aid(JIRO_REFS[0])}", headers=headers)
    )
    response = await client.post(
        f"/_sandbox/accounts/{aid(JIRO_REFS[0])}/transfer",
        json={"branch_code": "002", "account_number": "7000001"},
    )
    assert response.status == 200
    moved = await response.json()
    assert moved["old"]["account_ref"] == "001-ordinary-3333333"
    assert moved["new"] == {
        "account_id": aid("002-ordinary-7000001"),
        "account_ref": "002-ordinary-7000001",
        "branch_code": "002",
        "account_type": "ordinary",
        "account_number": "7000001",
    }
    assert moved["affected_grants"] == 1
    # The app's token is not revoked: it hears what the bank's catalog says for 移管.
    response = await client.get(f"{BASE}/accounts/{aid(JIRO_REFS[0])}", headers=headers)
    assert response.status == 403
    assert (await checked(response))["error_code"] == "account_transferred"

    old_found = sandbox.directory.find_account("001", AccountType.ORDINARY, "3333333")
    assert old_found is not None
    assert not old_found[1].eligible

    relinked = bearer(await issue_token(sandbox, "jiro", ("002-ordinary-7000001", JIRO_REFS[1])))
    after = await checked(await client.get(f"{BASE}/accounts", headers=relinked))
    new = after["accounts"][0]
    assert (new["branch_code"], new["account_number"], new["branch_name"]) == (
        "002",
        "7000001",
        "前橋支店",
    )
    assert new["balance"] == before["balance"]
    url = f"{BASE}/accounts/{new['account_id']}/transactions"
    page = await checked(await client.get(url, params={"limit": "500"}, headers=relinked))
    assert page["transactions"][-1]["balance_after"] == before["balance"]

    stale = bearer(await issue_token(sandbox, "jiro", JIRO_REFS))
    response = await client.get(f"{BASE}/accounts/{aid(JIRO_REFS[0])}", headers=stale)
    assert response.status == 403
    body = await checked(response)
    assert body["error_code"] == "account_transferred"
    assert body["error_message"] == CATALOG["account_transferred"].message
    listed = await checked(await client.get(f"{BASE}/accounts", headers=stale))
    assert [a["account_number"] for a in listed["accounts"]] == ["4444444"]
    only_old = bearer(await issue_token(sandbox, "jiro", JIRO_REFS[:1]))
    response = await client.get(f"{BASE}/accounts", headers=only_old)
    assert response.status == 403


async def test_transfer_by_ref_defaults_and_conflicts(
    client: TestClient[Any, Any], sandbox: Tenant
) -> None:
    url = "/_sandbox/accounts/001-ordinary-1234567/transfer"
    response = await client.post(url, headers={"X-Sandbox-Bank": "2011"})
    assert response.status == 200
    moved = await response.json()
    assert moved["new"]["branch_code"] == "002"
    assert moved["affected_grants"] == 0
    again = await client.post(url)
    assert again.status == 409
    assert (await again.json())["error_code"] == "account_transferred"
    await client.app[REGISTRY].reset(sandbox.bank_code)
    assert (await client.post(url)).status == 200


@pytest.mark.parametrize(
    ("path", "kwargs", "status", "code"),
    [
        ("001-ordinary-9999999", {}, 404, "account_not_found"),
        ("ffffffffffffffffffff", {}, 404, "account_not_found"),
        ("garbage", {}, 404, "account_not_found"),
        ("001-ordinary-1234567", {"data": b"{not json"}, 400, "invalid_parameter"),
        ("001-ordinary-1234567", {"json": [1, 2]}, 400, "invalid_parameter"),
        ("001-ordinary-1234567", {"json": {"branch_code": "999"}}, 400, "invalid_parameter"),
        ("001-ordinary-1234567", {"json": {"account_number": 1}}, 400, "invalid_parameter"),
        (
            "001-ordinary-1234567",
            {"json": {"branch_code": "002", "account_number": "7654321"}},
            200,
            None,
        ),
    ],
)
async def test_transfer_errors(
    client: TestClient[Any, Any], path: str, kwargs: dict[str, Any], status: int, code: str | None
) -> None:
    response = await client.post(f"/_sandbox/accounts/{path}/transfer", **kwargs)
    assert response.status == status
    body = await response.json()
    if code is not None:
        assert body["error_code"] == code
        assert body["error_message"] == CATALOG[code].message
        assert body["detail"]


async def test_transfer_for_unknown_bank(client: TestClient[Any, Any]) -> None:
    response = await client.post("/_sandbox/accounts/001-ordinary-1234567/transfer?bank=9999")
    assert response.status == 404


async def test_transfer_picks_bank_by_query(aiohttp_client: MakeClient) -> None:
    app = make_app(make_scenario(), make_scenario(**{'code: "2011"': 'code: "2012"'}))
    client = await aiohttp_client(app)
    first, second = await tenant_of(client, "2011"), await tenant_of(client, "2012")
    response = await client.post("/_sandbox/accounts/001-ordinary-1234567/transfer?bank=2012")
    assert response.status == 200
    assert (await response.json())["bank_code"] == "2012"
    found = second.directory.find_account("001", AccountType.ORDINARY, "1234567")
    assert found is not None
    assert found[1].transferred_to is not None
    untouched = first.directory.find_account("001", AccountType.ORDINARY, "1234567")
    assert untouched is not None
    assert untouched[1].transferred_to is None


# --- robustness -----------------------------------------------------------------------

FUZZ = [
    "date_from=",
    "date_to=",
    "date_from=%00",
    "date_from=2026-11-01%00",
    "date_from=2026-11-01T00:00:00",
    "date_from=%E4%BB%A4%E5%92%8C8%E5%B9%B4",
    "date_from=99999-01-01",
    "date_from=0000-01-01",
    "date_from=2026-00-10",
    "date_to=9999-12-31",
    "date_from=2026-11-01&date_to=9999-12-31",
    "limit=" + "9" * 400,
    "limit=1e3",
    "limit=%EF%BC%95",
    "cursor=" + "A" * 3000,
    "cursor=MjAyNi0xMS0wMXwyMDI2LTExLTI1fDk5OTk5OQ",
    "cursor=MjAyNi0xMS0wMXwyMDI2LTExLTI1fC0x",
    "cursor=%FF%FE",
    "%FF=1",
    "=&&&=",
    "date_from[]=2026-11-01",
    "x" * 4000,
]


@pytest.mark.parametrize("query", FUZZ)
async def test_weird_queries_never_500(
    client: TestClient[Any, Any], headers: dict[str, str], query: str
) -> None:
    url = f"{BASE}/accounts/{aid(JIRO_REFS[0])}/transactions?{query}"
    response = await client.get(url, headers=headers)
    assert response.status in (200, 400)
    body = await response.json()
    if response.status == 400:
        assert body["error_code"] in ("invalid_parameter", "period_out_of_range")
    else:
        assert body["date_to"] == "2026-11-25"


async def test_weird_paths_and_headers_never_500(
    client: TestClient[Any, Any], headers: dict[str, str]
) -> None:
    paths = [
        f"{BASE}/accounts/%2e%2e",
        f"{BASE}/accounts/{'9' * 5000}/transactions",
        f"{BASE}/accounts/%F0%9F%92%B4",
        f"{BASE}/accounts/%00/transactions",
        "/parasol/v1/banks/%00/term_deposits",
        f"{BASE}/accounts/",
    ]
    for path in paths:
        response = await client.get(path, headers=headers)
        assert response.status < 500, path
    for value in ["Bearer " + "a" * 8000, "Bearer \t x", "Bearer =abc", "Negotiate abc"]:
        response = await client.get(f"{BASE}/accounts", headers={"Authorization": value})
        assert response.status == 401
    response = await client.post(f"{BASE}/accounts", headers=headers)
    assert response.status == 405


# --- docs -----------------------------------------------------------------------------


async def test_openapi_yaml_and_swagger_ui_are_served_locally(
    client: TestClient[Any, Any],
) -> None:
    spec = await client.get("/openapi.yaml")
    assert spec.status == 200
    assert spec.content_type == "application/yaml"
    loaded = yaml.safe_load(await spec.text())
    assert loaded["openapi"].startswith("3.1")
    for path in ["accounts", "accounts/{account_id}/transactions", "term_deposits", "oauth/token"]:
        assert f"/parasol/v1/banks/{{bank}}/{path}" in loaded["paths"]
    assert "/_sandbox/accounts/{account_id}/transfer" in loaded["paths"]
    page = await client.get("/docs")
    assert page.status == 200
    html = await page.text()
    assert "/docs/static/swagger-ui-bundle.js" in html
    assert "://" not in html.split("<body>")[1], "no CDN or external assets"
    asset = await client.get("/docs/static/swagger-ui-bundle.js")
    assert asset.status == 200
    assert len(await asset.read()) > 100_000
    config = await client.get("/docs/swagger.json")
    assert (await config.json())["openapi"] == loaded["openapi"]


# --- end to end: screens, token endpoint, data API, 移管 --------------------------------


async def _link(client: TestClient[Any, Any], who: CustomerData) -> dict[str, str]:
    """Walk the six screens, redeem the code at the token endpoint; Bearer headers."""
    return await link_and_redeem(
        client, who, client_id="app-1", secret="secret-one-123", redirect_uri=REDIRECT
    )


async def test_vendor_flow_link_read_transfer_relink(client: TestClient[Any, Any]) -> None:
    headers = await _link(client, TARO)
    listed = await checked(await client.get(f"{BASE}/accounts", headers=headers))
    (account,) = listed["accounts"]
    assert account["account_id"] == aid("001-ordinary-1234567")
    assert account["account_name_kana"] == "ﾃﾞｰﾀ ﾀﾛｳ"
    url = f"{BASE}/accounts/{account['account_id']}/transactions"
    page = await checked(await client.get(url, headers=headers))
    assert page["transactions"][-1]["balance_after"] == account["balance"]

    moved = await client.post(
        f"/_sandbox/accounts/{account['account_id']}/transfer",
        json={"branch_code": "002", "account_number": "7000002"},
    )
    assert moved.status == 200
    response = await client.get(f"{BASE}/accounts", headers=headers)
    assert response.status == 403  # the catalog's word for it: link again, new branch/number
    assert (await checked(response))["error_code"] == "account_transferred"

    old = await CustomerDriver(client, BANK).link(TARO, **APP)
    assert isinstance(old, Page)
    assert old.error_code == "wrong_account"
    new_headers = await _link(client, replace(TARO, branch_code="002", account_number="7000002"))
    relinked = await checked(await client.get(f"{BASE}/accounts", headers=new_headers))
    (new,) = relinked["accounts"]
    assert (new["branch_code"], new["account_number"]) == ("002", "7000002")
    assert new["balance"] == account["balance"]
