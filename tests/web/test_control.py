"""The control API: clock, reset, scenario loading, calls, outbox, journal, tenants."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from sandbox.driver import CustomerDriver, Outcome, Page
from sandbox.tenant.tenant import Tenant
from tests.web.conftest import APP, BANK, SCENARIO, TARO, tenant_of

Client = TestClient[Any, Any]


async def test_health_lists_banks_and_their_clocks(client: Client) -> None:
    response = await client.get("/_sandbox/health")
    assert response.status == 200
    body = await response.json()
    assert body["status"] == "ok"
    assert body["banks"][0]["bank"] == BANK
    assert body["banks"][0]["now"] == "2026-11-25T10:00:00+09:00"


async def test_clock_set_advance_and_freeze(client: Client, sandbox: Tenant) -> None:
    response = await client.post("/_sandbox/clock", json={"set": "2026-11-07T23:50:00+09:00"})
    body = await response.json()
    assert body["now"] == "2026-11-07T23:50:00+09:00"
    assert body["service_open"] is False
    assert body["closed_window"]["end"] == "2026-11-08T07:00:00+09:00"
    body = await (await client.post("/_sandbox/clock", json={"advance_seconds": -1})).json()
    assert body["now"] == "2026-11-07T23:49:59+09:00"
    assert body["service_open"] is True
    # A time without offset is Japan time; UTC input is converted.
    body = await (await client.post("/_sandbox/clock", json={"set": "2026-12-01T00:30:00Z"})).json()
    assert body["now"] == "2026-12-01T09:30:00+09:00"
    assert body["frozen"] is True
    assert (await sandbox.clock.now()).isoformat() == "2026-12-01T09:30:00+09:00"


async def test_clock_rejects_bad_input(client: Client) -> None:
    for payload in (
        {"set": "yesterday"},
        {"set": 5},
        {"advance_seconds": "10"},
        {"advance_seconds": True},
        {"set": "2026-12-01T00:00:00", "advance_seconds": 1},
        {"speed": 2},
        {},
    ):
        response = await client.post("/_sandbox/clock", json=payload)
        assert response.status == 400, payload
        assert (await response.json())["error"] == "invalid_request"
    response = await client.post("/_sandbox/clock", data=b"not json")
    assert response.status == 400


async def test_reset_forgets_locks_mails_and_clock(
    client: Client, driver: CustomerDriver, sandbox: Tenant
) -> None:
    outcome = await driver.link(TARO, **APP)
    assert isinstance(outcome, Outcome)
    await sandbox.clock.advance(3600)
    wrong = {**TARO.__dict__, "birth_date": "1999-09-09"}
    from sandbox.driver import CustomerData

    for _ in range(3):
        await CustomerDriver(client, BANK).link(CustomerData(**wrong), **APP)
    assert await sandbox.lockout.lock_state("001-1234567", await sandbox.clock.now()) is not None
    assert (await (await client.get("/_sandbox/outbox")).json())["mails"]
    response = await client.post("/_sandbox/reset")
    assert response.status == 200
    assert (await response.json())["now"] == "2026-11-25T10:00:00+09:00"
    assert (await (await client.get("/_sandbox/outbox")).json())["mails"] == []
    sandbox = await tenant_of(client)  # the reset rebuilt the bank
    assert await sandbox.lockout.lock_state("001-1234567", await sandbox.clock.now()) is None
    again = await CustomerDriver(client, BANK).link(TARO, **APP)
    assert isinstance(again, Outcome)
    assert again.code


async def test_put_scenario_loads_and_invalid_changes_nothing(client: Client) -> None:
    bad = SCENARIO.replace('pin: "1234"', "pin: 1234").replace('code: "2011"', 'code: "2012"')
    response = await client.put("/_sandbox/scenario", data=bad.encode())
    assert response.status == 422
    body = await response.json()
    problem = body["problems"][0]
    assert problem["field"].endswith("accounts[0].pin")
    assert problem["line"] > 1
    assert "quoted" in problem["message"]
    health = await (await client.get("/_sandbox/health")).json()
    assert [b["bank"] for b in health["banks"]] == [BANK]
    good = SCENARIO.replace('code: "2011"', 'code: "2012"')
    response = await client.put("/_sandbox/scenario", data=good.encode())
    assert response.status == 200
    body = await response.json()
    assert body["bank"] == "2012"
    assert body["replaced"] is False
    health = await (await client.get("/_sandbox/health")).json()
    assert sorted(b["bank"] for b in health["banks"]) == [BANK, "2012"]


async def test_tenants_are_isolated(client: Client, sandbox: Tenant) -> None:
    other = SCENARIO.replace('code: "2011"', 'code: "2012"')
    assert (await client.put("/_sandbox/scenario", data=other.encode())).status == 200
    # Lock taro at bank 2011 only.
    from sandbox.driver import CustomerData

    wrong = CustomerData(**{**TARO.__dict__, "birth_date": "1999-09-09"})
    for _ in range(3):
        await CustomerDriver(client, BANK).link(wrong, **APP)
    page = await CustomerDriver(client, BANK).link(TARO, **APP)
    assert isinstance(page, Page)
    assert page.error_code == "locked"
    outcome = await CustomerDriver(client, "2012").link(TARO, **APP)
    assert isinstance(outcome, Outcome)
    assert outcome.code
    # Clocks move separately; reset is per tenant.
    await client.post("/_sandbox/clock?bank=2012", json={"advance_seconds": 86400})
    clocks = {
        b["bank"]: b["now"] for b in (await (await client.get("/_sandbox/health")).json())["banks"]
    }
    assert clocks[BANK] == "2026-11-25T10:00:00+09:00"
    assert clocks["2012"] == "2026-11-26T10:00:00+09:00"
    await client.post("/_sandbox/reset", headers={"X-Sandbox-Bank": "2012"})
    page = await CustomerDriver(client, BANK).link(TARO, **APP)
    assert isinstance(page, Page)
    assert page.error_code == "locked"
    # Mails went to the tenant that sent them.
    mails_2011 = (await (await client.get("/_sandbox/outbox?bank=2011")).json())["mails"]
    assert mails_2011 == []


async def test_unknown_tenant_is_404_json(client: Client) -> None:
    response = await client.get("/_sandbox/clock?bank=9999")
    assert response.status == 404
    body = await response.json()
    assert body["error"] == "unknown_bank"
    assert body["banks"] == [BANK]


async def test_calls_need_strings(client: Client) -> None:
    response = await client.post("/_sandbox/calls", json={"from": 9012345678})
    assert response.status == 400
    response = await client.post("/_sandbox/calls", json={"from": "090-1234-5678"})
    assert response.status == 409
    assert (await response.json())["outcome"] == "no_pending_challenge"


async def test_journal_records_requests_with_secrets_redacted(
    client: Client, driver: CustomerDriver
) -> None:
    outcome = await driver.link(TARO, **APP)
    assert isinstance(outcome, Outcome)
    entries = (await (await client.get("/_sandbox/journal")).json())["entries"]
    steps = [e["step"] for e in entries]
    assert "authorize" in steps
    assert "pin" in steps
    authorize = next(e for e in entries if e["step"] == "authorize")
    assert authorize["client_id"] == "app-1"
    assert authorize["params"]["state"] == "xyz-123"
    text = str(entries)
    assert TARO.pin not in [e["params"].get("pin") for e in entries]
    assert outcome.code is not None
    assert outcome.code not in text
    last = entries[-1]["seq"]
    newer = (await (await client.get(f"/_sandbox/journal?since={last}")).json())["entries"]
    assert all(e["seq"] > last for e in newer)


async def test_customers_lists_documented_ones_first(client: Client) -> None:
    body = await (await client.get("/_sandbox/customers?limit=2")).json()
    assert body["total"] == 2
    assert body["customers"][0]["customer_id"] == "taro"
    assert body["customers"][0]["accounts"][0]["pin"] == "1234"
    assert (await client.get("/_sandbox/customers?limit=x")).status == 400


async def test_scenarios_catalog_has_descriptions(client: Client) -> None:
    body = await (await client.get("/_sandbox/scenarios")).json()
    names = {s["name"]: s["description"] for s in body["bundled"]}
    assert "lockout" in names
    assert all(names.values())
    assert body["loaded"][0]["bank"] == BANK


async def test_unknown_path_and_method_get_json_bodies(client: Client) -> None:
    response = await client.get("/_sandbox/nope")
    assert response.status == 404
    assert (await response.json())["error_code"] == "not_found"
    response = await client.delete("/_sandbox/health")
    assert response.status == 405
    assert (await response.json())["error_code"] == "method_not_allowed"


async def test_control_calls_from_another_origins_page_are_refused(client: Client) -> None:
    # What a form on a malicious web page would send to a developer's local sandbox.
    response = await client.post(
        "/_sandbox/rules",
        data='{"on": "identity", "error": "congestion"}',
        headers={"Origin": "http://evil.example", "Content-Type": "text/plain"},
    )
    assert response.status == 403
    assert (await response.json())["error"] == "forbidden_origin"
    rules = (await (await client.get("/_sandbox/rules")).json())["rules"]
    assert rules == []
    # Same-origin pages (e.g. Swagger UI at /docs) and clients without Origin still work.
    same = await client.post(
        "/_sandbox/reset", headers={"Origin": f"http://{client.host}:{client.port}"}
    )
    assert same.status == 200


async def test_clock_refuses_nan_and_freezes_exactly(client: Client) -> None:
    response = await client.post(
        "/_sandbox/clock",
        data='{"advance_seconds": NaN}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 400
    body = await (
        await client.post(
            "/_sandbox/clock", json={"set": "2026-12-01T09:00:00+09:00", "frozen": False}
        )
    ).json()
    assert body["frozen"] is False
    body = await (
        await client.post(
            "/_sandbox/clock", json={"set": "2026-12-01T09:00:00+09:00", "frozen": True}
        )
    ).json()
    assert body["now"] == "2026-12-01T09:00:00+09:00"


async def test_scenario_body_must_be_utf8(client: Client) -> None:
    response = await client.put("/_sandbox/scenario", data=b"name: \xff\n")
    assert response.status == 422
    assert "UTF-8" in (await response.json())["problems"][0]["message"]


async def test_customers_limit_is_checked(client: Client) -> None:
    for bad in ("-1", "0", "201", "10000000000000000000000000", "x"):
        response = await client.get(f"/_sandbox/customers?limit={bad}")
        assert response.status == 400, bad


@pytest.mark.parametrize("kind", ["text/plain", "multipart/form-data; boundary=x"])
async def test_a_body_a_cross_site_form_could_send_is_refused(client: Any, kind: str) -> None:
    """A page's <form enctype="text/plain"> can shape a JSON body without a preflight."""
    before = await (await client.get("/_sandbox/clock")).json()
    response = await client.post(
        "/_sandbox/clock", data=b'{"advance_seconds": 3600}', headers={"Content-Type": kind}
    )
    assert response.status == 415
    assert (await response.json())["error"] == "unsupported_media_type"
    upload = await client.put(
        "/_sandbox/scenario", data=b"name: x\n", headers={"Content-Type": kind}
    )
    assert upload.status == 415
    assert await (await client.get("/_sandbox/clock")).json() == before


async def test_curl_default_bodies_still_work_locally(client: Any) -> None:
    """curl -d sends application/x-www-form-urlencoded: the README's examples use it."""
    response = await client.post(
        "/_sandbox/clock",
        data=b'{"advance_seconds": 60}',
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status == 200
