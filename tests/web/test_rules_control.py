"""Rules over HTTP: armed at run time via /_sandbox/rules, matched on real requests, faults."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from sandbox.driver import CustomerDriver, Outcome, Page
from sandbox.errors import CATALOG
from sandbox.scenario.model import Scenario
from tests.web.bundled import scenario_client
from tests.web.conftest import APP, BANK, HANAKO, TARO, MakeClient, link_and_redeem, make_scenario

Client = TestClient[Any, Any]
AUTHORIZE = (
    f"/parasol/v1/banks/{BANK}/oauth/auth?response_type=code&client_id=app-1"
    "&redirect_uri=https://app.example/callback&state=xyz-123"
)
CONGESTION = "ただ今受付が混雑しておりますので、しばらくしてからご利用下さい。"
SYSTEM_ERROR = CATALOG["system_error"].message


async def arm(client: Client, **rule: Any) -> int:
    response = await client.post("/_sandbox/rules", json=rule)
    assert response.status == 201, await response.text()
    body = await response.json()
    assert body["status"] == "armed"
    return int(body["index"])


async def rules(client: Client) -> list[dict[str, Any]]:
    response = await client.get("/_sandbox/rules")
    assert response.status == 200
    listed: list[dict[str, Any]] = (await response.json())["rules"]
    return listed


async def identity_result(client: Client, who: Any = TARO) -> Page:
    """A fresh linkage (own driver) up to 「次へ」 on screen ②."""
    driver = CustomerDriver(client, BANK)
    await driver.authorize(**APP)
    await driver.enter_account(who)
    page = await driver.enter_identity(who)
    assert isinstance(page, Page)
    return page


# The control API ------------------------------------------------------------------


async def test_armed_rule_is_listed_with_counters(client: Client) -> None:
    assert await rules(client) == []
    index = await arm(
        client, on="identity", when={"account": "001-1234567"}, error="congestion", times=2
    )
    assert index == 0
    (listed,) = await rules(client)
    assert listed["runtime"] is True
    assert listed["rule"] == {
        "on": "identity",
        "when": {"account": "001-1234567"},
        "error": "congestion",
        "times": 2,
    }
    assert (listed["matched"], listed["fired"], listed["exhausted"]) == (0, 0, False)

    assert (await identity_result(client)).error_message == CONGESTION
    assert (await identity_result(client, HANAKO)).screen == "phone"  # another account
    assert (await identity_result(client)).error_message == CONGESTION
    assert (await identity_result(client)).screen == "phone"  # times: 2 used up
    (listed,) = await rules(client)
    assert (listed["matched"], listed["fired"], listed["exhausted"]) == (2, 2, True)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"on": "identity", "error": "no_such_error"}, "error"),
        ({"on": "identity"}, ""),
        ({"on": "nowhere", "error": "congestion"}, "on"),
        ({"on": "identity", "error": "congestion", "times": 0}, "times"),
        ({"on": "identity", "error": "congestion", "when": {"account": "1234567"}}, "when.account"),
        ({"on": "identity", "error": "congestion", "shape": "round"}, "shape"),
    ],
)
async def test_invalid_rule_is_422_with_problems(
    client: Client, body: dict[str, Any], field: str
) -> None:
    response = await client.post("/_sandbox/rules", json=body)
    assert response.status == 422
    answer = await response.json()
    assert answer["message"] == "invalid rule"
    assert answer["problems"]
    assert any(p["field"].startswith(field) and p["message"] for p in answer["problems"])
    assert await rules(client) == []  # nothing was armed


async def test_rule_body_must_be_a_json_object(client: Client) -> None:
    response = await client.post("/_sandbox/rules", data=b"on: identity")
    assert response.status == 400
    response = await client.post("/_sandbox/rules", json=["on", "identity"])
    assert response.status == 400


async def test_reset_drops_runtime_rules_keeps_scenario_rules_and_zeroes_counters(
    aiohttp_client: MakeClient,
) -> None:
    scenario = make_scenario(
        "rules:\n  - {on: pin, error: system_error, times: once, description: from the file}\n"
    )
    client = await _client(aiohttp_client, scenario)
    await arm(client, on="account", error="service_unavailable")
    driver = CustomerDriver(client, BANK)
    await driver.authorize(**APP)
    page = await driver.enter_account(TARO)
    assert isinstance(page, Page)
    assert page.error_code == "service_unavailable"
    scenario_rule, runtime_rule = await rules(client)
    assert runtime_rule["fired"] == 1
    assert scenario_rule["runtime"] is False

    response = await client.post("/_sandbox/reset")
    assert response.status == 200
    (only,) = await rules(client)
    assert only["rule"]["description"] == "from the file"
    assert (only["matched"], only["fired"]) == (0, 0)
    # The run-time rule is gone; the scenario's rule still fires.
    driver = CustomerDriver(client, BANK)
    outcome = await driver.link(
        TARO, client_id=APP["client_id"], redirect_uri=APP["redirect_uri"], state=APP["state"]
    )
    assert isinstance(outcome, Page)
    assert outcome.screen == "pin"
    assert outcome.error_message == SYSTEM_ERROR


async def test_delete_rules_clears_only_runtime_rules(aiohttp_client: MakeClient) -> None:
    scenario = make_scenario("rules:\n  - {on: token, error: congestion}\n")
    client = await _client(aiohttp_client, scenario)
    await arm(client, on="authorize", error="congestion")
    assert len(await rules(client)) == 2
    assert (await client.delete("/_sandbox/rules")).status == 200
    (only,) = await rules(client)
    assert only["rule"]["on"] == "token"


# Matching on real requests ---------------------------------------------------------


async def test_rule_on_client_redirects_only_that_client(aiohttp_client: MakeClient) -> None:
    client = await _client(aiohttp_client, make_scenario())
    await arm(client, on="authorize", when={"client": "pkce-app"}, error="service_unavailable")
    outcome = await CustomerDriver(client, BANK).authorize(
        client_id="pkce-app",
        redirect_uri="https://pkce.example/cb",
        state="p",
        code_challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        code_challenge_method="S256",
    )
    assert isinstance(outcome, Outcome)
    assert (outcome.error, outcome.error_description, outcome.state) == (
        "temporarily_unavailable",
        "service_unavailable",
        "p",
    )
    page = await CustomerDriver(client, BANK).authorize(**APP)
    assert isinstance(page, Page)
    assert page.screen == "account"


async def test_nth_call_fires_once(client: Client) -> None:
    await arm(client, on="identity", when={"nth": 2}, error="system_error", times="once")
    results = [await identity_result(client) for _ in range(3)]
    assert [p.screen for p in results] == ["phone", "identity", "phone"]
    assert results[1].error_message == SYSTEM_ERROR
    assert results[1].status == 500


async def test_time_window_follows_the_virtual_clock(client: Client) -> None:
    await arm(
        client,
        on="authorize",
        when={"after": "2026-11-25T12:00:00+09:00", "before": "2026-11-25T13:00:00+09:00"},
        error="congestion",
    )
    # Frozen at 10:00 JST: outside the window.
    page = await CustomerDriver(client, BANK).authorize(**APP)
    assert isinstance(page, Page)
    await client.post("/_sandbox/clock", json={"set": "2026-11-25T03:30:00Z"})  # 12:30 JST
    outcome = await CustomerDriver(client, BANK).authorize(**APP)
    assert isinstance(outcome, Outcome)
    assert outcome.error == "temporarily_unavailable"
    await client.post("/_sandbox/clock", json={"set": "2026-11-25T13:00:00+09:00"})
    page = await CustomerDriver(client, BANK).authorize(**APP)
    assert isinstance(page, Page)


async def test_probability_with_seed_gives_the_same_run_twice(aiohttp_client: MakeClient) -> None:
    async def run() -> list[bool]:
        client = await _client(aiohttp_client, make_scenario())
        await arm(client, on="authorize", when={"probability": 0.5}, seed=42, error="congestion")
        out = []
        for _ in range(12):
            response = await client.get(AUTHORIZE, allow_redirects=False)
            out.append("error=temporarily_unavailable" in response.headers["Location"])
        return out

    first = await run()
    assert first == await run()
    assert True in first
    assert False in first


# Faults ----------------------------------------------------------------------------


async def test_delay_fault_still_answers(client: Client) -> None:
    await arm(client, on="authorize", fault={"delay_ms": 20})
    response = await client.get(AUTHORIZE, allow_redirects=False)
    assert response.status == 303
    assert "/linkage/" in response.headers["Location"]


async def test_reset_fault_drops_the_connection(client: Client) -> None:
    await arm(client, on="authorize", fault={"reset": True}, times="once")
    with pytest.raises(aiohttp.ClientConnectionError):
        await client.get(AUTHORIZE, allow_redirects=False)
    # Only once: the next request is answered.
    response = await client.get(AUTHORIZE, allow_redirects=False)
    assert response.status == 303


async def test_malformed_fault_sends_a_body_that_is_not_json(client: Client) -> None:
    await arm(client, on="authorize", fault={"malformed": True})
    response = await client.get(AUTHORIZE, allow_redirects=False)
    assert response.content_type == "application/json"
    body = await response.read()
    with pytest.raises(ValueError, match=r"."):
        json.loads(body)


async def test_malformed_fault_on_a_screen(client: Client, driver: CustomerDriver) -> None:
    await driver.authorize(**APP)
    await arm(client, on="account", fault={"malformed": True})
    assert driver.page is not None
    response = await client.post(
        driver.page.url,
        data={"csrf_token": driver.page.csrf_token or "", "branch_code": "001"},
        allow_redirects=False,
    )
    with pytest.raises(ValueError, match=r"."):
        json.loads(await response.read())


# Data API ---------------------------------------------------------------------------


async def test_congestion_rule_on_the_data_api(client: Client) -> None:
    headers = await _token(client)
    await arm(client, on="api", when={"endpoint": "accounts"}, error="congestion")
    response = await client.get(f"/parasol/v1/banks/{BANK}/accounts", headers=headers)
    assert response.status == 503
    assert response.headers["Retry-After"] == "30"
    body = await response.json()
    assert body["error_code"] == "congestion"
    assert body["error_message"] == CONGESTION
    # Another endpoint is not affected.
    response = await client.get(f"/parasol/v1/banks/{BANK}/term_deposits", headers=headers)
    assert response.status == 200
    report = await (await client.get("/_sandbox/coverage")).json()
    assert report["served"]["congestion"]["by_client"] == {"app-1": 1}


# Coverage ---------------------------------------------------------------------------


async def test_coverage_counts_per_client_and_reset_clears_it(aiohttp_client: MakeClient) -> None:
    client = await _client(aiohttp_client, make_scenario())
    await arm(client, on="authorize", error="congestion")
    await client.get(AUTHORIZE, allow_redirects=False)
    await client.get(AUTHORIZE, allow_redirects=False)
    await client.get(
        f"/parasol/v1/banks/{BANK}/oauth/auth?response_type=code&client_id=pkce-app"
        "&redirect_uri=https://pkce.example/cb&state=s&code_challenge_method=S256"
        "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        allow_redirects=False,
    )
    report = await (await client.get("/_sandbox/coverage")).json()
    assert report["served"] == {
        "congestion": {"total": 3, "by_client": {"app-1": 2, "pkce-app": 1}}
    }
    assert report["documented_served"] == ["congestion"]
    assert "congestion" not in report["documented_missing"]
    assert len(report["documented_missing"]) == report["documented_total"] - 1
    await client.post("/_sandbox/reset")
    report = await (await client.get("/_sandbox/coverage")).json()
    assert report["served"] == {}
    assert report["documented_served"] == []


# Helpers -----------------------------------------------------------------------------


async def _client(aiohttp_client: MakeClient, scenario: Scenario) -> Client:
    return await scenario_client(aiohttp_client, scenario)


async def _token(client: Client) -> dict[str, str]:
    return await link_and_redeem(client, TARO, state=APP["state"])
