"""The console: every panel renders, every action changes the bank, CSRF and keys guard it."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from sandbox.driver import CustomerDriver, Page
from sandbox.errors import CATALOG
from tests.web.conftest import APP, BANK, TARO, MakeClient, tenant_of
from tests.web.test_hosted import ADMIN_AUTH, hosted_client, new_workspace

Client = TestClient[Any, Any]
CONSOLE = "/_sandbox/console"
PANELS = ("clock", "customers", "linkages", "journal", "outbox", "rules", "coverage", "scenario")


async def _csrf(client: Client) -> str:
    page = await (await client.get(CONSOLE)).text()
    found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page)
    assert found is not None
    return found[1]


async def _post(client: Client, action: str, **form: str) -> Any:
    token = await _csrf(client)
    return await client.post(
        f"{CONSOLE}/{action}", data={"csrf_token": token, **form}, allow_redirects=False
    )


async def _clock(client: Client) -> dict[str, Any]:
    clock: dict[str, Any] = await (await client.get("/_sandbox/clock")).json()
    return clock


async def test_every_panel_is_on_the_page(client: Client) -> None:
    response = await client.get(CONSOLE)
    assert response.status == 200
    assert response.content_type == "text/html"
    html = await response.text()
    for panel in PANELS:
        assert f'id="{panel}"' in html, panel
    assert "テスト信用組合" in html  # the bank speaks Japanese
    assert '<script src="/static/console.js"' in html
    assert "<script>" not in html  # no inline script (the CSP forbids it)
    assert (await client.get("/static/console.js")).status == 200


async def test_state_changes_need_the_csrf_token(client: Client) -> None:
    before = await _clock(client)
    refused = await client.post(f"{CONSOLE}/clock", data={"jump": "plus2min"})
    assert refused.status == 403
    wrong = await client.post(f"{CONSOLE}/clock", data={"jump": "plus2min", "csrf_token": "0" * 32})
    assert wrong.status == 403
    assert await _clock(client) == before
    cross_site = await client.post(
        f"{CONSOLE}/clock",
        data={"jump": "plus2min", "csrf_token": await _csrf(client)},
        headers={"Origin": "https://evil.example"},
    )
    assert cross_site.status == 403


async def test_the_clock_jumps(client: Client) -> None:
    assert (await _clock(client))["now"] == "2026-11-25T10:00:00+09:00"
    moved = await _post(client, "clock", jump="plus2min")
    assert moved.status == 303
    assert moved.headers["Location"].startswith(f"{CONSOLE}?bank={BANK}")
    assert (await _clock(client))["now"] == "2026-11-25T10:02:00+09:00"
    await _post(client, "clock", jump="midnight")
    assert (await _clock(client))["now"] == "2026-11-26T00:00:00+09:00"
    await _post(client, "clock", jump="set", moment="2026-11-25T12:00:00+09:00")
    await _post(client, "clock", jump="off_hours")
    closed = await _clock(client)
    assert closed["service_open"] is False
    await _post(client, "clock", jump="past_off_hours")
    assert (await _clock(client))["service_open"] is True
    await _post(client, "clock", jump="resume")
    assert (await _clock(client))["frozen"] is False
    await _post(client, "clock", jump="freeze")
    assert (await _clock(client))["frozen"] is True


async def test_customers_are_found_and_magic_ones_marked(aiohttp_client: MakeClient) -> None:
    from sandbox.scenario.bundled import default_scenario
    from tests.web.conftest import make_app

    client = await aiohttp_client(make_app(default_scenario()))
    html = await (await client.get(f"{CONSOLE}?q=ﾏｼﾞｯｸ ﾛｸ")).text()
    assert "9000006" in html
    assert 'class="magic">congestion' in html
    assert 'data-customer="taro"' not in html  # taro does not match


async def test_a_call_from_the_console_verifies_the_linkage(client: Client) -> None:
    driver = CustomerDriver(client, BANK)
    await driver.authorize(**APP)
    await driver.enter_account(TARO)
    await driver.enter_identity(TARO)
    page = await driver.go_to_confirm()
    assert isinstance(page, Page)
    html = await (await client.get(CONSOLE)).text()
    found = re.search(r'name="linkage" value="([^"]+)"', html)
    assert found is not None
    called = await _post(client, "call", linkage=found[1])
    assert called.status == 303
    assert "verified" in called.headers["Location"]
    after = await driver.confirm()
    assert isinstance(after, Page)
    assert after.screen == "pin"


async def test_a_rule_armed_from_the_console_fires_and_is_counted(client: Client) -> None:
    armed = await _post(client, "rule", on="identity", error="congestion", times="once")
    assert armed.status == 303
    driver = CustomerDriver(client, BANK)
    await driver.authorize(**APP)
    await driver.enter_account(TARO)
    page = await driver.enter_identity(TARO)
    assert isinstance(page, Page)
    assert page.error_code == "congestion"
    html = await (await client.get(f"{CONSOLE}#rules")).text()
    assert re.search(r'data-rule="0".*?<td class="fired">1</td>', html, re.S)
    assert (await _post(client, "clear-rules")).status == 303
    assert (await (await client.get("/_sandbox/rules")).json())["rules"] == []


async def test_a_broken_scenario_shows_its_problems_beside_the_lines(client: Client) -> None:
    broken = "name: broken\nbank:\n  code: 2011\nclients: []\n"
    shown = await _post(client, "scenario", yaml=broken)
    assert shown.status == 422
    html = await shown.text()
    assert 'class="bad"' in html
    assert re.search(r'<li value="3" class="bad">.*?3: bank\.code', html, re.S)
    assert (await (await client.get("/_sandbox/health")).json())["banks"][0]["scenario"] == (
        "web-tests"
    )  # nothing changed
    good = broken.replace("code: 2011", 'code: "2011"')
    loaded = await _post(client, "scenario", yaml=good)
    assert loaded.status == 303
    assert (await (await client.get("/_sandbox/health")).json())["banks"][0]["scenario"] == (
        "broken"
    )


async def test_the_journal_streams_live(client: Client) -> None:
    response = await client.get(f"{CONSOLE}/events?since=0")
    assert response.headers["Content-Type"] == "text/event-stream"
    await client.get(f"/parasol/v1/banks/{BANK}/accounts")  # a request to see
    seen = b""
    async with asyncio.timeout(5):
        while b"event: journal" not in seen or b"event: linkages" not in seen:
            seen += await response.content.readany()
    assert b"/accounts" in seen
    response.close()


async def test_the_conformance_page_lists_the_checks(client: Client) -> None:
    driver = CustomerDriver(client, BANK)
    await driver.link(TARO, **APP)
    response = await client.get(f"{CONSOLE}/conformance?client_id=app-1")
    assert response.status == 200
    html = await response.text()
    assert 'data-check="pkce_s256"' in html
    assert 'class="failed" data-check="pkce_s256"' in html  # app-1 sends no PKCE
    assert CATALOG["congestion"].message in html


@pytest.fixture
async def hosted(aiohttp_client: MakeClient) -> Client:
    return await hosted_client(aiohttp_client)


async def test_hosted_console_signs_in_with_the_workspace_key(hosted: Client) -> None:
    acme = await new_workspace(hosted, "acme")
    first = await hosted.get(CONSOLE, allow_redirects=False)
    assert first.status == 303
    assert first.headers["Location"] == f"{CONSOLE}/login"
    assert (await hosted.get(f"{CONSOLE}/login")).status == 200
    wrong = await hosted.post(
        f"{CONSOLE}/login", data={"api_key": "sbx_acme_wrong"}, allow_redirects=False
    )
    assert "error" in wrong.headers["Location"]
    signed = await hosted.post(
        f"{CONSOLE}/login", data={"api_key": acme["api_key"]}, allow_redirects=False
    )
    assert signed.status == 303
    cookie = signed.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    page = await hosted.get(CONSOLE)
    assert page.status == 200
    assert "workspace acme" in await page.text()
    hosted.session.cookie_jar.clear()
    stale = await hosted.get(
        CONSOLE, headers={"Cookie": "sandbox_console=sbx_acme_stale"}, allow_redirects=False
    )
    assert stale.headers["Location"] == f"{CONSOLE}/login?error=1"
    admin = await hosted.get("/_sandbox/clock", headers=ADMIN_AUTH)
    assert admin.status == 403  # the admin key is no workspace key, console or not


async def test_bad_console_input_is_refused_and_changes_nothing(client: Client) -> None:
    before = await _clock(client)
    far = await _post(client, "clock", jump="set", moment="9999-12-31T23:59:00+09:00")
    assert far.status == 400
    assert await _clock(client) == before
    odd = await _post(client, "rule", on="identity", error="congestion", times="²")
    assert odd.status == 422
    stream = await client.get(f"{CONSOLE}/events?since=²")
    assert stream.status == 200
    stream.close()


async def test_a_console_rule_in_hosted_mode_names_the_workspace_client(hosted: Client) -> None:
    acme = await new_workspace(hosted, "acme")
    signed = await hosted.post(f"{CONSOLE}/login", data={"api_key": acme["api_key"]})
    assert signed.status == 200
    armed = await _post(hosted, "rule", on="authorize", error="congestion", when_client="app-1")
    assert armed.status == 303
    rules = await (await hosted.get(f"{CONSOLE}#rules")).text()
    assert "acme.app-1" in rules


async def test_a_generated_customer_is_found_by_account_number(
    aiohttp_client: MakeClient,
) -> None:
    from sandbox.scenario.bundled import default_scenario
    from tests.web.conftest import make_app

    client = await aiohttp_client(make_app(default_scenario()))
    tenant = await tenant_of(client)
    far = list(tenant.directory.sample(1000))[-1]  # beyond the page's first 200
    number = far.accounts[0].number
    html = await (await client.get(f"{CONSOLE}?q={number}")).text()
    assert f'data-customer="{far.customer_id}"' in html
