"""The six screens end to end: happy path and every branch a customer can take."""

from __future__ import annotations

import base64
from typing import Any

from aiohttp.test_utils import TestClient

from sandbox import errors, ui_text
from sandbox.driver import CustomerData, CustomerDriver, Outcome, Page
from sandbox.tenant.tenant import Tenant
from tests.web.conftest import APP, BANK, HANAKO, TARO
from tests.web.flows import call, to_confirm, to_identity, to_pin

Client = TestClient[Any, Any]


async def test_happy_path_returns_code_and_state_and_sends_mail(
    client: Client, driver: CustomerDriver
) -> None:
    await to_pin(client, driver)
    page = await driver.enter_pin(TARO.pin)
    assert isinstance(page, Page)
    assert page.screen == "consent"
    assert "テスト家計簿" in page.text()
    outcome = await driver.approve()
    assert isinstance(outcome, Outcome)
    assert outcome.redirect.startswith("https://app.example/callback?")
    assert outcome.code
    assert outcome.state == "xyz-123"
    assert outcome.error is None
    # The code is good at the token endpoint, once.
    basic = base64.b64encode(b"app-1:secret-one-123").decode()
    form = {
        "grant_type": "authorization_code",
        "code": outcome.code,
        "redirect_uri": APP["redirect_uri"],
    }
    response = await client.post(
        f"/parasol/v1/banks/{BANK}/oauth/token",
        data=form,
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status == 200
    assert (await response.json())["token_type"] == "Bearer"
    mails = (await (await client.get("/_sandbox/outbox")).json())["mails"]
    assert len(mails) == 1
    assert mails[0]["to"] == "taro@example.jp"
    assert mails[0]["from"].endswith("@webcenter.anser.or.jp")
    assert "API連携認証" in mails[0]["subject"]


async def test_driver_link_walks_everything(driver: CustomerDriver) -> None:
    outcome = await driver.link(HANAKO, **APP)
    assert isinstance(outcome, Outcome)
    assert outcome.code


async def test_screens_carry_security_headers(client: Client, driver: CustomerDriver) -> None:
    await driver.authorize(**APP)
    assert driver.page is not None
    response = await client.get(driver.page.url)
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"


async def test_session_cookie_is_httponly_and_lax(client: Client) -> None:
    query = "&".join(f"{k}={v}" for k, v in APP.items())
    response = await client.get(
        f"/parasol/v1/banks/{BANK}/oauth/auth?response_type=code&{query}", allow_redirects=False
    )
    assert response.status == 303
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


# Authorize request errors ------------------------------------------------------


async def test_unknown_client_gets_error_page_not_redirect(driver: CustomerDriver) -> None:
    result = await driver.authorize(client_id="nope", redirect_uri=APP["redirect_uri"], state="s")
    assert isinstance(result, Page)
    assert result.status == 400
    assert result.error_code == "invalid_request" or result.error_code == "unauthorized_client"


async def test_redirect_uri_must_match_exactly(driver: CustomerDriver) -> None:
    result = await driver.authorize(
        client_id="app-1", redirect_uri="https://app.example/callback/", state="s"
    )
    assert isinstance(result, Page)
    assert result.status == 400


async def test_bad_response_type_redirects_with_error_and_state(client: Client) -> None:
    query = (
        "response_type=token&client_id=app-1&redirect_uri=https://app.example/callback&state=abc"
    )
    response = await client.get(
        f"/parasol/v1/banks/{BANK}/oauth/auth?{query}", allow_redirects=False
    )
    assert response.status in (302, 303)
    outcome = Outcome.parse(response.headers["Location"])
    assert outcome.error == "unsupported_response_type"
    assert outcome.state == "abc"


async def test_pkce_required_client_without_challenge_is_refused(client: Client) -> None:
    query = "response_type=code&client_id=pkce-app&redirect_uri=https://pkce.example/cb&state=q"
    response = await client.get(
        f"/parasol/v1/banks/{BANK}/oauth/auth?{query}", allow_redirects=False
    )
    outcome = Outcome.parse(response.headers["Location"])
    assert outcome.error == "invalid_request"
    assert outcome.state == "q"


async def test_unknown_bank_is_404_page(client: Client) -> None:
    response = await client.get("/parasol/v1/banks/9999/oauth/auth?client_id=app-1")
    assert response.status == 404
    assert "text/html" in response.headers["Content-Type"]


async def test_duplicate_parameter_is_invalid_request(client: Client) -> None:
    query = (
        "response_type=code&client_id=app-1&redirect_uri=https://app.example/callback"
        "&state=a&state=b"
    )
    response = await client.get(
        f"/parasol/v1/banks/{BANK}/oauth/auth?{query}", allow_redirects=False
    )
    outcome = Outcome.parse(response.headers["Location"])
    assert outcome.error == "invalid_request"


# Screen ① and ② field checks -----------------------------------------------------


async def test_empty_identity_fields_each_say_required_with_dialog(
    driver: CustomerDriver,
) -> None:
    await to_identity(driver)
    page = await driver.submit(next="1", birth_month="01", birth_day="01")
    assert isinstance(page, Page)
    assert page.status == 400
    assert page.screen == "identity"
    assert page.missing_dialog
    assert "入力されていない項目があります。" in page.html
    for name in ("name_kana", "birth_year", "phone", "email", "email_confirm"):
        assert page.field_errors[name] == "必ず入力して下さい。", name


async def test_identity_field_formats(driver: CustomerDriver) -> None:
    await to_identity(driver)
    page = await driver.submit(
        next="1",
        name_kana="データタロウ",
        birth_year="1980",
        birth_month="02",
        birth_day="30",
        phone="090-12",
        email="taro@example.jp",
        email_confirm="x@example.jp",
    )
    assert isinstance(page, Page)
    assert page.field_errors["name_kana"] == ui_text.NAME_NOT_HALFWIDTH_KANA
    assert page.field_errors["birth_day"] == ui_text.DATE_INVALID
    assert page.field_errors["phone"] == ui_text.PHONE_INVALID
    assert page.field_errors["email_confirm"] == ui_text.EMAIL_MISMATCH
    assert not page.missing_dialog
    # What was typed is still there.
    assert 'value="データタロウ"' in page.html


async def test_account_number_must_be_seven_digits(driver: CustomerDriver) -> None:
    await driver.authorize(**APP)
    page = await driver.submit(
        branch_code="001", account_type="ordinary", account_number="12345", next="1"
    )
    assert isinstance(page, Page)
    assert page.screen == "account"
    assert page.field_errors["account_number"] == ui_text.ACCOUNT_NUMBER_INVALID


async def test_abort_returns_access_denied(driver: CustomerDriver) -> None:
    await to_identity(driver)
    outcome = await driver.abort()
    assert isinstance(outcome, Outcome)
    assert outcome.error == "access_denied"
    assert outcome.state == "xyz-123"
    assert outcome.code is None


# Account and identity checks -----------------------------------------------------


WRONG_ACCOUNT = "ご指定の口座は、本サービスではお取り扱いできません。"
WRONG_IDENTITY = "本人認証情報が誤っています。本人認証項目をご確認のうえ、再度入力して下さい。"


async def _identity_result(driver: CustomerDriver, c: CustomerData) -> Page:
    await to_identity(driver, c)
    page = await driver.enter_identity(c)
    assert isinstance(page, Page)
    return page


async def test_unknown_account_is_wrong_account(driver: CustomerDriver) -> None:
    page = await _identity_result(
        driver, CustomerData(**{**TARO.__dict__, "account_number": "7777777"})
    )
    assert page.error_message == WRONG_ACCOUNT
    assert page.error_code == "wrong_account"
    assert page.screen == "account"  # re-enter from the card or passbook


async def test_account_without_cash_card_is_wrong_account(driver: CustomerDriver) -> None:
    page = await _identity_result(
        driver,
        CustomerData(
            **{**HANAKO.__dict__, "account_number": "1111111", "account_type": "ordinary"}
        ),
    )
    assert page.error_message == WRONG_ACCOUNT


async def test_current_account_cannot_be_chosen(driver: CustomerDriver) -> None:
    await driver.authorize(**APP)
    page = await driver.submit(
        branch_code="002", account_type="current", account_number="2222222", next="1"
    )
    assert isinstance(page, Page)
    assert page.screen == "account"
    assert "account_type" in page.field_errors


async def test_wrong_birth_date_is_wrong_identity(driver: CustomerDriver) -> None:
    page = await _identity_result(
        driver, CustomerData(**{**TARO.__dict__, "birth_date": "1980-01-02"})
    )
    assert page.error_message == WRONG_IDENTITY
    assert page.screen == "identity"


async def test_wrong_phone_is_wrong_identity(driver: CustomerDriver) -> None:
    page = await _identity_result(driver, CustomerData(**{**TARO.__dict__, "phone": "09099999999"}))
    assert page.error_code == "wrong_identity"


# Phone -------------------------------------------------------------------------


async def test_phone_screen_shows_auth_number(driver: CustomerDriver) -> None:
    await to_identity(driver)
    page = await driver.enter_identity(TARO)
    assert isinstance(page, Page)
    assert page.title == "電話番号の確認"
    assert page.auth_number == "0120-111-222"


async def test_confirm_before_call_keeps_waiting(driver: CustomerDriver) -> None:
    await to_confirm(driver)
    page = await driver.confirm()
    assert isinstance(page, Page)
    assert page.screen == "confirm"
    assert page.waiting
    assert "認証中(認証着信待ち)" in page.html
    assert ui_text.PHONE_INSTRUCTIONS.replace("「確定する」", "")[:20] in page.html


async def test_call_from_another_phone_does_not_verify(
    client: Client, driver: CustomerDriver
) -> None:
    await to_confirm(driver)
    status, body = await call(client, "08000000000")
    assert status == 409
    assert body["outcome"] == "no_pending_challenge"
    page = await driver.confirm()
    assert isinstance(page, Page)
    assert page.waiting


async def test_call_after_window_invalidates_linkage(
    client: Client, driver: CustomerDriver, sandbox: Tenant
) -> None:
    await to_confirm(driver)
    await sandbox.clock.advance(121)
    _, body = await call(client, TARO.phone)
    assert body["outcome"] == "expired"
    page = await driver.confirm()
    assert isinstance(page, Page)
    assert page.error_code == "phone_window_expired"
    outcome = await driver.back_to_app()
    assert isinstance(outcome, Outcome)
    assert outcome.error == "access_denied"


async def test_confirm_after_window_is_invalid_even_if_call_was_in_time(
    client: Client, driver: CustomerDriver, sandbox: Tenant
) -> None:
    await to_confirm(driver)
    await sandbox.clock.advance(60)
    assert (await call(client, TARO.phone))[0] == 200
    await sandbox.clock.advance(61)
    page = await driver.confirm()
    assert isinstance(page, Page)
    assert page.error_code == "phone_window_expired"
    # The linkage is over: no form is left, only the way back to the app.
    assert page.csrf_token is None
    assert page.back_url is not None
    again = await client.get(page.url)
    assert again.status == 400
    assert errors.CATALOG["phone_window_expired"].message in await again.text()


async def test_confirm_at_exactly_120_seconds_is_still_valid(
    client: Client, driver: CustomerDriver, sandbox: Tenant
) -> None:
    await to_confirm(driver)
    await sandbox.clock.advance(120)
    assert (await call(client, TARO.phone))[0] == 200
    page = await driver.confirm()
    assert isinstance(page, Page)
    assert page.screen == "pin"


async def test_sandbox_call_button(driver: CustomerDriver) -> None:
    await to_confirm(driver)
    page = await driver.press_call_button()
    assert isinstance(page, Page)
    assert "模擬" in page.html
    page = await driver.confirm()
    assert isinstance(page, Page)
    assert page.screen == "pin"


async def test_call_button_can_be_disabled(aiohttp_client: Any) -> None:
    from sandbox.settings import Settings
    from sandbox.web.app import create_app
    from tests.web.conftest import make_scenario

    scenario = make_scenario(
        **{"  branches:": "  policy: {sandbox_call_button: false}\n  branches:"}
    )
    client = await aiohttp_client(
        create_app(Settings(secret_key=b"k" * 32), scenarios=[(scenario, "<test>")])
    )
    driver = CustomerDriver(client, BANK)
    page = await to_confirm(driver)
    assert "サンドボックス専用" not in page.html
    page2 = await driver.press_call_button()
    assert isinstance(page2, Page)
    assert page2.status == 403


# PIN and consent ------------------------------------------------------------------


async def test_wrong_pin_says_so(client: Client, driver: CustomerDriver) -> None:
    await to_pin(client, driver)
    page = await driver.enter_pin("9999")
    assert isinstance(page, Page)
    assert page.screen == "pin"
    assert page.error_code == "wrong_pin"
    assert "9999" not in page.html
    page = await driver.enter_pin(TARO.pin)
    assert isinstance(page, Page)
    assert page.screen == "consent"


async def test_pin_must_be_four_digits(client: Client, driver: CustomerDriver) -> None:
    await to_pin(client, driver)
    page = await driver.enter_pin("12a")
    assert isinstance(page, Page)
    assert page.field_errors["pin"] == ui_text.PIN_INVALID


async def test_deny_returns_access_denied(client: Client, driver: CustomerDriver) -> None:
    await to_pin(client, driver)
    await driver.enter_pin(TARO.pin)
    outcome = await driver.deny()
    assert isinstance(outcome, Outcome)
    assert outcome.error == "access_denied"
    assert outcome.state == "xyz-123"


# State machine and CSRF -----------------------------------------------------------


async def test_post_without_csrf_token_is_refused(client: Client, driver: CustomerDriver) -> None:
    await driver.authorize(**APP)
    assert driver.page is not None
    response = await client.post(
        driver.page.url,
        data={"branch_code": "001", "account_type": "ordinary", "account_number": "1234567"},
    )
    assert response.status == 403
    assert errors.CATALOG["invalid_form"].message in await response.text()


async def test_steps_cannot_be_skipped(client: Client, driver: CustomerDriver) -> None:
    await driver.authorize(**APP)
    page = driver.page
    assert page is not None
    assert page.action is not None
    pin_url = page.action.replace("/account", "/pin")
    response = await client.post(pin_url, data={"csrf_token": page.csrf_token, "pin": "1234"})
    assert response.status == 409
    # Asking for a later screen shows the current one.
    response = await client.get(pin_url, allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"].endswith("/account")


async def test_old_linkage_url_dies_after_identity(client: Client, driver: CustomerDriver) -> None:
    page = await to_identity(driver)
    old_action = page.action
    assert old_action is not None
    await driver.enter_identity(TARO)
    response = await client.post(old_action, data={"csrf_token": page.csrf_token, "next": "1"})
    assert response.status == 400
    assert errors.CATALOG["session_expired"].message in await response.text()


async def test_linkage_of_another_session_is_refused(
    client: Client, driver: CustomerDriver, aiohttp_client: Any
) -> None:
    await driver.authorize(**APP)
    assert driver.page is not None
    client.session.cookie_jar.clear()
    response = await client.get(driver.page.url)
    # The catalog's improper screen operation (the README's table says so).
    assert response.status == 403
    assert errors.CATALOG["invalid_form"].message in await response.text()
    posted = await client.post(driver.page.url, data={"csrf_token": "x", "branch_code": "001"})
    assert posted.status == 403
    assert errors.CATALOG["invalid_form"].message in await posted.text()
    # An id no linkage has is an unknown (or timed-out) one.
    unknown = await client.get(driver.page.url.replace("/linkage/", "/linkage/x"))
    assert unknown.status == 400
    assert errors.CATALOG["session_expired"].message in await unknown.text()


async def test_finished_linkage_accepts_nothing(client: Client, driver: CustomerDriver) -> None:
    await to_pin(client, driver)
    await driver.enter_pin(TARO.pin)
    consent = driver.page
    assert consent is not None
    outcome = await driver.approve()
    assert isinstance(outcome, Outcome)
    assert consent.action is not None
    response = await client.post(
        consent.action,
        data={"csrf_token": consent.csrf_token, "approve": "1"},
        allow_redirects=False,
    )
    # Replaying the consent neither sends the code again nor issues another one.
    assert response.status == 400
    assert "Location" not in response.headers
    assert errors.CATALOG["session_expired"].message in await response.text()


async def test_every_authorization_response_names_the_issuer(
    client: Client, driver: CustomerDriver
) -> None:
    """RFC 9207: success and error responses carry `iss`, equal to the metadata's issuer."""
    meta = await client.get(f"/.well-known/oauth-authorization-server/parasol/v1/banks/{BANK}")
    doc = await meta.json()
    assert doc["authorization_response_iss_parameter_supported"] is True
    outcome = await driver.link(TARO, **APP)
    assert isinstance(outcome, Outcome)
    assert outcome.iss == doc["issuer"]
    query = "response_type=token&client_id=app-1&redirect_uri=https://app.example/callback"
    response = await client.get(
        f"/parasol/v1/banks/{BANK}/oauth/auth?{query}", allow_redirects=False
    )
    assert Outcome.parse(response.headers["Location"]).iss == doc["issuer"]


async def test_public_url_sets_the_issuer(aiohttp_client: Any) -> None:
    from sandbox.settings import Settings
    from sandbox.web.app import create_app
    from tests.web.conftest import make_scenario

    settings = Settings(secret_key=b"k" * 32, public_url="https://sandbox.example")
    client = await aiohttp_client(create_app(settings, scenarios=[(make_scenario(), "<test>")]))
    meta = await client.get(f"/.well-known/oauth-authorization-server/parasol/v1/banks/{BANK}")
    doc = await meta.json()
    assert doc["issuer"] == f"https://sandbox.example/parasol/v1/banks/{BANK}"
    assert doc["token_endpoint"].startswith("https://sandbox.example/")
