"""Edges found in review: resent codes, broken forms, odd numbers, oversized bodies."""

from __future__ import annotations

import io
from typing import Any

from aiohttp.test_utils import TestClient

from sandbox import errors, ui_text
from sandbox.driver import CustomerDriver, Outcome, Page
from sandbox.store.memory import MemoryStore
from sandbox.tenant.registry import Registry
from tests.web.conftest import APP, TARO, make_scenario
from tests.web.flows import to_confirm, to_identity, to_pin

Client = TestClient[Any, Any]


async def _account_screen(driver: CustomerDriver) -> Page:
    """A new linkage's first screen, with the form's action."""
    await driver.authorize(**APP)
    page = driver.page
    assert page is not None
    assert page.action is not None
    return page


async def test_finish_after_consent_never_sends_the_code_again(
    client: Client, driver: CustomerDriver
) -> None:
    await to_pin(client, driver)
    await driver.enter_pin(TARO.pin)
    consent = driver.page
    assert consent is not None
    assert consent.action is not None
    outcome = await driver.approve()
    assert isinstance(outcome, Outcome)
    assert outcome.code is not None
    finish = consent.action.replace("/consent", "/finish")
    response = await client.get(finish, allow_redirects=False)
    assert response.status == 400
    assert "Location" not in response.headers
    assert outcome.code not in await response.text()


async def test_non_utf8_form_is_a_400_page_not_a_crash(
    client: Client, driver: CustomerDriver
) -> None:
    page = await _account_screen(driver)
    assert page.action is not None
    body = f"csrf_token={page.csrf_token}&account_number=\xff".encode("latin-1")
    response = await client.post(
        page.action, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status == 400
    assert errors.CATALOG["invalid_form"].message in await response.text()


async def test_absurd_or_full_width_birth_year_is_a_field_error(driver: CustomerDriver) -> None:
    for year in ("99999999999999999999", "１９８０"):
        await to_identity(driver)
        page = await driver.submit(
            next="1",
            name_kana="ﾃﾞｰﾀ ﾀﾛｳ",
            birth_year=year,
            birth_month="01",
            birth_day="01",
            phone=TARO.phone,
            email=TARO.email,
            email_confirm=TARO.email,
        )
        assert isinstance(page, Page)
        assert page.status == 400, year
        assert page.field_errors["birth_day"] == ui_text.DATE_INVALID


async def test_call_button_clears_the_waiting_notice(driver: CustomerDriver) -> None:
    await to_confirm(driver)
    page = await driver.confirm()
    assert isinstance(page, Page)
    assert page.waiting
    page = await driver.press_call_button()
    assert isinstance(page, Page)
    assert not page.waiting
    assert "模擬" in page.html


async def test_oversized_screen_post_is_a_japanese_page(
    client: Client, driver: CustomerDriver
) -> None:
    await driver.authorize(**APP)
    assert driver.page is not None
    assert driver.page.action is not None
    body = io.BytesIO(b"account_number=" + b"1" * 3_000_000)
    response = await client.post(
        driver.page.action,
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status == 413
    assert "text/html" in response.headers["Content-Type"]
    assert errors.CATALOG["invalid_form"].message in await response.text()


async def test_wrong_method_says_which_are_allowed(client: Client) -> None:
    response = await client.delete("/parasol/v1/banks/2011/oauth/auth")
    assert response.status == 405
    assert "GET" in response.headers["Allow"]
    assert "text/html" in response.headers["Content-Type"]


async def test_linkages_do_not_pile_up_under_a_frozen_clock() -> None:
    store = MemoryStore(linkage_cap=50)
    tenant, _ = await Registry(store).load(make_scenario(), "<test>")
    request = tenant.oauth.validate_authorize(
        {
            "response_type": "code",
            "client_id": "app-1",
            "redirect_uri": "https://app.example/callback",
        }
    )
    now = await tenant.clock.now()
    ids = [(await tenant.linkage.start(request, now, None)).linkage_id for _ in range(120)]
    assert len(await tenant.linkage.linkages()) == 50
    # The newest are the ones kept.
    assert (await tenant.linkage.get(ids[-1], now)).linkage_id == ids[-1]


def test_screen_urls_are_the_screen_routes_with_each_part_quoted() -> None:
    from types import SimpleNamespace

    from sandbox.web.app import create_app
    from sandbox.web.screens import screen_url

    route = create_app().router["screen"]
    for bank, linkage_id in [("2011", "ws1.AbC-d_9"), ("20 11", "x~y"), ("日本", "a b")]:
        request: Any = SimpleNamespace(match_info={"bank": bank})
        linkage: Any = SimpleNamespace(linkage_id=linkage_id)
        expected = route.url_for(bank=bank, linkage=linkage_id, screen="identity")
        assert screen_url(request, linkage, "identity") == str(expected)
    # A "/" decoded from %2F stays in its segment (url_for would leave it bare).
    request = SimpleNamespace(match_info={"bank": "a/b"})
    url = screen_url(request, SimpleNamespace(linkage_id="L"), "pin")  # type: ignore[arg-type]
    assert url == "/parasol/v1/banks/a%2Fb/linkage/L/pin"


async def test_a_screen_answers_head_as_get_and_refuses_other_methods(
    client: Client, driver: CustomerDriver
) -> None:
    page = await _account_screen(driver)
    assert page.action is not None
    head = await client.head(page.action, allow_redirects=False)
    get = await client.get(page.action, allow_redirects=False)
    assert head.status == get.status == 200
    assert head.headers["Content-Type"] == get.headers["Content-Type"]
    assert await head.read() == b""
    put = await client.put(page.action, allow_redirects=False)
    assert put.status == 405
    assert set(put.headers["Allow"].split(",")) == {"GET", "HEAD", "POST"}
